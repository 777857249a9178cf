//! `pause` and `resume`: freeze and thaw every process of the container's cgroup.

use crate::error::StatusError;
use crate::error::{Error, Result};
use crate::state::dir::StateRoot;
use crate::state::id::ContainerId;
use crate::state::Status;

pub fn pause(root: &StateRoot, id: &str) -> Result<()> {
    freeze(root, id, true).map_err(|e| e.in_container(id, "pause"))
}

pub fn resume(root: &StateRoot, id: &str) -> Result<()> {
    freeze(root, id, false).map_err(|e| e.in_container(id, "resume"))
}

fn freeze(root: &StateRoot, id: &str, pause: bool) -> Result<()> {
    let dir = root.open(&ContainerId::new(id)?)?;
    let state = dir.read_state()?;
    let status = state.status(&dir.path);
    match (pause, status) {
        (true, Status::Running) | (false, Status::Paused) => {}
        (true, s) => return Err(StatusError::Pause(s.as_str()).into()),
        (false, s) => return Err(StatusError::Resume(s.as_str()).into()),
    }
    let m = crate::linux::cgroups::manager(&state.cgroup)
        .filter(|m| m.skipped().is_none())
        .ok_or(Error::NoCgroup("freeze"))?;
    if pause { m.freeze() } else { m.thaw() }.map_err(crate::linux::cgroups::map_err)
}
