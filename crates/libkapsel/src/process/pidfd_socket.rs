//! `--pidfd-socket` (create, run, exec): a pidfd of the container's init or of the
//! exec'd process, sent to the caller's unix socket with SCM_RIGHTS as runc 1.2 does,
//! so the caller can signal and wait for exactly that process, immune to pid reuse.

use crate::error::Result;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// Connects to the caller's socket; done before anything is made, so a bad path fails
/// early and leaves nothing.
pub fn connect(path: &Path) -> Result<OwnedFd> {
    crate::util::unixsock::connect(path, "connect to pidfd socket")
}

/// Opens a pidfd of `pid` (a child of this process, so it cannot have been recycled)
/// and sends it.
pub fn send(socket: &OwnedFd, pid: i32) -> Result<()> {
    let pidfd = kapsel_sys::process::pidfd_open(pid)?;
    crate::util::unixsock::send_fd(
        socket.as_fd(),
        pidfd.as_fd(),
        "pidfd",
        "send pidfd over the pidfd socket",
    )
}
