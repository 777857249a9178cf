//! Where a container's cgroup lives, following runc's rules for `linux.cgroupsPath`:
//! - absolute (`/a/b`): relative to the root of every hierarchy;
//! - relative (`a/b`): relative to the runtime's own cgroup in each hierarchy (/proc/self/cgroup);
//!   on a pure cgroup v2 host, relative to the PARENT of that cgroup (see `InnerPath::on_pure_v2`);
//! - absent: the container id, relative as above;
//! - with the systemd driver: `slice:prefix:name`, a transient scope that systemd creates
//!   (see `systemd`); its cgroup is absolute.

use crate::error::{CgroupError, Result};
use crate::files;
use std::path::{Component, Path, PathBuf};

/// The host paths every entry point reads, so tests can point them at a temporary tree.
#[derive(Clone, Debug)]
pub struct Host {
    /// The cgroupfs root, normally `/sys/fs/cgroup`.
    pub root: PathBuf,
    /// Normally `/proc/self/mountinfo`.
    pub mountinfo: PathBuf,
    /// The runtime's own cgroups, normally `/proc/self/cgroup`.
    pub self_cgroup: PathBuf,
    /// Exists when systemd is PID 1: `/run/systemd/system` (sd_booted(3)).
    pub systemd_marker: PathBuf,
}

impl Host {
    /// The paths of the running system.
    pub fn system() -> Self {
        Host {
            root: PathBuf::from("/sys/fs/cgroup"),
            mountinfo: PathBuf::from("/proc/self/mountinfo"),
            self_cgroup: PathBuf::from("/proc/self/cgroup"),
            systemd_marker: PathBuf::from("/run/systemd/system"),
        }
    }
}

/// The path inside every hierarchy, before it is joined to a mount point.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum InnerPath {
    Absolute(PathBuf),
    /// Relative to the runtime's own cgroup.
    Relative(PathBuf),
    /// Relative to the parent of the runtime's own cgroup (pure cgroup v2).
    RelativeToParent(PathBuf),
}

impl InnerPath {
    /// The rule of runc's cgroup v2 driver (libcontainer/cgroups/fs2, `_defaultDirPath`): a
    /// relative path, and so the default (the container id), hangs below the parent of the
    /// runtime's own cgroup. The own cgroup holds processes (the caller itself, e.g. a
    /// systemd service or a login session's scope), and cgroup v2's "no internal processes"
    /// rule keeps a cgroup with processes from handing domain controllers to children:
    /// moving the container into a child of it fails with EOPNOTSUPP (cgroup-v2.rst,
    /// "No Internal Process Constraint"). Its parent (system.slice, a user's slice) has no
    /// processes of its own. Hybrid and v1 hosts keep the own cgroup, as runc's v1 driver does.
    pub(crate) fn on_pure_v2(self) -> Self {
        match self {
            InnerPath::Relative(p) => InnerPath::RelativeToParent(p),
            other => other,
        }
    }
}

/// Resolves `cgroups_path` (or the default derived from `container_id`) to an inner path.
pub(crate) fn inner_path(
    host: &Host,
    cgroups_path: Option<&str>,
    container_id: &str,
    systemd: Option<crate::systemd::Instance>,
) -> Result<InnerPath> {
    if let Some(instance) = systemd {
        let unit = crate::systemd::unit_for(cgroups_path, container_id, instance)?;
        if !host.systemd_marker.exists() {
            return Err(CgroupError::CgroupsPath {
                path: cgroups_path.unwrap_or("").to_string(),
                reason: format!(
                    "systemd cgroup driver requested but systemd is not running (`{}` is missing)",
                    host.systemd_marker.display()
                ),
            });
        }
        return Ok(InnerPath::Absolute(unit.cgroup));
    }
    let raw = match cgroups_path {
        Some(p) if !p.is_empty() => p,
        _ => container_id,
    };
    if raw.contains('\0') {
        return Err(CgroupError::CgroupsPath {
            path: raw.to_string(),
            reason: "contains a NUL byte".to_string(),
        });
    }
    let cleaned = clean(raw);
    if cleaned.as_os_str().is_empty() {
        return Err(CgroupError::CgroupsPath {
            path: raw.to_string(),
            reason: "resolves to the root of the hierarchy".to_string(),
        });
    }
    Ok(if raw.starts_with('/') {
        InnerPath::Absolute(cleaned)
    } else {
        InnerPath::Relative(cleaned)
    })
}

