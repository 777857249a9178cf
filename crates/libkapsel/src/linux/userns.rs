//! User namespaces: `linux.uidMappings`/`gidMappings` checked before anything starts,
//! and written by the parent for the cloned child. A parent that is root of its user
//! namespace writes /proc/PID/{uid,gid}_map itself; an unprivileged one may map only its
//! own ids (after denying setgroups) and otherwise needs the setuid helpers newuidmap and
//! newgidmap, which check /etc/subuid and /etc/subgid.

use crate::error::{io_text, Error, Result};
use oci_spec::runtime::{LinuxIdMapping, Spec};
use std::process::Command;

/// The mappings of a config, checked: non-empty, sizes > 0, no overlapping ranges
/// on either side, at most 340 lines (the kernel's limit).
pub fn validate(spec: &Spec, new_userns: bool) -> Result<()> {
    let (uid, gid) = mappings(spec);
    if !new_userns {
        if !uid.is_empty() || !gid.is_empty() {
            return Err(Error::config(
                "linux.uidMappings",
                "mappings need a new user namespace in linux.namespaces",
            ));
        }
        return Ok(());
    }
    check_ranges("linux.uidMappings", &uid)?;
    check_ranges("linux.gidMappings", &gid)
}

fn check_ranges(field: &str, maps: &[LinuxIdMapping]) -> Result<()> {
    if maps.is_empty() {
        return Err(Error::config(
            field,
            "a new user namespace needs at least one mapping",
        ));
    }
    if maps.len() > 340 {
        return Err(Error::config(field, "more than 340 ranges"));
    }
    for (i, m) in maps.iter().enumerate() {
        if m.size() == 0 {
            return Err(Error::config(
                format!("{field}[{i}].size"),
                "must be greater than 0",
            ));
        }
        let end = |start: u32| start as u64 + m.size() as u64;
        if end(m.container_id()) > 1 << 32 || end(m.host_id()) > 1 << 32 {
            return Err(Error::config(
                format!("{field}[{i}]"),
                "range goes past 2^32",
            ));
        }
        for (j, o) in maps.iter().enumerate().take(i) {
            let overlap = |a: u32, b: u32| {
                (a as u64) < b as u64 + o.size() as u64 && (b as u64) < a as u64 + m.size() as u64
            };
            if overlap(m.container_id(), o.container_id()) {
                return Err(Error::config(
                    format!("{field}[{i}]"),
                    format!("containerID range overlaps {field}[{j}]"),
                ));
            }
            if overlap(m.host_id(), o.host_id()) {
                return Err(Error::config(
                    format!("{field}[{i}]"),
                    format!("hostID range overlaps {field}[{j}]"),
                ));
            }
        }
    }
    Ok(())
}

/// (uidMappings, gidMappings) of the config, empty when absent.
fn mappings(spec: &Spec) -> (Vec<LinuxIdMapping>, Vec<LinuxIdMapping>) {
    let linux = spec.linux().as_ref();
    let get = |m: Option<Vec<LinuxIdMapping>>| m.unwrap_or_default();
    (
        get(linux.and_then(|l| l.uid_mappings().clone())),
        get(linux.and_then(|l| l.gid_mappings().clone())),
    )
}

