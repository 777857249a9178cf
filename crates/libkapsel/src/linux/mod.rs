//! The kernel's interfaces a container needs beyond its root filesystem and its process
//! restrictions: namespaces and user namespaces, the bridge to kapsel-cgroups, procfs,
//! network devices, memory policy, resctrl and signal names.

pub mod cgroups;
pub(crate) mod mempolicy;
pub mod mount_ns;
pub mod namespaces;
#[cfg(feature = "net-devices")]
pub(crate) mod netdev;
#[cfg(not(feature = "net-devices"))]
#[path = "../absent/netdev.rs"]
pub(crate) mod netdev;
pub(crate) mod procfs;
#[cfg(feature = "intel-rdt")]
pub(crate) mod rdt;
#[cfg(not(feature = "intel-rdt"))]
#[path = "../absent/rdt.rs"]
pub(crate) mod rdt;
pub mod signal;
pub mod userns;

pub(crate) use nix::fcntl::ResolveFlag;

/// openat2(2) (nix's), its failure as a `SysError` naming `path`, like every other
/// system call error of kapsel's.
pub(crate) fn openat2(
    dir: std::os::fd::BorrowedFd<'_>,
    path: &std::path::Path,
    flags: i32,
    resolve: ResolveFlag,
) -> std::result::Result<std::os::fd::OwnedFd, kapsel_sys::SysError> {
    let how = nix::fcntl::OpenHow::new()
        .flags(nix::fcntl::OFlag::from_bits_retain(flags) | nix::fcntl::OFlag::O_CLOEXEC)
        .resolve(resolve);
    nix::fcntl::openat2(dir, path, how).map_err(|e| kapsel_sys::SysError {
        op: "openat2",
        path: Some(path.to_path_buf()),
        errno: e as i32,
    })
}
