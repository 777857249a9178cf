//! The container's root filesystem, built inside its mount namespace: propagation,
//! the rootfs bind, `mounts`, /dev, then pivot_root, masked and read-only paths.

pub mod cgroupfs;
pub mod devices;
pub mod filesystems;
pub mod host_mounts;
pub mod idmap;
pub mod mounts;
pub mod options;
pub mod paths;
pub mod pivot;
pub mod resolve;

use crate::error::{nix_err, Error, Result};
use nix::mount::{mount, MsFlags};
use oci_spec::runtime::Spec;
use options::MountOptions;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

/// Propagation of `/` before anything is mounted (`linux.rootfsPropagation`; runc's
/// default is rslave so host mounts still reach the container but not the reverse).
pub fn root_propagation(spec: &Spec) -> Result<MsFlags> {
    let value = spec
        .linux()
        .as_ref()
        .and_then(|l| l.rootfs_propagation().clone());
    Ok(match value.as_deref() {
        None | Some("") => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        Some(v) => {
            let p = MountOptions::parse(&[v]).propagation;
            if p.is_empty() {
                return Err(Error::config(
                    "linux.rootfsPropagation",
                    format!("unknown value `{v}`"),
                ));
            }
            p
        }
    })
}

/// Before the mounts: set `/`'s propagation and make the rootfs a mount point of its
/// own (pivot_root needs one). Returns a descriptor of the rootfs. In the host's mount
/// namespace (`shared`) the host's `/` is left alone: only the rootfs bind, made
/// private so that nothing mounted under it reaches the mounts it was copied from.
pub fn prepare(rootfs: &Path, propagation: MsFlags, shared: bool) -> Result<OwnedFd> {
    if shared {
        bind_onto_itself(rootfs)?;
        mount(
            None::<&str>,
            rootfs,
            None::<&str>,
            MsFlags::MS_PRIVATE | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(nix_err("make the rootfs bind private", rootfs))?;
        return open_dir(rootfs);
    }
    // A shared propagation for "/" would make pivot_root fail (it is applied after), and
    // an unbindable one every later bind (EINVAL): it is applied last, by `restrict`.
    let before = if propagation.contains(MsFlags::MS_SHARED) {
        MsFlags::MS_SLAVE | MsFlags::MS_REC
    } else if propagation.contains(MsFlags::MS_UNBINDABLE) {
        MsFlags::MS_PRIVATE | MsFlags::MS_REC
    } else {
        propagation | MsFlags::MS_REC
    };
    mount(None::<&str>, "/", None::<&str>, before, None::<&str>)
        .map_err(nix_err("set propagation of", "/"))?;
    bind_onto_itself(rootfs)?;
    open_dir(rootfs)
}

fn bind_onto_itself(rootfs: &Path) -> Result<()> {
    mount(
        Some(rootfs),
        rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(nix_err("bind rootfs onto itself", rootfs))
}

fn open_dir(rootfs: &Path) -> Result<OwnedFd> {
    let fd = std::fs::File::open(rootfs).map_err(|e| Error::io("open rootfs", rootfs, e))?;
    Ok(OwnedFd::from(fd))
}

/// `mounts`, then /dev (unless /dev is bind-mounted from the host).
pub fn mount_and_populate(
    root: &OwnedFd,
    bundle: &Path,
    spec: &Spec,
    idmapped: &idmap::Idmapped,
) -> Result<()> {
    let mounts = spec.mounts().as_deref().unwrap_or(&[]);
    mounts::mount_all(root.as_fd(), bundle, mounts, idmapped)?;
    let dev_is_host_bind = mounts.iter().any(|m| {
        m.destination() == Path::new("/dev")
            && MountOptions::parse(m.options().as_deref().unwrap_or(&[])).is_bind()
    });
    if dev_is_host_bind {
        return Ok(());
    }
    let mut nodes = devices::default_nodes();
    if let Some(list) = spec.linux().as_ref().and_then(|l| l.devices().as_ref()) {
        for (i, d) in list.iter().enumerate() {
            let node = devices::node_from_spec(i, d)?;
            nodes.retain(|n| n.path != node.path);
            nodes.push(node);
        }
    }
    devices::create_nodes(root.as_fd(), &nodes)?;
    let has_devpts = mounts
        .iter()
        .any(|m| m.destination() == Path::new("/dev/pts"));
    devices::create_symlinks(root.as_fd(), has_devpts)
}

/// pivot_root (or move + chroot), then the propagation asked for `/`. In the host's
/// mount namespace (`shared`) only chroot: pivot_root would change the root of every
/// host process, and a move would cover the host's `/` (runc chroots there too).
pub fn enter(rootfs: &Path, no_pivot: bool, propagation: MsFlags, shared: bool) -> Result<()> {
    if shared {
        pivot::chroot_into(rootfs)?;
    } else if no_pivot {
        pivot::move_root(rootfs)?;
    } else {
        pivot::pivot(rootfs)?;
    }
    if propagation.contains(MsFlags::MS_SHARED) {
        mount(None::<&str>, "/", None::<&str>, propagation, None::<&str>)
            .map_err(nix_err("set propagation of", "/"))?;
    }
    Ok(())
}

/// Masked and read-only paths, then a read-only root, then an unbindable `/`: the last
/// changes to the tree.
pub fn restrict(spec: &Spec) -> Result<()> {
    if let Some(linux) = spec.linux() {
        for p in linux.readonly_paths().as_deref().unwrap_or(&[]) {
            paths::make_readonly(Path::new(p))?;
        }
        for p in linux.masked_paths().as_deref().unwrap_or(&[]) {
            paths::mask(Path::new(p))?;
        }
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        paths::remount_readonly(Path::new("/"), MsFlags::empty())?;
    }
    let propagation = root_propagation(spec)?;
    if propagation.contains(MsFlags::MS_UNBINDABLE) {
        mount(None::<&str>, "/", None::<&str>, propagation, None::<&str>)
            .map_err(nix_err("set propagation of", "/"))?;
    }
    Ok(())
}
