//! `linux.netDevices` left out of this build (feature `net-devices`, which the device
//! profile drops): a config that names devices fails `create` with one line; the types
//! stay, so state files of a full build still read.

use crate::error::{Error, Result};
use oci_spec::runtime::Spec;
use serde::{Deserialize, Serialize};

/// One moved device: its name on the host and in the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    pub host: String,
    pub inside: String,
}

pub fn plan(spec: &Spec) -> Result<Vec<Moved>> {
    match spec.linux().as_ref().and_then(|l| l.net_devices().as_ref()) {
        Some(d) if !d.is_empty() => Err(Error::config(
            "linux.netDevices",
            crate::absent("net-devices"),
        )),
        _ => Ok(Vec::new()),
    }
}

pub fn move_in(_pid: i32, _planned: &[Moved]) -> Result<()> {
    Ok(())
}

pub fn move_out(_pid: i32, _moved: &[Moved]) -> Result<()> {
    Ok(())
}
