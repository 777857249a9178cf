//! After pivot_root: masked paths (hidden behind /dev/null or an empty read-only
//! tmpfs), read-only paths, and a read-only root.

use crate::error::{nix_err, Result};
use nix::mount::{mount, MsFlags};
use std::path::Path;

pub fn mask(path: &Path) -> Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(crate::Error::io("stat masked path", path, e)),
    };
    if meta.is_dir() {
        mount(
            Some("tmpfs"),
            path,
            Some("tmpfs"),
            MsFlags::MS_RDONLY,
            None::<&str>,
        )
        .map_err(nix_err("mask with tmpfs", path))
    } else {
        mount(
            Some("/dev/null"),
            path,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(nix_err("mask with /dev/null", path))
    }
}

pub fn make_readonly(path: &Path) -> Result<()> {
    match mount(
        Some(path),
        path,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    ) {
        Ok(()) => {}
        Err(nix::Error::ENOENT) => return Ok(()),
        Err(e) => return Err(nix_err("bind read-only path", path)(e)),
    }
    remount_readonly(path, MsFlags::MS_REC)
}

/// Remounts the bind mount at `path` read-only, keeping the flags the kernel locks.
pub fn remount_readonly(path: &Path, extra: MsFlags) -> Result<()> {
    let flags =
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | locked_flags(path) | extra;
    mount(None::<&str>, path, None::<&str>, flags, None::<&str>)
        .map_err(nix_err("remount read-only", path))
}

/// Flags the kernel will not let a bind remount drop (they are locked when the mount
/// came from a more privileged namespace): keep them set.
pub fn locked_flags(path: &Path) -> MsFlags {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let Ok(st) = statvfs(path) else {
        return MsFlags::empty();
    };
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
    ] {
        if f.contains(fs) {
            out |= ms;
        }
    }
    out
}
