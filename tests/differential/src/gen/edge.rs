//! One boundary or invalid value per case, where runtimes must agree on the error class
//! (success or failure, and the verb that fails): each is a thing some caller sends or a
//! mistake a config makes.

use serde_json::{json, Value};

use super::{array, at};
use crate::rng::Rng;

/// Applies one edge; returns its name for the case's origin.
pub fn vary(r: &mut Rng, config: &mut Value) -> &'static str {
    const EDGES: [&str; 33] = [
        "hook-timeout-0",
        "device-outside-dev",
        "args-directory",
        "args-missing",
        "args-empty",
        "args-path-lookup",
        "cwd-relative",
        "ns-duplicate",
        "ns-unknown",
        "ns-path-missing",
        "rlimit-unknown",
        "rlimit-duplicate",
        "rlimit-soft-above-hard",
        "sysctl-host",
        "mappings-without-userns",
        "mount-relative-destination",
        "mount-missing-source",
        "oci-version",
        "no-process",
        "config-not-object",
        "hostname-without-uts",
        "root-missing",
        "seccomp-unknown-action",
        "seccomp-unknown-syscall",
        "oom-score-out-of-range",
        "umask-large",
        "device-duplicate",
        "masked-relative",
        "env-without-equals",
        "uid-unmapped",
        "cwd-file",
        "rlimit-above-hard",
        "hostname-in-joined-uts",
    ];
    let edge = *r.pick(&EDGES);
    match edge {
        "hook-timeout-0" => {
            let kind = *r.pick(&["prestart", "createRuntime", "poststart", "poststop"]);
            let mut hook = super::hooks::recorder(kind, array(config, &format!("/hooks/{kind}")).len(), 0);
            hook["timeout"] = json!(0);
            array(config, &format!("/hooks/{kind}")).push(hook);
        }
        "device-outside-dev" => array(config, "/linux/devices").push(json!({
            "path": *r.pick(&["/etc/evil", "/dev/../etc/evil", "/tmp/dev-null"]),
            "type": "c", "major": 1, "minor": 3 })),
        "args-directory" => config["process"]["args"][0] = json!(*r.pick(&["/tmp", "/etc"])),
        "args-missing" => config["process"]["args"][0] = json!("/nonexistent"),
        "args-empty" => config["process"]["args"] = json!([]),
        "args-path-lookup" => {
            config["process"]["args"][0] = json!("probe");
            let env = array(config, "/process/env");
            env.retain(|e| !e.as_str().is_some_and(|s| s.starts_with("PATH=")));
            env.push(json!("PATH=/usr/bin:/bin:/"));
        }
        "cwd-relative" => config["process"]["cwd"] = json!("tmp"),
        "ns-duplicate" => array(config, "/linux/namespaces").push(json!({ "type": "pid" })),
        "ns-unknown" => array(config, "/linux/namespaces").push(json!({ "type": "bogus" })),
        "ns-path-missing" => {
            let list = array(config, "/linux/namespaces");
            list.retain(|ns| ns["type"] != "network");
            list.push(json!({ "type": "network", "path": "/nonexistent/ns/net" }));
        }
        "rlimit-unknown" => array(config, "/process/rlimits")
            .push(json!({ "type": "RLIMIT_BOGUS", "soft": 1, "hard": 1 })),
        "rlimit-duplicate" => {
            let list = array(config, "/process/rlimits");
            list.push(json!({ "type": "RLIMIT_NOFILE", "soft": 100, "hard": 100 }));
            list.push(json!({ "type": "RLIMIT_NOFILE", "soft": 200, "hard": 200 }));
        }
        "rlimit-soft-above-hard" => array(config, "/process/rlimits")
            .push(json!({ "type": "RLIMIT_NOFILE", "soft": 2000, "hard": 1000 })),
        "sysctl-host" => {
            *at(config, "/linux/sysctl") = json!({ *r.pick(&["kernel.panic", "vm.swappiness", "net.ipv4.ip_forward"]): "1" });
            if r.chance(50) {
                array(config, "/linux/namespaces").retain(|ns| ns["type"] != "network");
            }
        }
        "mappings-without-userns" => {
            array(config, "/linux/namespaces").retain(|ns| ns["type"] != "user");
            config["linux"]["uidMappings"] = json!([{ "containerID": 0, "hostID": 100_000, "size": 65_536 }]);
            config["linux"]["gidMappings"] = json!([{ "containerID": 0, "hostID": 100_000, "size": 65_536 }]);
        }
        "mount-relative-destination" => array(config, "/mounts").push(json!({
            "destination": "mnt/relative", "type": "tmpfs", "source": "tmpfs" })),
        "mount-missing-source" => array(config, "/mounts").push(json!({
            "destination": "/mnt/missing", "type": "bind", "source": "@BUNDLE@/host/missing", "options": ["bind"] })),
        "oci-version" => config["ociVersion"] = json!(*r.pick(&["0.1.0", "2.0.0", "1.2.0", "1.0.0-rc1"])),
        "no-process" => {
            if let Some(o) = config.as_object_mut() {
                o.remove("process");
            }
        }
        "config-not-object" => *config = json!([1, 2, 3]),
        "hostname-without-uts" => {
            config["hostname"] = json!("no-uts");
            array(config, "/linux/namespaces").retain(|ns| ns["type"] != "uts");
        }
        "root-missing" => config["root"]["path"] = json!("no-such-rootfs"),
        "seccomp-unknown-action" => config["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{ "names": ["getpriority"], "action": "SCMP_ACT_BOGUS" }] }),
        "seccomp-unknown-syscall" => config["linux"]["seccomp"] = json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{ "names": ["no_such_call", "getpriority"], "action": "SCMP_ACT_ERRNO" }] }),
        "oom-score-out-of-range" => config["process"]["oomScoreAdj"] = json!(*r.pick(&[1001, -1001])),
        "umask-large" => config["process"]["user"]["umask"] = json!(*r.pick(&[511u32, 4095, 65_536])),
        "device-duplicate" => {
            let list = array(config, "/linux/devices");
            list.push(json!({ "path": "/dev/dup", "type": "c", "major": 1, "minor": 3 }));
            list.push(json!({ "path": "/dev/dup", "type": "c", "major": 1, "minor": 5 }));
        }
        "masked-relative" => array(config, "/linux/maskedPaths").push(json!("proc/kcore")),
        "cwd-file" => config["process"]["cwd"] = json!("/etc/hostname"),
        "rlimit-above-hard" => {
            let kind = *r.pick(&["RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_MEMLOCK", "RLIMIT_NOFILE"]);
            let list = array(config, "/process/rlimits");
            list.retain(|l| l["type"] != kind);
            list.push(json!({ "type": kind, "soft": 1, "hard": u64::MAX }));
        }
        "hostname-in-joined-uts" => {
            let list = array(config, "/linux/namespaces");
            list.retain(|ns| ns["type"] != "uts");
            list.push(json!({ "type": "uts", "path": "@NS:uts@" }));
            config["hostname"] = json!("joined");
        }
        "env-without-equals" => array(config, "/process/env").push(json!("NOEQUALS")),
        _ => {
            // "uid-unmapped": a user namespace whose mappings do not cover the user.
            let list = array(config, "/linux/namespaces");
            if !list.iter().any(|ns| ns["type"] == "user") {
                list.push(json!({ "type": "user" }));
            }
            config["linux"]["uidMappings"] = json!([{ "containerID": 0, "hostID": 100_000, "size": 10 }]);
            config["linux"]["gidMappings"] = json!([{ "containerID": 0, "hostID": 100_000, "size": 10 }]);
            config["process"]["user"]["uid"] = json!(500);
        }
    }
    edge
}

/// Verbs that take a container id, each as a runtime's callers write it.
const VERBS: [&str; 12] = [
    "create",
    "state",
    "start",
    "kill",
    "delete",
    "delete --force",
    "pause",
    "resume",
    "ps",
    "events --stats",
    "update --pids-limit 10",
    "exec",
];

/// Ids a runtime must refuse before it builds a path from them (runc: `invalid container ID
/// format`): empty, dot and dot-dot, a path with a slash, a relative and an absolute path
/// to a directory of the run.
const IDS: [&str; 7] = [
    "",
    ".",
    "..",
    "../victim",
    "a/b",
    "@RUN@/victim",
    "victim/..",
];

/// With a chance of one in five, two commands with a hostile id.
pub fn hostile_ids(r: &mut Rng) -> Vec<(String, String)> {
    if !r.chance(20) {
        return Vec::new();
    }
    (0..2)
        .map(|_| (r.pick(&VERBS).to_string(), r.pick(&IDS).to_string()))
        .collect()
}
