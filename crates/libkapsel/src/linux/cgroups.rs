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
    Error::Cgroup(e)
}

/// Resolves the container's cgroup directories; touches nothing.
pub fn plan(spec: &Spec, id: &str, opts: CgroupOptions) -> Result<Manager> {
    let host = Host::system();
    let layout = detect(&host.root, &host.mountinfo).map_err(err)?;
    let path = spec
        .linux()
        .as_ref()
        .and_then(|l| l.cgroups_path().as_ref())
        .map(|p| p.to_string_lossy().into_owned());
    Manager::new(
        &host,
        &layout,
        path.as_deref(),
        id,
        opts.systemd,
        opts.rootless,
    )
    .map_err(err)
}

/// The planned directories as a reservation records them: `created` holds the top-most
/// directories that do not exist yet, which are the ones `Manager::create` will make, so a
/// create killed half-way can be undone from the record alone.
pub fn reservation_paths(m: &Manager) -> CgroupPaths {
    let mut paths = m.paths().clone();
    for dir in m.paths().dirs() {
        let top = dir.ancestors().take_while(|d| !d.exists()).last();
        if let Some(top) = top.filter(|t| !paths.created.iter().any(|c| c == t)) {
            paths.created.push(top.to_path_buf());
        }
    }
    paths
}

/// Creates the planned cgroup and applies `linux.resources`. On error nothing is left
/// behind.
pub fn make(mut m: Manager, spec: &Spec) -> Result<Manager> {
    let resources = spec.linux().as_ref().and_then(|l| l.resources().as_ref());
    // With the systemd driver the scope starts first (systemd makes the cgroup and takes
    // the limits it knows); kapsel makes whatever else is missing and writes the rest.
    let rest = m.start_unit(resources).map_err(err)?;
    if let Err(e) = m.create() {
        let _ = m.destroy();
        return Err(err(e));
    }
    // One line: the systemd driver's fallback (rootless without a user bus), and what the
    // cgroupfs driver then did.
    match (m.fallback(), m.skipped()) {
        (Some(why), Some(skip)) => crate::logging::warn(&format!(
            "cgroups not used: {why}; {}",
            skip.trim_start_matches("rootless: ")
        )),
        (Some(why), None) => {
            crate::logging::warn(&format!("{why}; using the cgroupfs driver instead"))
        }
        (None, Some(why)) => crate::logging::warn(&format!("cgroups not used: {why}")),
        (None, None) => {}
    }
    if let Some(resources) = &rest {
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

/// Removes the cgroups of `paths`, which the caller checked with `on_cgroupfs`.
pub fn destroy(paths: &Option<CgroupPaths>) -> Result<()> {
    match manager(paths) {
        Some(m) => m.destroy().map_err(err),
        None => Ok(()),
    }
}

/// Refuses cgroup paths (read back from a state file) that are not on a cgroup filesystem,
/// so a tampered state file cannot make `delete` remove or signal anything else. A path
/// that is gone is judged by its nearest existing parent.
pub fn on_cgroupfs(paths: &CgroupPaths) -> Result<()> {
    use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC, CGROUP_SUPER_MAGIC};
    let mut checked: Vec<&std::path::Path> = Vec::new();
    for dir in paths
        .dirs()
        .into_iter()
        .chain(paths.created.iter().map(|p| p.as_path()))
    {
        if checked.contains(&dir) {
            continue;
        }
        checked.push(dir);
        let plain = dir.is_absolute()
            && !dir
                .components()
                .any(|c| c == std::path::Component::ParentDir);
        // The directory itself, or the nearest parent that exists.
        let fs = dir
            .ancestors()
            .map(statfs)
            .find(|r| !matches!(r, Err(nix::Error::ENOENT)));
        let ok = plain
            && fs.is_some_and(|r| {
                r.is_ok_and(|s| {
                    s.filesystem_type() == CGROUP_SUPER_MAGIC
                        || s.filesystem_type() == CGROUP2_SUPER_MAGIC
                })
            });
        if !ok {
            return Err(Error::TamperedState(format!(
                "state file names `{}` as a cgroup, which is not on a cgroup filesystem: refused",
                dir.display()
            )));
        }
    }
    Ok(())
}

pub fn map_err(e: kapsel_cgroups::CgroupError) -> Error {
    err(e)
}

/// `exec --cgroup [controllers:]path`, parsed: the named controllers (all when none) and
/// the sub-cgroup path below the container's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubCgroup {
    pub controllers: Vec<String>,
    pub path: std::path::PathBuf,
}

pub fn parse_sub_cgroups(specs: &[String]) -> Result<Vec<SubCgroup>> {
    specs
        .iter()
        .map(|s| {
            let (ctrls, path) = match s.split_once(':') {
                Some((c, p)) => (
                    c.split(',')
                        .filter(|c| !c.is_empty())
                        .map(String::from)
                        .collect(),
                    p,
                ),
                None => (Vec::new(), s.as_str()),
            };
            let p = std::path::Path::new(path.trim_start_matches('/'));
            let bad = p.as_os_str().is_empty()
                || p.components()
                    .any(|c| !matches!(c, std::path::Component::Normal(_)));
            if bad {
                return Err(Error::Usage(format!(
                    "--cgroup `{s}`: the path must name a sub-cgroup below the container's"
                )));
            }
            Ok(SubCgroup {
                controllers: ctrls,
                path: p.to_path_buf(),
            })
        })
        .collect()
}

/// What a new process needs to join the container's cgroup, or the given existing
/// sub-cgroups of it, itself (see kapsel_cgroups::SelfJoin).
pub fn self_join(paths: &CgroupPaths, subs: &[SubCgroup]) -> Result<kapsel_cgroups::SelfJoin> {
    let target = |dir: &std::path::Path, controller: Option<&str>| {
        let sub = subs.iter().find(|s| match controller {
            Some(c) => s.controllers.is_empty() || s.controllers.iter().any(|x| x == c),
            None => s.controllers.is_empty(),
        });
        match sub {
            Some(s) => dir.join(&s.path),
            None => dir.to_path_buf(),
        }
    };
    let v1: Vec<std::path::PathBuf> = paths
        .v1
        .iter()
        .map(|(controller, dir)| target(dir, Some(controller)))
        .collect();
    let unified = paths.unified.as_deref().map(|u| target(u, None));
    kapsel_cgroups::SelfJoin::open(v1.iter().map(|d| d.as_path()), unified.as_deref())
        .map_err(map_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sub_cgroup_specs() {
        let s = parse_sub_cgroups(&["pids:a/b".into(), "cpu,memory:x".into(), "y".into()]).unwrap();
        assert_eq!(s[0].controllers, ["pids"]);
        assert_eq!(s[0].path, std::path::Path::new("a/b"));
        assert_eq!(s[1].controllers, ["cpu", "memory"]);
        assert!(s[2].controllers.is_empty());
        assert!(parse_sub_cgroups(&["pids:../up".into()]).is_err());
        assert!(parse_sub_cgroups(&["pids:".into()]).is_err());
    }
}
