//! Helpers for the unit tests: a temporary directory that mimics cgroupfs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A temporary directory removed on drop.
pub(crate) struct TempTree {
    root: PathBuf,
}

impl TempTree {
    pub(crate) fn new(name: &str) -> Self {
        let root = std::env::temp_dir().join(format!(
            "kapsel-cgroups-{name}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&root).unwrap();
        TempTree { root }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.root
    }

    /// Creates `rel` (and its parents) holding `content`.
    pub(crate) fn file(&self, rel: &str, content: &str) -> PathBuf {
        assert!(
            !rel.starts_with('/'),
            "`{rel}` would escape the temporary tree"
        );
        let path = self.root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    /// Creates every file in `names` under the directory `rel`, each holding `content`.
    pub(crate) fn files(&self, rel: &str, names: &[&str], content: &str) {
        for name in names {
            let path = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            self.file(&path, content);
        }
    }

    pub(crate) fn read(&self, rel: &str) -> String {
        assert!(
            !rel.starts_with('/'),
            "`{rel}` would escape the temporary tree"
        );
        std::fs::read_to_string(self.root.join(rel)).unwrap()
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
