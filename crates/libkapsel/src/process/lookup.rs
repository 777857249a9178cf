//! Finding the container's executable (in the container's PATH, after pivot_root) and
//! the final execve. The wording of "not found" errors is runc's, because podman and
//! docker turn it into exit code 127.

use crate::error::{Error, ExecError, Result};
use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub fn resolve(arg0: &str, env: &[String]) -> Result<PathBuf> {
    if arg0.contains('/') {
        let p = Path::new(arg0);
        return match std::fs::metadata(p) {
            Ok(m) if m.is_file() && m.permissions().mode() & 0o111 != 0 => Ok(p.to_path_buf()),
            // A directory too: execve answers EACCES, and runc's phrase is what docker
            // and podman turn into exit code 126.
            Ok(_) => Err(ExecError::PermissionDenied {
                arg0: arg0.to_string(),
            }
            .into()),
            Err(e) => Err(ExecError::Stat {
                arg0: arg0.to_string(),
                reason: lower_errno(&e),
            }
            .into()),
        };
    }
    let path = env
        .iter()
        .find_map(|kv| kv.strip_prefix("PATH="))
        .unwrap_or("");
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = Path::new(dir).join(arg0);
        if let Ok(m) = std::fs::metadata(&candidate) {
            if m.is_file() && m.permissions().mode() & 0o111 != 0 {
                return Ok(candidate);
            }
        }
    }
    Err(ExecError::NotInPath {
        arg0: arg0.to_string(),
    }
    .into())
}

/// `HOME` for a process whose environment has none: the home directory of `uid` in the
/// container's `/etc/passwd` (read after pivot_root, before the uid change), `/` when
/// the file or the entry is missing, as runc and crun do.
pub fn home_of(uid: u32) -> String {
    use std::io::BufRead;
    let Ok(file) = std::fs::File::open("/etc/passwd") else {
        return "/".to_string();
    };
    std::io::BufReader::new(file)
        .lines()
        .map_while(std::result::Result::ok)
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() >= 6 && fields[2].parse() == Ok(uid) && !fields[5].is_empty())
                .then(|| fields[5].to_string())
        })
        .unwrap_or_else(|| "/".to_string())
}

/// `no such file or directory`, lower-case like Go's syscall errors.
fn lower_errno(e: &std::io::Error) -> String {
    let mut s = e.to_string();
    if let Some(cut) = s.find(" (os error") {
        s.truncate(cut);
    }
    s.to_lowercase()
}

pub fn cstrings(items: &[String], what: &str) -> Result<Vec<CString>> {
    items
        .iter()
        .map(|s| {
            CString::new(s.as_bytes()).map_err(|_| {
                Error::config(what, format!("`{}` contains a NUL byte", s.escape_debug()))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_in_path_and_words_errors_like_runc() {
        let env = vec!["PATH=/nonexistent:/bin:/usr/bin".to_string()];
        assert!(resolve("sh", &env).unwrap().ends_with("sh"));
        let e = resolve("/nonexistent", &env).unwrap_err().to_string();
        assert_eq!(
            e,
            "exec: \"/nonexistent\": stat /nonexistent: no such file or directory"
        );
        let e = resolve("no-such-cmd", &env).unwrap_err().to_string();
        assert_eq!(
            e,
            "exec: \"no-such-cmd\": executable file not found in $PATH"
        );
    }
}
