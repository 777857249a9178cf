//! Making the rootfs the container's `/`: pivot_root(2), or with --no-pivot a move
//! mount and chroot (for ramfs roots where pivot_root is impossible).

use crate::error::{nix_err, Result};
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use nix::unistd::{chdir, chroot, fchdir, pivot_root};
use std::path::Path;

/// pivot_root(".", ".") stacks the old root on top of the new one; unmounting "."
/// afterwards drops it without needing a directory for it inside the rootfs.
pub fn pivot(rootfs: &Path) -> Result<()> {
    let flags = OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC;
    let old = open("/", flags, Mode::empty()).map_err(nix_err("open", "/"))?;
    let new = open(rootfs, flags, Mode::empty()).map_err(nix_err("open", rootfs))?;
    fchdir(&new).map_err(nix_err("fchdir", rootfs))?;
    pivot_root(".", ".").map_err(nix_err("pivot_root", rootfs))?;
    fchdir(&old).map_err(nix_err("fchdir", "old root"))?;
    // The old root must not propagate our unmount back to the host (see runc #1500).
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(nix_err("make old root rslave", "."))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(nix_err("umount old root", "."))?;
    chdir("/").map_err(nix_err("chdir", "/"))
}

/// chroot into the rootfs, for a container in the host's mount namespace.
pub fn chroot_into(rootfs: &Path) -> Result<()> {
    chdir(rootfs).map_err(nix_err("chdir", rootfs))?;
    chroot(".").map_err(nix_err("chroot", rootfs))?;
    chdir("/").map_err(nix_err("chdir", "/"))
}

/// --no-pivot: move the rootfs mount onto / and chroot into it.
pub fn move_root(rootfs: &Path) -> Result<()> {
    chdir(rootfs).map_err(nix_err("chdir", rootfs))?;
    mount(
        Some(rootfs),
        "/",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .map_err(nix_err("move mount to /", rootfs))?;
    chroot(".").map_err(nix_err("chroot", rootfs))?;
    chdir("/").map_err(nix_err("chdir", "/"))
}
