//! Namespaces: each type new, joined (a helper process's, through `@NS:<kind>@`) or absent
//! (inherited from the runtime, the spec's rule for unlisted types) — including no mount
//! namespace — a user namespace with id mappings, a time namespace with offsets.

use serde_json::{json, Value};

use super::{namespaces, Sources};
use crate::rng::Rng;

/// (type, file under /proc/PID/ns, percent new, percent joined; the rest absent).
const KINDS: [(&str, &str, u64, u64); 8] = [
    ("pid", "pid", 65, 15),
    ("network", "net", 55, 25),
    ("ipc", "ipc", 55, 25),
    ("uts", "uts", 55, 25),
    ("mount", "mnt", 88, 0),
    ("cgroup", "cgroup", 40, 15),
    ("user", "user", 12, 0),
    ("time", "time", 10, 0),
];

/// Re-rolls about half of the namespace types.
pub fn vary(r: &mut Rng, config: &mut Value, _: &Sources) {
    let mut list: Vec<(String, Option<String>)> = namespaces(config);
    for (kind, file, new, joined) in KINDS {
        if !r.chance(50) {
            continue;
        }
        list.retain(|(k, _)| k != kind);
        let roll = r.below(100);
        if roll < new {
            list.push((kind.to_string(), None));
        } else if roll < new + joined {
            list.push((kind.to_string(), Some(format!("@NS:{file}@"))));
        }
    }
    if r.chance(20) {
        // The order a caller lists them in should not matter.
        for i in (1..list.len()).rev() {
            list.swap(i, r.below(i as u64 + 1) as usize);
        }
    }
    config["linux"]["namespaces"] = json!(list
        .iter()
        .map(|(kind, path)| match path {
            Some(p) => json!({ "type": kind, "path": p }),
            None => json!({ "type": kind }),
        })
        .collect::<Vec<_>>());
    let has = |k: &str| list.iter().any(|(kind, _)| kind == k);
    if !has("mount") {
        // Without a mount namespace of its own a container cannot mask paths (runc refuses).
        if let Some(linux) = config["linux"].as_object_mut() {
            linux.remove("maskedPaths");
            linux.remove("readonlyPaths");
        }
    }
    if !has("uts") {
        // A caller sharing the host's uts namespace sets no names (edge.rs tries it).
        if let Some(o) = config.as_object_mut() {
            o.remove("hostname");
            o.remove("domainname");
        }
    }
    if let Some(sysctl) = config["linux"]["sysctl"].as_object_mut() {
        // docker's sysctls need its network namespace.
        if !has("network") {
            sysctl.retain(|k, _| !k.starts_with("net."));
        }
    }
    if has("user") {
        if !config["linux"]["uidMappings"].is_array() {
            let host = *r.pick(&[0u64, 100_000, 200_000]);
            let size = *r.pick(&[65_536u64, 70_000]);
            config["linux"]["uidMappings"] =
                json!([{ "containerID": 0, "hostID": host, "size": size }]);
            config["linux"]["gidMappings"] =
                json!([{ "containerID": 0, "hostID": host, "size": size }]);
        }
    } else if let Some(linux) = config["linux"].as_object_mut() {
        linux.remove("uidMappings");
        linux.remove("gidMappings");
    }
    if has("time") && r.chance(70) {
        config["linux"]["timeOffsets"] = json!({
            "monotonic": { "secs": r.range(1, 100_000), "nanosecs": 0 },
            "boottime": { "secs": r.range(1, 100_000), "nanosecs": r.below(1000) },
        });
    } else if !has("time") {
        if let Some(linux) = config["linux"].as_object_mut() {
            linux.remove("timeOffsets");
        }
    }
}
