//! The cgroup attach warm-up of create, run and exec (libkapsel::attach_warmup): on a host
//! with cgroup v1 hierarchies, the helper process forked at start-up is gone soon after the
//! runtime and never sits in a container's cgroup.

use std::path::Path;
use std::time::{Duration, Instant};

use kapsel_integration::faults::cgroup_procs_of;
use kapsel_integration::{ctx, procfs};

/// Processes whose command line names `root` (the helper is a fork of the runtime, so its
/// command line is the runtime's `--root ROOT create ...`).
fn processes_naming(root: &Path) -> Vec<i32> {
    let needle = root.to_string_lossy().into_owned();
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmdline).contains(&needle) {
            pids.push(pid);
        }
    }
    pids
}

#[test]
fn the_warmup_helper_is_gone_and_never_in_the_container_cgroup() {
    let Some(mut t) = ctx!("the_warmup_helper_is_gone_and_never_in_the_container_cgroup") else {
        return;
    };
    if t.kapsel_only("the helper is kapsel's own") {
        return;
    }
    if !Path::new("/sys/fs/cgroup/pids/cgroup.procs").exists() {
        t.skip("no cgroup v1 pids hierarchy: kapsel forks no helper");
        return;
    }
    for round in 0..5 {
        let id = t.id(&format!("warm{round}"));
        let mut b = t.bundle();
        b.args(&["sleep", "1000"]);
        let pid = t.create_and_start(&b, &id);
        assert_eq!(
            cgroup_procs_of(&id),
            [pid],
            "only the init is in the container's cgroups"
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left: Vec<i32> = processes_naming(t.root())
                .into_iter()
                .filter(|p| procfs::is_alive(*p))
                .collect();
            if left.is_empty() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "processes of the runtime outlived it: {left:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        t.cmd(&["delete", "--force", &id]).ok();
    }
}
