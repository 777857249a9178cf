//! Which cgroup hierarchies are mounted under the cgroupfs root, read from a mountinfo file.
//!
//! - V1: one cgroup (v1) mount per controller group (e.g. `cpu,cpuacct`), no cgroup2.
//! - Hybrid: v1 controllers plus a cgroup2 mount at `<root>/unified` (systemd's hybrid mode).
//! - V2: a cgroup2 mount at `<root>` itself.

use crate::error::{CgroupError, Result};
use crate::files;
use std::path::{Path, PathBuf};

/// The cgroup versions a host can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayoutKind {
    V1,
    Hybrid,
    V2,
}

/// One mounted v1 hierarchy: the controllers it carries and where it is mounted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    /// Controller names, e.g. `["cpu", "cpuacct"]`, or `["name=systemd"]` for a named hierarchy.
    pub controllers: Vec<String>,
    pub mount_point: PathBuf,
    /// The cgroup shown at the mount point (`/` unless bind-mounted or in a cgroup namespace).
    pub mount_root: PathBuf,
}

/// The cgroup layout of the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub kind: LayoutKind,
    /// The v1 hierarchies (empty on V2).
    pub v1: Vec<Hierarchy>,
    /// Where the cgroup2 hierarchy is mounted (`root` on V2, `root/unified` on Hybrid).
    pub unified: Option<PathBuf>,
    /// The cgroup shown at the cgroup2 mount point.
    pub unified_mount_root: PathBuf,
}

impl Layout {
    /// The v1 hierarchy that carries `controller`.
    pub fn v1_hierarchy(&self, controller: &str) -> Option<&Hierarchy> {
        self.v1
            .iter()
            .find(|h| h.controllers.iter().any(|c| c == controller))
    }
}

/// Detects the layout under `root` (normally `/sys/fs/cgroup`) from `mountinfo` (normally
/// `/proc/self/mountinfo`).
pub fn detect(root: &Path, mountinfo: &Path) -> Result<Layout> {
    let text = files::read_path(mountinfo)?;
    let mut layout = Layout {
        kind: LayoutKind::V1,
        v1: Vec::new(),
        unified: None,
        unified_mount_root: PathBuf::from("/"),
    };
    for line in text.lines() {
        let Some(mount) = parse_mountinfo_line(line) else {
            continue;
        };
        if !mount.mount_point.starts_with(root) {
            continue;
        }
        match mount.fs_type {
            "cgroup2" if mount.mount_point == root || layout.unified.is_none() => {
                layout.unified = Some(mount.mount_point.clone());
                layout.unified_mount_root = mount.mount_root;
            }
            "cgroup" => {
                let controllers: Vec<String> = mount
                    .super_options
                    .split(',')
                    .filter(|o| is_controller_option(o))
                    .map(str::to_string)
                    .collect();
                let known = controllers.iter().any(|c| layout.v1_hierarchy(c).is_some());
                if !controllers.is_empty() && !known {
                    layout.v1.push(Hierarchy {
                        controllers,
                        mount_point: mount.mount_point,
                        mount_root: mount.mount_root,
                    });
                }
            }
            _ => {}
        }
    }
    layout.kind = match (&layout.unified, layout.v1.is_empty()) {
        (Some(unified), _) if unified == root => LayoutKind::V2,
        (Some(_), false) => LayoutKind::Hybrid,
        (None, false) => LayoutKind::V1,
        (Some(_), true) => LayoutKind::V2,
        (None, true) => {
            return Err(CgroupError::NoCgroupfs {
                root: root.to_path_buf(),
                mountinfo: mountinfo.to_path_buf(),
            })
        }
    };
    if layout.kind == LayoutKind::V2 {
        layout.v1.clear();
    }
    Ok(layout)
}

fn is_controller_option(option: &str) -> bool {
    const NOT_CONTROLLERS: [&str; 8] = [
        "rw",
        "ro",
        "relatime",
        "noexec",
        "nosuid",
        "nodev",
        "clone_children",
        "xattr",
    ];
    !option.is_empty()
        && !NOT_CONTROLLERS.contains(&option)
        && !option.starts_with("release_agent=")
        && (option.starts_with("name=") || !option.contains('='))
        && option != "noprefix"
        && option != "cpuset_v2_mode"
        && option != "favordynmods"
}

