//! Thin, documented wrappers around the Linux system calls that `nix` does not
//! cover. This is the only crate in the workspace allowed to contain `unsafe`;
//! every block carries a `// SAFETY:` comment and every failure carries the
//! operation, the path (when there is one) and the errno.
#![allow(unsafe_code)]

pub mod bpf;
pub mod caps;
pub mod error;
pub mod fs;
pub mod netlink;
pub mod numa;
pub mod process;
pub mod seccomp;
pub mod tty;

pub use error::{errno_text, SysError};

#[cfg(all(target_env = "musl", target_arch = "riscv64"))]
pub mod link_compat;
