//! On a host with cgroup v1 hierarchies, the first move of a process between cgroups
//! after a quiet spell waits for an RCU grace period: a write to `cgroup.procs` takes
//! the kernel's global `cgroup_threadgroup_rwsem` for writing, and switching that lock
//! out of its fast reader mode (rcu_sync) needs one. Measured here: 5–7 ms for the
//! first move after 100 ms of quiet, 0.02 ms for moves in the grace period after it.
//! create, run and exec move a container process into its v1 cgroups after 2–3 ms of
//! parsing and cgroup setup, and would then wait the whole grace period.
//!
//! [`start`] forks a helper at start-up that moves itself (pid 0: the writer) into the
//! root cgroup of one v1 hierarchy and exits: the grace period then runs while the
//! runtime parses and prepares, and the container's own moves find the lock ready.
//! The helper holds no descriptor (a caller waiting for EOF on kapsel's output never
//! waits for it), is never in a container's cgroup, and is reaped by whoever reaps
//! kapsel's children (`run` and `exec` reap every child; after `create` exits, its
//! reaper). Not done on a pure cgroup v2 host (the container process is cloned
//! straight into its cgroup), for non-root callers, or in the re-executed image of
//! exe_guard (the first image already did it).

use std::io::Write;

/// Hierarchies whose root `cgroup.procs` the helper tries, in order.
const HIERARCHIES: [&str; 5] = ["pids", "memory", "cpu", "devices", "freezer"];

/// Starts the helper when it can help; never fails (it is only an optimisation).
pub fn start() {
    use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC};
    if !nix::unistd::geteuid().is_root() || crate::exe_guard::reexecuted() {
        return;
    }
    match statfs("/sys/fs/cgroup") {
        Ok(s) if s.filesystem_type() != CGROUP2_SUPER_MAGIC => {}
        _ => return,
    }
    if let Ok(kapsel_sys::process::Forked::Child) = kapsel_sys::process::clone_fork(0, None) {
        let _ = kapsel_sys::process::close_all_except(0, &[]);
        for h in HIERARCHIES {
            let path = format!("/sys/fs/cgroup/{h}/cgroup.procs");
            if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(path) {
                let _ = f.write_all(b"0");
                break;
            }
        }
        std::process::exit(0);
    }
}