struct Mount<'a> {
    mount_root: PathBuf,
    mount_point: PathBuf,
    fs_type: &'a str,
    super_options: &'a str,
}

/// `36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue`
/// (proc(5)): optional fields end at `-`.
fn parse_mountinfo_line(line: &str) -> Option<Mount<'_>> {
    let (left, right) = line.split_once(" - ")?;
    let mut left = left.split(' ');
    let mount_root = unescape(left.nth(3)?);
    let mount_point = unescape(left.next()?);
    let mut right = right.split(' ');
    let fs_type = right.next()?;
    let _source = right.next()?;
    let super_options = right.next().unwrap_or("");
    Some(Mount {
        mount_root: PathBuf::from(mount_root),
        mount_point: PathBuf::from(mount_point),
        fs_type,
        super_options,
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4].iter().all(u8::is_ascii_digit)
        {
            let octal = std::str::from_utf8(&bytes[i + 1..i + 4]).ok();
            if let Some(value) = octal.and_then(|o| u8::from_str_radix(o, 8).ok()) {
                out.push(value);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempTree;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime master:3 - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,release_agent=/x,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
50 23 0:40 / /mnt/other rw - cgroup cgroup rw,pids
";

    fn detect_text(text: &str) -> Result<Layout> {
        let tree = TempTree::new("layout");
        let mountinfo = tree.file("mountinfo", text);
        detect(Path::new("/sys/fs/cgroup"), &mountinfo)
    }

    #[test]
    fn hybrid_lists_v1_hierarchies_and_the_unified_mount() {
        let layout = detect_text(HYBRID).unwrap();
        assert_eq!(layout.kind, LayoutKind::Hybrid);
        assert_eq!(
            layout.unified.as_deref(),
            Some(Path::new("/sys/fs/cgroup/unified"))
        );
        let cpu = layout.v1_hierarchy("cpuacct").unwrap();
        assert_eq!(cpu.controllers, ["cpu", "cpuacct"]);
        assert_eq!(cpu.mount_point, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert!(layout.v1_hierarchy("name=systemd").is_some());
        // mounted outside the root: not ours
        assert!(layout.v1_hierarchy("pids").is_none());
        assert_eq!(layout.v1.len(), 4);
    }

    #[test]
    fn v1_without_cgroup2() {
        let text: String = HYBRID
            .lines()
            .filter(|l| !l.contains("cgroup2"))
            .map(|l| format!("{l}\n"))
            .collect();
        let layout = detect_text(&text).unwrap();
        assert_eq!(layout.kind, LayoutKind::V1);
        assert_eq!(layout.unified, None);
    }

    #[test]
    fn v2_at_the_root() {
        let layout = detect_text(
            "26 21 0:23 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
        )
        .unwrap();
        assert_eq!(layout.kind, LayoutKind::V2);
        assert!(layout.v1.is_empty());
        assert_eq!(layout.unified.as_deref(), Some(Path::new("/sys/fs/cgroup")));
    }

    #[test]
    fn nothing_mounted_is_an_error_naming_both_paths() {
        let err = detect_text("1 0 0:1 / / rw - ext4 /dev/vda rw\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("no cgroup filesystem mounted under `/sys/fs/cgroup`"),
            "{err}"
        );
        assert!(err.contains("mountinfo`)"), "{err}");
    }

    #[test]
    fn escaped_mount_points_are_decoded() {
        assert_eq!(unescape("/a\\040b"), "/a b");
        assert_eq!(unescape("/plain"), "/plain");
    }

    #[test]
    fn this_machine_is_detected() {
        let layout = detect(
            Path::new("/sys/fs/cgroup"),
            Path::new("/proc/self/mountinfo"),
        );
        match layout {
            Ok(layout) => assert!(layout.unified.is_some() || !layout.v1.is_empty()),
            Err(e) => println!("SKIP this_machine_is_detected: {e}"),
        }
    }
}
