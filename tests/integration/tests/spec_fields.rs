//! The rarer runtime-spec 1.2 fields, each checked from inside a real container and from
//! the host: linux.memoryPolicy, process.execCPUAffinity, linux.netDevices and
//! linux.intelRdt (its error path: resctrl is not mounted on the test machines).
//! Each test names the field it proves on a `// spec: <field>` line.

use std::process::{Command, Stdio};

use kapsel_integration::{ctx, Ctx, Output};
use serde_json::json;

/// Asserts a clean rejection naming the container and every one of `names`.
#[track_caller]
fn refused(out: &Output, id: &str, names: &[&str]) {
    out.failed();
    let last = out.last_stderr_line();
    assert!(
        last.starts_with(&format!("container {id}: create: ")),
        "{}",
        out.describe()
    );
    for name in names {
        assert!(
            last.contains(name),
            "error should name `{name}`: {}",
            out.describe()
        );
    }
}

/// Asserts that every mapping of a numa_maps text has the policy `want` (`bind:0`,
/// `prefer (many):0`, ...: the text between the address and the next field).
#[track_caller]
fn assert_policy(numa_maps: &str, want: &str) {
    assert!(!numa_maps.trim().is_empty(), "empty numa_maps");
    for line in numa_maps.lines() {
        let policy = line.split_once(' ').map_or("", |(_, rest)| rest);
        assert!(
            policy == want || policy.starts_with(&format!("{want} ")),
            "want `{want}`: {line}"
        );
    }
}

/// What numa_maps shows for each mode on node 0 (mm/mempolicy.c policy_modes).
fn numa_maps_name(mode: &str) -> &'static str {
    match mode {
        "MPOL_DEFAULT" => "default",
        "MPOL_PREFERRED" => "prefer:0",
        "MPOL_BIND" => "bind:0",
        "MPOL_INTERLEAVE" => "interleave:0",
        "MPOL_LOCAL" => "local",
        "MPOL_PREFERRED_MANY" => "prefer (many):0",
        "MPOL_WEIGHTED_INTERLEAVE" => "weighted interleave:0",
        other => panic!("features lists an unknown memoryPolicy mode {other}"),
    }
}

// spec: linux.memoryPolicy
#[test]
fn memory_policy_every_mode_features_lists() {
    let Some(mut t) = ctx!("memory_policy_every_mode_features_lists") else {
        return;
    };
    if t.kapsel_only("1.1 has no linux.memoryPolicy") {
        return;
    }
    let features = t.cmd(&["features"]);
    features.ok();
    let features: serde_json::Value = serde_json::from_str(&features.stdout).expect("features");
    let modes = features["linux"]["memoryPolicy"]["modes"]
        .as_array()
        .expect("features lists memoryPolicy modes")
        .clone();
    assert_eq!(modes.len(), 7, "{modes:?}");
    for mode in modes.iter().filter_map(|m| m.as_str()) {
        let nodes = if matches!(mode, "MPOL_DEFAULT" | "MPOL_LOCAL") {
            ""
        } else {
            "0"
        };
        let mut b = t.bundle();
        b.set("/linux/memoryPolicy", json!({"mode": mode, "nodes": nodes}));
        let out = t.sh_output(&mut b, "cat /proc/self/numa_maps");
        assert_policy(&out, numa_maps_name(mode));
    }
    // A flag shows in the policy too.
    let mut b = t.bundle();
    b.set(
        "/linux/memoryPolicy",
        json!({"mode": "MPOL_PREFERRED", "nodes": "0", "flags": ["MPOL_F_STATIC_NODES"]}),
    );
    let out = t.sh_output(&mut b, "cat /proc/self/numa_maps");
    assert_policy(&out, "prefer=static:0");
}

// spec: linux.memoryPolicy
#[test]
fn memory_policy_seen_from_the_host() {
    let Some(mut t) = ctx!("memory_policy_seen_from_the_host") else {
        return;
    };
    if t.kapsel_only("1.1 has no linux.memoryPolicy") {
        return;
    }
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b.set(
        "/linux/memoryPolicy",
        json!({"mode": "MPOL_BIND", "nodes": "0"}),
    );
    let id = t.id("mpol");
    let pid = t.create_and_start(&b, &id);
    let maps = std::fs::read_to_string(format!("/proc/{pid}/numa_maps")).expect("numa_maps");
    assert_policy(&maps, "bind:0");
    t.cmd(&["delete", "--force", &id]).ok();
}

