//! The error type every wrapper returns: the operation, an optional path, and the errno.

use std::fmt;
use std::path::PathBuf;

/// A failed system call, named by its operation and (when there is one) its path.
#[derive(Debug)]
pub struct SysError {
    pub op: &'static str,
    pub path: Option<PathBuf>,
    pub errno: i32,
}

impl SysError {
    /// Builds an error from the current `errno`.
    pub fn last(op: &'static str, path: Option<PathBuf>) -> Self {
        SysError {
            op,
            path,
            errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
        }
    }

    pub fn io_error(&self) -> std::io::Error {
        std::io::Error::from_raw_os_error(self.errno)
    }
}

impl fmt::Display for SysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(
                f,
                "{} `{}`: {}",
                self.op,
                p.display(),
                errno_text(self.errno)
            ),
            None => write!(f, "{}: {}", self.op, errno_text(self.errno)),
        }
    }
}

impl std::error::Error for SysError {}

/// `No such file or directory (ENOENT)`: the kernel's words and the symbolic name.
pub fn errno_text(errno: i32) -> String {
    let io = std::io::Error::from_raw_os_error(errno);
    let mut text = io.to_string();
    if let Some(cut) = text.find(" (os error") {
        text.truncate(cut);
    }
    match errno_name(errno) {
        Some(name) => format!("{text} ({name})"),
        None => text,
    }
}

/// The errno's symbolic name (`EPERM`), from nix's table of this platform's errnos.
fn errno_name(errno: i32) -> Option<String> {
    match nix::errno::Errno::from_raw(errno) {
        nix::errno::Errno::UnknownErrno => None,
        e => Some(format!("{e:?}")),
    }
}
