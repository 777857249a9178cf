//! Making and removing cgroup directories: `mkdir -p` that remembers what it made, the v1
//! cpuset and v2 controller set-up a new directory needs, and rmdir that waits out busy cgroups.

use crate::error::{errno_of, CgroupError, Result};
use crate::files;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `mkdir -p`, returning the top-most directory it made (None when `dir` existed).
pub(crate) fn create_dir_all(dir: &Path) -> Result<Option<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = Some(dir);
    while let Some(d) = cur.filter(|d| !d.exists()) {
        missing.push(d.to_path_buf());
        cur = d.parent();
    }
    for d in missing.iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => {
                return Err(CgroupError::Mkdir {
                    path: d.clone(),
                    errno: errno_of(&e),
                })
            }
        }
    }
    Ok(missing.last().cloned())
}

/// v1 cpuset cgroups start with empty cpus and mems (unless the parent has clone_children),
/// and an empty cpuset refuses tasks: copy the parent's values down every new level.
pub(crate) fn inherit_cpuset(leaf: &Path, created: &[PathBuf]) -> Result<()> {
    let Some(top) = created.iter().find(|t| leaf.starts_with(t)) else {
        return Ok(());
    };
    let mut chain: Vec<&Path> = leaf
        .ancestors()
        .take_while(|a| a.starts_with(top))
        .collect();
    chain.reverse();
    for dir in chain {
        let parent = dir.parent().unwrap_or(dir);
        for file in ["cpuset.cpus", "cpuset.mems"] {
            if files::read(dir, file)?.trim().is_empty() {
                let value = files::read(parent, file)?;
                files::write(dir, file, value.trim())?;
            }
        }
    }
    Ok(())
}

/// v2 controllers must be enabled in every parent's cgroup.subtree_control before the child
/// has their files; done for each level `create` made (and the one above the top).
pub(crate) fn enable_controllers(leaf: &Path, created: &[PathBuf]) -> Result<()> {
    let Some(top) = created.iter().find(|t| leaf.starts_with(t)) else {
        return Ok(());
    };
    let above = top.parent().unwrap_or(top);
    let parents: Vec<&Path> = leaf
        .ancestors()
        .skip(1)
        .take_while(|a| a.starts_with(above))
        .collect();
    for dir in parents.into_iter().rev() {
        let available = files::read_optional(dir, "cgroup.controllers")?.unwrap_or_default();
        let wanted: Vec<String> = available
            .split_whitespace()
            .map(|c| format!("+{c}"))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        if files::write(dir, "cgroup.subtree_control", wanted.join(" ")).is_err() {
            // One refused controller (e.g. cpu with realtime tasks in the parent) must not cost
            // the others: retry one by one and keep what the kernel accepts.
            for c in &wanted {
                let _ = files::write(dir, "cgroup.subtree_control", c);
            }
        }
    }
    Ok(())
}

/// rmdir(2), retried while the cgroup is busy (tasks still exiting after a SIGKILL);
/// a missing directory is fine.
pub(crate) fn rmdir_retrying(dir: &Path) -> Result<()> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if errno_of(&e) == libc::EBUSY && start.elapsed() < Duration::from_secs(2) => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => {
                return Err(CgroupError::Rmdir {
                    path: dir.to_path_buf(),
                    errno: errno_of(&e),
                })
            }
        }
    }
}
