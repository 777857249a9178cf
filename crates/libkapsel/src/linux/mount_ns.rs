//! Which mount namespace the runtime works in. To protect its binary the runtime may move
//! to a private mount namespace of its own (security::exe_guard); what must happen in the
//! caller's (runtime-namespace hooks, the mounts of a container without a mount namespace
//! of its own) goes back there through the descriptor kept here.

use crate::error::{nix_err, Error, Result};
use nix::sched::CloneFlags;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::OnceLock;

/// The caller's mount namespace when this process moved to a private one.
static CALLER_MNT_NS: OnceLock<OwnedFd> = OnceLock::new();

/// Runs `f` in the caller's mount namespace (and working directory) when this process
/// left it to protect its binary; otherwise just runs `f`.
pub fn in_caller_mount_ns<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    let Some(caller) = CALLER_MNT_NS.get() else {
        return f();
    };
    let ours = std::fs::File::open("/proc/self/ns/mnt")
        .map_err(|e| Error::io("open", "/proc/self/ns/mnt", e))?;
    let cwd = std::fs::File::open(".").map_err(|e| Error::io("open", ".", e))?;
    // setns(CLONE_NEWNS) resets the root and working directory: both are restored after.
    nix::sched::setns(caller.as_fd(), CloneFlags::CLONE_NEWNS)
        .map_err(nix_err("setns", "the caller's mount namespace"))?;
    let _ = nix::unistd::fchdir(&cwd);
    let result = f();
    nix::sched::setns(ours.as_fd(), CloneFlags::CLONE_NEWNS)
        .map_err(nix_err("setns", "the runtime's mount namespace"))?;
    let _ = nix::unistd::fchdir(&cwd);
    result
}

/// Moves this process for good into the caller's mount namespace when the runtime left
/// it (a container process that has no mount namespace of its own).
pub fn enter_caller_mount_ns() -> Result<()> {
    match CALLER_MNT_NS.get() {
        Some(caller) => nix::sched::setns(caller.as_fd(), CloneFlags::CLONE_NEWNS)
            .map_err(nix_err("setns", "the caller's mount namespace")),
        None => Ok(()),
    }
}

/// Keeps the caller's mount namespace (handed over by the re-executed runtime).
pub(crate) fn remember_caller(fd: OwnedFd) {
    let _ = CALLER_MNT_NS.set(fd);
}
