//! Cloning a process into a pid namespace the caller is not in: setns(CLONE_NEWPID)
//! changes only where the caller's *children* are born, so the parent enters the
//! target around clone3 and then goes back to its own namespace (the child stays).

use crate::error::{nix_err, Error, Result};
use kapsel_sys::process::{clone_fork, Forked};
use nix::sched::{setns, CloneFlags};
use std::os::fd::{AsFd, OwnedFd, RawFd};

/// clone3 like fork with `flags`, the child born into `pidns` when one is given.
pub fn clone_in(
    flags: u64,
    cgroup_fd: Option<RawFd>,
    pidns: Option<(&OwnedFd, &str)>,
) -> Result<Forked> {
    let Some((target, what)) = pidns else {
        return Ok(clone_fork(flags, cgroup_fd)?);
    };
    let own = std::fs::File::open("/proc/self/ns/pid")
        .map_err(|e| Error::io("open", "/proc/self/ns/pid", e))?;
    setns(target.as_fd(), CloneFlags::CLONE_NEWPID).map_err(nix_err("setns", what))?;
    let forked = clone_fork(flags, cgroup_fd);
    // Only the parent goes back (also when the clone failed): the child lives in the target.
    if !matches!(forked, Ok(Forked::Child)) {
        setns(own.as_fd(), CloneFlags::CLONE_NEWPID)
            .map_err(nix_err("setns", "/proc/self/ns/pid"))?;
    }
    Ok(forked?)
}

/// Whether to clone again without CLONE_INTO_CGROUP after `forked`: a kernel before 5.7
/// refuses the flag (the larger clone_args), and a cgroup that refuses the process fails
/// clone3 with an errno that names no file. Without the flag the child writes the cgroup's
/// `cgroup.procs` itself, which joins or fails naming the file.
pub fn retry_without_cgroup(forked: &Result<Forked>, used_cgroup: bool) -> bool {
    used_cgroup && forked.is_err()
}
