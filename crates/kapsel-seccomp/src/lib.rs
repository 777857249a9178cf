//! kapsel-seccomp: the OCI `linux.seccomp` section compiled to a classic BPF program in
//! pure Rust (no libseccomp), loaded with seccomp(2), and the SCMP_ACT_NOTIFY fd handed
//! to the seccomp agent at `listenerPath`.
//!
//! ```text
//! parse (raw JSON, field-named errors) -> compile -> Filter (to_bytes for a cache)
//!                                                       -> load (in the container, last)
//!                                                       -> send_notify_fd (to the agent)
//! ```
//!
//! How a runtime uses it:
//! - Before any namespace exists: `compile` (about 40 us for the default profile in an
//!   optimised build) and, when a rule uses NOTIFY, `check_listener`.
//! - In the container process, after everything else: set no_new_privs when the config
//!   asks for it, then `load` just before execve (without no_new_privs the process
//!   needs CAP_SYS_ADMIN at that point, so runc loads before dropping capabilities).
//! - With NOTIFY, `load` returns the notify fd: pass it to the runtime's parent, which
//!   sees the host's `listenerPath`, and call `send_notify_fd` there with
//!   `process_state(pid, listenerMetadata, state)`.
//!
//! Semantics, as runc and crun with libseccomp (held to it by tests/seccomp-ref): names
//! unknown to an architecture are skipped for it; a rule with the default action is left
//! out; a rule without conditions decides its call alone (the first such rule); else the
//! conditional rules for one call are tried in config order, the first whose conditions
//! all hold wins, two conditions on one argument counting as two rules (ORed); masked
//! equality ignores valueTwo's bits outside the mask; calls from architectures outside
//! the filter kill the process; when the default action blocks, calls numbered above the
//! profile's highest get ENOSYS so a libc falls back from system calls newer than the
//! profile (clone3 -> clone). On 32-bit ABIs, x32 and MIPS n32 only the low 32 bits of
//! arguments and values are compared. Unlike libseccomp, socket and SysV IPC calls are
//! filtered by their direct numbers only, not also through socketcall(2) and ipc(2).

mod action;
mod arch;
mod bpf;
mod compile;
mod condition;
mod error;
mod filter;
mod json;
mod load;
mod notify;
mod profile;
pub mod supported;
mod tables;

pub use arch::native_arch;
pub use compile::compile;
pub use error::Error;
pub use filter::{flags, Filter};
pub use json::parse;
pub use kapsel_sys::seccomp::SockFilter;
pub use load::load;
pub use notify::{
    check_listener, process_state, send_notify_fd, ContainerProcessState, State, SECCOMP_FD_NAME,
};
pub use profile::default_profile;

/// SECCOMP_RET_* values, for reading a program or a test's expectations.
pub mod ret {
    pub use crate::action::{
        RET_ALLOW as ALLOW, RET_DATA as DATA, RET_ERRNO as ERRNO, RET_KILL_PROCESS as KILL_PROCESS,
        RET_KILL_THREAD as KILL_THREAD, RET_LOG as LOG, RET_TRACE as TRACE, RET_TRAP as TRAP,
        RET_USER_NOTIF as USER_NOTIF,
    };
}

/// System call numbers of the native ABI by name, for tests and diagnostics.
pub fn native_syscall_number(name: &str) -> Option<u32> {
    syscall_number(native_arch()?, name)
}

/// The number of system call `name` on `arch` as a filter sees it (x32 numbers carry the
/// x32 bit), or None when that ABI lacks the call or kapsel has no table for `arch`.
pub fn syscall_number(arch: oci_spec::runtime::Arch, name: &str) -> Option<u32> {
    let target = arch::target(arch, "").ok()?;
    target.abi.syscall_number(name)
}

/// Every system call name the tables know, on at least one architecture.
pub fn syscall_names() -> impl Iterator<Item = &'static str> {
    tables::names()
}

#[cfg(test)]
mod interp;
#[cfg(test)]
mod tests;
