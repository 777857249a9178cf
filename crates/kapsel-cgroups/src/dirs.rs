//! Making and removing cgroup directories: `mkdir -p` that remembers what it made, the v1
//! cpuset and v2 controller set-up a new directory needs, and rmdir that waits out busy cgroups.

use crate::error::{errno_of, CgroupError, Result};
use crate::files;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `mkdir -p`, returning the top-most directory it made (None when `dir` existed).
pub(crate) fn create_dir_all(dir: &Path) -> Result<Option<PathBuf>> {
    // mkdir first: the parent usually exists, and then one syscall does it. Otherwise
    // climb to the nearest level that exists and come back down.
    let mut missing: Vec<&Path> = Vec::new();
    let mut cur = dir;
    let top = loop {
        let e = match std::fs::create_dir(cur) {
            Ok(()) => break cur,
            Err(e) => e,
        };
        match (e.kind(), cur.parent()) {
            (std::io::ErrorKind::AlreadyExists, _) => match missing.last() {
                Some(below) => break below,
                None => return Ok(None),
            },
            (std::io::ErrorKind::NotFound, Some(parent)) => {
                missing.push(cur);
                cur = parent;
            }
            _ => return Err(mkdir_error(cur, &e)),
        }
    };
    for d in missing.iter().rev() {
        match std::fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(mkdir_error(d, &e)),
        }
    }
    Ok(Some(top.to_path_buf()))
}

fn mkdir_error(path: &Path, e: &std::io::Error) -> CgroupError {
    CgroupError::Mkdir {
        path: path.to_path_buf(),
        errno: errno_of(e),
    }
}

/// v1 cpuset cgroups start with empty cpus and mems (unless the parent has clone_children),
/// and an empty cpuset refuses tasks: copy the nearest set ancestor's values down every
/// empty level above `leaf` and into it. Levels another create made are filled too: with
/// several creates sharing a new parent (`ctr run -d` eight at once), the one that made it
/// may not have filled it yet when another copies from it (the move then fails ENOSPC).
/// Only empty files are written, always with the same values, so racing writers agree.
pub(crate) fn inherit_cpuset(leaf: &Path) -> Result<()> {
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let mut empty = Vec::new();
        let mut dir = leaf;
        let value = loop {
            let v = files::read(dir, file)?;
            if !v.trim().is_empty() {
                break v.trim().to_string();
            }
            empty.push(dir);
            match dir.parent() {
                Some(p) => dir = p,
                None => return Ok(()),
            }
        };
        for d in empty.into_iter().rev() {
            files::write(d, file, &value)?;
        }
    }
    Ok(())
}

/// v2 controllers must be enabled in every parent's cgroup.subtree_control before the child
/// has their files: in each level from `from` down to the leaf's parent, the controllers
/// its cgroup.controllers offers and its subtree_control lacks (only those are written).
/// From the hierarchy's root, as runc's fs2 driver does (`CreateCgroupPath`): systemd
/// enables at the root and in system.slice only what its own units use (no cpu or io
/// without accounting, never hugetlb, rdma or misc), so a level kapsel did not make may lack
/// a controller the container's limits need (cpu.weight, hugetlb.*.max: ENOENT).
pub(crate) fn enable_controllers(leaf: &Path, from: &Path) -> Result<()> {
    let parents: Vec<&Path> = leaf
        .ancestors()
        .skip(1)
        .take_while(|a| a.starts_with(from))
        .collect();
    for dir in parents.into_iter().rev() {
        let available = files::read_optional(dir, "cgroup.controllers")?.unwrap_or_default();
        let enabled = files::read_optional(dir, "cgroup.subtree_control")?.unwrap_or_default();
        let wanted: Vec<String> = available
            .split_whitespace()
            .filter(|c| !enabled.split_whitespace().any(|e| e == *c))
            .map(|c| format!("+{c}"))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        if files::write(dir, "cgroup.subtree_control", wanted.join(" ")).is_err() {
            // One refused controller (e.g. cpu with realtime tasks in the parent, or a
            // domain controller in a cgroup with processes) must not cost the others: retry
            // one by one and keep what the kernel accepts.
            for c in &wanted {
                let _ = files::write(dir, "cgroup.subtree_control", c);
            }
        }
    }
    Ok(())
}

/// Where `enable_controllers` starts when the hierarchy's root is not known: the level above
/// the top directory `create` made for `leaf` (None: it made none).
pub(crate) fn above_created<'a>(leaf: &Path, created: &'a [PathBuf]) -> Option<&'a Path> {
    let top = created.iter().find(|t| leaf.starts_with(t))?;
    Some(top.parent().unwrap_or(top))
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

#[cfg(test)]
mod tests {
    use super::{create_dir_all, inherit_cpuset};
    use crate::testutil::TempTree;

    #[test]
    fn mkdir_p_reports_the_top_most_level_it_made() {
        let tree = TempTree::new("mkdir-p");
        let root = tree.path();
        assert_eq!(
            create_dir_all(&root.join("a")).unwrap(),
            Some(root.join("a"))
        );
        assert_eq!(create_dir_all(&root.join("a")).unwrap(), None);
        assert_eq!(
            create_dir_all(&root.join("a/b/c/d")).unwrap(),
            Some(root.join("a/b"))
        );
        assert!(root.join("a/b/c/d").is_dir());
        tree.file("f", "");
        let err = create_dir_all(&root.join("f/x/y")).unwrap_err();
        assert_eq!(err.errno(), Some(libc::ENOTDIR), "{err}");
        assert!(err.to_string().contains("f/x"), "{err}");
    }

    #[test]
    fn cpuset_values_reach_every_empty_level_also_one_another_create_made() {
        let t = TempTree::new("cpuset-inherit");
        t.file("cpuset.cpus", "0-1\n");
        t.file("cpuset.mems", "0\n");
        // `shared` was made by another create that has not filled it yet.
        t.files("shared", &["cpuset.cpus", "cpuset.mems"], "\n");
        t.files("shared/ours", &["cpuset.cpus", "cpuset.mems"], "");
        inherit_cpuset(&t.path().join("shared/ours")).unwrap();
        for dir in ["shared", "shared/ours"] {
            assert_eq!(t.read(&format!("{dir}/cpuset.cpus")), "0-1", "{dir}");
            assert_eq!(t.read(&format!("{dir}/cpuset.mems")), "0", "{dir}");
        }
    }

    #[test]
    fn cpuset_values_already_set_are_left_alone() {
        let t = TempTree::new("cpuset-set");
        t.file("cpuset.cpus", "0-1\n");
        t.file("cpuset.mems", "0\n");
        t.files("narrow", &["cpuset.cpus"], "1\n");
        t.files("narrow", &["cpuset.mems"], "0\n");
        t.files("narrow/ours", &["cpuset.cpus", "cpuset.mems"], "");
        inherit_cpuset(&t.path().join("narrow/ours")).unwrap();
        assert_eq!(
            t.read("narrow/cpuset.cpus"),
            "1\n",
            "a set ancestor is not rewritten"
        );
        assert_eq!(
            t.read("narrow/ours/cpuset.cpus"),
            "1",
            "the nearest set ancestor wins"
        );
    }
}
