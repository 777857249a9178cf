//! The config.json of the benchmark containers: a default close to what `runc spec` gives,
//! or the user's bundle config, with the process and resources set per benchmark.

use std::path::Path;

use serde_json::{json, Value};

/// A small default spec: the usual namespaces and mounts, three capabilities, no terminal.
pub fn default_spec() -> Value {
    let caps = json!(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": ["true"],
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "assay",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "nodev", "mode=1777", "size=65536k"]}
        ],
        "linux": {
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// What one benchmark container runs, and with which limits and extra mounts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub cwd: Option<String>,
    /// `linux.resources.cpu` as `(quota, period)` in microseconds.
    pub cpu_quota: Option<(i64, u64)>,
    /// Host folder bind-mounted read-write at `/work`.
    pub work_mount: Option<String>,
    /// OCI annotations, e.g. `run.oci.handler=wasm` for a runtime's wasm handler.
    pub annotations: Vec<(String, String)>,
}

/// `base` with the rootfs made absolute and the process and resources of `plan`.
pub fn specialise(base: &Value, rootfs: &Path, plan: &ProcessPlan) -> Value {
    let mut spec = base.clone();
    spec["root"]["path"] = json!(rootfs.display().to_string());
    spec["process"]["terminal"] = json!(false);
    spec["process"]["args"] = json!(plan.args);
    if let Some(cwd) = &plan.cwd {
        spec["process"]["cwd"] = json!(cwd);
    }
    if let Some((quota, period)) = plan.cpu_quota {
        if !spec["linux"]["resources"].is_object() {
            spec["linux"]["resources"] = json!({});
        }
        spec["linux"]["resources"]["cpu"] = json!({"quota": quota, "period": period});
    }
    if !plan.annotations.is_empty() {
        let map: serde_json::Map<String, Value> = plan
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        spec["annotations"] = Value::Object(map);
    }
    if let Some(src) = &plan.work_mount {
        if let Some(mounts) = spec["mounts"].as_array_mut() {
            mounts.push(
                json!({"destination": "/work", "type": "bind", "source": src,
                               "options": ["rbind", "rw"]}),
            );
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specialise_sets_process_and_limits() {
        let plan = ProcessPlan {
            args: vec!["sleep".into(), "10".into()],
            cwd: Some("/work".into()),
            cpu_quota: Some((1000, 10000)),
            work_mount: Some("/tmp/w".into()),
            annotations: vec![("run.oci.handler".into(), "wasm".into())],
        };
        let s = specialise(&default_spec(), Path::new("/b/rootfs"), &plan);
        assert_eq!(s["annotations"]["run.oci.handler"], "wasm");
        assert_eq!(s["root"]["path"], "/b/rootfs");
        assert_eq!(s["process"]["args"], json!(["sleep", "10"]));
        assert_eq!(s["process"]["cwd"], "/work");
        assert_eq!(s["linux"]["resources"]["cpu"]["quota"], 1000);
        assert_eq!(
            s["linux"]["resources"]["devices"][0]["allow"], false,
            "other resources kept"
        );
        assert_eq!(
            s["mounts"].as_array().unwrap().last().unwrap()["source"],
            "/tmp/w"
        );
    }

    #[test]
    fn specialise_without_resources_object() {
        let base = json!({"process": {}, "root": {}, "linux": {}, "mounts": []});
        let plan = ProcessPlan {
            args: vec!["true".into()],
            cpu_quota: Some((5000, 10000)),
            ..Default::default()
        };
        let s = specialise(&base, Path::new("/r"), &plan);
        assert!(
            s.get("annotations").is_none(),
            "no annotations: none written"
        );
        assert_eq!(s["linux"]["resources"]["cpu"]["period"], 10000);
        assert_eq!(s["process"]["terminal"], false);
    }
}