// spec: linux.memoryPolicy
#[test]
fn memory_policy_bad_node_is_refused() {
    let Some(mut t) = ctx!("memory_policy_bad_node_is_refused") else {
        return;
    };
    if t.kapsel_only("1.1 has no linux.memoryPolicy") {
        return;
    }
    let mut b = t.bundle();
    b.set(
        "/linux/memoryPolicy",
        json!({"mode": "MPOL_BIND", "nodes": "0,63"}),
    );
    let id = t.id("mpol-bad");
    let out = t.create(&b, &id);
    refused(
        &out,
        &id,
        &["linux.memoryPolicy.nodes", "node 63 is not online"],
    );
    t.assert_no_leftovers(&id, &b, None);
    b.set("/linux/memoryPolicy", json!({"mode": "MPOL_BIND"}));
    let out = t.create(&b, &id);
    refused(
        &out,
        &id,
        &["linux.memoryPolicy.nodes", "needs at least one node"],
    );
}

fn cpus_allowed(status: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .map(|v| v.trim().to_string())
        .unwrap_or_default()
}

fn online_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

// spec: process.execCPUAffinity
#[test]
fn exec_cpu_affinity_final_set_before_exec() {
    let Some(mut t) = ctx!("exec_cpu_affinity_final_set_before_exec") else {
        return;
    };
    if t.kapsel_only("1.1 has no process.execCPUAffinity") {
        return;
    }
    if online_cpus() < 2 && t.skip("needs 2 cpus") {
        return;
    }
    let mut b = t.bundle();
    b.set(
        "/process/execCPUAffinity",
        json!({"initial": "0", "final": "1"}),
    );
    let out = t.sh_output(&mut b, "cat /proc/self/status");
    assert_eq!(cpus_allowed(&out), "1", "{out}");
    // From the host, on a running container and on a process exec'd into it.
    b.args(&["sleep", "1000"]);
    b.set("/process/execCPUAffinity", json!({"final": "0"}));
    let id = t.id("affinity");
    let pid = t.create_and_start(&b, &id);
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    assert_eq!(cpus_allowed(&status), "0", "{status}");
    let exec = t.cmd(&["exec", &id, "cat", "/proc/self/status"]);
    exec.ok();
    assert_eq!(cpus_allowed(&exec.stdout), "0", "{}", exec.stdout);
    t.cmd(&["delete", "--force", &id]).ok();
}

// spec: process.execCPUAffinity
#[test]
fn exec_cpu_affinity_offline_cpu_is_refused() {
    let Some(mut t) = ctx!("exec_cpu_affinity_offline_cpu_is_refused") else {
        return;
    };
    if t.kapsel_only("1.1 has no process.execCPUAffinity") {
        return;
    }
    let mut b = t.bundle();
    b.set("/process/execCPUAffinity", json!({"initial": "1000"}));
    let id = t.id("affinity-bad");
    let out = t.create(&b, &id);
    refused(
        &out,
        &id,
        &["process.execCPUAffinity.initial", "cpu 1000 is not online"],
    );
    t.assert_no_leftovers(&id, &b, None);
}

fn resctrl_mounted() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            l.split_once(" - ")
                .is_some_and(|(_, r)| r.starts_with("resctrl "))
        })
}

// spec: linux.intelRdt
#[test]
fn intel_rdt_without_resctrl_is_refused() {
    let Some(mut t) = ctx!("intel_rdt_without_resctrl_is_refused") else {
        return;
    };
    if t.kapsel_only("checks kapsel's wording of the resctrl error") {
        return;
    }
    if resctrl_mounted() && t.skip("resctrl is mounted here; this test covers its absence") {
        return;
    }
    let mut b = t.bundle();
    b.set(
        "/linux/intelRdt",
        json!({"closID": "gold", "l3CacheSchema": "L3:0=f", "memBwSchema": "MB:0=50"}),
    );
    let id = t.id("rdt");
    let out = t.create(&b, &id);
    refused(&out, &id, &["linux.intelRdt", "resctrl is not mounted"]);
    t.assert_no_leftovers(&id, &b, None);
}

