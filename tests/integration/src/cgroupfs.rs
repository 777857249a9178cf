//! A container's cgroups seen from the host, whatever runtime made them: the directories come
//! from /proc/<pid>/cgroup and this process's cgroup mounts, so tests can read limits and
//! counters from the kernel's files and check that `delete` removed every directory.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::runtime;

/// One cgroup hierarchy mounted on the host.
#[derive(Debug, Clone)]
struct Hierarchy {
    /// v1 controllers (and `name=...`) of the mount; empty for cgroup2.
    controllers: Vec<String>,
    mount_point: PathBuf,
    /// The cgroup the mount shows at its mount point (field 4 of mountinfo).
    root: PathBuf,
}

/// The cgroup directories of one process, per controller.
#[derive(Debug, Clone)]
pub struct CgroupDirs {
    /// The process they were read from.
    pub pid: i32,
    /// (v1 controller, directory); co-mounted controllers share a directory.
    v1: Vec<(String, PathBuf)>,
    /// The directory in the cgroup2 hierarchy, when one is mounted.
    unified: Option<PathBuf>,
    /// The cgroup2 hierarchy's mount point, when one is mounted.
    unified_mount: Option<PathBuf>,
}

impl CgroupDirs {
    /// The cgroups of `pid` (alive) in every hierarchy mounted in this mount namespace.
    #[track_caller]
    pub fn of(pid: i32) -> CgroupDirs {
        let path = format!("/proc/{pid}/cgroup");
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read `{path}`: {e}"));
        let hierarchies = mounted_hierarchies();
        let mut dirs = CgroupDirs {
            pid,
            v1: Vec::new(),
            unified: None,
            unified_mount: hierarchies
                .iter()
                .find(|h| h.controllers.is_empty())
                .map(|h| h.mount_point.clone()),
        };
        for line in text.lines() {
            let mut fields = line.splitn(3, ':');
            let (Some(_), Some(list), Some(inner)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let mut controllers: Vec<String> = list
                .split(',')
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect();
            controllers.sort();
            let Some(h) = hierarchies.iter().find(|h| h.controllers == controllers) else {
                continue;
            };
            let below = Path::new(inner)
                .strip_prefix(&h.root)
                .unwrap_or(Path::new(inner));
            let below = below.strip_prefix("/").unwrap_or(below);
            let dir = h.mount_point.join(below);
            if controllers.is_empty() {
                dirs.unified = Some(dir);
            } else {
                dirs.v1
                    .extend(controllers.into_iter().map(|c| (c, dir.clone())));
            }
        }
        dirs
    }

    /// The cgroups of this (test) process: a runtime's default cgroup for container `id` is
    /// `CgroupDirs::of_self().join(id)` (runc's rule: the id below the caller's own cgroup).
    #[track_caller]
    pub fn of_self() -> CgroupDirs {
        CgroupDirs::of(std::process::id() as i32)
    }

    /// Where a runtime puts a relative `cgroupsPath` and the default (the id): below the
    /// caller's own cgroup on v1 and hybrid hosts; on pure cgroup v2 below its parent (runc's
    /// fs2 rule: the caller's own cgroup holds processes, so it cannot have children with
    /// controllers).
    pub fn relative_base() -> CgroupDirs {
        let mut own = CgroupDirs::of_self();
        if own.pure_v2() {
            if let Some(dir) = own.unified.take() {
                let parent = match dir.parent() {
                    Some(p) if dir != Path::new("/sys/fs/cgroup") => p.to_path_buf(),
                    _ => dir,
                };
                own.unified = Some(parent);
            }
        }
        own
    }

    /// Where a container `id` made from a harness bundle without a `cgroupsPath` has its
    /// cgroups: [`CgroupDirs::relative_base`] joined with the id (the cgroupfs driver), or
    /// under the systemd driver (`KAPSEL_TEST_CGROUP_DRIVER=systemd`) the scope the harness
    /// names, `system.slice/kapsel-it-<id>.scope` from every hierarchy's root.
    pub fn default_for(id: &str) -> CgroupDirs {
        if runtime::systemd_cgroup() {
            CgroupDirs::at(Path::new(runtime::SYSTEMD_SLICE).join(runtime::systemd_unit(id)))
        } else {
            CgroupDirs::relative_base().join(id)
        }
    }

    /// The directories of cgroup `rel` (relative to each hierarchy's root) in every hierarchy
    /// mounted here; `pid` is this process.
    pub fn at(rel: impl AsRef<Path>) -> CgroupDirs {
        let rel = rel.as_ref();
        let rel = rel.strip_prefix("/").unwrap_or(rel);
        let mut dirs = CgroupDirs {
            pid: std::process::id() as i32,
            v1: Vec::new(),
            unified: None,
            unified_mount: None,
        };
        for h in mounted_hierarchies() {
            // A mount of a sub-tree (a cgroup namespace's view) shows `rel` only below it.
            let below = h.root.strip_prefix("/").unwrap_or(&h.root);
            let Ok(inner) = rel.strip_prefix(below) else {
                continue;
            };
            let dir = h.mount_point.join(inner);
            if h.controllers.is_empty() {
                dirs.unified = Some(dir);
                dirs.unified_mount = Some(h.mount_point.clone());
            } else {
                dirs.v1
                    .extend(h.controllers.iter().map(|c| (c.clone(), dir.clone())));
            }
        }
        dirs
    }

    /// Only the cgroup2 hierarchy (no v1 controller mounted).
    pub fn pure_v2(&self) -> bool {
        self.v1.is_empty() && self.unified.is_some()
    }

    /// The same hierarchies with `rel` appended to every directory.
    pub fn join(&self, rel: impl AsRef<Path>) -> CgroupDirs {
        let rel = rel.as_ref();
        CgroupDirs {
            pid: self.pid,
            v1: self
                .v1
                .iter()
                .map(|(c, d)| (c.clone(), d.join(rel)))
                .collect(),
            unified: self.unified.as_ref().map(|d| d.join(rel)),
            unified_mount: self.unified_mount.clone(),
        }
    }

    /// The v1 directory of `controller` (`memory`, `pids`, `name=systemd`...).
    pub fn v1(&self, controller: &str) -> Option<&Path> {
        self.v1
            .iter()
            .find(|(c, _)| c == controller)
            .map(|(_, d)| d.as_path())
    }

    /// The directory in the cgroup2 hierarchy.
    pub fn unified(&self) -> Option<&Path> {
        self.unified.as_deref()
    }

    /// Every distinct directory.
    pub fn all(&self) -> Vec<&Path> {
        let mut out: Vec<&Path> = Vec::new();
        for dir in self
            .v1
            .iter()
            .map(|(_, d)| d.as_path())
            .chain(self.unified())
        {
            if !out.contains(&dir) {
                out.push(dir);
            }
        }
        out
    }

    /// The cgroup2 hierarchy's mount point (its root cgroup).
    pub fn unified_mount(&self) -> Option<&Path> {
        self.unified_mount.as_deref()
    }

    /// Whether `controller`'s files are the cgroup2 ones here: it has no v1 hierarchy and a
    /// cgroup2 one is mounted (pure v2, where `memory.max` stands for v1's
    /// `memory.limit_in_bytes`, `cpu.max` for `cpu.cfs_quota_us` and so on).
    pub fn is_v2(&self, controller: &str) -> bool {
        self.v1(controller).is_none() && self.unified.is_some()
    }

    /// `v1` or `v2`: the name of one file in the hierarchy that holds `controller` here.
    pub fn name<'a>(&self, controller: &str, v1: &'a str, v2: &'a str) -> &'a str {
        if self.is_v2(controller) {
            v2
        } else {
            v1
        }
    }

    /// The directory of `controller`'s files: its v1 directory, else the cgroup2 one
    /// (see [`CgroupDirs::is_v2`]).
    pub fn dir(&self, controller: &str) -> Option<&Path> {
        self.v1(controller).or_else(|| self.unified())
    }

    /// The trimmed content of `file` in the directory of `controller` (its v1 directory, else
    /// the cgroup2 one); None when there is none or the file does not exist on this kernel.
    pub fn read(&self, controller: &str, file: &str) -> Option<String> {
        read_trimmed(&self.dir(controller)?.join(file))
    }

    /// Like [`CgroupDirs::read`], panicking with the path when the file cannot be read.
    #[track_caller]
    pub fn value(&self, controller: &str, file: &str) -> String {
        let dir = self
            .dir(controller)
            .unwrap_or_else(|| panic!("pid {}: no `{controller}` cgroup", self.pid));
        let path = dir.join(file);
        read_trimmed(&path).unwrap_or_else(|| panic!("cannot read `{}`", path.display()))
    }

    /// A `key value` line of a flat-keyed file (memory.stat, cpu.stat, pids.events...).
    pub fn key(&self, controller: &str, file: &str, key: &str) -> Option<u64> {
        keyed(&self.read(controller, file)?, key)
    }

    /// CPU time used by the cgroup so far: cpuacct.usage (v1), else cpu.stat usage_usec (v2).
    pub fn cpu_usage(&self) -> Option<Duration> {
        if let Some(ns) = self
            .v1("cpuacct")
            .and_then(|d| read_trimmed(&d.join("cpuacct.usage")))
            .and_then(|v| v.parse().ok())
        {
            return Some(Duration::from_nanos(ns));
        }
        let stat = read_trimmed(&self.unified()?.join("cpu.stat"))?;
        keyed(&stat, "usage_usec").map(Duration::from_micros)
    }

    /// The pids in the cgroup of `controller` (cgroup.procs; the cgroup2 one where the
    /// controller has no v1 hierarchy).
    pub fn procs(&self, controller: &str) -> Vec<i32> {
        let mut pids: Vec<i32> = self
            .read(controller, "cgroup.procs")
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .collect();
        pids.sort_unstable();
        pids
    }

    /// The directories that still exist.
    pub fn remaining(&self) -> Vec<PathBuf> {
        self.all()
            .into_iter()
            .filter(|d| d.is_dir())
            .map(Path::to_path_buf)
            .collect()
    }
}

/// The value of `key` in a `key value` per line text.
pub fn keyed(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(' ')?;
        (k == key).then(|| v.trim().parse().ok()).flatten()
    })
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// The cgroup and cgroup2 mounts of this process, first mount of each hierarchy.
fn mounted_hierarchies() -> Vec<Hierarchy> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let known = v1_controllers();
    let mut out: Vec<Hierarchy> = Vec::new();
    for line in text.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = left.split(' ').collect();
        let right: Vec<&str> = right.split(' ').collect();
        let (Some(root), Some(point), Some(fstype)) = (fields.get(3), fields.get(4), right.first())
        else {
            continue;
        };
        let controllers: Vec<String> = match *fstype {
            "cgroup2" => Vec::new(),
            "cgroup" => {
                let mut list: Vec<String> = right
                    .get(2)
                    .unwrap_or(&"")
                    .split(',')
                    .filter(|o| known.iter().any(|k| k == o) || o.starts_with("name="))
                    .map(str::to_string)
                    .collect();
                list.sort();
                list
            }
            _ => continue,
        };
        if out.iter().any(|h| h.controllers == controllers) {
            continue;
        }
        out.push(Hierarchy {
            controllers,
            mount_point: PathBuf::from(unescape(point)),
            root: PathBuf::from(unescape(root)),
        });
    }
    out
}

/// The controllers this kernel has, from /proc/cgroups.
fn v1_controllers() -> Vec<String> {
    std::fs::read_to_string("/proc/cgroups")
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split('\t').next())
        .map(str::to_string)
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}
