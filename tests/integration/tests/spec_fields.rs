//! The rarer runtime-spec 1.2 fields, each checked from inside a real container and from
//! the host: linux.memoryPolicy, process.execCPUAffinity and linux.intelRdt (its error
//! path: resctrl is not mounted on the test machines). linux.netDevices: spec_netdev.rs.
//! Each test names the field it proves on a `// spec: <field>` line.

use kapsel_integration::ctx;
use serde_json::json;

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
    out.create_refused(&id, &["linux.memoryPolicy.nodes", "node 63 is not online"]);
    t.assert_no_leftovers(&id, &b, None);
    b.set("/linux/memoryPolicy", json!({"mode": "MPOL_BIND"}));
    let out = t.create(&b, &id);
    out.create_refused(
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
    out.create_refused(
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
    out.create_refused(&id, &["linux.intelRdt", "resctrl is not mounted"]);
    t.assert_no_leftovers(&id, &b, None);
}
