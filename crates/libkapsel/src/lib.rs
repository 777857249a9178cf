//! libkapsel: the OCI runtime as a library. The `kapsel` binary is a thin command
//! line over [`container`]'s verbs; nothing here knows about the command line.

pub mod cgroups;
pub mod container;
pub mod default_spec;
pub mod error;
pub mod exe_guard;
pub mod fault;
pub mod hooks;
pub mod idlist;
pub mod json;
pub mod json_path;
pub mod logging;
pub mod mempolicy;
pub mod namespaces;
#[cfg(feature = "net-devices")]
pub mod netdev;
#[cfg(not(feature = "net-devices"))]
#[path = "absent/netdev.rs"]
pub mod netdev;
pub mod process;
pub mod procfs;
#[cfg(feature = "intel-rdt")]
pub mod rdt;
#[cfg(not(feature = "intel-rdt"))]
#[path = "absent/rdt.rs"]
pub mod rdt;
pub mod rootfs;
pub mod security;
pub mod signal;
pub mod spec;
pub mod state;
pub mod statedir;
pub mod time;
pub mod tty;
pub mod unixsock;
pub mod userns;

pub use error::{Error, Result};

/// Why a config field this build leaves out is refused: the device profile builds kapsel
/// without some cargo features (crates/kapsel/Cargo.toml, docs/embedded.md).
pub(crate) fn absent(feature: &str) -> String {
    format!("not built into this kapsel (feature `{feature}`, left out of the device profile)")
}
