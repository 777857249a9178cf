//! What `create` prepares for the container before its process exists (idmapped
//! mounts), what it attaches to the container from the outside once its process exists
//! (resctrl group, host network devices) and `delete` gives back; plus the checks of
//! the per-process fields applied inside (memory policy, cpu affinity), so that a bad
//! value fails before anything is made.

use crate::error::Result;
use crate::linux::netdev::{self, Moved};
use crate::state::State;
use oci_spec::runtime::{LinuxIntelRdt, Spec};
use std::path::{Path, PathBuf};

/// The plan for the extras, made before anything exists.
pub struct Extras {
    /// Idmapped bind mounts, made before the clone (the container inherits them).
    pub idmapped: crate::rootfs::idmap::Idmapped,
    net_devices: Vec<Moved>,
    rdt: Option<(LinuxIntelRdt, PathBuf)>,
    /// In the host's mount namespace: the mounts under the rootfs before create.
    pub host_mounts_before: Option<Vec<u64>>,
    /// `linux.devices` nodes the container makes in its image (outside /dev).
    pub image_nodes: Vec<crate::rootfs::devices::ImageNode>,
}

/// `shared_mounts_of`: the rootfs of a container without a mount namespace of its own,
/// whose mounts under the rootfs are noted now.
pub fn plan(
    spec: &Spec,
    bundle: &Path,
    shared_mounts_of: Option<&Path>,
    image_nodes: Vec<crate::rootfs::devices::ImageNode>,
) -> Result<Extras> {
    Ok(Extras {
        image_nodes,
        idmapped: crate::rootfs::idmap::prepare(spec, bundle)?,
        net_devices: netdev::plan(spec)?,
        rdt: crate::linux::rdt::plan(spec)?.map(|(r, root)| (r.clone(), root)),
        host_mounts_before: shared_mounts_of
            .map(crate::rootfs::host_mounts::snapshot)
            .transpose()?,
    })
}

impl Extras {
    /// Joins `pid` to its resctrl group and moves the network devices into its
    /// namespace, recording both in `state`. Before the user process runs.
    pub fn attach(&self, id: &str, pid: i32, state: &mut State) -> Result<()> {
        if let Some((rdt, root)) = &self.rdt {
            state.resctrl = Some(crate::linux::rdt::apply(root, id, rdt, pid)?);
        }
        if let Err(e) = netdev::move_in(pid, &self.net_devices) {
            if let Some(joined) = state.resctrl.take() {
                crate::linux::rdt::remove(&joined);
            }
            return Err(e);
        }
        state.net_devices = self.net_devices.clone();
        Ok(())
    }
}

/// Gives the network devices back while the container's init (and so its network
/// namespace) still lives; a failure is a warning, as the container goes anyway.
pub fn release_devices(state: &State) {
    if state.net_devices.is_empty() || !crate::state::process_alive(state.pid, state.pid_start) {
        return;
    }
    if let Err(e) = netdev::move_out(state.pid, &state.net_devices) {
        crate::logging::warn(&format!("container {}: {e}", state.id));
    }
}

/// Detaches what a container without a mount namespace of its own mounted on the host
/// (under its rootfs); a failure is a warning, the rest of the teardown goes on.
pub fn release_host_mounts(rootfs: &Path, before: Option<&[u64]>) {
    let Some(before) = before else {
        return;
    };
    if let Err(e) = crate::rootfs::host_mounts::remove_new(rootfs, before) {
        crate::logging::warn(&format!(
            "detach the container's mounts under `{}`: {e}",
            rootfs.display()
        ));
    }
}

/// Removes the resctrl groups made for the container.
pub fn release_rdt(state: &State) {
    if let Some(joined) = &state.resctrl {
        crate::linux::rdt::remove(joined);
    }
}
