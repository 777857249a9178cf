//! `linux.intelRdt`: the container's resctrl group (Intel RDT / AMD QoS). The group is
//! `closID` (shared, possibly made by someone else) or one named after the container;
//! its `schemata` get the L3 cache and memory bandwidth lines, its `tasks` the init's
//! pid; `enableMonitoring` adds a monitoring group of the container's own. Every entry
//! point takes the resctrl mount point as a path, so the file writes are unit-tested
//! against a temporary directory.

use crate::error::{Error, Result};
use oci_spec::runtime::{LinuxIntelRdt, Spec};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

const FIELD: &str = "linux.intelRdt";

/// What `delete` removes: the directories this container made, innermost first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Joined {
    pub made: Vec<PathBuf>,
}

/// The config's intelRdt, checked; with the resctrl mount point it needs.
pub fn plan(spec: &Spec) -> Result<Option<(&LinuxIntelRdt, PathBuf)>> {
    let Some(rdt) = spec.linux().as_ref().and_then(|l| l.intel_rdt().as_ref()) else {
        return Ok(None);
    };
    check(rdt)?;
    let mountinfo = kapsel_sys::kernfile::read_to_string(Path::new("/proc/self/mountinfo"))
        .map_err(|e| Error::io("read", "/proc/self/mountinfo", e))?;
    let root = resctrl_mount(&mountinfo).ok_or_else(|| {
        Error::config(
            FIELD,
            "resctrl is not mounted (no `resctrl` filesystem in /proc/self/mountinfo; \
             mount -t resctrl resctrl /sys/fs/resctrl on a CPU with RDT)",
        )
    })?;
    Ok(Some((rdt, root)))
}

fn check(rdt: &LinuxIntelRdt) -> Result<()> {
    if let Some(clos) = rdt.clos_id() {
        if clos.is_empty() || clos.contains('/') || clos == "." || clos == ".." {
            return Err(Error::config(
                format!("{FIELD}.closID"),
                format!("`{clos}` is not a directory name"),
            ));
        }
    }
    let has_schemata = rdt.schemata().as_ref().is_some_and(|s| !s.is_empty());
    if has_schemata && (rdt.l3_cache_schema().is_some() || rdt.mem_bw_schema().is_some()) {
        return Err(Error::config(
            format!("{FIELD}.schemata"),
            "cannot be combined with l3CacheSchema or memBwSchema",
        ));
    }
    for (name, value, prefix) in [
        ("l3CacheSchema", rdt.l3_cache_schema(), "L3"),
        ("memBwSchema", rdt.mem_bw_schema(), "MB:"),
    ] {
        if let Some(v) = value.as_deref().filter(|v| !v.trim().starts_with(prefix)) {
            return Err(Error::config(
                format!("{FIELD}.{name}"),
                format!("`{v}` does not start with `{prefix}`"),
            ));
        }
    }
    Ok(())
}

/// The mount point of the first resctrl filesystem in a mountinfo text.
fn resctrl_mount(mountinfo: &str) -> Option<PathBuf> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        let point = left.split(' ').nth(4)?;
        (right.split(' ').next()? == "resctrl").then(|| PathBuf::from(point))
    })
}

/// Puts `pid` into the group under `root` (the resctrl mount), making and configuring
/// it first. On failure what was made is removed again.
pub fn apply(root: &Path, id: &str, rdt: &LinuxIntelRdt, pid: i32) -> Result<Joined> {
    let mut joined = Joined::default();
    let result = apply_inner(root, id, rdt, pid, &mut joined);
    if result.is_err() {
        remove(&joined);
    }
    result.map(|()| joined)
}

fn apply_inner(
    root: &Path,
    id: &str,
    rdt: &LinuxIntelRdt,
    pid: i32,
    joined: &mut Joined,
) -> Result<()> {
    let group = root.join(rdt.clos_id().as_deref().unwrap_or(id));
    make_dir(&group, joined)?;
    let mut lines: Vec<&str> = rdt
        .schemata()
        .iter()
        .flatten()
        .map(String::as_str)
        .collect();
    lines.extend(rdt.l3_cache_schema().as_deref());
    lines.extend(rdt.mem_bw_schema().as_deref());
    // The kernel takes one resource line per write (a failed line names its error in
    // info/last_cmd_status).
    for line in lines.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
        write(&group.join("schemata"), &format!("{line}\n"))?;
    }
    write(&group.join("tasks"), &pid.to_string())?;
    if rdt.enable_monitoring().unwrap_or(false) {
        let mon = group.join("mon_groups").join(id);
        make_dir(&mon, joined)?;
        write(&mon.join("tasks"), &pid.to_string())?;
    }
    Ok(())
}