/// Lexically cleans `path` as if it started at `/`, so `..` can never climb above the root.
/// The result has no leading slash.
pub(crate) fn clean(path: &str) -> PathBuf {
    let mut out = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// The runtime's own cgroups (`/proc/self/cgroup`), read once on first use.
pub(crate) struct OwnCgroups<'a> {
    path: &'a Path,
    text: std::cell::OnceCell<String>,
}

impl<'a> OwnCgroups<'a> {
    pub(crate) fn new(path: &'a Path) -> Self {
        OwnCgroups {
            path,
            text: std::cell::OnceCell::new(),
        }
    }

    /// The cgroup in the hierarchy whose line has `controllers` (`""` for the cgroup2
    /// line `0::/path`).
    fn find(&self, controllers: &[String]) -> Result<PathBuf> {
        if self.text.get().is_none() {
            let _ = self.text.set(files::read_path(self.path)?);
        }
        let text = self.text.get().map(String::as_str).unwrap_or_default();
        for line in text.lines() {
            let mut fields = line.splitn(3, ':');
            let (Some(_id), Some(list), Some(path)) = (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let matches = if controllers.is_empty() {
                list.is_empty()
            } else {
                list.split(',').any(|c| controllers.iter().any(|w| w == c))
            };
            if matches {
                return Ok(PathBuf::from(path));
            }
        }
        Err(CgroupError::Parse {
            path: self.path.to_path_buf(),
            content: format!("no line for `{}`", controllers.join(",")),
        })
    }
}

/// The directory of the container's cgroup in one hierarchy.
pub(crate) fn hierarchy_dir(
    own: &OwnCgroups<'_>,
    inner: &InnerPath,
    mount_point: &Path,
    mount_root: &Path,
    controllers: &[String],
) -> Result<PathBuf> {
    match inner {
        InnerPath::Absolute(p) => Ok(mount_point.join(p)),
        InnerPath::Relative(p) | InnerPath::RelativeToParent(p) => {
            let own = own.find(controllers)?;
            // The mount shows `mount_root`; our own cgroup is below it.
            let below = own.strip_prefix(mount_root).unwrap_or(&own);
            let mut below = clean(&below.to_string_lossy());
            if matches!(inner, InnerPath::RelativeToParent(_)) {
                // The root's parent is the root.
                below.pop();
            }
            Ok(mount_point.join(below).join(p))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempTree;

    fn host(tree: &TempTree) -> Host {
        let self_cgroup = tree.file(
            "self_cgroup",
            "4:memory:/process_api/abc\n1:cpu,cpuacct:/\n0::/user.slice\n",
        );
        Host {
            root: tree.path().join("cgroup"),
            mountinfo: tree.path().join("mountinfo"),
            self_cgroup,
            systemd_marker: tree.path().join("run-systemd-system"),
        }
    }

    #[test]
    fn absolute_relative_and_default_paths() {
        let tree = TempTree::new("path-rules");
        let h = host(&tree);
        assert_eq!(
            inner_path(&h, Some("/a/../b/c"), "id", None).unwrap(),
            InnerPath::Absolute("b/c".into())
        );
        assert_eq!(
            inner_path(&h, Some("x/y"), "id", None).unwrap(),
            InnerPath::Relative("x/y".into())
        );
        assert_eq!(
            inner_path(&h, None, "c1", None).unwrap(),
            InnerPath::Relative("c1".into())
        );
        assert_eq!(
            inner_path(&h, Some(""), "c1", None).unwrap(),
            InnerPath::Relative("c1".into())
        );
        // `..` cannot climb out of the hierarchy
        assert_eq!(
            inner_path(&h, Some("../../etc"), "id", None).unwrap(),
            InnerPath::Relative("etc".into())
        );
        let err = inner_path(&h, Some("/.."), "id", None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "linux.cgroupsPath `/..`: resolves to the root of the hierarchy"
        );
    }

    #[test]
    fn relative_paths_hang_below_the_runtimes_own_cgroup() {
        let tree = TempTree::new("path-relative");
        let h = host(&tree);
        let h = OwnCgroups::new(&h.self_cgroup);
        let inner = InnerPath::Relative("c1".into());
        let mem = hierarchy_dir(
            &h,
            &inner,
            Path::new("/cg/memory"),
            Path::new("/"),
            &["memory".into()],
        )
        .unwrap();
        assert_eq!(mem, Path::new("/cg/memory/process_api/abc/c1"));
        let cpu = hierarchy_dir(
            &h,
            &inner,
            Path::new("/cg/cpu"),
            Path::new("/"),
            &["cpuacct".into()],
        )
        .unwrap();
        assert_eq!(cpu, Path::new("/cg/cpu/c1"));
        let v2 = hierarchy_dir(&h, &inner, Path::new("/cg/unified"), Path::new("/"), &[]).unwrap();
        assert_eq!(v2, Path::new("/cg/unified/user.slice/c1"));
        // pure v2: below the parent of our own cgroup, as runc's fs2 driver
        let parent = InnerPath::Relative("c1".into()).on_pure_v2();
        let pure = hierarchy_dir(&h, &parent, Path::new("/cg"), Path::new("/"), &[]).unwrap();
        assert_eq!(pure, Path::new("/cg/c1"));
        let service = tree.file("service_cgroup", "0::/system.slice/kapsel.service\n");
        let service = OwnCgroups::new(&service);
        let nested = InnerPath::Relative("a/c1".into()).on_pure_v2();
        let dir = hierarchy_dir(&service, &nested, Path::new("/cg"), Path::new("/"), &[]).unwrap();
        assert_eq!(dir, Path::new("/cg/system.slice/a/c1"));
        let abs = InnerPath::Absolute("k/c1".into()).on_pure_v2();
        let dir = hierarchy_dir(&service, &abs, Path::new("/cg"), Path::new("/"), &[]).unwrap();
        assert_eq!(dir, Path::new("/cg/k/c1"));
        // a bind mount of a sub-tree: the mount root is stripped from our own path
        let bind = hierarchy_dir(
            &h,
            &inner,
            Path::new("/m"),
            Path::new("/process_api"),
            &["memory".into()],
        )
        .unwrap();
        assert_eq!(bind, Path::new("/m/abc/c1"));
        let abs = hierarchy_dir(
            &h,
            &InnerPath::Absolute("k/c1".into()),
            Path::new("/cg/memory"),
            Path::new("/"),
            &["memory".into()],
        )
        .unwrap();
        assert_eq!(abs, Path::new("/cg/memory/k/c1"));
    }

    #[test]
    #[cfg(feature = "systemd")]
    fn systemd_driver_without_systemd_is_a_clear_error() {
        let tree = TempTree::new("path-systemd");
        let h = host(&tree);
        let err = inner_path(
            &h,
            Some("system.slice:kapsel:c1"),
            "c1",
            Some(crate::systemd::Instance::System),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("systemd is not running"), "{err}");
        assert!(err.contains("run-systemd-system` is missing"), "{err}");
        let bad = inner_path(
            &h,
            Some("/not/systemd"),
            "c1",
            Some(crate::systemd::Instance::System),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            bad,
            "linux.cgroupsPath `/not/systemd`: expected the systemd form `slice:prefix:name`"
        );
        tree.file("run-systemd-system/x", "");
        let ok = inner_path(
            &h,
            Some("system.slice:kapsel:c1"),
            "c1",
            Some(crate::systemd::Instance::System),
        )
        .unwrap();
        assert_eq!(
            ok,
            InnerPath::Absolute(PathBuf::from("system.slice/kapsel-c1.scope"))
        );
    }
}