/// `containerID hostID size` lines, as uid_map and gid_map take them.
pub(crate) fn lines(maps: &[LinuxIdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect()
}

/// Writes the child's maps. Called by the parent right after clone.
pub fn write_maps(pid: i32, spec: &Spec) -> Result<()> {
    let (uid, gid) = mappings(spec);
    if nix::unistd::geteuid().is_root() {
        // Root of its user namespace (the initial one, or the one rootless podman runs
        // us in) holds CAP_SETUID and CAP_SETGID over the child's parent namespace, so
        // the kernel lets it map any id mapped in its own namespace (user_namespaces(7)),
        // as runc does. newuidmap would check /etc/subuid against these ids as if they
        // were the host's, and refuse. Only where the kernel refuses is the helper tried.
        map_as_root(pid, "uid_map", "newuidmap", &uid, "linux.uidMappings")?;
        return map_as_root(pid, "gid_map", "newgidmap", &gid, "linux.gidMappings");
    }
    let me_u = nix::unistd::geteuid().as_raw();
    let me_g = nix::unistd::getegid().as_raw();
    let own = |maps: &[LinuxIdMapping], me: u32| {
        maps.len() == 1 && maps[0].host_id() == me && maps[0].size() == 1
    };
    if own(&uid, me_u) {
        write_file(pid, "uid_map", &lines(&uid), "linux.uidMappings")?;
    } else {
        helper("newuidmap", pid, &uid, "linux.uidMappings")?;
    }
    if own(&gid, me_g) {
        // An unprivileged writer must give up setgroups first (user_namespaces(7)).
        write_file(pid, "setgroups", "deny", "linux.gidMappings")?;
        write_file(pid, "gid_map", &lines(&gid), "linux.gidMappings")
    } else {
        helper("newgidmap", pid, &gid, "linux.gidMappings")
    }
}

fn write_file(pid: i32, name: &str, text: &str, field: &str) -> Result<()> {
    let path = format!("/proc/{pid}/{name}");
    std::fs::write(&path, text)
        .map_err(|e| Error::config(field, format!("write `{path}`: {}", io_text(&e))))
}

/// The map written directly; where the kernel refuses it (EPERM: an id not mapped in our
/// own namespace), and we are not in the initial namespace, through the setuid helper.
fn map_as_root(
    pid: i32,
    name: &str,
    tool: &str,
    maps: &[LinuxIdMapping],
    field: &str,
) -> Result<()> {
    let path = format!("/proc/{pid}/{name}");
    match std::fs::write(&path, lines(maps)) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EPERM) && !in_initial_userns() => {
            helper(tool, pid, maps, field)
        }
        Err(e) => Err(Error::config(
            field,
            format!("write `{path}`: {}", io_text(&e)),
        )),
    }
}

fn helper(tool: &str, pid: i32, maps: &[LinuxIdMapping], field: &str) -> Result<()> {
    let path = ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]
        .iter()
        .map(|d| std::path::Path::new(d).join(tool))
        .find(|p| p.exists())
        .ok_or_else(|| {
            Error::config(
                field,
                format!(
                    "{tool} is missing (install the uidmap package) and these mappings need it"
                ),
            )
        })?;
    let mut cmd = Command::new(&path);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    let out = cmd.output().map_err(|e| Error::io("run", &path, e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Error::config(
            field,
            format!("{tool} failed ({}): {}", out.status, err.trim()),
        ));
    }
    Ok(())
}

/// True when this process runs in the initial user namespace (uid_map is the identity).
pub fn in_initial_userns() -> bool {
    kapsel_sys::kernfile::read_to_string(std::path::Path::new("/proc/self/uid_map"))
        .map(|s| s.split_whitespace().collect::<Vec<_>>() == ["0", "0", "4294967295"])
        .unwrap_or(true)
}

/// Whether the config's (uid, gid) maps map container id 0.
pub fn root_mapped(spec: &Spec) -> (bool, bool) {
    let (uid, gid) = mappings(spec);
    let zero = |maps: &[LinuxIdMapping]| maps.iter().any(|m| m.container_id() == 0);
    (zero(&uid), zero(&gid))
}

/// In the child, once the maps exist: become root of the namespace where root is mapped
/// (`(uid, gid)` as [`root_mapped`] planned it).
pub fn become_root((uid, gid): (bool, bool)) -> Result<()> {
    if gid {
        nix::unistd::setresgid(0.into(), 0.into(), 0.into())
            .map_err(crate::error::nix_err("setresgid(0)", ""))?;
    }
    if uid {
        nix::unistd::setresuid(0.into(), 0.into(), 0.into())
            .map_err(crate::error::nix_err("setresuid(0)", ""))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn maps(v: &[(u32, u32, u32)]) -> Vec<LinuxIdMapping> {
        v.iter()
            .map(|(c, h, s)| {
                serde_json::from_value(
                    serde_json::json!({"containerID": c, "hostID": h, "size": s}),
                )
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn ranges() {
        assert!(check_ranges("f", &maps(&[(0, 1000, 1), (1, 100000, 65536)])).is_ok());
        assert!(check_ranges("f", &[]).is_err());
        let e = check_ranges("f", &maps(&[(0, 1000, 10), (5, 5000, 10)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("containerID range overlaps f[0]"), "{e}");
        let e = check_ranges("f", &maps(&[(0, 1000, 10), (100, 1005, 10)]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("hostID range overlaps"), "{e}");
        assert!(check_ranges("f", &maps(&[(0, 1000, 0)])).is_err());
    }
}
