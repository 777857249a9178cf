//! `linux.intelRdt` left out of this build (feature `intel-rdt`, which the device profile
//! drops): a config that asks for it fails `create` with one line.

use crate::error::{Error, Result};
use oci_spec::runtime::{LinuxIntelRdt, Spec};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `delete` removes: the directories this container made, innermost first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    pub made: Vec<PathBuf>,
}

pub fn plan(spec: &Spec) -> Result<Option<(&LinuxIntelRdt, PathBuf)>> {
    match spec.linux().as_ref().and_then(|l| l.intel_rdt().as_ref()) {
        Some(_) => Err(Error::config("linux.intelRdt", crate::absent("intel-rdt"))),
        None => Ok(None),
    }
}

pub fn apply(_root: &Path, _id: &str, _rdt: &LinuxIntelRdt, _pid: i32) -> Result<Joined> {
    Err(Error::config("linux.intelRdt", crate::absent("intel-rdt")))
}

pub fn remove(_joined: &Joined) {}
