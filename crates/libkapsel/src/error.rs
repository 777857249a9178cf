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
    /// runc's wording, which callers match on.
    #[error("container does not exist")]
    NotExist,
    #[error("container with id exists")]
    Exists,
    #[error("container not running")]
    NotRunning,
    #[error("{0}")]
    Msg(String),
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
