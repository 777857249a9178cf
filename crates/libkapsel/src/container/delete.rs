//! `delete`: remove a stopped (or, with --force, any) container and everything create
//! made for it, then run poststop hooks.

use super::signal_init;
use crate::error::{Error, Result};
use crate::process::hooks;
use crate::state::dir::StateRoot;
use crate::state::id::ContainerId;
use crate::state::Status;

pub fn delete(root: &StateRoot, id: &str, force: bool) -> Result<()> {
    delete_inner(root, id, force).map_err(|e| e.in_container(id, "delete"))
}

fn delete_inner(root: &StateRoot, id: &str, force: bool) -> Result<()> {
    let dir = match root.open(&ContainerId::new(id)?) {
        Ok(d) => d,
        // podman and containerd clean up with `delete --force` whether or not it exists.
        Err(Error::NotExist) if force => return Ok(()),
        Err(e) => return Err(e),
    };
    let state = match dir.read_state() {
        Ok(s) => s,
        // A create that died before writing its state: nothing else of it can be left.
        Err(_) if force => return dir.remove(),
        Err(e) => return Err(e),
    };
    if let Some(paths) = &state.cgroup {
        // Checked before anything is signalled through them.
        crate::linux::cgroups::on_cgroupfs(paths)?;
    }
    if state.is_reservation() {
        // Its create held this lock until it finished or died, and a finished create
        // leaves a full state: this one died half-way. Remove what it made.
        super::reservation::undo(&state)?;
        return dir.remove();
    }
    let status = state.status(&dir.path);
    match status {
        // Without a pid namespace of its own the container's other processes outlive its
        // init: they are killed with the cgroup, whatever the init did (as runc does).
        Status::Stopped if !state.own_pid_ns => kill_cgroup(&state)?,
        Status::Stopped => {}
        // A created container never ran user code: runc deletes it without --force.
        Status::Created => kill_and_wait(&state)?,
        _ if force => kill_and_wait(&state)?,
        s => {
            return Err(crate::error::StatusError::Delete {
                id: id.to_string(),
                status: s.as_str(),
            }
            .into())
        }
    }
    let poststop = state.poststop.clone();
    let json = serde_json::to_string(&state.oci(Status::Stopped)).unwrap_or_default();
    crate::linux::cgroups::destroy(&state.cgroup)?;
    super::extras::release_rdt(&state);
    super::extras::release_host_mounts(&state.rootfs, state.host_mounts_before.as_deref());
    crate::rootfs::devices::remove_image_nodes(&state.image_nodes);
    dir.remove()?;
    let context = format!("container {id}: delete");
    hooks::run_all_warning("poststop", &poststop, &json, &context);
    Ok(())
}

fn kill_and_wait(state: &crate::state::State) -> Result<()> {
    // The network namespace dies with the init: its devices go back first.
    super::extras::release_devices(state);
    // Without its own pid namespace the container's other processes outlive its init:
    // kill everything in its cgroup first (a frozen cgroup is thawed by kill_all).
    if !state.own_pid_ns {
        kill_cgroup(state)?;
    } else if let Some(m) = crate::linux::cgroups::manager(&state.cgroup) {
        // SIGKILL reaches a frozen process only once it is thawed.
        let _ = m.thaw();
    }
    match signal_init(state, libc::SIGKILL, true) {
        Ok(()) | Err(Error::NotRunning) => Ok(()),
        Err(e) => Err(e),
    }
}

/// SIGKILL to every process in the container's cgroup, if it still has one.
fn kill_cgroup(state: &crate::state::State) -> Result<()> {
    match crate::linux::cgroups::manager(&state.cgroup).filter(|m| m.skipped().is_none()) {
        Some(m) if m.paths().dirs().iter().any(|d| d.is_dir()) => m
            .kill_all(nix::sys::signal::Signal::SIGKILL)
            .map_err(crate::linux::cgroups::map_err),
        _ => Ok(()),
    }
}
