//! The one error type of this crate: every variant names the config field (or the
//! operation and path) that failed and why.

use kapsel_sys::SysError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value of the config that is not what the runtime-spec allows.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },

    /// A value the spec allows but kapsel cannot compile (e.g. an architecture without
    /// a syscall table).
    #[error("{field}: {reason}")]
    Unsupported { field: String, reason: String },

    /// The compiled program would be longer than the kernel accepts (BPF_MAXINSNS).
    #[error("linux.seccomp: the filter needs {len} BPF instructions, more than the kernel's limit of {limit}")]
    TooLarge { len: usize, limit: usize },

    /// A system call of the loader failed.
    #[error("{0}")]
    Sys(#[from] SysError),

    /// Talking to the seccomp agent at listenerPath failed.
    #[error("linux.seccomp.listenerPath `{}`: {op}: {reason}", path.display())]
    Listener {
        path: PathBuf,
        op: &'static str,
        reason: String,
    },

    /// Bytes given to `Filter::from_bytes` are not a filter this version wrote.
    #[error("cached seccomp filter: {0}")]
    BadBytes(&'static str),
}

impl Error {
    pub(crate) fn listener(path: &std::path::Path, op: &'static str, e: std::io::Error) -> Self {
        let reason = match e.raw_os_error() {
            Some(errno) => kapsel_sys::errno_text(errno),
            None => e.to_string(),
        };
        Error::Listener {
            path: path.to_path_buf(),
            op,
            reason,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
