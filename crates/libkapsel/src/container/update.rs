//! `update`: new resource limits for a running (or paused, or created) container.

use crate::error::{Error, Result};
use crate::state::dir::StateRoot;
use crate::state::id::ContainerId;
use crate::state::Status;
use oci_spec::runtime::LinuxResources;

pub fn update(root: &StateRoot, id: &str, resources: &LinuxResources) -> Result<()> {
    let inner = || -> Result<()> {
        let dir = root.open(&ContainerId::new(id)?)?;
        let state = dir.read_state()?;
        if state.status(&dir.path) == Status::Stopped {
            return Err(crate::error::StatusError::UpdateStopped.into());
        }
        let m = crate::linux::cgroups::manager(&state.cgroup)
            .filter(|m| m.skipped().is_none())
            .ok_or(Error::NoCgroup("update"))?;
        let resources = with_create_time_checks(resources, &state.bundle);
        for note in m
            .update(&resources)
            .map_err(crate::linux::cgroups::map_err)?
        {
            crate::logging::warn(&note);
        }
        Ok(())
    };
    inner().map_err(|e| e.in_container(id, "update"))
}

/// `memory.checkBeforeUpdate` set at create time keeps guarding later updates (as in
/// runc, which merges the update into the container's config).
fn with_create_time_checks(resources: &LinuxResources, bundle: &std::path::Path) -> LinuxResources {
    let mut r = resources.clone();
    let asked = r.memory().as_ref().and_then(|m| m.check_before_update());
    if asked.is_some() || r.memory().is_none() {
        return r;
    }
    let at_create = crate::spec::load(bundle)
        .ok()
        .and_then(|s| s.linux().clone())
        .and_then(|l| l.resources().clone())
        .and_then(|res| res.memory().as_ref().and_then(|m| m.check_before_update()));
    if let (Some(true), Some(mut mem)) = (at_create, *r.memory()) {
        mem.set_check_before_update(Some(true));
        r.set_memory(Some(mem));
    }
    r
}
