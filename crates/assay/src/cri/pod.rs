//! The pods and containers assay asks a CRI runtime for: host-network pods (this machine has
//! no pod network), with an empty hostname (there is no UTS namespace to set it in), under a
//! cgroup parent of assay's own so that nothing is left in a shared one.

use std::path::{Path, PathBuf};

use crate::error::Error;

use super::api::*;

/// The busybox image the containers run (imported from scripts/callers/mkimage.py's tar).
pub const BUSYBOX_IMAGE: &str = "kapsel.local/busybox:1";

pub fn namespaces() -> NamespaceOption {
    NamespaceOption {
        network: NamespaceMode::Node as i32,
        pid: NamespaceMode::Container as i32,
        ipc: NamespaceMode::Pod as i32,
    }
}

/// A pod named `name` (unique per run) under `cgroup_parent` (e.g. `/assay-cri-PID`).
pub fn sandbox(name: &str, cgroup_parent: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: format!("{name}-uid"),
            namespace: "assay".into(),
            attempt: 0,
        }),
        hostname: String::new(),
        log_directory: String::new(),
        labels: [("app".to_string(), "assay".to_string())].into(),
        annotations: Default::default(),
        linux: Some(LinuxPodSandboxConfig {
            cgroup_parent: cgroup_parent.into(),
            security_context: Some(LinuxSandboxSecurityContext {
                namespace_options: Some(namespaces()),
            }),
        }),
    }
}

/// A busybox container running `command`, with optional resources and host bind mounts.
pub fn container(
    name: &str,
    command: &[&str],
    resources: Option<LinuxContainerResources>,
    mounts: Vec<Mount>,
) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: BUSYBOX_IMAGE.into(),
        }),
        command: command.iter().map(|s| s.to_string()).collect(),
        args: Vec::new(),
        envs: Vec::new(),
        mounts,
        annotations: Default::default(),
        log_path: String::new(),
        linux: Some(LinuxContainerConfig {
            resources,
            security_context: Some(LinuxContainerSecurityContext {
                namespace_options: Some(namespaces()),
            }),
        }),
    }
}

/// CFS quota of `percent` % of one core, over a 100 ms period.
pub fn cpu_percent(percent: i64) -> LinuxContainerResources {
    LinuxContainerResources {
        cpu_period: 100_000,
        cpu_quota: 1000 * percent,
        ..Default::default()
    }
}

/// Read-only bind mounts that make a dynamically linked host program run in a busybox
/// container: the program itself and the folder of each library `ldd` lists.
pub fn host_program_mounts(program: &Path) -> Result<Vec<Mount>, Error> {
    let argv = ["ldd".to_string(), program.display().to_string()];
    let out = std::process::Command::new(&argv[0])
        .arg(program)
        .output()
        .map_err(Error::spawn(&argv))?;
    let libs = crate::bundle::parse_ldd(&String::from_utf8_lossy(&out.stdout));
    let mut dirs: Vec<PathBuf> = libs
        .iter()
        .filter_map(|l| l.parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    let bind = |p: &Path| Mount {
        container_path: p.display().to_string(),
        host_path: p.display().to_string(),
        readonly: true,
    };
    let mut mounts = vec![bind(program)];
    mounts.extend(dirs.iter().map(|d| bind(d)));
    Ok(mounts)
}

/// The pid of a container's init, from containerd's verbose ContainerStatus `info` JSON.
pub fn pid_from_info(info: &std::collections::HashMap<String, String>) -> Option<i32> {
    let v: serde_json::Value = serde_json::from_str(info.get("info")?).ok()?;
    v.get("pid")?.as_i64().and_then(|p| i32::try_from(p).ok())
}

/// The host folder of a process's cgroup in the v1 `controller` hierarchy.
pub fn v1_cgroup_dir(pid: i32, controller: &str) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, names, path) = (parts.next()?, parts.next()?, parts.next()?);
        // `cpu,cpuacct` is mounted under that joined name.
        names.split(',').any(|n| n == controller).then(|| {
            Path::new("/sys/fs/cgroup")
                .join(names)
                .join(path.trim_start_matches('/'))
        })
    })
}

/// Whether this host has the unified cgroup v2 hierarchy alone (at /sys/fs/cgroup).
pub fn pure_v2() -> bool {
    Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// The host folder of a process's cgroup v2 (its `0::` line).
pub fn v2_cgroup_dir(pid: i32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("0::"))
        .map(|p| Path::new("/sys/fs/cgroup").join(p.trim_start_matches('/')))
}

/// The kubelet's pod slice for a pod uid under the systemd cgroup driver (a burstable pod):
/// dashes in the uid become underscores, as systemd reads a dash as a level.
pub fn pod_slice(uid: &str) -> String {
    format!("kubepods-burstable-pod{}.slice", uid.replace('-', "_"))
}

/// The cgroup folder systemd gives the slice NAME: one level per dash-separated prefix
/// (`a-b-c.slice` is `a.slice/a-b.slice/a-b-c.slice`).
pub fn slice_dir(name: &str) -> PathBuf {
    let stem = name.trim_end_matches(".slice");
    let mut dir = PathBuf::from("/sys/fs/cgroup");
    let mut prefix = String::new();
    for part in stem.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        dir.push(format!("{prefix}.slice"));
    }
    dir
}

/// Removes the cgroup folders `/sys/fs/cgroup/*/PARENT` (assay's pods' parent), deepest
/// first; a folder still in use stays.
pub fn remove_cgroup_parent(parent: &str) {
    let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    for h in hierarchies.flatten() {
        let top = h.path().join(parent.trim_start_matches('/'));
        if top.is_dir() {
            remove_tree(&top);
        }
    }
}

fn remove_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_use_the_host_network_and_no_hostname() {
        let p = sandbox("p1", "/assay-cri-1");
        assert_eq!(p.hostname, "");
        let ns = p
            .linux
            .unwrap()
            .security_context
            .unwrap()
            .namespace_options
            .unwrap();
        assert_eq!(ns.network, NamespaceMode::Node as i32);
    }

    #[test]
    fn kubelet_pod_slices() {
        let s = pod_slice("check-42");
        assert_eq!(s, "kubepods-burstable-podcheck_42.slice");
        assert_eq!(
            slice_dir(&s),
            Path::new("/sys/fs/cgroup/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podcheck_42.slice")
        );
    }

    #[test]
    fn cpu_percent_is_a_quota_of_one_core() {
        let r = cpu_percent(50);
        assert_eq!((r.cpu_quota, r.cpu_period), (50_000, 100_000));
    }

    #[test]
    fn pid_from_containerd_info() {
        let info = [(
            "info".to_string(),
            r#"{"pid": 4242, "sandboxID": "x"}"#.to_string(),
        )]
        .into();
        assert_eq!(pid_from_info(&info), Some(4242));
        assert_eq!(pid_from_info(&Default::default()), None);
    }

    #[test]
    fn own_cgroup_in_the_cpu_hierarchy() {
        // On this machine's v1 hierarchies the folder exists; without v1 cpu there is none.
        if let Some(d) = v1_cgroup_dir(std::process::id() as i32, "cpu") {
            assert!(d.join("cpu.shares").exists(), "{}", d.display());
        }
    }
}
