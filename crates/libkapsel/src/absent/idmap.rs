//! Idmapped mounts left out of this build (feature `idmap`, which the device profile
//! drops): a mount entry with `idmap`/`ridmap` or its own id mappings fails `create`
//! with one line naming the entry.

use super::options::MountOptions;
use crate::error::{Error, Result};
use oci_spec::runtime::Spec;
use std::os::fd::{BorrowedFd, RawFd};
use std::path::Path;

/// No mount is ever prepared.
#[derive(Default)]
pub struct Idmapped;

impl Idmapped {
    pub fn get(&self, _index: usize) -> Option<BorrowedFd<'_>> {
        None
    }

    pub fn raw_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        std::iter::empty()
    }
}

pub fn prepare(spec: &Spec, _bundle: &Path) -> Result<Idmapped> {
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let opts = MountOptions::parse(m.options().as_deref().unwrap_or(&[]));
        if opts.idmap.is_some() || m.uid_mappings().is_some() || m.gid_mappings().is_some() {
            return Err(Error::config(
                format!("mounts[{i}]"),
                crate::absent("idmap"),
            ));
        }
    }
    Ok(Idmapped)
}
