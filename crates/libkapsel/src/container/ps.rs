//! `ps`: the host pids of every process in the container's cgroup.

use super::id::ContainerId;
use crate::error::Result;
use crate::state::Status;
use crate::statedir::StateRoot;

/// Pids in the container; None for a stopped container (runc prints `null`).
pub fn pids(root: &StateRoot, id: &str) -> Result<Option<Vec<i32>>> {
    let inner = || -> Result<Option<Vec<i32>>> {
        let id = &ContainerId::new(id)?;
        let state = root.read_state(id)?;
        if state.status(&root.dir_of(id)) == Status::Stopped {
            return Ok(None);
        }
        match crate::cgroups::manager(&state.cgroup).filter(|m| m.skipped().is_none()) {
            Some(m) => Ok(Some(m.pids().map_err(crate::cgroups::map_err)?)),
            None => Ok(Some(vec![state.pid])),
        }
    };
    inner().map_err(|e| e.in_container(id, "ps"))
}
