//! kapsel-cgroups: the container's cgroups on cgroup v1, v2 and the hybrid layout.
//!
//! Every entry point takes the host's paths ([`Host`]: cgroupfs root, mountinfo,
//! /proc/self/cgroup), so the logic runs against a temporary tree in unit tests.
//!
//! ```no_run
//! # fn main() -> Result<(), kapsel_cgroups::CgroupError> {
//! use kapsel_cgroups::{detect, Host, Manager};
//! let host = Host::system();
//! let layout = detect(&host.root, &host.mountinfo)?;
//! let mut cg = Manager::new(&host, &layout, Some("/kapsel/c1"), "c1", false, false)?;
//! cg.create()?;
//! cg.add_pid(1234)?;
//! # Ok(()) }
//! ```

pub mod devices;
mod dirs;
mod error;
mod files;
mod freezer;
mod join;
mod layout;
mod manager;
mod oom;
mod path;
pub mod stats;
#[cfg(feature = "systemd")]
mod systemd;
#[cfg(not(feature = "systemd"))]
#[path = "systemd_absent.rs"]
mod systemd;
mod v1;
pub mod v2;
mod validate;

#[cfg(test)]
mod testutil;

pub use error::{CgroupError, Result};
pub use freezer::FreezerState;
pub use join::SelfJoin;
pub use layout::{detect, Hierarchy, Layout, LayoutKind};
pub use manager::{CgroupPaths, Manager};
pub use oom::OomWatcher;
pub use path::Host;
pub use stats::Stats;
pub use validate::validate;
