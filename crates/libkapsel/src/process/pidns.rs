//! Cloning a process into a pid namespace the caller is not in: setns(CLONE_NEWPID)
//! changes only where the caller's *children* are born, so the parent enters the
//! target around clone3 and then goes back to its own namespace (the child stays).

use crate::error::{nix_err, Error, Result};
use kapsel_cgroups::SelfJoin;
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

/// `clone_in`, the child born in `join`'s cgroup2 directory (CLONE_INTO_CGROUP) when it
/// has one. When clone3 fails with the flag (Linux before 5.7 has no such flag; a cgroup
/// that refuses the process fails clone3 with an errno that names no file), it clones
/// again without it, and the child joins that hierarchy by writing its `cgroup.procs`,
/// which joins or fails naming the file.
pub fn clone_joining(
    flags: u64,
    join: Option<&mut SelfJoin>,
    pidns: Option<(&OwnedFd, &str)>,
) -> Result<Forked> {
    let Some((join, fd)) = join.and_then(|j| j.clone_into().map(|fd| (j, fd))) else {
        return clone_in(flags, None, pidns);
    };
    match clone_in(flags, Some(fd), pidns) {
        Err(_) => {
            join.without_clone_into()
                .map_err(crate::linux::cgroups::map_err)?;
            clone_in(flags, None, pidns)
        }
        forked => forked,
    }
}
