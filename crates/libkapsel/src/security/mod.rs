//! What the container process may do: capabilities (and, to come, seccomp, LSM labels,
//! sysctls). Applied last, just before exec.

pub mod capabilities;
