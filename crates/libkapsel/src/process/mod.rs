//! Starting a process in a container: what it is made of (plan), the one launcher for
//! create and exec (launch), the channel between the runtime and the new process, the
//! runtime's side for a container's init (spawn) and the process's own side (init,
//! finish), the executable lookup, hooks, the terminal, and the waits and relays after.

pub(crate) mod affinity;
pub(crate) mod channel;
pub(crate) mod finish;
pub(crate) mod handler;
pub(crate) mod hooks;
pub(crate) mod init;
pub(crate) mod launch;
pub(crate) mod lookup;
pub(crate) mod pidfd_socket;
pub(crate) mod pidns;
pub(crate) mod plan;
#[cfg(feature = "pty-relay")]
pub(crate) mod relay;
#[cfg(not(feature = "pty-relay"))]
#[path = "../absent/relay.rs"]
pub(crate) mod relay;
#[cfg(feature = "sd-notify")]
pub(crate) mod sd_notify;
#[cfg(not(feature = "sd-notify"))]
#[path = "../absent/sd_notify.rs"]
pub(crate) mod sd_notify;
pub(crate) mod seccomp_agent;
pub(crate) mod spawn;
pub(crate) mod tty;
pub(crate) mod wait;