fn make_dir(dir: &Path, joined: &mut Joined) -> Result<()> {
    match std::fs::create_dir(dir) {
        Ok(()) => {
            joined.made.insert(0, dir.to_path_buf());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io("mkdir", dir, e).in_field(FIELD)),
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| {
        Error::config(
            FIELD,
            format!(
                "write `{}` to `{}`: {}",
                text.trim(),
                path.display(),
                crate::error::io_text(&e)
            ),
        )
    })
}

/// Removes the groups the container made (rmdir: the kernel returns any task left to
/// the default group).
pub fn remove(joined: &Joined) {
    for dir in &joined.made {
        let _ = std::fs::remove_dir(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rdt(json: &str) -> LinuxIntelRdt {
        serde_json::from_str(json).unwrap()
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kapsel-rdt-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn finds_the_resctrl_mount() {
        let info = "22 1 0:21 / /proc rw - proc proc rw\n\
                    40 22 0:40 / /sys/fs/resctrl rw,relatime - resctrl resctrl rw\n";
        assert_eq!(resctrl_mount(info), Some(PathBuf::from("/sys/fs/resctrl")));
        assert_eq!(resctrl_mount("22 1 0:21 / /proc rw - proc proc rw\n"), None);
    }

    #[test]
    fn own_group_with_schemata() {
        let root = tmp("own");
        let r = rdt(r#"{"l3CacheSchema":"L3:0=f","memBwSchema":"MB:0=50"}"#);
        let joined = apply(&root, "c1", &r, 42).unwrap();
        // A regular file keeps the last write; resctrl keeps each resource's line.
        let schemata = std::fs::read_to_string(root.join("c1/schemata")).unwrap();
        assert_eq!(schemata, "MB:0=50\n");
        assert_eq!(
            std::fs::read_to_string(root.join("c1/tasks")).unwrap(),
            "42"
        );
        assert_eq!(joined.made, vec![root.join("c1")]);
        std::fs::remove_file(root.join("c1/tasks")).unwrap();
        std::fs::remove_file(root.join("c1/schemata")).unwrap();
        remove(&joined);
        assert!(!root.join("c1").exists());
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn existing_clos_is_joined_with_a_monitoring_group_of_its_own() {
        let root = tmp("clos");
        std::fs::create_dir_all(root.join("gold/mon_groups")).unwrap();
        let r = rdt(r#"{"closID":"gold","enableMonitoring":true}"#);
        let joined = apply(&root, "c1", &r, 7).unwrap();
        assert_eq!(joined.made, vec![root.join("gold/mon_groups/c1")]);
        assert_eq!(
            std::fs::read_to_string(root.join("gold/tasks")).unwrap(),
            "7"
        );
        let mon = std::fs::read_to_string(root.join("gold/mon_groups/c1/tasks")).unwrap();
        assert_eq!(mon, "7");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_failed_write_is_named() {
        let root = tmp("fail");
        // `tasks` as a directory: the write fails.
        std::fs::create_dir_all(root.join("c2/tasks")).unwrap();
        let e = apply(&root, "c2", &rdt(r#"{"schemata":["L3:0=3"]}"#), 1).unwrap_err();
        let e = e.to_string();
        assert!(e.starts_with("linux.intelRdt: write `1` to `"), "{e}");
        assert!(e.contains("c2/tasks`: Is a directory (EISDIR)"), "{e}");
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn bad_values_are_named() {
        let e = check(&rdt(r#"{"closID":"../x"}"#)).unwrap_err().to_string();
        assert!(e.starts_with("linux.intelRdt.closID:"), "{e}");
        let e = check(&rdt(r#"{"schemata":["L3:0=1"],"l3CacheSchema":"L3:0=1"}"#)).unwrap_err();
        assert!(e.to_string().starts_with("linux.intelRdt.schemata:"), "{e}");
        let e = check(&rdt(r#"{"memBwSchema":"L3:0=1"}"#))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("linux.intelRdt.memBwSchema:"), "{e}");
    }
}
