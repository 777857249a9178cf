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

fn errno_name(errno: i32) -> Option<&'static str> {
    Some(match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::ENOEXEC => "ENOEXEC",
        libc::EBADF => "EBADF",
        libc::ECHILD => "ECHILD",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOTTY => "ENOTTY",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::EPIPE => "EPIPE",
        libc::ERANGE => "ERANGE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::EDQUOT => "EDQUOT",
        _ => return None,
    })
}
