//! What the container process may do: capabilities, sysctls, scheduler, I/O priority,
//! personality and LSM labels (seccomp comes from kapsel-seccomp), applied last, just
//! before exec; and the guard that keeps the runtime binary out of the container's
//! reach (CVE-2019-5736).

pub(crate) mod capabilities;
pub mod exe_guard;
pub(crate) mod process_attrs;
pub mod sysctl;