/// A veth pair on the host, deleted when dropped (both ends go with either).
struct Veth {
    name: String,
    peer: String,
}

impl Veth {
    fn new(tag: &str) -> Option<Veth> {
        let name = format!("kt{}{tag}", std::process::id() % 100_000);
        let v = Veth {
            peer: format!("{name}p"),
            name,
        };
        let ok = Command::new("ip")
            .args([
                "link", "add", &v.name, "type", "veth", "peer", "name", &v.peer,
            ])
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(v)
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        for link in [&self.name, &self.peer] {
            let _ = Command::new("ip")
                .args(["link", "del", link])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A veth pair for a netDevices test, or None after printing why the test is skipped.
fn veth_for(t: &Ctx, tag: &str) -> Option<Veth> {
    if t.kapsel_only("1.1 has no linux.netDevices") {
        return None;
    }
    let veth = Veth::new(tag);
    if veth.is_none() {
        t.skip("`ip link add ... type veth` failed (no veth support or no iproute2)");
    }
    veth
}

fn host_has(link: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(link).exists()
}

// spec: linux.netDevices
#[test]
fn net_devices_move_in_renamed_and_back_on_delete() {
    let Some(mut t) = ctx!("net_devices_move_in_renamed_and_back_on_delete") else {
        return;
    };
    let Some(veth) = veth_for(&t, "a") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b.set("/linux/netDevices", json!({ &veth.name: {"name": "ctr0"} }));
    let id = t.id("netdev");
    let pid = t.create_and_start(&b, &id);
    assert!(!host_has(&veth.name), "{} still on the host", veth.name);
    assert!(host_has(&veth.peer), "the peer stays on the host");
    let seen = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).expect("net/dev");
    assert!(seen.contains("ctr0:"), "{seen}");
    let inside = t.cmd(&["exec", &id, "cat", "/proc/net/dev"]);
    inside.ok();
    assert!(inside.stdout.contains("ctr0:"), "{}", inside.stdout);
    assert!(!inside.stdout.contains(&veth.name), "{}", inside.stdout);
    t.cmd(&["delete", "--force", &id]).ok();
    assert!(host_has(&veth.name), "{} was not given back", veth.name);
    t.assert_no_leftovers(&id, &b, None);
}

// spec: linux.netDevices
#[test]
fn net_devices_come_back_when_a_created_container_is_deleted() {
    let Some(mut t) = ctx!("net_devices_come_back_when_a_created_container_is_deleted") else {
        return;
    };
    let Some(veth) = veth_for(&t, "c") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/linux/netDevices", json!({ &veth.name: {} }));
    let id = t.id("netdev-created");
    t.create(&b, &id).ok();
    let pid = t.state_ok(&id)["pid"].as_i64().expect("pid");
    let seen = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).expect("net/dev");
    assert!(
        seen.contains(&format!("{}:", veth.name)),
        "same name inside: {seen}"
    );
    assert!(!host_has(&veth.name));
    t.cmd(&["delete", &id]).ok();
    assert!(host_has(&veth.name), "{} was not given back", veth.name);
}

// spec: linux.netDevices
#[test]
fn net_devices_refused_when_missing_or_without_netns() {
    let Some(mut t) = ctx!("net_devices_refused_when_missing_or_without_netns") else {
        return;
    };
    if t.kapsel_only("1.1 has no linux.netDevices") {
        return;
    }
    let mut b = t.bundle();
    b.set("/linux/netDevices", json!({"kt-nosuch0": {}}));
    let id = t.id("netdev-bad");
    let out = t.create(&b, &id);
    refused(
        &out,
        &id,
        &["linux.netDevices.kt-nosuch0", "no such host interface"],
    );
    t.assert_no_leftovers(&id, &b, None);
    b.set("/linux/netDevices", json!({"lo": {"name": "bad/name"}}));
    let out = t.create(&b, &id);
    refused(
        &out,
        &id,
        &["linux.netDevices.lo.name", "not an interface name"],
    );
    b.set("/linux/netDevices", json!({"lo": {}}));
    b.remove_namespace("network");
    let out = t.create(&b, &id);
    refused(
        &out,
        &id,
        &["linux.netDevices", "needs a network namespace"],
    );
}
