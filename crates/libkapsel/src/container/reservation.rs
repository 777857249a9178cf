//! The reservation record: the state file `create` writes as soon as it owns the id, before
//! it makes a cgroup or a process (pid 0, the creator, the cgroup directories it is about to
//! make). If `create` is killed half-way, `delete` (or the next `create` of the same id)
//! finds in it everything that may have been left, and removes it.

use crate::error::Result;
use crate::state::dir::{ContainerDir, StateRoot};
use crate::state::id::ContainerId;
use crate::state::{Creator, State};
use kapsel_cgroups::{CgroupPaths, Manager};
use std::path::Path;

/// Writes the reservation record of a create that is about to make `planned`.
pub(super) fn record(
    dir: &ContainerDir,
    id: &str,
    bundle: &Path,
    rootfs: &Path,
    planned: &Manager,
    extras: &super::extras::Extras,
) -> Result<()> {
    dir.write_state(&State {
        id: id.to_string(),
        bundle: bundle.to_path_buf(),
        rootfs: rootfs.to_path_buf(),
        created: crate::util::time::now_rfc3339(),
        cgroup: Some(crate::linux::cgroups::reservation_paths(planned)),
        creator: Some(Creator::current()),
        host_mounts_before: extras.host_mounts_before.clone(),
        image_nodes: extras.image_nodes.clone(),
        ..State::default()
    })
}

/// Undoes what the dead create of a reservation record may have made: kills whatever is in
/// the cgroups it made (a container process waiting at the start gate) and removes them.
/// Cgroups that existed before the create are neither signalled nor removed.
pub(crate) fn undo(state: &State) -> Result<()> {
    super::extras::release_host_mounts(&state.rootfs, state.host_mounts_before.as_deref());
    crate::rootfs::devices::remove_image_nodes(&state.image_nodes);
    let Some(paths) = state.cgroup.as_ref().map(own_part) else {
        return Ok(());
    };
    crate::linux::cgroups::on_cgroupfs(&paths)?;
    let m = Manager::from_paths(paths);
    let dirs = m.paths().dirs();
    // The process joins only once every directory exists; a partial set holds nothing.
    if !dirs.is_empty() && dirs.iter().all(|d| d.is_dir()) {
        m.kill_all(nix::sys::signal::Signal::SIGKILL)
            .map_err(crate::linux::cgroups::map_err)?;
    }
    m.destroy().map_err(crate::linux::cgroups::map_err)
}

/// Only the directories at or below one the create was going to make.
fn own_part(paths: &CgroupPaths) -> CgroupPaths {
    let ours = |d: &Path| paths.created.iter().any(|top| d.starts_with(top));
    CgroupPaths {
        v1: paths
            .v1
            .iter()
            .filter(|(_, d)| ours(d))
            .map(|(c, d)| (c.clone(), d.clone()))
            .collect(),
        unified: paths.unified.clone().filter(|d| ours(d)),
        ..paths.clone()
    }
}

/// When `id` is held by the record of a create that died, removes what it left so the id
/// can be used again. Returns whether it did; a live create or a container is left alone.
pub(super) fn reclaim(root: &StateRoot, id: &ContainerId) -> Result<bool> {
    let Some(dir) = root.try_open(id)? else {
        return Ok(false);
    };
    let Ok(state) = dir.read_state() else {
        // No record yet: its create may be between mkdir and writing it.
        return Ok(false);
    };
    if !state.is_reservation() || state.status(&dir.path) != crate::state::Status::Stopped {
        return Ok(false);
    }
    undo(&state)?;
    dir.remove()?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn only_directories_the_create_made_are_its_own() {
        let mut paths = CgroupPaths {
            kind: kapsel_cgroups::LayoutKind::Hybrid,
            v1: Default::default(),
            unified: Some(PathBuf::from("/cg/unified/shared")),
            created: vec![PathBuf::from("/cg/memory/c1")],
            skipped: None,
            systemd_unit: None,
            systemd_user: false,
        };
        paths
            .v1
            .insert("memory".into(), PathBuf::from("/cg/memory/c1/sub"));
        paths.v1.insert("pids".into(), PathBuf::from("/cg/pids/c1"));
        let own = own_part(&paths);
        assert_eq!(own.v1.keys().collect::<Vec<_>>(), ["memory"]);
        assert_eq!(own.unified, None);
    }
}
