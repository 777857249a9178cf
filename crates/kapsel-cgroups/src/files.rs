//! Reading and writing cgroup control files, with the path, value and errno in every error.
//!
//! Writes open the file without O_CREAT (a missing control file is an error, also in the
//! temporary trees the unit tests use) and with O_TRUNC, one value per write(2): the kernel
//! parses each write on its own.

use crate::error::{errno_of, CgroupError, Result};
use std::fmt::Display;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Writes `value` to `dir/file`.
pub(crate) fn write(dir: &Path, file: &str, value: impl Display) -> Result<()> {
    write_path(&dir.join(file), &value.to_string())
}

pub(crate) fn write_path(path: &Path, value: &str) -> Result<()> {
    let fail = |e: std::io::Error| CgroupError::Write {
        path: path.to_path_buf(),
        value: value.to_string(),
        errno: errno_of(&e),
    };
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(fail)?;
    file.write_all(value.as_bytes()).map_err(fail)
}

/// A control file opened once for several writes, each parsed by the kernel on its own
/// (the v1 device lists take one rule per write; the file offset means nothing to them).
pub(crate) struct ControlFile {
    path: PathBuf,
    file: Option<std::fs::File>,
}

impl ControlFile {
    /// `dir/file`, opened at the first write.
    pub(crate) fn new(dir: &Path, file: &str) -> ControlFile {
        ControlFile {
            path: dir.join(file),
            file: None,
        }
    }

    /// One write(2) of `value`.
    pub(crate) fn write(&mut self, value: &str) -> Result<()> {
        let fail = |e: std::io::Error| CgroupError::Write {
            path: self.path.clone(),
            value: value.to_string(),
            errno: errno_of(&e),
        };
        let file = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(
                std::fs::OpenOptions::new()
                    .write(true)
                    .truncate(true)
                    .open(&self.path)
                    .map_err(fail)?,
            ),
        };
        file.write_all(value.as_bytes()).map_err(fail)
    }
}

/// Reads `dir/file` as text.
pub(crate) fn read(dir: &Path, file: &str) -> Result<String> {
    read_path(&dir.join(file))
}

pub(crate) fn read_path(path: &Path) -> Result<String> {
    kapsel_sys::kernfile::read_to_string(path).map_err(|e| CgroupError::Read {
        path: path.to_path_buf(),
        errno: errno_of(&e),
    })
}

/// Reads `dir/file` when it exists; `None` when it does not.
pub(crate) fn read_optional(dir: &Path, file: &str) -> Result<Option<String>> {
    match read(dir, file) {
        Ok(text) => Ok(Some(text)),
        Err(CgroupError::Read { errno, .. }) if errno == libc::ENOENT => Ok(None),
        Err(e) => Err(e),
    }
}

/// Reads a file holding one unsigned number, or `max` (returned as `u64::MAX`).
pub(crate) fn read_u64(dir: &Path, file: &str) -> Result<u64> {
    let text = read(dir, file)?;
    parse_u64(&dir.join(file), text.trim())
}

/// Like `read_u64`, but 0 when the file does not exist (for optional statistics).
pub(crate) fn read_u64_or_zero(dir: &Path, file: &str) -> Result<u64> {
    match read_optional(dir, file)? {
        Some(text) => parse_u64(&dir.join(file), text.trim()),
        None => Ok(0),
    }
}

pub(crate) fn parse_u64(path: &Path, text: &str) -> Result<u64> {
    if text == "max" {
        return Ok(u64::MAX);
    }
    text.parse().map_err(|_| CgroupError::Parse {
        path: path.to_path_buf(),
        content: text.to_string(),
    })
}

/// Parses `key value` lines (memory.stat, cpu.stat, memory.events) into pairs.
pub(crate) fn parse_flat_keyed(path: &Path, text: &str) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut parts = line.split_whitespace();
        let (Some(key), Some(value), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(CgroupError::Parse {
                path: path.to_path_buf(),
                content: line.to_string(),
            });
        };
        out.push((key.to_string(), parse_u64(path, value)?));
    }
    Ok(out)
}

/// The value of `key` in a flat-keyed file, 0 when the file or the key is absent.
pub(crate) fn read_keyed(dir: &Path, file: &str, key: &str) -> Result<u64> {
    let Some(text) = read_optional(dir, file)? else {
        return Ok(0);
    };
    let pairs = parse_flat_keyed(&dir.join(file), &text)?;
    Ok(pairs
        .into_iter()
        .find(|(k, _)| k == key)
        .map_or(0, |(_, v)| v))
}

/// Reads the pids listed in `dir/cgroup.procs`.
pub(crate) fn read_pids(dir: &Path) -> Result<Vec<i32>> {
    let path = dir.join("cgroup.procs");
    let text = read_path(&path)?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim().parse().map_err(|_| CgroupError::Parse {
                path: path.clone(),
                content: l.to_string(),
            })
        })
        .collect()
}

pub(crate) fn exists(dir: &Path, file: &str) -> bool {
    dir.join(file).exists()
}

/// Sub-directories of `dir` (child cgroups), depth first, deepest last.
pub(crate) fn child_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let path = entry.path();
            out.push(path.clone());
            out.extend(child_dirs(&path));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempTree;

    #[test]
    fn write_refuses_to_create_missing_control_files() {
        let tree = TempTree::new("files-missing");
        let err = write(tree.path(), "memory.max", 5).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("write `5` to `"), "{text}");
        assert!(
            text.ends_with("memory.max`: No such file or directory (ENOENT)"),
            "{text}"
        );
    }

    #[test]
    fn write_replaces_the_previous_value() {
        let tree = TempTree::new("files-replace");
        tree.file("pids.max", "max\n");
        write(tree.path(), "pids.max", 64).unwrap();
        assert_eq!(tree.read("pids.max"), "64");
    }

    #[test]
    fn read_u64_understands_max_and_rejects_garbage() {
        let tree = TempTree::new("files-u64");
        tree.file("a", "max\n");
        tree.file("b", "12\n");
        tree.file("c", "twelve\n");
        assert_eq!(read_u64(tree.path(), "a").unwrap(), u64::MAX);
        assert_eq!(read_u64(tree.path(), "b").unwrap(), 12);
        let err = read_u64(tree.path(), "c").unwrap_err().to_string();
        assert!(err.contains("unexpected content `twelve`"), "{err}");
    }

    #[test]
    fn keyed_values_and_pids_parse() {
        let tree = TempTree::new("files-keyed");
        tree.file("memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n");
        tree.file("cgroup.procs", "12\n34\n");
        assert_eq!(
            read_keyed(tree.path(), "memory.events", "oom_kill").unwrap(),
            1
        );
        assert_eq!(read_keyed(tree.path(), "memory.events", "nope").unwrap(), 0);
        assert_eq!(read_keyed(tree.path(), "absent", "oom").unwrap(), 0);
        assert_eq!(read_pids(tree.path()).unwrap(), vec![12, 34]);
    }
}
