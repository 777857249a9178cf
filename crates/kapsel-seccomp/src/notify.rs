//! Handing the user-notification fd to the seccomp agent at `listenerPath`, with the
//! container process state of config-linux.md ("The Container Process State").

use crate::Error;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, UnixAddr};
pub use oci_spec::runtime::{ContainerProcessState, State, SECCOMP_FD_NAME};
use std::io::{IoSlice, Write};
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::Path;

/// The state message for one notify fd: `fds` is `["seccompFd"]`, `metadata` the
/// config's `listenerMetadata`, `pid` the container process as the runtime sees it.
pub fn process_state(pid: i32, metadata: Option<&str>, state: State) -> ContainerProcessState {
    let mut s = ContainerProcessState::default();
    s.set_version(state.version().clone());
    s.set_fds(vec![SECCOMP_FD_NAME.to_string()]);
    s.set_pid(pid);
    s.set_metadata(metadata.map(str::to_string));
    s.set_state(state);
    s
}

/// Checks, before a container exists, that `listenerPath` names a unix socket, so a
/// bad path fails `create` early and leaves nothing behind.
pub fn check_listener(listener_path: &Path) -> Result<(), Error> {
    let err = |op, e| Error::listener(listener_path, op, e);
    let meta = std::fs::metadata(listener_path).map_err(|e| err("stat", e))?;
    if !meta.file_type().is_socket() {
        return Err(err("stat", std::io::Error::other("not a unix socket")));
    }
    Ok(())
}

/// Connects to the agent's unix socket at `listener_path` and sends the JSON of
/// `state` with `fd` attached (SCM_RIGHTS) to the first bytes.
pub fn send_notify_fd(
    listener_path: &Path,
    fd: BorrowedFd<'_>,
    state: &ContainerProcessState,
) -> Result<(), Error> {
    let err = |op, e| Error::listener(listener_path, op, e);
    let json = serde_json::to_vec(state).map_err(|e| err("encode state", e.into()))?;
    let mut stream = UnixStream::connect(listener_path).map_err(|e| err("connect", e))?;
    let fds = [fd.as_raw_fd()];
    let sent = sendmsg::<UnixAddr>(
        stream.as_raw_fd(),
        &[IoSlice::new(&json)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(|e| err("sendmsg", e.into()))?;
    // A stream socket may take the message in parts; the fd went with the first.
    stream
        .write_all(&json[sent..])
        .map_err(|e| err("write", e))?;
    Ok(())
}
