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
