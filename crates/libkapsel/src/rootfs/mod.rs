//! The container's root filesystem, built inside its mount namespace: propagation,
//! the rootfs bind, `mounts`, /dev, then pivot_root, masked and read-only paths. What to
//! build is planned from config.json before the clone ([`RootfsPlan`]); the container
//! process only executes the plan.

pub mod cgroupfs;
pub mod devices;
pub mod filesystems;
pub mod host_mounts;
#[cfg(feature = "idmap")]
pub mod idmap;
#[cfg(not(feature = "idmap"))]
#[path = "../absent/idmap.rs"]
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
use std::path::{Path, PathBuf};

/// One `mounts` entry, checked: its options parsed, a relative bind source made absolute.
#[derive(Debug, Clone)]
pub struct MountPlan {
    /// Its index in `mounts`, for errors and the idmapped copies.
    pub index: usize,
    pub destination: PathBuf,
    pub source: Option<PathBuf>,
    pub typ: String,
    pub options: MountOptions,
}

/// Everything about the container's root filesystem.
#[derive(Debug, Clone)]
pub struct RootfsPlan {
    /// `linux.rootfsPropagation` (runc's default: rslave).
    pub propagation: MsFlags,
    pub readonly: bool,
    pub mounts: Vec<MountPlan>,
    /// The default nodes, then `linux.devices` (a default's path: the config's entry wins;
    /// a path the config gives twice: its first entry).
    pub devices: Vec<devices::DeviceNode>,
    /// /dev is a bind mount of the host's: no node is made.
    pub dev_is_host_bind: bool,
    pub masked: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    /// No mount namespace of its own: mounts land in the caller's (see host_mounts).
    pub shares_mounts: bool,
    pub no_pivot: bool,
    /// A cgroup namespace of its own, new or joined: its cgroup mounts are fresh ones.
    pub own_cgroupns: bool,
}

impl RootfsPlan {
    pub fn new(
        spec: &Spec,
        bundle: &Path,
        shares_mounts: bool,
        no_pivot: bool,
    ) -> Result<RootfsPlan> {
        let mounts: Vec<MountPlan> = spec
            .mounts()
            .iter()
            .flatten()
            .enumerate()
            .map(|(index, m)| {
                let options = MountOptions::parse(m.options().as_deref().unwrap_or(&[]));
                let source = m.source().as_ref().map(|src| {
                    if options.is_bind() && !src.is_absolute() {
                        bundle.join(src)
                    } else {
                        src.clone()
                    }
                });
                MountPlan {
                    index,
                    destination: m.destination().clone(),
                    source,
                    typ: m.typ().clone().unwrap_or_default(),
                    options,
                }
            })
            .collect();
        let dev_is_host_bind = mounts
            .iter()
            .any(|m| m.destination == Path::new("/dev") && m.options.is_bind());
        let mut nodes = devices::default_nodes();
        let mut config_paths = Vec::new();
        let linux = spec.linux().as_ref();
        for (i, d) in linux
            .and_then(|l| l.devices().as_ref())
            .iter()
            .copied()
            .flatten()
            .enumerate()
        {
            let node = devices::node_from_spec(i, d)?;
            // A path the config names twice: its first entry, as runc and crun make it.
            if config_paths.contains(&node.path) {
                continue;
            }
            config_paths.push(node.path.clone());
            nodes.retain(|n| n.path != node.path);
            nodes.push(node);
        }
        let paths = |list: Option<&Vec<String>>| -> Vec<PathBuf> {
            list.iter().copied().flatten().map(PathBuf::from).collect()
        };
        Ok(RootfsPlan {
            propagation: root_propagation(spec)?,
            readonly: spec
                .root()
                .as_ref()
                .and_then(|r| r.readonly())
                .unwrap_or(false),
            mounts,
            devices: nodes,
            dev_is_host_bind,
            masked: paths(linux.and_then(|l| l.masked_paths().as_ref())),
            readonly_paths: paths(linux.and_then(|l| l.readonly_paths().as_ref())),
            shares_mounts,
            no_pivot,
            own_cgroupns: linux
                .and_then(|l| l.namespaces().as_ref())
                .is_some_and(|list| {
                    list.iter()
                        .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::Cgroup)
                }),
        })
    }
}

