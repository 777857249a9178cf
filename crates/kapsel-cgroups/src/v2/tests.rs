//! Every v2 file mapping (with the v1-style values translated), against a temporary tree.

use super::apply;
use super::cpu::shares_to_weight;
use super::io::blkio_weight_to_io_weight;
use super::memory::swap_to_v2;
use crate::testutil::TempTree;
use oci_spec::runtime::LinuxResources;

fn tree() -> TempTree {
    let t = TempTree::new("v2-map");
    t.files(
        "",
        &[
            "cpu.weight",
            "cpu.max.burst",
            "cpu.idle",
            "cpuset.cpus",
            "cpuset.mems",
            "memory.max",
            "memory.swap.max",
            "memory.low",
            "memory.high",
            "pids.max",
            "io.weight",
            "io.max",
            "hugetlb.2MB.max",
            "rdma.max",
        ],
        "\n",
    );
    t.file("cpu.max", "max 100000\n");
    t.file("memory.current", "1000\n");
    t
}

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

#[test]
fn conversions_match_runc() {
    assert_eq!(shares_to_weight(2), 1);
    assert_eq!(shares_to_weight(1024), 39);
    assert_eq!(shares_to_weight(262_144), 10_000);
    assert_eq!(blkio_weight_to_io_weight(10), 1);
    assert_eq!(blkio_weight_to_io_weight(500), 4950);
    assert_eq!(blkio_weight_to_io_weight(1000), 10_000);
    assert_eq!(swap_to_v2(200, 100), Some(100));
    assert_eq!(swap_to_v2(0, -1), Some(-1));
    assert_eq!(swap_to_v2(-1, 100), Some(-1));
    assert_eq!(swap_to_v2(0, 100), None);
    // memory+swap equal to memory: no swap at all (issue 18: left at `max` before)
    assert_eq!(swap_to_v2(100, 100), Some(0));
}

#[test]
fn every_field_lands_in_its_v2_file() {
    let t = tree();
    let r = resources(
        r#"{"cpu":{"shares":1024,"quota":50000,"period":200000,"burst":1000,"idle":0,"cpus":"0-1","mems":"0"},
        "memory":{"limit":104857600,"swap":209715200,"reservation":1048576},
        "pids":{"limit":100},
        "blockIO":{"weight":500,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":0}],"throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":7}]},
        "hugepageLimits":[{"pageSize":"2MB","limit":-1}],
        "rdma":{"mlx5_1":{"hcaHandles":3,"hcaObjects":9}},
        "unified":{"memory.high":"50000000"}}"#,
    );
    let mut ignored = Vec::new();
    apply(t.path(), &r, None, &mut ignored).unwrap();
    assert!(ignored.is_empty(), "{ignored:?}");
    let expect = [
        ("cpu.weight", "39"),
        ("cpu.max", "50000 200000"),
        ("cpu.max.burst", "1000"),
        ("cpu.idle", "0"),
        ("cpuset.cpus", "0-1"),
        ("cpuset.mems", "0"),
        ("memory.max", "104857600"),
        ("memory.swap.max", "104857600"),
        ("memory.low", "1048576"),
        ("pids.max", "100"),
        ("io.weight", "4950"),
        ("io.max", "8:0 wiops=7"),
        ("hugetlb.2MB.max", "max"),
        ("rdma.max", "mlx5_1 hca_handle=3 hca_object=9"),
        ("memory.high", "50000000"),
    ];
    for (file, want) in expect {
        assert_eq!(t.read(file), want, "{file}");
    }
}

