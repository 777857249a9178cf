//! Host-side views of processes through /proc, and reaping the containers this test process
//! inherits as a child subreaper.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// Every pid in /proc.
pub fn pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|dir| {
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// readlink /proc/<pid>/<what> (cwd, root, exe, ns/net...).
pub fn link(pid: i32, what: &str) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/{what}")).ok()
}

/// The state letter of /proc/<pid>/stat (R, S, Z...), None when the pid is gone.
pub fn state_char(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The parent pid from /proc/<pid>/stat.
pub fn ppid(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// When `pid` started, in clock ticks since boot (field 22 of /proc/<pid>/stat).
pub fn start_ticks(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

/// True while `pid` exists and is not a zombie.
pub fn is_alive(pid: i32) -> bool {
    state_char(pid).is_some_and(|c| c != 'Z')
}

/// Waits up to `timeout` for `pid` to die; reaps it when it is our child and returns its
/// wait status (None when it was not ours, or still alive at the deadline).
pub fn reap(pid: i32, timeout: Duration) -> Option<WaitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        match waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(status) => return Some(status),
            Err(Errno::ECHILD) if !is_alive(pid) => return None,
            Err(_) => {}
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Makes this process a child subreaper (once), so containers left by `create` are
/// reparented to it and can be reaped by pid, as conmon and the containerd shim do.
pub fn become_subreaper() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        nix::sys::prctl::set_child_subreaper(true)
            .unwrap_or_else(|e| panic!("prctl PR_SET_CHILD_SUBREAPER: {e}"));
    });
}
