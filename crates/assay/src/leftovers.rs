//! What a run has left on the machine at any moment (containers not yet deleted, its work
//! folder, cgroup folders), so that a second Ctrl-C, which exits without cleaning up, can
//! print the exact commands that remove it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Default)]
struct Registry {
    /// Container id -> the `delete --force` command line that removes it.
    containers: BTreeMap<String, String>,
    /// Folders to remove, in order (mounts below them are unmounted first).
    dirs: Vec<PathBuf>,
    /// Name prefixes of cgroup folders the runtimes or assay made.
    cgroup_prefixes: Vec<String>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

fn with<T>(f: impl FnOnce(&mut Registry) -> T) -> T {
    let mut g = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    f(g.get_or_insert_with(Registry::default))
}

/// A container exists until [`container_gone`]; `delete` is the argv that removes it.
pub fn container(id: &str, delete: &[String]) {
    let line = shell_words::join(delete);
    with(|r| r.containers.insert(id.to_string(), line));
}

pub fn container_gone(id: &str) {
    with(|r| r.containers.remove(id));
}

pub fn dir(path: &Path) {
    with(|r| {
        if !r.dirs.iter().any(|d| d == path) {
            r.dirs.push(path.to_path_buf());
        }
    });
}

pub fn dir_gone(path: &Path) {
    with(|r| r.dirs.retain(|d| d != path));
}

/// Cgroup folders named `PREFIX*` anywhere under /sys/fs/cgroup.
pub fn cgroups(prefix: &str) {
    with(|r| {
        if !r.cgroup_prefixes.iter().any(|p| p == prefix) {
            r.cgroup_prefixes.push(prefix.to_string());
        }
    });
}

/// The shell commands that remove what is left, one per line; empty when nothing is.
pub fn commands() -> Vec<String> {
    with(|r| {
        let mut out: Vec<String> = r.containers.values().cloned().collect();
        for d in &r.dirs {
            let q = shell_words::quote(&d.display().to_string()).into_owned();
            out.push(format!(
                "awk '$5 ~ \"^{}/\" {{print $5}}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l; rm -rf {q}",
                d.display()
            ));
        }
        for p in &r.cgroup_prefixes {
            out.push(format!(
                "find /sys/fs/cgroup -depth -type d -name '{p}*' -exec rmdir {{}} +"
            ));
        }
        out
    })
}

/// Removes the empty cgroup folders named `PREFIX*` below `root` (depth first, at most
/// `depth` levels down) and returns them. A runtime whose `delete` lost a race with its
/// container's exit can leave the container's cgroup folder behind (seen once with crun
/// behind the hide-unified wrapper); the folder is assay's container's, so assay removes it,
/// and says so. `rmdir` removes only a cgroup without processes or children.
pub fn sweep_cgroups(root: &Path, prefix: &str, depth: usize) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    sweep_in(root, prefix, depth, &mut removed);
    removed
}

fn sweep_in(dir: &Path, prefix: &str, depth: usize, removed: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        // Only real folders: a hierarchy's symlink (cpu -> cpu,cpuacct) is walked once.
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let path = entry.path();
        if entry.file_name().to_string_lossy().starts_with(prefix) {
            sweep_in(&path, "", 8, removed);
            if std::fs::remove_dir(&path).is_ok() {
                removed.push(path);
            }
        } else if depth > 0 {
            sweep_in(&path, prefix, depth - 1, removed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_name_what_is_left() {
        container(
            "assay-1-7",
            &[
                "/usr/sbin/runc".into(),
                "delete".into(),
                "--force".into(),
                "assay-1-7".into(),
            ],
        );
        dir(Path::new("/var/tmp/assay-1"));
        cgroups("assay-1-");
        let text = commands().join("\n");
        assert!(
            text.contains("/usr/sbin/runc delete --force assay-1-7"),
            "{text}"
        );
        assert!(text.contains("rm -rf /var/tmp/assay-1"), "{text}");
        assert!(text.contains("-name 'assay-1-*'"), "{text}");
        container_gone("assay-1-7");
        dir_gone(Path::new("/var/tmp/assay-1"));
        let text = commands().join("\n");
        assert!(
            !text.contains("assay-1-7") && !text.contains("rm -rf"),
            "{text}"
        );
    }

    #[test]
    fn sweep_removes_only_empty_folders_with_the_prefix() {
        let root = std::env::temp_dir().join(format!("assay-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let nested = root.join("memory/user/assay-9-1/child");
        std::fs::create_dir_all(&nested).unwrap();
        std::fs::create_dir_all(root.join("pids/assay-9-2")).unwrap();
        // In use: a cgroup with a process cannot be removed; a file stands in for that.
        std::fs::write(root.join("pids/assay-9-2/busy"), "").unwrap();
        std::fs::create_dir_all(root.join("cpu/assay-8-1")).unwrap();
        std::fs::create_dir_all(root.join("too/deep/for/the/walk/assay-9-3")).unwrap();
        let removed = sweep_cgroups(&root, "assay-9-", 3);
        // Depth first: the child before its parent.
        assert_eq!(
            removed,
            vec![
                root.join("memory/user/assay-9-1/child"),
                root.join("memory/user/assay-9-1")
            ]
        );
        assert!(root.join("pids/assay-9-2/busy").exists());
        assert!(root.join("cpu/assay-8-1").is_dir());
        assert!(root.join("too/deep/for/the/walk/assay-9-3").is_dir());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
