//! The `mounts` of config.json, done in order inside the container's mount namespace
//! before pivot_root. Each destination is resolved inside the rootfs and mounted
//! through its descriptor.

use super::options::MountOptions;
use super::resolve::{ensure_in_root, fd_path, open_in_root, secure_join, Kind};
use super::MountPlan;
use crate::error::{Error, Result};
use kapsel_sys::fs::mount_setattr;
use nix::mount::{mount, MsFlags};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// Does every planned entry of `mounts`; errors name the entry (`mounts[3]`). `cgroupns`:
/// the container has a cgroup namespace of its own, new or joined.
pub fn mount_all(
    root: BorrowedFd<'_>,
    mounts: &[MountPlan],
    idmapped: &super::idmap::Idmapped,
    cgroupns: bool,
) -> Result<()> {
    for m in mounts {
        mount_one(root, m, idmapped.get(m.index), cgroupns)
            .map_err(|e| e.in_field(format!("mounts[{}]", m.index)))?;
    }
    Ok(())
}

/// `idmapped`: the runtime's detached idmapped copy of a bind source, to attach instead.
fn mount_one(
    root: BorrowedFd<'_>,
    m: &MountPlan,
    idmapped: Option<BorrowedFd<'_>>,
    cgroupns: bool,
) -> Result<()> {
    let opts = &m.options;
    let dest = m.destination.as_path();
    let typ = m.typ.as_str();
    // The lexical check ran at validation; a symlink in the image may still lead there.
    proc_rule(
        &secure_join(root, dest)?,
        typ,
        opts.is_bind(),
        m.source.as_deref(),
    )?;
    if opts.is_bind() {
        let src = m.source.clone().unwrap_or_default();
        let meta = std::fs::metadata(&src).map_err(|e| Error::io("stat bind source", &src, e))?;
        let kind = if meta.is_dir() { Kind::Dir } else { Kind::File };
        let target = ensure_in_root(root, dest, kind)?;
        let flags = MsFlags::MS_BIND | (opts.flags & MsFlags::MS_REC);
        match idmapped {
            Some(tree) => {
                kapsel_sys::fs::move_mount_to(tree, target.as_fd()).map_err(|mut e| {
                    e.path = Some(dest.to_path_buf());
                    Error::Sys(e)
                })?
            }
            None => mount(
                Some(&src),
                &fd_path(&target),
                None::<&str>,
                flags,
                None::<&str>,
            )
            .map_err(|e| crate::error::MountError::failed(e, &src.to_string_lossy(), dest))?,
        }
        let remount = opts.remount_flags();
        if !remount.is_empty()
            || opts.propagation != MsFlags::empty()
            || opts.attr_set | opts.attr_clr != 0
        {
            let mounted = open_in_root(root, dest)?;
            if !remount.is_empty() {
                let flags = MsFlags::MS_BIND
                    | MsFlags::MS_REMOUNT
                    | remount
                    | super::paths::locked_flags(&src);
                mount(
                    None::<&str>,
                    &fd_path(&mounted),
                    None::<&str>,
                    flags,
                    None::<&str>,
                )
                .map_err(|e| crate::error::MountError::failed(e, "remount", dest))?;
            }
            finish(&mounted, opts, dest)?;
        }
        return Ok(());
    }
    if typ == "cgroup" {
        return super::cgroupfs::mount_cgroup_tree(root, dest, opts, cgroupns);
    }
    let target = ensure_in_root(root, dest, Kind::Dir)?;
    let source = m.source.as_ref().map(|s| s.to_string_lossy().into_owned());
    let source = source.as_deref().unwrap_or(typ);
    let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
    mount(Some(source), &fd_path(&target), Some(typ), opts.flags, data)
        .map_err(|e| crate::error::MountError::failed(e, typ, dest))?;
    if opts.propagation != MsFlags::empty() || opts.attr_set | opts.attr_clr != 0 {
        let mounted = open_in_root(root, dest)?;
        finish(&mounted, opts, dest)?;
    }
    Ok(())
}

/// Propagation and recursive attributes, applied to the new mount.
fn finish(mounted: &OwnedFd, opts: &MountOptions, dest: &Path) -> Result<()> {
    if opts.propagation != MsFlags::empty() {
        mount(
            None::<&str>,
            &fd_path(mounted),
            None::<&str>,
            opts.propagation,
            None::<&str>,
        )
        .map_err(|e| crate::error::MountError::failed(e, "set propagation", dest))?;
    }
    if opts.attr_set | opts.attr_clr != 0 {
        mount_setattr(mounted.as_fd(), true, opts.attr_set, opts.attr_clr).map_err(|mut e| {
            e.path = Some(dest.to_path_buf());
            Error::Sys(e)
        })?;
    }
    Ok(())
}

/// Bind-mounts `src` (a host path) onto `dest` inside the root, creating the target.
pub fn bind_into(root: BorrowedFd<'_>, src: &Path, dest: &Path, kind: Kind) -> Result<()> {
    let target = ensure_in_root(root, dest, kind)?;
    mount(
        Some(src),
        &fd_path(&target),
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| crate::error::MountError::failed(e, &src.to_string_lossy(), dest))
}

/// The files under /proc that lxcfs emulates (and callers bind over): the only mounts
/// allowed inside /proc.
const LXCFS_FILES: [&str; 10] = [
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// Nothing but procfs may be mounted at /proc and nothing inside it but the files lxcfs
/// emulates (runc's rule): a directory bound over /proc/sys/... would redirect the
/// runtime's own writes there (sysctls) through symlinks it holds (CVE-2025-52881), and a
/// bind over /proc hides what masked paths protect. `dest` is the destination as resolved
/// inside the rootfs.
pub fn proc_rule(dest: &Path, typ: &str, bind: bool, source: Option<&Path>) -> Result<()> {
    let Ok(inside) = dest.strip_prefix("/proc") else {
        return Ok(());
    };
    if inside.as_os_str().is_empty() {
        let procfs = if bind {
            source.is_some_and(crate::linux::procfs::is_procfs)
        } else {
            typ == "proc"
        };
        if procfs {
            return Ok(());
        }
        return Err(crate::error::MountError::NotProcAtProc {
            dest: dest.to_path_buf(),
        }
        .into());
    }
    if LXCFS_FILES.iter().any(|f| Path::new(f) == dest) {
        return Ok(());
    }
    Err(crate::error::MountError::InsideProc {
        dest: dest.to_path_buf(),
    }
    .into())
}
