//! Helpers for the unit tests: a temporary directory that mimics cgroupfs.

use std::path::{Path, PathBuf};

/// A temporary directory removed on drop.
pub(crate) struct TempTree {
    dir: tempfile::TempDir,
}

impl TempTree {
    pub(crate) fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("kapsel-cgroups-{name}-"))
            .tempdir()
            .unwrap();
        TempTree { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Creates `rel` (and its parents) holding `content`.
    pub(crate) fn file(&self, rel: &str, content: &str) -> PathBuf {
        assert!(
            !rel.starts_with('/'),
            "`{rel}` would escape the temporary tree"
        );
        let path = self.path().join(rel);
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
        std::fs::read_to_string(self.path().join(rel)).unwrap()
    }
}
