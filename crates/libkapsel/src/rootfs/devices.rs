//! /dev inside the container: the default devices every container gets, the
//! `linux.devices` of config.json, and the standard symlinks. A device that cannot be
//! created with mknod (no permission, e.g. in a user namespace) is bind-mounted from
//! the host instead.

use super::mounts::bind_into;
use super::resolve::{ensure_in_root, Kind};
use crate::error::{nix_err, Error, Result};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use nix::unistd::{fchownat, symlinkat, Gid, Uid};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

/// One device node to create.
#[derive(Debug, Clone)]
pub struct DeviceNode {
    pub path: PathBuf,
    pub kind: SFlag,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    /// Its index in `linux.devices`, for errors (None: one of the default nodes).
    pub spec_index: Option<usize>,
}

/// The devices the runtime-spec requires in every container.
pub fn default_nodes() -> Vec<DeviceNode> {
    [
        ("null", 1, 3),
        ("zero", 1, 5),
        ("full", 1, 7),
        ("random", 1, 8),
        ("urandom", 1, 9),
        ("tty", 5, 0),
    ]
    .into_iter()
    .map(|(name, major, minor)| DeviceNode {
        path: PathBuf::from("/dev").join(name),
        kind: SFlag::S_IFCHR,
        major,
        minor,
        mode: 0o666,
        uid: 0,
        gid: 0,
        spec_index: None,
    })
    .collect()
}

pub fn node_from_spec(i: usize, d: &LinuxDevice) -> Result<DeviceNode> {
    let field = || format!("linux.devices[{i}]");
    let kind = match d.typ() {
        LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
        LinuxDeviceType::B => SFlag::S_IFBLK,
        LinuxDeviceType::P => SFlag::S_IFIFO,
        LinuxDeviceType::A => {
            return Err(Error::config(
                format!("{}.type", field()),
                "`a` is not a device type to create",
            ))
        }
    };
    if !d.path().is_absolute() {
        return Err(Error::config(
            format!("{}.path", field()),
            format!("`{}` must be an absolute path", d.path().display()),
        ));
    }

    Ok(DeviceNode {
        path: d.path().clone(),
        kind,
        major: d.major() as u64,
        minor: d.minor() as u64,
        mode: d.file_mode().unwrap_or(0o666) & 0o7777,
        uid: d.uid().unwrap_or(0),
        gid: d.gid().unwrap_or(0),
        spec_index: Some(i),
    })
}

/// Creates the nodes (defaults first, config entries override a default of the same path).
pub fn create_nodes(root: BorrowedFd<'_>, nodes: &[DeviceNode]) -> Result<()> {
    for n in nodes {
        create_node(root, n).map_err(|e| match n.spec_index {
            Some(i) => e.in_field(format!("linux.devices[{i}]")),
            None => e,
        })?;
    }
    Ok(())
}

