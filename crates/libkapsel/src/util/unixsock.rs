//! The caller's unix sockets a runtime hands descriptors to (--console-socket,
//! --pidfd-socket): connect, then send one descriptor with SCM_RIGHTS.

use crate::error::{nix_err, Result};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// Connects a SOCK_STREAM socket to `path`; `op` names the step in errors
/// (e.g. "connect to console socket").
pub fn connect(path: &Path, op: &'static str) -> Result<OwnedFd> {
    use nix::sys::socket::{connect as sock_connect, socket, AddressFamily, SockFlag, SockType};
    let fd = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(nix_err("socket", path))?;
    let addr = UnixAddr::new(path).map_err(nix_err("unix socket address", path))?;
    sock_connect(fd.as_raw_fd(), &addr).map_err(nix_err(op, path))?;
    Ok(fd)
}

/// Sends `fd` over `socket` with `payload` as the message's bytes; `op` names the step.
pub fn send_fd(
    socket: BorrowedFd<'_>,
    fd: BorrowedFd<'_>,
    payload: &str,
    op: &'static str,
) -> Result<()> {
    let fds = [fd.as_raw_fd()];
    let iov = [IoSlice::new(payload.as_bytes())];
    sendmsg::<UnixAddr>(
        socket.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map(drop)
    .map_err(nix_err(op, ""))
}
