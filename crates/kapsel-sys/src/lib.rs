//! Thin, documented wrappers around the Linux system calls that `nix` 0.30 does not
//! cover. This is the only crate in the workspace allowed to contain `unsafe`;
//! every block carries a `// SAFETY:` comment and every failure carries the
//! operation, the path (when there is one) and the errno.
//!
//! What is here, and why it is not nix's:
//! - `process`: clone3 (with CLONE_INTO_CGROUP, and a fork-like child), pidfd_open and
//!   pidfd_send_signal, close_range (also with CLOSE_RANGE_CLOEXEC), the start gate's
//!   read with its readv fallback, setdomainname, the session keyring (keyctl),
//!   sched_setattr, ioprio_set, the signal reset before execve;
//! - `caps`: capset/capget (v3, 64-bit sets) and the bounding and ambient prctls;
//! - `fs`: mount_setattr (and MOUNT_ATTR_IDMAP), open_tree, move_mount, the mount id of
//!   a path (statx STATX_MNT_ID, raw: musl 1.2.3 has no statx);
//! - `seccomp`: loading a filter (with flags and a user-notification listener);
//! - `bpf`: the cgroup device program (load, attach, detach, query);
//! - `netlink`: the RTM_NEWLINK requests that move a link or set it up;
//! - `numa`: set_mempolicy; `tty`: the controlling terminal and window size;
//! - `kernfile`: procfs/sysfs/cgroupfs files read in one go (no size probe; safe code).
//!
//! Everything nix has (prctl's PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_KEEPCAPS,
//! PR_SET_CHILD_SUBREAPER and PR_SET_NO_NEW_PRIVS, personality, dup2, openat2, errno
//! names) the callers take from nix.
#![allow(unsafe_code)]

pub mod bpf;
pub mod caps;
pub mod error;
pub mod fs;
pub mod kernfile;
pub mod netlink;
pub mod numa;
pub mod process;
pub mod seccomp;
pub mod tty;

pub use error::{errno_text, SysError};

#[cfg(all(target_env = "musl", target_arch = "riscv64"))]
pub mod link_compat;
