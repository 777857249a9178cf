//! Scratch directories that vanish with the test, unmounting anything left beneath them first
//! so that removing them can never reach through a mount into the host.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::mountinfo;

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A directory removed (after detaching mounts under it) when dropped.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates `<parent>/<tag>-<pid>-<seq>`.
    pub fn new(parent: &Path, tag: &str) -> Scratch {
        let seq = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = parent.join(format!("{tag}-{}-{seq}", std::process::id()));
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("create scratch dir `{}`: {e}", path.display()));
        Scratch { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        detach_mounts_under(&self.path);
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Lazily unmounts every mount at or below `dir` in this mount namespace, deepest first.
pub fn detach_mounts_under(dir: &Path) {
    let mut points: Vec<PathBuf> = mountinfo::read_self()
        .into_iter()
        .map(|m| m.mount_point)
        .filter(|p| p.starts_with(dir))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
    for point in points {
        let _ = nix::mount::umount2(&point, nix::mount::MntFlags::MNT_DETACH);
    }
}
