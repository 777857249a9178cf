//! What the container process may do: capabilities, sysctls, scheduler, I/O priority,
//! personality and LSM labels (seccomp comes from kapsel-seccomp). Applied last,
//! just before exec.

pub mod capabilities;
pub mod process_attrs;
pub mod sysctl;
