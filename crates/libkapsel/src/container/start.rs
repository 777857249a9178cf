//! `start`: open the start gate of a created container, wait until its program runs,
//! then run poststart hooks.

use crate::error::StatusError;
use crate::error::{nix_err, Error, Result};
use crate::process::hooks;
use crate::state::dir::StateRoot;
use crate::state::id::ContainerId;
use crate::state::Status;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

pub fn start(root: &StateRoot, id: &str) -> Result<()> {
    start_inner(root, id).map_err(|e| e.in_container(id, "start"))
}

fn start_inner(root: &StateRoot, id: &str) -> Result<()> {
    let dir = root.open(&ContainerId::new(id)?)?;
    let state = dir.read_state()?;
    match state.status(&dir.path) {
        Status::Created => {}
        Status::Stopped => return Err(StatusError::StartStopped.into()),
        s => return Err(StatusError::StartAlready(s.as_str()).into()),
    }
    let notify = crate::process::sd_notify::bind(&dir.path)?;
    let fifo = dir.fifo_path();
    // A reader of our own, opened before the writer: it sees the container process's end
    // of the gate close (POLLHUP) once its execve succeeded or it exited.
    let flags = OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let watch = nix::fcntl::open(&fifo, OFlag::O_RDONLY | flags, Mode::empty())
        .map_err(nix_err("open", &fifo))?;
    let fd = nix::fcntl::open(&fifo, OFlag::O_WRONLY | flags, Mode::empty())
        .map_err(nix_err("open", &fifo))?;
    std::fs::remove_file(&fifo).map_err(|e| Error::io("remove", &fifo, e))?;
    nix::unistd::write(&fd, b"0").map_err(nix_err("write", &fifo))?;
    drop(fd);
    drop(dir);
    // The runtime-spec: startContainer hooks run before the program, poststart hooks
    // after it and before start returns, and a failing startContainer hook is an error.
    wait_for_exec(&watch, &fifo)?;
    if let Some(relay) = notify {
        relay.until_ready(state.pid, || {
            crate::state::process_alive(state.pid, state.pid_start)
        })?;
    }
    if !state.poststart.is_empty() {
        let json = serde_json::to_string(&state.oci(Status::Running)).unwrap_or_default();
        let context = format!("container {id}: start");
        hooks::run_all_warning("poststart", &state.poststart, &json, &context);
    }
    Ok(())
}

/// Waits until no one holds the gate for writing: the container process's copy closed at
/// execve, or with the process. What it wrote there (errno and text, as on the sync socket)
/// says why the program does not run; the byte written above, still unread, means the
/// process was gone before the gate opened.
fn wait_for_exec(watch: &OwnedFd, fifo: &Path) -> Result<()> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    loop {
        // No events asked for: poll reports the hang-up alone, not the unread byte.
        let mut fds = [PollFd::new(watch.as_fd(), PollFlags::empty())];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) if fds[0].revents().is_some_and(|r| !r.is_empty()) => break,
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(e) => return Err(nix_err("poll", fifo)(e)),
        }
    }
    let mut said = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match nix::unistd::read(watch, &mut buf) {
            Ok(0) | Err(nix::Error::EAGAIN) => break,
            Ok(n) => said.extend_from_slice(&buf[..n]),
            Err(nix::Error::EINTR) => {}
            Err(e) => return Err(nix_err("read", fifo)(e)),
        }
    }
    match said.as_slice() {
        [] => Ok(()),
        b"0" => Err(Error::NotRunning),
        failed => Err(crate::process::channel::decode_failed(failed)?.into()),
    }
}
