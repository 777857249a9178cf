//! `start`: open the start gate of a created container, then run poststart hooks.

use super::id::ContainerId;
use super::StatusError;
use crate::error::{nix_err, Error, Result};
use crate::hooks;
use crate::state::Status;
use crate::statedir::StateRoot;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

pub fn start(root: &StateRoot, id: &str) -> Result<()> {
    start_inner(root, id).map_err(|e| e.in_container(id, "start"))
}

fn start_inner(root: &StateRoot, id: &str) -> Result<()> {
    let dir = root.open(&ContainerId::new(id)?)?;
    let state = dir.read_state()?;
    match state.status(&dir.path) {
        Status::Created => {}
        Status::Stopped => return Err(StatusError::StartStopped.into()),
        s => return Err(StatusError::StartAlready(s).into()),
    }
    let notify = crate::process::sd_notify::bind(&dir.path)?;
    let fifo = dir.fifo_path();
    // Non-blocking: ENXIO means nobody holds the gate any more.
    let fd = match nix::fcntl::open(
        &fifo,
        OFlag::O_WRONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(nix::Error::ENXIO) => return Err(Error::NotRunning),
        Err(e) => return Err(nix_err("open", &fifo)(e)),
    };
    std::fs::remove_file(&fifo).map_err(|e| Error::io("remove", &fifo, e))?;
    nix::unistd::write(&fd, b"0").map_err(nix_err("write", &fifo))?;
    drop(fd);
    drop(dir);
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
