//! Which namespaces the container gets new (clone flags) and which it joins (open
//! descriptors of the given paths, opened before any namespace changes).

use crate::error::{io_text, Error, Result};
use nix::sched::CloneFlags;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::os::fd::OwnedFd;
use std::path::PathBuf;

pub struct NamespacePlan {
    /// CLONE_NEW* flags for clone3 (time is handled apart: see `new_time`).
    pub clone_flags: u64,
    /// A new time namespace: unshared by the child so that offsets can be written first.
    pub new_time: bool,
    pub new_cgroup: bool,
    /// A new IPC namespace beside a new user namespace: unshared by the child once it is
    /// the user namespace's root, so that the namespace's mqueue filesystem (made with
    /// the namespace) belongs to the container's root, not to an unmapped host uid.
    pub late_ipc: bool,
    /// Namespaces to join with setns, in the order they must be joined.
    pub join: Vec<(LinuxNamespaceType, PathBuf, OwnedFd)>,
    /// A pid namespace to join: entered by the parent around clone3.
    pub join_pid: Option<(PathBuf, OwnedFd)>,
    /// With a new user namespace: whether its uid and gid maps map 0 (the process then
    /// becomes the namespace's root once the maps exist).
    pub root_mapped: (bool, bool),
}

impl NamespacePlan {
    /// No mount namespace of its own, new or joined: the container mounts in the
    /// runtime's (the caller's) mount namespace.
    pub fn shares_mounts(&self) -> bool {
        !self.has_new(LinuxNamespaceType::Mount)
            && !self
                .join
                .iter()
                .any(|(t, _, _)| *t == LinuxNamespaceType::Mount)
    }

    pub fn has_new(&self, t: LinuxNamespaceType) -> bool {
        match t {
            LinuxNamespaceType::Time => self.new_time,
            LinuxNamespaceType::Cgroup => self.new_cgroup,
            LinuxNamespaceType::Ipc if self.late_ipc => true,
            t => self.clone_flags & (t as u64) != 0,
        }
    }
}

/// Join order: the user namespace first (it owns the others), mount last.
fn join_rank(t: LinuxNamespaceType) -> u8 {
    match t {
        LinuxNamespaceType::User => 0,
        LinuxNamespaceType::Ipc => 1,
        LinuxNamespaceType::Uts => 2,
        LinuxNamespaceType::Network => 3,
        LinuxNamespaceType::Pid => 4,
        LinuxNamespaceType::Cgroup => 5,
        LinuxNamespaceType::Time => 6,
        LinuxNamespaceType::Mount => 7,
    }
}

pub fn plan(spec: &Spec) -> Result<NamespacePlan> {
    let mut p = NamespacePlan {
        clone_flags: 0,
        new_time: false,
        new_cgroup: false,
        late_ipc: false,
        join: Vec::new(),
        join_pid: None,
        root_mapped: crate::linux::userns::root_mapped(spec),
    };
    let Some(namespaces) = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref()) else {
        return Ok(p);
    };
    for (i, ns) in namespaces.iter().enumerate() {
        let t = ns.typ();
        check_kernel_has(t, i)?;
        match ns.path() {
            None => match t {
                LinuxNamespaceType::Time => p.new_time = true,
                LinuxNamespaceType::Cgroup => p.new_cgroup = true,
                t => p.clone_flags |= t as u64,
            },
            Some(path) => {
                let fd = std::fs::File::open(path).map_err(|e| {
                    Error::config(
                        format!("linux.namespaces[{i}].path"),
                        format!("open `{}`: {}", path.display(), io_text(&e)),
                    )
                })?;
                let fd = OwnedFd::from(fd);
                if t == LinuxNamespaceType::Pid {
                    p.join_pid = Some((path.clone(), fd));
                } else {
                    p.join.push((t, path.clone(), fd));
                }
            }
        }
    }
    p.join.sort_by_key(|(t, _, _)| join_rank(*t));
    let (user, ipc) = (
        LinuxNamespaceType::User as u64,
        LinuxNamespaceType::Ipc as u64,
    );
    if p.clone_flags & user != 0 && p.clone_flags & ipc != 0 {
        p.clone_flags &= !ipc;
        p.late_ipc = true;
    }
    Ok(p)
}

/// `linux.timeOffsets` as /proc/PID/timens_offsets takes it (`<clock id> <secs> <nanos>`
/// lines), every clock name checked.
pub fn time_offsets(spec: &Spec) -> Result<Option<String>> {
    let Some(offsets) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
    else {
        return Ok(None);
    };
    let mut text = String::new();
    for (clock, off) in offsets {
        let id = match clock.as_str() {
            "monotonic" => libc::CLOCK_MONOTONIC,
            "boottime" => libc::CLOCK_BOOTTIME,
            other => {
                return Err(Error::config(
                    "linux.timeOffsets",
                    format!("unknown clock `{other}`"),
                ))
            }
        };
        text.push_str(&format!(
            "{id} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    Ok(Some(text))
}

/// Every namespace type of the runtime-spec.
pub const ALL_TYPES: [LinuxNamespaceType; 8] = [
    LinuxNamespaceType::Cgroup,
    LinuxNamespaceType::Ipc,
    LinuxNamespaceType::Mount,
    LinuxNamespaceType::Network,
    LinuxNamespaceType::Pid,
    LinuxNamespaceType::User,
    LinuxNamespaceType::Uts,
    LinuxNamespaceType::Time,
];

/// The /proc/self/ns entry of a namespace type.
fn proc_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

/// Whether the running kernel has namespaces of type `t`.
pub fn kernel_has(t: LinuxNamespaceType) -> bool {
    std::fs::symlink_metadata(format!("/proc/self/ns/{}", proc_name(t))).is_ok()
}

/// A namespace type this kernel lacks is an error, not a silent downgrade.
fn check_kernel_has(t: LinuxNamespaceType, i: usize) -> Result<()> {
    if !kernel_has(t) {
        let name = proc_name(t);
        let path = format!("/proc/self/ns/{name}");
        return Err(Error::config(
            format!("linux.namespaces[{i}].type"),
            format!("this kernel has no {name} namespace ({path} is missing)"),
        ));
    }
    Ok(())
}

pub fn clone_flag(t: LinuxNamespaceType) -> CloneFlags {
    CloneFlags::from_bits_retain(t as i32)
}