/// Propagation of `/` before anything is mounted (`linux.rootfsPropagation`; runc's
/// default is rslave so host mounts still reach the container but not the reverse).
fn root_propagation(spec: &Spec) -> Result<MsFlags> {
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
pub fn prepare(rootfs: &Path, plan: &RootfsPlan) -> Result<OwnedFd> {
    let propagation = plan.propagation;
    if plan.shares_mounts {
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
    plan: &RootfsPlan,
    idmapped: &idmap::Idmapped,
) -> Result<()> {
    mounts::mount_all(root.as_fd(), &plan.mounts, idmapped, plan.own_cgroupns)?;
    if plan.dev_is_host_bind {
        return Ok(());
    }
    devices::create_nodes(root.as_fd(), &plan.devices)?;
    devices::create_symlinks(root.as_fd())
}

/// pivot_root (or move + chroot), then the propagation asked for `/`. In the host's
/// mount namespace (`shared`) only chroot: pivot_root would change the root of every
/// host process, and a move would cover the host's `/` (runc chroots there too).
pub fn enter(rootfs: &Path, plan: &RootfsPlan) -> Result<()> {
    let propagation = plan.propagation;
    if plan.shares_mounts {
        pivot::chroot_into(rootfs)?;
    } else if plan.no_pivot {
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

/// Stdio descriptors open on the caller's /dev/null are pointed at the container's own,
/// as runc does after pivot_root: a file whose mount is outside the container's mount
/// namespace cannot be checkpointed (criu: "Can't lookup mount=N for fd=0
/// path=/dev/null"), and podman's conmon gives every non-interactive container its
/// /dev/null as stdin. Closed stdio, or no /dev/null in the container, is left as it is.
pub fn reopen_dev_null() -> Result<()> {
    use nix::sys::stat::{fstat, major, minor, FileStat, SFlag};
    // /dev/null is the character device 1:3 everywhere: three fstat calls tell whether
    // there is anything to do, and a create whose stdio are pipes or a terminal (most) opens
    // nothing more.
    let is_null = |st: FileStat| {
        SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFCHR
            && (major(st.st_rdev), minor(st.st_rdev)) == (1, 3)
    };
    let on_null = [
        fstat(std::io::stdin()),
        fstat(std::io::stdout()),
        fstat(std::io::stderr()),
    ]
    .map(|st| st.is_ok_and(is_null));
    if !on_null.contains(&true) {
        return Ok(());
    }
    let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    else {
        return Ok(());
    };
    if !fstat(&null).is_ok_and(is_null) {
        return Ok(());
    }
    let dup = |e| nix_err("dup2", "/dev/null")(e);
    if on_null[0] {
        nix::unistd::dup2_stdin(&null).map_err(dup)?;
    }
    if on_null[1] {
        nix::unistd::dup2_stdout(&null).map_err(dup)?;
    }
    if on_null[2] {
        nix::unistd::dup2_stderr(&null).map_err(dup)?;
    }
    Ok(())
}

/// Masked and read-only paths, then a read-only root, then an unbindable `/`: the last
/// changes to the tree.
pub fn restrict(plan: &RootfsPlan) -> Result<()> {
    for p in &plan.readonly_paths {
        paths::make_readonly(p)?;
    }
    for p in &plan.masked {
        paths::mask(p)?;
    }
    if plan.readonly {
        paths::remount_readonly(Path::new("/"), MsFlags::empty())?;
    }
    if plan.propagation.contains(MsFlags::MS_UNBINDABLE) {
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            plan.propagation,
            None::<&str>,
        )
        .map_err(nix_err("set propagation of", "/"))?;
    }
    Ok(())
}
