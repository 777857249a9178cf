//! `kapsel spec`: the config.json a new bundle starts from, in the shape `runc spec`
//! writes (a shell on a terminal, a small capability set, the usual mounts, masked
//! and read-only paths), with a cgroup namespace added.

use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::path::PathBuf;

pub fn default_config(rootless: bool) -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    // gid 5 (tty) is not mapped in a rootless container's user namespace.
    let devpts = if rootless {
        json!([
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620"
        ])
    } else {
        json!([
            "nosuid",
            "noexec",
            "newinstance",
            "ptmxmode=0666",
            "mode=0620",
            "gid=5"
        ])
    };
    let mut mounts = vec![
        json!({"destination": "/proc", "type": "proc", "source": "proc"}),
        json!({"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
               "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]}),
        json!({"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": devpts}),
        json!({"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
               "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]}),
        json!({"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
               "options": ["nosuid", "noexec", "nodev"]}),
    ];
    let mut namespaces = vec![json!({"type": "pid"})];
    let mut linux = serde_json::Map::new();
    if rootless {
        // Without privilege: no network namespace of our own (it would have no devices
        // to configure), /sys bound from the host, no cgroup mount.
        mounts.push(
            json!({"destination": "/sys", "type": "none", "source": "/sys",
                           "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]}),
        );
        for t in ["ipc", "uts", "mount", "user", "cgroup"] {
            namespaces.push(json!({"type": t}));
        }
        let uid = nix::unistd::geteuid().as_raw();
        let gid = nix::unistd::getegid().as_raw();
        linux.insert(
            "uidMappings".into(),
            json!([{"containerID": 0, "hostID": uid, "size": 1}]),
        );
        linux.insert(
            "gidMappings".into(),
            json!([{"containerID": 0, "hostID": gid, "size": 1}]),
        );
    } else {
        mounts.push(
            json!({"destination": "/sys", "type": "sysfs", "source": "sysfs",
                           "options": ["nosuid", "noexec", "nodev", "ro"]}),
        );
        mounts.push(
            json!({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                           "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}),
        );
        for t in ["network", "ipc", "uts", "mount", "cgroup"] {
            namespaces.push(json!({"type": t}));
        }
        linux.insert(
            "resources".into(),
            json!({"devices": [{"allow": false, "access": "rwm"}]}),
        );
    }
    linux.insert("namespaces".into(), Value::Array(namespaces));
    linux.insert(
        "maskedPaths".into(),
        json!([
            "/proc/acpi",
            "/proc/asound",
            "/proc/kcore",
            "/proc/keys",
            "/proc/latency_stats",
            "/proc/timer_list",
            "/proc/timer_stats",
            "/proc/sched_debug",
            "/sys/firmware",
            "/proc/scsi"
        ]),
    );
    linux.insert(
        "readonlyPaths".into(),
        json!([
            "/proc/bus",
            "/proc/fs",
            "/proc/irq",
            "/proc/sys",
            "/proc/sysrq-trigger"
        ]),
    );
    json!({
        // Everything below exists since runtime-spec 1.0.2; saying so keeps the bundle
        // usable by older runtimes (crun 1.8 rejects "1.2.0") for side-by-side runs.
        "ociVersion": "1.0.2",
        "process": {
            "terminal": true,
            "user": {"uid": 0, "gid": 0},
            "args": ["sh"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps, "ambient": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "kapsel",
        "mounts": mounts,
        "linux": linux
    })
}

/// The default seccomp profile (docker's and podman's) as config.json's `linux.seccomp`.
pub fn default_seccomp() -> Value {
    serde_json::to_value(kapsel_seccomp::default_profile()).unwrap_or(Value::Null)
}

/// `kapsel spec`: writes the default config.json into `bundle` (the current directory when
/// none), with the default seccomp profile when asked; refuses to overwrite one.
pub fn write(bundle: Option<PathBuf>, rootless: bool, seccomp: bool) -> Result<()> {
    let dir = bundle.unwrap_or_else(|| PathBuf::from("."));
    let path = dir.join(super::CONFIG_FILE);
    if path.exists() {
        return Err(Error::msg(format!(
            "spec: `{}` exists: remove it first",
            path.display()
        )));
    }
    let mut config = default_config(rootless);
    if seccomp {
        config["linux"]["seccomp"] = default_seccomp();
    }
    let text = serde_json::to_string_pretty(&config).unwrap_or_default();
    std::fs::write(&path, text + "\n").map_err(|e| Error::io("write", &path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_config_parses_as_an_oci_spec() {
        for rootless in [false, true] {
            let v = default_config(rootless);
            let spec: oci_spec::runtime::Spec = serde_json::from_value(v).unwrap();
            assert_eq!(
                spec.process().as_ref().unwrap().args().as_ref().unwrap()[0],
                "sh"
            );
        }
    }
}