#[test]
fn a_period_alone_keeps_the_quota_and_bfq_takes_the_raw_weight() {
    let t = tree();
    t.file("cpu.max", "30000 100000\n");
    t.file("io.bfq.weight", "\n");
    apply(
        t.path(),
        &resources(r#"{"cpu":{"period":50000},"blockIO":{"weight":500}}"#),
        None,
        &mut Vec::new(),
    )
    .unwrap();
    assert_eq!(t.read("cpu.max"), "30000 50000");
    assert_eq!(t.read("io.bfq.weight"), "500");
    assert_eq!(t.read("io.weight"), "\n");
    apply(
        t.path(),
        &resources(r#"{"cpu":{"quota":-1}}"#),
        None,
        &mut Vec::new(),
    )
    .unwrap();
    assert_eq!(t.read("cpu.max"), "max");
}

#[test]
fn v1_only_fields_are_refused_and_kernel_memory_noted() {
    let t = tree();
    for (json, field) in [
        (r#"{"memory":{"swappiness":10}}"#, "memory.swappiness"),
        (r#"{"memory":{"kernelTCP":5}}"#, "memory.kernelTCP"),
        (
            r#"{"memory":{"disableOOMKiller":true}}"#,
            "memory.disableOOMKiller",
        ),
        (r#"{"network":{"classID":1}}"#, "network.classID"),
        (
            r#"{"network":{"priorities":[{"name":"lo","priority":1}]}}"#,
            "network.priorities",
        ),
        (r#"{"blockIO":{"leafWeight":20}}"#, "blockIO.leafWeight"),
    ] {
        let err = crate::validate::validate(&resources(json), true)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!(
                "linux.resources.{field}: cgroup v2 has no such control"
            )),
            "{json}: {err}"
        );
        crate::validate::validate(&resources(json), false).unwrap();
    }
    // Unset values (docker sends them) are fine.
    let unset = r#"{"memory":{"disableOOMKiller":false,"kernel":0},"network":{"classID":0}}"#;
    crate::validate::validate(&resources(unset), true).unwrap();
    let mut ignored = Vec::new();
    apply(
        t.path(),
        &resources(r#"{"memory":{"kernel":5}}"#),
        None,
        &mut ignored,
    )
    .unwrap();
    assert_eq!(ignored.len(), 1, "{ignored:?}");
    assert!(ignored[0].starts_with("linux.resources.memory.kernel: kernel memory limits"));
    let err = apply(
        t.path(),
        &resources(r#"{"cpu":{"realtimeRuntime":100}}"#),
        None,
        &mut Vec::new(),
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        err,
        "linux.resources.cpu.realtimeRuntime: realtime scheduling limits do not exist on cgroup v2"
    );
}

#[test]
fn unknown_unified_keys_fail_before_anything_is_written() {
    let t = tree();
    let r = resources(r#"{"pids":{"limit":5},"unified":{"memory.bogus":"1"}}"#);
    let err = apply(t.path(), &r, None, &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("linux.resources.unified: unknown key `memory.bogus`: `"),
        "{err}"
    );
    assert!(
        err.ends_with("(the cgroup has no `memory` controller enabled)"),
        "{err}"
    );
    assert_eq!(t.read("pids.max"), "\n");
}

#[test]
fn swap_equal_to_the_limit_writes_no_swap() {
    // memory+swap = memory: no swap at all, memory.swap.max 0 (it stayed `max` before, so
    // such a container swapped instead of being OOM-killed; found in the VM, issue 18).
    let t = tree();
    t.file("memory.swap.max", "max\n");
    apply(
        t.path(),
        &resources(r#"{"memory":{"limit":104857600,"swap":104857600}}"#),
        None,
        &mut Vec::new(),
    )
    .unwrap();
    assert_eq!(t.read("memory.swap.max"), "0");
    assert_eq!(t.read("memory.max"), "104857600");
    // Swap unset leaves the file alone.
    apply(
        t.path(),
        &resources(r#"{"memory":{"limit":52428800}}"#),
        None,
        &mut Vec::new(),
    )
    .unwrap();
    assert_eq!(t.read("memory.swap.max"), "0");
    // Without swap accounting (no memory.swap.max) "no swap" and "unlimited" pass, a swap
    // limit is refused.
    let t = TempTree::new("v2-noswap");
    t.files("", &["memory.max"], "\n");
    for (swap, ok) in [(104857600, true), (-1, true), (209715200, false)] {
        let r = resources(&format!(
            r#"{{"memory":{{"limit":104857600,"swap":{swap}}}}}"#
        ));
        assert_eq!(
            apply(t.path(), &r, None, &mut Vec::new()).is_ok(),
            ok,
            "swap {swap}"
        );
    }
}

#[test]
fn the_period_of_cpu_max() {
    assert_eq!(super::cpu::period("max 50000\n"), Some(50000));
    assert_eq!(super::cpu::period("25000 100000"), Some(100000));
    assert_eq!(super::cpu::period("max"), None);
}
