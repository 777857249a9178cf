//! `ps`: the host pids of every process in the container's cgroup.

use crate::error::Result;
use crate::state::dir::StateRoot;
use crate::state::id::ContainerId;
use crate::state::Status;

/// Pids in the container; None for a stopped container (runc prints `null`).
pub fn pids(root: &StateRoot, id: &str) -> Result<Option<Vec<i32>>> {
    let inner = || -> Result<Option<Vec<i32>>> {
        let id = &ContainerId::new(id)?;
        let state = root.read_state(id)?;
        if state.status(&root.dir_of(id)) == Status::Stopped {
            return Ok(None);
        }
        match crate::linux::cgroups::manager(&state.cgroup).filter(|m| m.skipped().is_none()) {
            Some(m) => Ok(Some(m.pids().map_err(crate::linux::cgroups::map_err)?)),
            None => Ok(Some(vec![state.pid])),
        }
    };
    inner().map_err(|e| e.in_container(id, "ps"))
}
