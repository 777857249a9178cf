//! The bridge to kapsel-cgroups: the container's cgroup made and limited before its
//! process exists, and rebuilt from the state file by the later verbs.

use crate::error::{Error, Result};
use kapsel_cgroups::{detect, CgroupPaths, Host, Manager};
use oci_spec::runtime::Spec;

/// How the command line asked for cgroups to be handled.
#[derive(Debug, Default, Clone, Copy)]
pub struct CgroupOptions {
    pub systemd: bool,
    pub rootless: bool,
}

fn err(e: kapsel_cgroups::CgroupError) -> Error {
    Error::msg(e.to_string())
}

/// Creates the container's cgroup and applies `linux.resources`. On error nothing is
/// left behind.
pub fn setup(spec: &Spec, id: &str, opts: CgroupOptions) -> Result<Manager> {
    let host = Host::system();
    let layout = detect(&host.root, &host.mountinfo).map_err(err)?;
    let linux = spec.linux().as_ref();
    let path = linux
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.to_string_lossy().into_owned());
    let mut m = Manager::new(
        &host,
        &layout,
        path.as_deref(),
        id,
        opts.systemd,
        opts.rootless,
    )
    .map_err(err)?;
    m.create().map_err(err)?;
    if let Some(why) = m.skipped() {
        crate::logging::warn(&format!("cgroups not used: {why}"));
    }
    if let Some(resources) = linux.and_then(|l| l.resources().as_ref()) {
        match m.apply(resources) {
            Ok(notes) => {
                for n in notes {
                    crate::logging::warn(&n);
                }
            }
            Err(e) => {
                let _ = m.destroy();
                return Err(err(e));
            }
        }
    }
    Ok(m)
}

pub fn manager(paths: &Option<CgroupPaths>) -> Option<Manager> {
    paths.clone().map(Manager::from_paths)
}

pub fn destroy(paths: &Option<CgroupPaths>) -> Result<()> {
    match manager(paths) {
        Some(m) => m.destroy().map_err(err),
        None => Ok(()),
    }
}

pub fn map_err(e: kapsel_cgroups::CgroupError) -> Error {
    err(e)
}