fn create_node(root: BorrowedFd<'_>, n: &DeviceNode) -> Result<()> {
    let parent_path = n.path.parent().unwrap_or(Path::new("/dev"));
    let name = n
        .path
        .file_name()
        .ok_or_else(|| crate::error::MountError::DeviceWithoutName {
            path: n.path.clone(),
        })?;
    let parent = ensure_in_root(root, parent_path, Kind::Dir)?;
    let dev = makedev(n.major, n.minor);
    let mode = Mode::from_bits_truncate(n.mode);
    let mut result = mknodat(parent.as_fd(), name, n.kind, mode, dev);
    if result == Err(nix::Error::EEXIST) {
        refuse_non_device(parent.as_fd(), name, &n.path)?;
        if n.spec_index.is_some() {
            refuse_other_device(parent.as_fd(), name, n)?;
        }
        let _ = nix::unistd::unlinkat(
            parent.as_fd(),
            name,
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        );
        result = mknodat(parent.as_fd(), name, n.kind, mode, dev);
    }
    match result {
        Ok(()) => {}
        Err(nix::Error::EPERM) if n.kind != SFlag::S_IFIFO => {
            // No CAP_MKNOD here: bind the host's node, as runc does in user namespaces.
            return bind_into(root, &n.path, &n.path, Kind::File);
        }
        Err(e) => return Err(nix_err("mknod", &n.path)(e)),
    }
    fchownat(
        parent.as_fd(),
        name,
        Some(Uid::from_raw(n.uid)),
        Some(Gid::from_raw(n.gid)),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(nix_err("chown", &n.path))
}

/// A device node (a default, or one in the image) may be replaced by a config entry; any other
/// file at a device path is an error (runtime-spec: a file that does not match the device).
fn refuse_non_device(parent: BorrowedFd<'_>, name: &std::ffi::OsStr, path: &Path) -> Result<()> {
    let st = nix::sys::stat::fstatat(parent, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .map_err(nix_err("stat", path))?;
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    if [SFlag::S_IFCHR, SFlag::S_IFBLK, SFlag::S_IFIFO].contains(&kind) {
        return Ok(());
    }
    Err(crate::error::MountError::NotADevice {
        path: path.to_path_buf(),
    }
    .into())
}

/// A `linux.devices` entry may be made again over the same node already in the image (to
/// set its mode and owner), never over another one: the runtime-spec makes a file at the
/// path that does not match the requested device an error. (The defaults never get here: an
/// entry of the same path replaces its default before any node is made.)
fn refuse_other_device(
    parent: BorrowedFd<'_>,
    name: &std::ffi::OsStr,
    n: &DeviceNode,
) -> Result<()> {
    let st = nix::sys::stat::fstatat(parent, name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW)
        .map_err(nix_err("stat", &n.path))?;
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    let numbers = |dev| (nix::sys::stat::major(dev), nix::sys::stat::minor(dev));
    let same =
        kind == n.kind && (kind == SFlag::S_IFIFO || numbers(st.st_rdev) == (n.major, n.minor));
    if same {
        return Ok(());
    }
    let describe = |kind: SFlag, (major, minor): (u64, u64)| match kind {
        SFlag::S_IFIFO => "a fifo".to_string(),
        SFlag::S_IFBLK => format!("a block device {major}:{minor}"),
        _ => format!("a character device {major}:{minor}"),
    };
    Err(crate::error::MountError::OtherDevice {
        path: n.path.clone(),
        found: describe(kind, numbers(st.st_rdev)),
        wanted: describe(n.kind, (n.major, n.minor)),
    }
    .into())
}

/// /dev/fd, /dev/std{in,out,err}, /dev/core and /dev/ptmx -> pts/ptmx (always, as runc
/// and crun make it, whether or not the config mounts a devpts at /dev/pts).
pub fn create_symlinks(root: BorrowedFd<'_>) -> Result<()> {
    let dev = ensure_in_root(root, Path::new("/dev"), Kind::Dir)?;
    let links = [
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
        ("/proc/kcore", "core"),
        ("pts/ptmx", "ptmx"),
    ];
    let _ = nix::unistd::unlinkat(dev.as_fd(), "ptmx", nix::unistd::UnlinkatFlags::NoRemoveDir);
    for (target, name) in links {
        match symlinkat(target, dev.as_fd(), name) {
            Ok(()) | Err(nix::Error::EEXIST) => {}
            Err(e) => return Err(nix_err("symlink", Path::new("/dev").join(name))(e)),
        }
    }
    Ok(())
}

/// A device node a container makes in its image itself: outside /dev (a tmpfs in most
/// configs), at a path where nothing was before `create` (an image symlink may lead
/// there: where it resolves counts). `delete` removes it, and only while it is still
/// that node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImageNode {
    /// The node's path on the host (under the rootfs).
    pub path: PathBuf,
    /// st_rdev of a device, 0 for a fifo.
    pub rdev: u64,
    pub fifo: bool,
}

/// The nodes of `nodes` that `create` will make in the image itself, from the host's
/// view of `rootfs` before anything is made.
pub fn image_nodes(rootfs: &Path, nodes: &[DeviceNode]) -> Result<Vec<ImageNode>> {
    let root = std::fs::File::open(rootfs).map_err(|e| Error::io("open rootfs", rootfs, e))?;
    let mut out = Vec::new();
    for n in nodes.iter().filter(|n| n.spec_index.is_some()) {
        let resolved = super::resolve::secure_join(root.as_fd(), &n.path)?;
        if resolved.starts_with("/dev") {
            continue;
        }
        let host = rootfs.join(resolved.strip_prefix("/").unwrap_or(&resolved));
        if std::fs::symlink_metadata(&host).is_ok() {
            continue;
        }
        out.push(ImageNode {
            path: host,
            rdev: if n.kind == SFlag::S_IFIFO {
                0
            } else {
                makedev(n.major, n.minor)
            },
            fifo: n.kind == SFlag::S_IFIFO,
        });
    }
    Ok(out)
}

/// Removes the nodes `create` made in the image, each only while it is still the node it
/// made (same type and numbers); anything else at its path stays.
pub fn remove_image_nodes(nodes: &[ImageNode]) {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    for n in nodes {
        let Ok(meta) = std::fs::symlink_metadata(&n.path) else {
            continue;
        };
        let t = meta.file_type();
        let ours = if n.fifo {
            t.is_fifo()
        } else {
            (t.is_char_device() || t.is_block_device()) && meta.rdev() == n.rdev
        };
        if ours {
            if let Err(e) = std::fs::remove_file(&n.path) {
                crate::logging::warn(&format!(
                    "remove device node `{}`: {}",
                    n.path.display(),
                    crate::error::io_text(&e)
                ));
            }
        }
    }
}
