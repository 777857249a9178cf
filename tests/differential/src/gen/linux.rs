//! The rest of `linux` and `root`: hostname and domainname, namespaced sysctls, device nodes
//! (paths below /dev, and some outside it), masked and read-only paths, cgroup resources
//! (memory, cpu, cpuset, pids, blkio, device rules, hugetlb and net_cls/net_prio limits a
//! host may not be able to enforce), rootfs propagation, a read-only root and an absolute
//! root path.

use serde_json::{json, Value};

use super::{array, at, Sources};
use crate::rng::Rng;

/// hostname and domainname (only with a uts namespace: edge.rs sets them without one).
pub fn uts(r: &mut Rng, config: &mut Value, _: &Sources) {
    if !super::has_ns(config, "uts") {
        return;
    }
    match r.below(4) {
        0 => {
            if let Some(o) = config.as_object_mut() {
                o.remove("hostname");
            }
        }
        1 => config["hostname"] = json!(""),
        _ => config["hostname"] = json!(*r.pick(&["box", "a-much-longer-host-name", "h1.example"])),
    }
    if r.chance(40) {
        config["domainname"] = json!(*r.pick(&["example.org", "", "nis.local"]));
    }
}

/// (key, namespace type that scopes it, values).
const SYSCTLS: [(&str, &str, &[&str]); 8] = [
    ("net.ipv4.ip_forward", "network", &["0", "1"]),
    (
        "net.ipv4.ping_group_range",
        "network",
        &["0 2147483647", "1 0"],
    ),
    (
        "net.ipv4.ip_unprivileged_port_start",
        "network",
        &["0", "1024"],
    ),
    ("net.core.somaxconn", "network", &["128", "4096"]),
    ("kernel.shmmax", "ipc", &["68719476736", "1000000"]),
    ("kernel.msgmax", "ipc", &["8192", "65536"]),
    ("fs.mqueue.queues_max", "ipc", &["256", "512"]),
    ("kernel.domainname", "uts", &["sysctl.example"]),
];

/// One to three sysctls the config's own namespaces scope (edge.rs sets others).
pub fn sysctl(r: &mut Rng, config: &mut Value, _: &Sources) {
    let scoped: Vec<(&str, &[&str])> = SYSCTLS
        .iter()
        .filter(|(_, ns, _)| super::has_ns(config, ns))
        .map(|(k, _, v)| (*k, *v))
        .collect();
    if scoped.is_empty() {
        return;
    }
    let map = at(config, "/linux/sysctl");
    if !map.is_object() {
        *map = json!({});
    }
    for _ in 0..r.range(1, 3) {
        let (key, values) = *r.pick(&scoped);
        map[key] = json!(*r.pick(values));
    }
}

