//! libkapsel: the OCI runtime as a library. The `kapsel` binary is a thin command
//! line over [`container`]'s verbs; nothing here knows about the command line.
//!
//! - [`container`]: one file per verb, and the plan `create` makes before the clone;
//! - `process`: starting a process in a container (plan, launch, init, finish, hooks);
//! - [`rootfs`]: the container's root filesystem; [`security`]: what the process may do;
//! - [`linux`]: the kernel's other interfaces (namespaces, user namespaces, cgroups,
//!   procfs, network devices, memory policy, resctrl, signals);
//! - [`spec`]: config.json in and out; [`state`]: the state root and state files;
//! - [`wasm`]: the WebAssembly handler (feature `wasm`), run instead of execve;
//! - `util`: small helpers; `absent/`: stand-ins for features a device build leaves out.
//!
//! docs/architecture.md walks one create and one exec through these.

pub mod container;
#[cfg(feature = "criu")]
pub mod criu;
pub mod error;
pub mod linux;
pub mod logging;
pub(crate) mod process;
pub mod rootfs;
pub mod security;
pub mod spec;
pub mod state;
pub(crate) mod util;
#[cfg(feature = "wasm")]
pub mod wasm;
#[cfg(not(feature = "wasm"))]
#[path = "absent/wasm.rs"]
pub mod wasm;

pub use error::{Error, Result};

/// Why a config field this build leaves out is refused: the device profile builds kapsel
/// without some cargo features (crates/kapsel/Cargo.toml, docs/embedded.md).
pub fn absent(feature: &str) -> String {
    format!("not built into this kapsel (feature `{feature}`, left out of the device profile)")
}
