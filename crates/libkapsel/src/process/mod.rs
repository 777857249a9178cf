//! Creating the container process: the channel between parent and child, the parent's
//! side (spawn), the child's side (init) and the final exec.

pub mod affinity;
pub mod channel;
pub mod exec;
pub mod finish;
pub mod init;
pub mod launch;
pub mod notify;
pub mod pidfd_socket;
pub mod pidns;
pub mod plan;
#[cfg(feature = "pty-relay")]
pub mod relay;
#[cfg(not(feature = "pty-relay"))]
#[path = "../absent/relay.rs"]
pub mod relay;
#[cfg(feature = "sd-notify")]
pub mod sd_notify;
#[cfg(not(feature = "sd-notify"))]
#[path = "../absent/sd_notify.rs"]
pub mod sd_notify;
pub mod spawn;
pub mod wait;
