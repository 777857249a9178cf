//! `kill`: send a signal to the container's init (or, with --all, to every process).

use super::signal_init;
use crate::error::{Error, Result};
use crate::state::dir::StateRoot;
use crate::state::id::ContainerId;
use crate::state::Status;

pub fn kill(root: &StateRoot, id: &str, signal: i32, all: bool) -> Result<()> {
    kill_inner(root, id, signal, all).map_err(|e| e.in_container(id, "kill"))
}

fn kill_inner(root: &StateRoot, id: &str, signal: i32, all: bool) -> Result<()> {
    let id = &ContainerId::new(id)?;
    let state = root.read_state(id)?;
    let status = state.status(&root.dir_of(id));
    if !status.can_kill() {
        if !all {
            return Err(Error::NotRunning);
        }
        // containerd sends `kill --all ID 9` after every exit and expects success. A
        // container without a pid namespace of its own may leave processes in its cgroup
        // after its init is gone: they are signalled as long as the cgroup exists.
        return signal_cgroup(&state, signal).map(drop);
    }
    let sent = send(&state, signal, all);
    // A frozen process keeps even SIGKILL pending under the v1 freezer: thaw the
    // container so that the kill takes effect (catchable signals wait for `resume`).
    if sent.is_ok() && status == Status::Paused && signal == libc::SIGKILL {
        if let Some(m) =
            crate::linux::cgroups::manager(&state.cgroup).filter(|m| m.skipped().is_none())
        {
            m.thaw().map_err(crate::linux::cgroups::map_err)?;
        }
    }
    sent
}

fn send(state: &crate::state::State, signal: i32, all: bool) -> Result<()> {
    if all && signal_cgroup(state, signal)? {
        return Ok(());
    }
    match signal_init(state, signal, false) {
        Err(Error::NotRunning) if all => Ok(()),
        other => other,
    }
}

/// Signals every process in the container's cgroup; false when it has none (no cgroup, or
/// one kapsel skipped) and nothing was sent.
fn signal_cgroup(state: &crate::state::State, signal: i32) -> Result<bool> {
    if let Some(paths) = &state.cgroup {
        crate::linux::cgroups::on_cgroupfs(paths)?;
    }
    let Some(m) = crate::linux::cgroups::manager(&state.cgroup).filter(|m| m.skipped().is_none())
    else {
        return Ok(false);
    };
    if !m.paths().dirs().iter().any(|d| d.is_dir()) {
        // Already removed (a systemd scope goes with its last process).
        return Ok(false);
    }
    let sig = nix::sys::signal::Signal::try_from(signal)
        .map_err(|_| Error::Usage(format!("invalid signal {signal}")))?;
    m.kill_all(sig).map_err(crate::linux::cgroups::map_err)?;
    Ok(true)
}
