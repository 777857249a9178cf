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
pub mod netdev;
pub mod process;
pub mod procfs;
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
