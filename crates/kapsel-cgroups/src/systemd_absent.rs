//! The systemd cgroup driver left out of this build (feature `systemd`, which the device
//! profile drops): `--systemd-cgroup` fails at once with one line saying so, before any
//! cgroup exists. The signatures are those of `systemd/mod.rs`.

use crate::error::{CgroupError, Result};
use oci_spec::runtime::LinuxResources;
use std::path::PathBuf;

/// Which systemd instance a call goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Instance {
    System,
    User,
}

/// A unit property; none can exist without the driver.
#[derive(Clone, Debug)]
pub(crate) enum Value {}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unit {
    pub name: String,
    pub slice: String,
    pub cgroup: PathBuf,
}

fn absent() -> CgroupError {
    CgroupError::Unsupported {
        field: "--systemd-cgroup".into(),
        reason: "the systemd cgroup driver is not built into this kapsel \
                 (feature `systemd`, left out of the device profile)"
            .into(),
    }
}

pub(crate) fn unit_for(
    _cgroups_path: Option<&str>,
    _container_id: &str,
    _instance: Instance,
) -> Result<Unit> {
    Err(absent())
}

pub(crate) fn split_resources(
    r: &LinuxResources,
    _v2: bool,
) -> (Vec<(&'static str, Value)>, LinuxResources) {
    (Vec::new(), r.clone())
}

pub(crate) fn user_manager_cgroup() -> std::result::Result<PathBuf, crate::error::DbusError> {
    Err(crate::error::DbusError::NoUserBus)
}

pub(crate) fn start(
    _instance: Instance,
    _unit: &Unit,
    _pids: &[u32],
    _props: Vec<(&'static str, Value)>,
) -> Result<()> {
    Err(absent())
}

pub(crate) fn set_properties(
    _instance: Instance,
    _unit: &str,
    _props: Vec<(&'static str, Value)>,
) -> Result<()> {
    Err(absent())
}

pub(crate) fn attach(_instance: Instance, _unit: &str, _pids: &[u32]) -> Result<()> {
    Err(absent())
}

pub(crate) fn stop(_instance: Instance, _unit: &str) -> Result<()> {
    Err(absent())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_driver_is_refused_with_one_line() {
        let e = super::unit_for(None, "c1", super::Instance::System)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "--systemd-cgroup: the systemd cgroup driver is not built into this kapsel \
             (feature `systemd`, left out of the device profile)"
        );
    }
}
