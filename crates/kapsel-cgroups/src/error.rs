//! The one error type of this crate: every variant names the file or field, the value and the
//! errno, in the kernel's words.

use kapsel_sys::errno_text;
use std::path::PathBuf;

/// Result alias for this crate.
pub type Result<T, E = CgroupError> = std::result::Result<T, E>;

/// Everything that can go wrong while managing a container's cgroups.
#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    /// A spec value that is malformed or out of range; nothing was written.
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },

    /// A spec value this cgroup layout cannot express; nothing was written.
    #[error("{field}: {reason}")]
    Unsupported { field: String, reason: String },

    /// `linux.cgroupsPath` (or the systemd form of it) cannot be used.
    #[error("linux.cgroupsPath `{path}`: {reason}")]
    CgroupsPath { path: String, reason: String },

    /// No cgroup filesystem was found where one was expected.
    #[error("no cgroup filesystem mounted under `{root}` (according to `{mountinfo}`)")]
    NoCgroupfs { root: PathBuf, mountinfo: PathBuf },

    #[error("write `{value}` to `{path}`: {}", errno_text(*errno))]
    Write {
        path: PathBuf,
        value: String,
        errno: i32,
    },

    #[error("read `{path}`: {}", errno_text(*errno))]
    Read { path: PathBuf, errno: i32 },

    #[error("parse `{path}`: unexpected content `{content}`")]
    Parse { path: PathBuf, content: String },

    #[error("create cgroup `{path}`: {}", errno_text(*errno))]
    Mkdir { path: PathBuf, errno: i32 },

    #[error("remove cgroup `{path}`: {}", errno_text(*errno))]
    Rmdir { path: PathBuf, errno: i32 },

    #[error("open `{path}`: {}", errno_text(*errno))]
    Open { path: PathBuf, errno: i32 },

    /// A memory limit below the current usage with `checkBeforeUpdate` set.
    #[error(
        "linux.resources.memory.limit: {limit} is below the current usage {usage} of `{path}` \
         (checkBeforeUpdate)"
    )]
    BelowUsage {
        path: PathBuf,
        limit: i64,
        usage: u64,
    },

    #[error("{op} `{path}`: still `{state}` after {millis} ms")]
    Timeout {
        op: &'static str,
        path: PathBuf,
        state: String,
        millis: u128,
    },

    #[error("signal {signal} to pid {pid} of `{path}`: {}", errno_text(*errno))]
    Kill {
        path: PathBuf,
        pid: i32,
        signal: i32,
        errno: i32,
    },

    /// A bpf(2) or other system call made on behalf of the cgroup at `path`.
    #[error("device filter of `{path}`: {source}")]
    Sys {
        path: PathBuf,
        source: kapsel_sys::SysError,
    },

    /// The systemd driver: a D-Bus call (`what`) about `unit` failed.
    #[error("systemd unit `{unit}`: {what}: {source}")]
    Systemd {
        unit: String,
        what: &'static str,
        source: DbusError,
    },

    #[error("device filter of `{path}`: {}: verifier: {log}", errno_text(*errno))]
    BpfLoad {
        path: PathBuf,
        errno: i32,
        log: String,
    },
}

impl CgroupError {
    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CgroupError::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CgroupError::Unsupported {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// The errno behind this error, when there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            CgroupError::Write { errno, .. }
            | CgroupError::Read { errno, .. }
            | CgroupError::Mkdir { errno, .. }
            | CgroupError::Rmdir { errno, .. }
            | CgroupError::Open { errno, .. }
            | CgroupError::Kill { errno, .. }
            | CgroupError::BpfLoad { errno, .. } => Some(*errno),
            CgroupError::Sys { source, .. } => Some(source.errno),
            _ => None,
        }
    }
}

pub(crate) fn errno_of(err: &std::io::Error) -> i32 {
    err.raw_os_error().unwrap_or(libc::EIO)
}

/// What went wrong talking to systemd over D-Bus (the systemd driver).
#[derive(Debug, thiserror::Error)]
pub enum DbusError {
    /// The socket: connecting, a timeout, reading or writing (`what` says which).
    #[error("{what} systemd at `{address}`: {}", io_text(source))]
    Io {
        what: &'static str,
        address: String,
        source: std::io::Error,
    },
    #[error("systemd at `{address}` refused authentication as uid {uid}: {line}")]
    AuthRefused {
        address: String,
        uid: u32,
        line: String,
    },
    #[error("D-Bus authentication line too long")]
    AuthLineTooLong,
    /// Rootless: no session bus to reach the user's systemd through.
    #[error("no user D-Bus: neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set")]
    NoUserBus,
    #[error("D-Bus address `{address}`: {reason}")]
    Address { address: String, reason: String },
    /// A message kapsel cannot read.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// An error reply: its D-Bus error name and text.
    #[error("{text} ({name})")]
    Reply { name: String, text: String },
    #[error("reply without a job")]
    NoJob,
    /// The unit's job ended other than `done`.
    #[error("job result `{0}`")]
    JobResult(String),
}

impl DbusError {
    /// The error name of a reply (`org.freedesktop.systemd1.NoSuchUnit`...), if it is one.
    pub fn reply_name(&self) -> Option<&str> {
        match self {
            DbusError::Reply { name, .. } => Some(name),
            _ => None,
        }
    }

    /// There is no bus to talk to at all (no address, no socket, nobody listening), as
    /// opposed to a bus that answered with an error.
    pub fn bus_absent(&self) -> bool {
        match self {
            DbusError::NoUserBus => true,
            DbusError::Io { what, source, .. } => {
                *what == "connect to"
                    && matches!(
                        source.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                    )
            }
            _ => false,
        }
    }
}

/// A D-Bus message that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("truncated D-Bus message")]
    Truncated,
    #[error("D-Bus {0} is not UTF-8")]
    NotUtf8(&'static str),
    #[error("D-Bus message in byte order `{0}` (only little-endian is read)")]
    ByteOrder(char),
    #[error("D-Bus message too large")]
    TooLarge,
    #[error("unexpected D-Bus header field type `{0}`")]
    FieldType(String),
}

/// How long systemd may take to answer or finish a job.
pub const DBUS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn io_text(e: &std::io::Error) -> String {
    if matches!(
        e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    ) {
        return format!("no answer within {}s", DBUS_TIMEOUT.as_secs());
    }
    match e.raw_os_error() {
        Some(errno) => errno_text(errno),
        None if e.kind() == std::io::ErrorKind::UnexpectedEof => "connection closed".to_string(),
        None => e.to_string(),
    }
}
