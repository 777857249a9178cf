//! Every v1 file mapping, against a temporary tree that mimics the controllers' files.

use super::{apply, Dirs};
use crate::devices::rules_from_spec;
use crate::testutil::TempTree;
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxResources};
use std::collections::BTreeMap;
use std::path::PathBuf;

const UNLIMITED: &str = "9223372036854771712";

fn tree() -> (TempTree, BTreeMap<String, PathBuf>) {
    let t = TempTree::new("v1-map");
    t.files(
        "cpu/c",
        &[
            "cpu.shares",
            "cpu.cfs_period_us",
            "cpu.cfs_quota_us",
            "cpu.cfs_burst_us",
            "cpu.rt_period_us",
            "cpu.rt_runtime_us",
            "cpu.idle",
        ],
        "0\n",
    );
    t.files("cpuset/c", &["cpuset.cpus", "cpuset.mems"], "\n");
    t.files(
        "memory/c",
        &["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"],
        UNLIMITED,
    );
    t.files(
        "memory/c",
        &[
            "memory.soft_limit_in_bytes",
            "memory.kmem.tcp.limit_in_bytes",
            "memory.swappiness",
            "memory.oom_control",
            "memory.usage_in_bytes",
        ],
        "0\n",
    );
    t.file("memory/c/memory.use_hierarchy", "1\n");
    t.file("pids/c/pids.max", "max\n");
    t.files(
        "blkio/c",
        &[
            "blkio.bfq.weight",
            "blkio.bfq.weight_device",
            "blkio.throttle.read_bps_device",
            "blkio.throttle.write_bps_device",
            "blkio.throttle.read_iops_device",
            "blkio.throttle.write_iops_device",
        ],
        "\n",
    );
    t.files(
        "hugetlb/c",
        &[
            "hugetlb.2MB.limit_in_bytes",
            "hugetlb.2MB.rsvd.limit_in_bytes",
        ],
        "\n",
    );
    t.file("net_cls/c/net_cls.classid", "0\n");
    t.file("net_prio/c/net_prio.ifpriomap", "\n");
    t.file("rdma/c/rdma.max", "\n");
    t.files("devices/c", &["devices.allow", "devices.deny"], "\n");
    let dirs = [
        "cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "net_cls", "net_prio", "rdma",
        "devices",
    ]
    .iter()
    .map(|c| (c.to_string(), t.path().join(c).join("c")))
    .collect();
    (t, dirs)
}

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

#[test]
fn every_field_lands_in_its_v1_file() {
    let (t, dirs) = tree();
    let r = resources(
        r#"{"cpu":{"shares":512,"quota":20000,"period":100000,"burst":1000,"realtimeRuntime":5000,"realtimePeriod":100000,"idle":0,"cpus":"0","mems":"0"},
        "memory":{"limit":104857600,"swap":209715200,"reservation":52428800,"kernelTCP":1048576,"swappiness":10,"disableOOMKiller":true,"useHierarchy":true},
        "pids":{"limit":64},
        "blockIO":{"weight":300,"weightDevice":[{"major":8,"minor":0,"weight":200}],
          "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}],"throttleWriteBpsDevice":[{"major":8,"minor":0,"rate":2}],
          "throttleReadIOPSDevice":[{"major":8,"minor":0,"rate":3}],"throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":4}]},
        "hugepageLimits":[{"pageSize":"2MB","limit":4194304}],
        "network":{"classID":1048577,"priorities":[{"name":"eth0","priority":5}]},
        "rdma":{"mlx5_1":{"hcaHandles":3}}}"#,
    );
    let devices: Vec<LinuxDeviceCgroup> =
        serde_json::from_str(r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]"#).unwrap();
    let rules = rules_from_spec(&devices).unwrap();
    let mut ignored = Vec::new();
    apply(&Dirs(&dirs), &r, Some(&rules), &mut ignored).unwrap();
    assert!(ignored.is_empty(), "{ignored:?}");
    let expect = [
        ("cpu/c/cpu.shares", "512"),
        ("cpu/c/cpu.cfs_quota_us", "20000"),
        ("cpu/c/cpu.cfs_period_us", "100000"),
        ("cpu/c/cpu.cfs_burst_us", "1000"),
        ("cpu/c/cpu.rt_period_us", "100000"),
        ("cpu/c/cpu.rt_runtime_us", "5000"),
        ("cpu/c/cpu.idle", "0"),
        ("cpuset/c/cpuset.cpus", "0"),
        ("cpuset/c/cpuset.mems", "0"),
        ("memory/c/memory.limit_in_bytes", "104857600"),
        ("memory/c/memory.memsw.limit_in_bytes", "209715200"),
        ("memory/c/memory.soft_limit_in_bytes", "52428800"),
        ("memory/c/memory.kmem.tcp.limit_in_bytes", "1048576"),
        ("memory/c/memory.swappiness", "10"),
        ("memory/c/memory.oom_control", "1"),
        // already 1: not rewritten
        ("memory/c/memory.use_hierarchy", "1\n"),
        ("pids/c/pids.max", "64"),
        ("blkio/c/blkio.bfq.weight", "300"),
        ("blkio/c/blkio.bfq.weight_device", "8:0 200"),
        ("blkio/c/blkio.throttle.read_bps_device", "8:0 1048576"),
        ("blkio/c/blkio.throttle.write_bps_device", "8:0 2"),
        ("blkio/c/blkio.throttle.read_iops_device", "8:0 3"),
        ("blkio/c/blkio.throttle.write_iops_device", "8:0 4"),
        ("hugetlb/c/hugetlb.2MB.limit_in_bytes", "4194304"),
        ("hugetlb/c/hugetlb.2MB.rsvd.limit_in_bytes", "4194304"),
        ("net_cls/c/net_cls.classid", "1048577"),
        ("net_prio/c/net_prio.ifpriomap", "eth0 5"),
        ("rdma/c/rdma.max", "mlx5_1 hca_handle=3 hca_object=max"),
        // the last rule written (each write is one rule)
        ("devices/c/devices.allow", "c 1:3 rw"),
        ("devices/c/devices.deny", "a *:* rwm"),
    ];
    for (file, want) in expect {
        assert_eq!(t.read(file), want, "{file}");
    }
}

