//! `update`: new resource limits for a running (or paused, or created) container.

use crate::error::{Error, Result};
use crate::state::Status;
use crate::statedir::StateRoot;
use oci_spec::runtime::LinuxResources;

pub fn update(root: &StateRoot, id: &str, resources: &LinuxResources) -> Result<()> {
    let inner = || -> Result<()> {
        let dir = root.open(id)?;
        let state = dir.read_state()?;
        if state.status(&dir.path) == Status::Stopped {
            return Err(Error::msg("cannot update a stopped container"));
        }
        let m = crate::cgroups::manager(&state.cgroup)
            .filter(|m| m.skipped().is_none())
            .ok_or_else(|| Error::msg("the container has no cgroup to update"))?;
        for note in m.update(resources).map_err(crate::cgroups::map_err)? {
            crate::logging::warn(&note);
        }
        Ok(())
    };
    inner().map_err(|e| e.in_container(id, "update"))
}