/// Device nodes: common ones, one with owner and mode, one the host lacks (a block device),
/// and paths outside /dev.
pub fn devices(r: &mut Rng, config: &mut Value, _: &Sources) {
    let list = array(config, "/linux/devices");
    for _ in 0..r.range(1, 3) {
        let dev = match r.below(10) {
            0..=1 => json!({ "path": "/dev/fuse", "type": "c", "major": 10, "minor": 229 }),
            2 => {
                json!({ "path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200, "fileMode": 438 })
            }
            3 => {
                json!({ "path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 384, "uid": 0, "gid": 0 })
            }
            4 => {
                json!({ "path": "/dev/mynull", "type": "c", "major": 1, "minor": 3, "fileMode": 432, "uid": 1000, "gid": 5 })
            }
            5 => json!({ "path": "/dev/loop-control", "type": "c", "major": 10, "minor": 237 }),
            6 => json!({ "path": "/dev/sdz", "type": "b", "major": 8, "minor": 240 }),
            7 => json!({ "path": "/dev/fifo", "type": "p" }),
            8 => json!({ "path": "/etc/evil", "type": "c", "major": 1, "minor": 3 }),
            _ => json!({ "path": "/dev/../etc/evil2", "type": "c", "major": 1, "minor": 5 }),
        };
        if !list.iter().any(|d| d["path"] == dev["path"]) {
            list.push(dev);
        }
    }
}

const MASKED: [&str; 12] = [
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
    "/etc/passwd",
    "/nonexistent/masked",
    "/proc/interrupts",
];
const READONLY: [&str; 9] = [
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
    "/etc",
    "/tmp",
    "/nonexistent/ro",
    "/proc/asound",
];

/// Replaces or extends maskedPaths and readonlyPaths (none without a mount namespace of the
/// container's own: runc refuses to mask in the runtime's namespace; edge.rs does not try).
pub fn masked_readonly(r: &mut Rng, config: &mut Value, _: &Sources) {
    if !super::has_ns(config, "mount") {
        return;
    }
    for (key, pool) in [
        ("maskedPaths", &MASKED[..]),
        ("readonlyPaths", &READONLY[..]),
    ] {
        match r.below(4) {
            0 => {
                if let Some(l) = config["linux"].as_object_mut() {
                    l.remove(key);
                }
            }
            1 => config["linux"][key] = json!(r.subset(pool, 40)),
            _ => {
                let list = array(config, &format!("/linux/{key}"));
                for p in r.subset(pool, 20) {
                    if !list.iter().any(|x| x == p) {
                        list.push(json!(p));
                    }
                }
            }
        }
    }
}

/// cgroup limits, each family with its own chance.
pub fn resources(r: &mut Rng, config: &mut Value, _: &Sources) {
    let res = at(config, "/linux/resources");
    if !res.is_object() {
        *res = json!({});
    }
    if r.chance(50) {
        let limit = *r.pick(&[64u64 << 20, 128 << 20, 1 << 30]);
        let mut m = json!({ "limit": limit });
        if r.chance(40) {
            m["swap"] = json!(limit * *r.pick(&[1u64, 2]));
        }
        if r.chance(30) {
            m["reservation"] = json!(limit / 2);
        }
        if r.chance(20) {
            m["swappiness"] = json!(*r.pick(&[0u64, 60, 100]));
        }
        if r.chance(15) {
            m["disableOOMKiller"] = json!(r.chance(50));
        }
        if r.chance(10) {
            m["kernelTCP"] = json!(64u64 << 20);
        }
        if r.chance(5) {
            // Deprecated (runtime-spec 1.2): Linux 5.4+ ignores kernel memory limits.
            m["kernel"] = json!(128u64 << 20);
        }
        res["memory"] = m;
    }
    if r.chance(50) {
        let mut c = json!({});
        if r.chance(60) {
            c["shares"] = json!(*r.pick(&[2u64, 512, 1024, 262_144]));
        }
        if r.chance(40) {
            c["quota"] = json!(*r.pick(&[50_000i64, 100_000, -1]));
            c["period"] = json!(100_000);
        }
        if r.chance(30) {
            c["cpus"] = json!(*r.pick(&["0", "0-1", "1"]));
            c["mems"] = json!("0");
        }
        if r.chance(10) {
            c["burst"] = json!(10_000u64);
        }
        if r.chance(5) {
            c["idle"] = json!(1);
        }
        res["cpu"] = c;
    }
    if r.chance(40) {
        res["pids"] = json!({ "limit": *r.pick(&[-1i64, 0, 32, 1024]) });
    }
    if r.chance(5) {
        // Needs blkio.weight or blkio.bfq.weight, which many hosts lack.
        res["blockIO"] = json!({ "weight": *r.pick(&[10u64, 500, 1000]) });
    }
    if r.chance(30) {
        let rules = array(res, "/devices");
        if rules.is_empty() {
            rules.push(json!({ "allow": false, "access": "rwm" }));
        }
        rules.push(json!({ "allow": true, "type": "c", "major": 1, "minor": *r.pick(&[3, 5, 9]), "access": *r.pick(&["rwm", "rw", "r"]) }));
        if r.chance(30) {
            rules.push(
                json!({ "allow": false, "type": "c", "major": 10, "minor": 229, "access": "rwm" }),
            );
        }
    }
    if r.chance(8) {
        // On a hybrid host: a file of the container's cgroup2 directory.
        res["unified"] = json!({ "cgroup.max.descendants": "100" });
    }
    if r.chance(8) {
        res["hugepageLimits"] = json!([{ "pageSize": "2MB", "limit": 1u64 << 21 }]);
    }
    if r.chance(8) {
        res["network"] =
            json!({ "classID": 1_048_577, "priorities": [{ "name": "lo", "priority": 2 }] });
    }
}

/// rootfsPropagation, root.readonly, an absolute root path.
pub fn root(r: &mut Rng, config: &mut Value, _: &Sources) {
    if r.chance(50) {
        config["linux"]["rootfsPropagation"] = json!(*r.pick(&super::mounts::PROPAGATION));
    }
    if r.chance(50) {
        config["root"]["readonly"] = json!(r.chance(70));
    }
    if r.chance(30) {
        config["root"]["path"] = json!("@BUNDLE@/rootfs");
    }
}