#[test]
fn zero_means_unset_and_minus_one_unlimited() {
    let (t, dirs) = tree();
    let r = resources(
        r#"{"cpu":{"shares":0,"quota":0,"period":0},"memory":{"limit":-1},"pids":{"limit":-1},"blockIO":{"weight":0}}"#,
    );
    apply(&Dirs(&dirs), &r, None, &mut Vec::new()).unwrap();
    assert_eq!(t.read("cpu/c/cpu.shares"), "0\n");
    assert_eq!(t.read("cpu/c/cpu.cfs_quota_us"), "0\n");
    assert_eq!(t.read("blkio/c/blkio.bfq.weight"), "\n");
    assert_eq!(t.read("memory/c/memory.limit_in_bytes"), "-1");
    // unlimited memory with swap unset: memory+swap unlimited too
    assert_eq!(t.read("memory/c/memory.memsw.limit_in_bytes"), "-1");
    assert_eq!(t.read("pids/c/pids.max"), "max");
}

#[test]
fn cfq_weight_file_wins_when_the_kernel_has_it() {
    let (t, dirs) = tree();
    t.file("blkio/c/blkio.weight", "\n");
    apply(
        &Dirs(&dirs),
        &resources(r#"{"blockIO":{"weight":700}}"#),
        None,
        &mut Vec::new(),
    )
    .unwrap();
    assert_eq!(t.read("blkio/c/blkio.weight"), "700");
    assert_eq!(t.read("blkio/c/blkio.bfq.weight"), "\n");
}

#[test]
fn a_limit_of_an_unmounted_controller_is_an_error_naming_field_and_controller() {
    let (_t, mut dirs) = tree();
    dirs.remove("hugetlb");
    dirs.remove("net_cls");
    for (json, field, controller) in [
        (
            r#"{"hugepageLimits":[{"pageSize":"2MB","limit":1}]}"#,
            "hugepageLimits",
            "hugetlb",
        ),
        (r#"{"network":{"classID":1}}"#, "network.classID", "net_cls"),
    ] {
        let err = apply(&Dirs(&dirs), &resources(json), None, &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            format!("linux.resources.{field}: the {controller} cgroup controller is not mounted on this host, so the limit cannot be enforced")
        );
    }
    // Nothing asked of them, nothing to refuse.
    apply(
        &Dirs(&dirs),
        &resources(r#"{"network":{"classID":0}}"#),
        None,
        &mut Vec::new(),
    )
    .unwrap();
}

#[test]
fn check_before_update_refuses_a_limit_below_usage() {
    let (t, dirs) = tree();
    t.file("memory/c/memory.usage_in_bytes", "5000000\n");
    let r = resources(r#"{"memory":{"limit":4194304,"checkBeforeUpdate":true}}"#);
    let err = apply(&Dirs(&dirs), &r, None, &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("linux.resources.memory.limit: 4194304 is below the current usage 5000000"),
        "{err}"
    );
    assert_eq!(t.read("memory/c/memory.limit_in_bytes"), UNLIMITED);
}

#[test]
fn write_errors_name_file_value_and_errno() {
    let (t, dirs) = tree();
    std::fs::remove_file(t.path().join("cpu/c/cpu.cfs_burst_us")).unwrap();
    let err = apply(
        &Dirs(&dirs),
        &resources(r#"{"cpu":{"burst":10}}"#),
        None,
        &mut Vec::new(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("write `10` to `"), "{err}");
    assert!(
        err.ends_with("cpu/c/cpu.cfs_burst_us`: No such file or directory (ENOENT)"),
        "{err}"
    );
}
