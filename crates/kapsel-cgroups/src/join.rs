//! Putting a new process into the container's cgroups without the kernel's global
//! cgroup lock.
//!
//! Moving another process (`PID` written to `cgroup.procs` or `tasks`) takes
//! `cgroup_threadgroup_rwsem` for writing. That per-cpu semaphore waits for an RCU grace
//! period when it was idle, so the first move after a quiet spell costs 5–15 ms on a
//! loaded host instead of microseconds (bench/cgroup-move.c). Two ways in avoid it:
//!
//! - the unified hierarchy: clone3(CLONE_INTO_CGROUP) with the directory's descriptor,
//!   so the child is born there (the fork path takes the semaphore only for reading);
//! - a v1 hierarchy: the child writes `0` to the `tasks` file, moving its only thread,
//!   itself; the kernel skips the global lock for a thread that moves itself.
//!
//! The runtime opens every file before the clone (its credentials are the ones the
//! kernel checks), the child inherits the descriptors and joins first thing.

use crate::error::{errno_of, CgroupError, Result};
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// The descriptors a new process needs to join the container's cgroups itself.
#[derive(Debug, Default)]
pub struct SelfJoin {
    /// The unified hierarchy's directory, for clone3(CLONE_INTO_CGROUP).
    born_in: Option<OwnedFd>,
    /// The unified hierarchy's `cgroup.procs`, when the kernel has no CLONE_INTO_CGROUP.
    unified_procs: Option<(PathBuf, File)>,
    /// Every v1 hierarchy's `tasks` file, opened for writing.
    tasks: Vec<(PathBuf, File)>,
    unified_dir: Option<PathBuf>,
}

impl SelfJoin {
    /// Opens the unified directory `unified` and the `tasks` file of every directory in
    /// `v1` (each once).
    pub fn open<'a>(
        v1: impl IntoIterator<Item = &'a Path>,
        unified: Option<&Path>,
    ) -> Result<Self> {
        let mut join = SelfJoin::default();
        for dir in v1 {
            let path = dir.join("tasks");
            if join.tasks.iter().any(|(p, _)| *p == path) {
                continue;
            }
            let file = open_for_writing(&path)?;
            join.tasks.push((path, file));
        }
        if let Some(dir) = unified {
            join.born_in = Some(open_dir(dir)?);
            join.unified_dir = Some(dir.to_path_buf());
        }
        Ok(join)
    }

    /// clone3 with CLONE_INTO_CGROUP failed (Linux before 5.7 has no such flag; a cgroup
    /// that refuses the process fails clone3 without naming it): the child then joins the
    /// unified hierarchy by writing `0` to its `cgroup.procs` (which takes the global lock,
    /// and whose error names the file). Opens that file.
    pub fn without_clone_into(&mut self) -> Result<()> {
        if self.born_in.take().is_some() {
            if let Some(dir) = &self.unified_dir {
                let path = dir.join("cgroup.procs");
                let file = open_for_writing(&path)?;
                self.unified_procs = Some((path, file));
            }
        }
        Ok(())
    }

    /// The directory to pass to clone3(CLONE_INTO_CGROUP), if any.
    pub fn clone_into(&self) -> Option<RawFd> {
        self.born_in.as_ref().map(AsRawFd::as_raw_fd)
    }

    /// In the new process, while it still has one thread: moves it into every v1
    /// hierarchy's cgroup and closes the descriptors.
    pub fn join(self) -> Result<()> {
        for (path, mut file) in self.tasks.into_iter().chain(self.unified_procs) {
            file.write_all(b"0").map_err(|e| CgroupError::Write {
                path,
                value: "0".into(),
                errno: errno_of(&e),
            })?;
        }
        Ok(())
    }
}

fn open_for_writing(path: &Path) -> Result<File> {
    open_with(path, std::fs::OpenOptions::new().write(true))
}

fn open_dir(dir: &Path) -> Result<OwnedFd> {
    open_with(
        dir,
        std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY),
    )
    .map(OwnedFd::from)
}

/// std opens with O_CLOEXEC: the child inherits the descriptors through clone, and they
/// close at its execve if it has not closed them before.
fn open_with(path: &Path, options: &std::fs::OpenOptions) -> Result<File> {
    options.open(path).map_err(|e| CgroupError::Open {
        path: path.to_path_buf(),
        errno: errno_of(&e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempTree;

    #[test]
    fn each_tasks_file_is_opened_once_and_written_zero() {
        let tmp = TempTree::new("selfjoin");
        let a = tmp
            .file("cpu,cpuacct/c1/tasks", "")
            .parent()
            .unwrap()
            .to_path_buf();
        let b = tmp
            .file("pids/c1/tasks", "")
            .parent()
            .unwrap()
            .to_path_buf();
        // Co-mounted controllers name the same directory twice.
        let join = SelfJoin::open([a.as_path(), a.as_path(), b.as_path()], None).unwrap();
        assert_eq!(join.tasks.len(), 2);
        assert!(join.clone_into().is_none());
        join.join().unwrap();
        for d in [&a, &b] {
            assert_eq!(std::fs::read_to_string(d.join("tasks")).unwrap(), "0");
        }
    }

    #[test]
    fn the_unified_directory_is_opened_for_clone_into() {
        let tmp = TempTree::new("selfjoin-unified");
        let join = SelfJoin::open([], Some(tmp.path())).unwrap();
        assert!(join.clone_into().is_some());
    }

    #[test]
    fn without_clone_into_the_child_writes_the_unified_cgroup_procs() {
        let tmp = TempTree::new("selfjoin-fallback");
        tmp.file("unified/c1/cgroup.procs", "");
        let dir = tmp.path().join("unified/c1");
        let mut join = SelfJoin::open([], Some(&dir)).unwrap();
        join.without_clone_into().unwrap();
        assert!(join.clone_into().is_none());
        join.join().unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("cgroup.procs")).unwrap(),
            "0"
        );
    }

    #[test]
    fn a_missing_tasks_file_names_its_path() {
        let tmp = TempTree::new("selfjoin-missing");
        let err = SelfJoin::open([tmp.path()], None).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("tasks"), "{text}");
        assert_eq!(err.errno(), Some(libc::ENOENT));
    }
}
