//! libkapsel's error type. Context is attached where the failure happens (operation,
//! path, errno, config field); the container id and verb are added once, at the
//! library boundary, by [`Error::in_container`].

use kapsel_sys::{errno_text, SysError};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Sys(#[from] SysError),
    #[error("{op} `{path}`: {}", io_text(.source))]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    /// A value in config.json (or a flag) that kapsel refuses, named by its field path.
    #[error("{field}: {msg}")]
    Config { field: String, msg: String },
    /// An error of any kind while applying one field of config.json, which it names
    /// (`mounts[3]: mount ...`); the error keeps its type.
    #[error("{field}: {source}")]
    InField { field: String, source: Box<Error> },
    /// runc's wording, which callers match on.
    #[error("container does not exist")]
    NotExist,
    #[error("container with id exists")]
    Exists,
    #[error("container not running")]
    NotRunning,
    /// A cgroup operation, with its own path and errno (kapsel-cgroups).
    #[error(transparent)]
    Cgroup(#[from] kapsel_cgroups::CgroupError),
    /// The seccomp profile of `field` (compiling it, loading it, its listener).
    #[error("{field}: {source}")]
    Seccomp {
        field: &'static str,
        source: kapsel_seccomp::Error,
    },
    /// An id that cannot name a container directory (runc's phrase leads).
    #[error("invalid container ID format: {0}")]
    InvalidId(String),
    /// The container's status forbids the operation (`cannot start an already running
    /// container`, ...).
    #[error("{0}")]
    Status(#[from] StatusError),
    /// The container was made without a cgroup (rootless without delegation), and the
    /// operation needs one.
    #[error("the container has no cgroup to {0}")]
    NoCgroup(&'static str),
    /// Finding or executing the container's program, in runc's words.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// A lifecycle hook that failed or overran.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// A `mounts` entry or device node that cannot be made.
    #[error(transparent)]
    Mount(#[from] MountError),
    /// The container process's own failure, carried across the fork as data: its text
    /// and, when it was a failed system call, the errno.
    #[error("{text}")]
    Child { errno: Option<i32>, text: String },
    /// The runtime and the container process no longer understand each other.
    #[error("{0}")]
    Protocol(String),
    /// A command-line value that cannot be used (`--user`, `--cap`, `--tty`, ...).
    #[error("{0}")]
    Usage(String),
    /// config.json that is not JSON, or not a JSON object.
    #[error("{}: {reason}", path.display())]
    ConfigJson { path: PathBuf, reason: String },
    /// A state file that names something kapsel would never have made (tampered).
    #[error("{0}")]
    TamperedState(String),
    /// A process that outlived the wait for it.
    #[error("process {pid} did not exit within {secs}s of signal {signal}")]
    Timeout { pid: i32, signal: i32, secs: u64 },
    /// A state file that cannot be read back.
    #[error("state file `{path}` is corrupt: {reason}")]
    CorruptState { path: PathBuf, reason: String },
    /// The state dir exists, but its create has not written the state yet.
    #[error("container is still being created (no state file yet)")]
    StillCreating,
    #[error("{0}")]
    Msg(String),
    /// Checkpoint and restore through CRIU.
    #[error(transparent)]
    Criu(#[from] CriuError),
    // The id is escaped: an invalid one may hold a newline or a terminal escape. A message
    // that starts with the verb already (`exec: "x": ...`) is not prefixed twice.
    #[error("container {}: {verb}: {}", id.escape_debug(), without_verb(verb, source))]
    Container {
        id: String,
        verb: &'static str,
        source: Box<Error>,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn without_verb(verb: &str, source: &Error) -> String {
    let text = source.to_string();
    match text
        .strip_prefix(verb)
        .and_then(|rest| rest.strip_prefix(": "))
    {
        Some(rest) => rest.to_string(),
        None => text,
    }
}

impl Error {
    pub fn io(op: &'static str, path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    pub fn config(field: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            msg: msg.into(),
        }
    }

    pub fn msg(msg: impl Into<String>) -> Self {
        Error::Msg(msg.into())
    }

    /// Names the config field this error happened in.
    pub fn in_field(self, field: impl Into<String>) -> Self {
        Error::InField {
            field: field.into(),
            source: Box::new(self),
        }
    }

    /// Wraps the error with the container id and the verb, once.
    pub fn in_container(self, id: &str, verb: &'static str) -> Self {
        match self {
            e @ Error::Container { .. } => e,
            e => Error::Container {
                id: id.to_string(),
                verb,
                source: Box::new(e),
            },
        }
    }

    /// The errno of the failed system call behind this error, when there is one (what
    /// crosses the fork with a failure of the container process).
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Sys(e) => Some(e.errno),
            Error::Io { source, .. } => source.raw_os_error(),
            Error::Child { errno, .. } => *errno,
            Error::Container { source, .. } | Error::InField { source, .. } => source.errno(),
            _ => None,
        }
    }

    /// The innermost error, for callers that want to classify it.
    pub fn root(&self) -> &Error {
        match self {
            Error::Container { source, .. } => source.root(),
            e => e,
        }
    }
}

/// The kernel's words and the errno name for an I/O error.
pub fn io_text(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(errno) => errno_text(errno),
        None => e.to_string(),
    }
}

/// `nix::Error` to our error, naming the operation and path.
pub fn nix_err(op: &'static str, path: impl AsRef<Path>) -> impl FnOnce(nix::Error) -> Error {
    let path = path.as_ref().to_path_buf();
    move |e| {
        Error::Sys(SysError {
            op,
            path: if path.as_os_str().is_empty() {
                None
            } else {
                Some(path)
            },
            errno: e as i32,
        })
    }
}

/// An operation the container's status forbids (runc's wording where it has one).
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("cannot start a container that has stopped")]
    StartStopped,
    #[error("cannot start an already {0} container")]
    StartAlready(&'static str),
    #[error("cannot pause a {0} container")]
    Pause(&'static str),
    #[error("cannot resume a {0} container: it is not paused")]
    Resume(&'static str),
    #[error("cannot delete container {id} that is not stopped: {status}")]
    Delete { id: String, status: &'static str },
    #[error("cannot exec in a stopped container")]
    ExecStopped,
    #[error("cannot exec in a {0} container")]
    Exec(&'static str),
    #[error("cannot update a stopped container")]
    UpdateStopped,
    #[error("cannot checkpoint a {0} container")]
    Checkpoint(&'static str),
}

/// Finding or executing the program, in runc's words (podman and docker turn "not found"
/// and "no such file or directory" into 127, "permission denied" into 126).
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("exec: \"{arg0}\": permission denied")]
    PermissionDenied { arg0: String },
    #[error("exec: \"{arg0}\": stat {arg0}: {reason}")]
    Stat { arg0: String, reason: String },
    #[error("exec: \"{arg0}\": executable file not found in $PATH")]
    NotInPath { arg0: String },
    /// execve itself failed.
    #[error("exec `{path}`: {}", kapsel_sys::errno_text(*errno))]
    Execve { path: String, errno: i32 },
    /// The wasm handler could not read, validate or set up the module.
    #[error("wasm `{path}`: {reason}")]
    Wasm { path: String, reason: String },
}

/// A hook that failed or overran its timeout.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error("hook `{}` timed out after {secs}s", path.display())]
    TimedOut { path: std::path::PathBuf, secs: i64 },
    /// Its exit status and the last line it printed (stderr, else stdout).
    #[error("hook `{}` failed: {status}{}", path.display(), output_suffix(output))]
    Failed {
        path: std::path::PathBuf,
        status: std::process::ExitStatus,
        output: String,
    },
}

fn output_suffix(output: &str) -> String {
    if output.is_empty() {
        String::new()
    } else {
        format!(": {output}")
    }
}

impl MountError {
    /// A failed mount(2) of `what` on `dest`, as an [`Error`].
    pub fn failed(e: nix::Error, what: &str, dest: &Path) -> Error {
        MountError::Failed {
            what: what.to_string(),
            dest: dest.to_path_buf(),
            errno: e as i32,
        }
        .into()
    }
}

/// A mount (or device node) of the container that cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum MountError {
    #[error("mount `{what}` on `{}`: {}", dest.display(), kapsel_sys::errno_text(*errno))]
    Failed {
        what: String,
        dest: std::path::PathBuf,
        errno: i32,
    },
    #[error("`{}` cannot be mounted: only a proc filesystem may be mounted at /proc", dest.display())]
    NotProcAtProc { dest: std::path::PathBuf },
    #[error(
        "`{}` cannot be mounted because it is inside /proc (only the files lxcfs emulates may be)",
        dest.display()
    )]
    InsideProc { dest: std::path::PathBuf },
    #[error("device `{}`: a file that is not a device node is already there", path.display())]
    NotADevice { path: std::path::PathBuf },
    /// A node of another type or other numbers where a `linux.devices` entry asks for one.
    #[error("device `{}`: {found} is already there, where {wanted} was asked for", path.display())]
    OtherDevice {
        path: std::path::PathBuf,
        found: String,
        wanted: String,
    },
    #[error("device path `{}` has no name", path.display())]
    DeviceWithoutName { path: std::path::PathBuf },
    /// An idmapped mount that cannot be made as asked.
    #[error("{0}")]
    Idmap(&'static str),
}

/// CRIU missing, too old, or failing a request (its log's last error line quoted).
#[derive(Debug, thiserror::Error)]
pub enum CriuError {
    #[error("criu `{}` not found: checkpoint and restore need criu 3.0 or newer (or --criu PATH)", binary.display())]
    Missing { binary: PathBuf },
    #[error("start criu `{}`: {}", binary.display(), errno_text(*errno))]
    Spawn { binary: PathBuf, errno: i32 },
    #[error("criu {found} is too old: {need} or newer is needed")]
    TooOld { found: String, need: String },
    /// criu lacks a feature a flag needs (its FEATURE_CHECK said no).
    #[error("criu cannot {0} here (its feature check says no)")]
    Feature(&'static str),
    /// A request criu answered with failure: its errno and message, and the last error
    /// line of its log, which the error names.
    #[error("criu {req} failed{}{}{}", criu_errno(*errno), criu_detail(detail), criu_log(log, last))]
    Failed {
        req: &'static str,
        errno: Option<i32>,
        detail: String,
        log: Option<PathBuf>,
        last: Option<String>,
    },
    /// kapsel and criu no longer understand each other (criu died, a malformed answer).
    #[error("criu {req}: {msg}")]
    Protocol { req: &'static str, msg: String },
}

fn criu_errno(errno: Option<i32>) -> String {
    errno
        .map(|e| format!(" ({})", errno_text(e)))
        .unwrap_or_default()
}

fn criu_detail(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

fn criu_log(log: &Option<PathBuf>, last: &Option<String>) -> String {
    match (log, last) {
        (Some(l), Some(line)) => format!(": log `{}`: {line}", l.display()),
        (Some(l), None) => format!(": see `{}`", l.display()),
        _ => String::new(),
    }
}
