//! A `cgroup` mount in config.json: on a cgroup v2 host one cgroup2 mount; on a v1 or
//! hybrid host a tmpfs holding one cgroup mount per hierarchy (as runc and crun lay it
//! out), read-only when asked. Inside a new cgroup namespace each hierarchy shows the
//! container's own cgroup as its root.

use super::options::MountOptions;
use super::resolve::{ensure_in_root, fd_path, open_in_root, Kind};
use crate::error::Result;
use nix::mount::{mount, MsFlags};
use std::os::fd::{BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// One mounted cgroup hierarchy of the host.
struct Hierarchy {
    /// Name of its directory under /sys/fs/cgroup (e.g. `cpu`, `unified`).
    name: String,
    /// `cgroup2`, or the v1 super options (e.g. `cpu`, `name=systemd`).
    v1_options: Option<String>,
}

/// `cgroupns`: the container has a cgroup namespace of its own (new or joined by path), whose
/// root a fresh mount shows.
pub fn mount_cgroup_tree(
    root: BorrowedFd<'_>,
    dest: &Path,
    opts: &MountOptions,
    cgroupns: bool,
) -> Result<()> {
    let hierarchies = host_hierarchies();
    let flags = opts.flags & !MsFlags::MS_RDONLY;
    let only_v2 = hierarchies.iter().all(|h| h.v1_options.is_none());
    if only_v2 {
        return mount_v2(root, dest, opts);
    }
    let target = ensure_in_root(root, dest, Kind::Dir)?;
    mount(
        Some("tmpfs"),
        &fd_path(&target),
        Some("tmpfs"),
        flags,
        Some("mode=755"),
    )
    .map_err(|e| crate::error::MountError::failed(e, "tmpfs", dest))?;
    let own = own_cgroups();
    for h in &hierarchies {
        let sub: PathBuf = dest.join(&h.name);
        let t = ensure_in_root(root, &sub, Kind::Dir)?;
        let host = Path::new("/sys/fs/cgroup").join(&h.name);
        // Without a cgroup namespace a fresh mount would show the host's root cgroup:
        // bind the container's own cgroup instead, so its limits read as the root's. In a
        // namespace of its own /proc/self/cgroup is relative to that namespace's root, which
        // a fresh mount shows (a joined one's root need not be the container's cgroup).
        if let Some(path) = own_path(&own, h).filter(|p| !cgroupns && *p != "/") {
            bind_host(
                root,
                &host.join(path.trim_start_matches('/')),
                &t,
                &sub,
                opts,
            )?;
            continue;
        }
        let (typ, data) = match &h.v1_options {
            Some(o) => ("cgroup", Some(o.as_str())),
            None => ("cgroup2", None),
        };
        // A fresh hierarchy is always nosuid,nodev,noexec (as runc mounts it); a bound one
        // gets the mount's own flags (below, as runc binds it).
        let fresh = opts.flags | (HIERARCHY_FLAGS - MsFlags::MS_RDONLY);
        match mount(Some("cgroup"), &fd_path(&t), Some(typ), fresh, data) {
            Ok(()) => {}
            // A user namespace may not mount v1 hierarchies: bind the host's instead.
            Err(nix::Error::EPERM) => bind_host(root, &host, &t, &sub, opts)?,
            Err(e) => return Err(crate::error::MountError::failed(e, typ, &sub)),
        }
    }
    if opts.flags.contains(MsFlags::MS_RDONLY) {
        let mounted = open_in_root(root, dest)?;
        mount(
            None::<&str>,
            &fd_path(&mounted),
            None::<&str>,
            MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | flags,
            Some("mode=755"),
        )
        .map_err(|e| crate::error::MountError::failed(e, "remount read-only", dest))?;
    }
    Ok(())
}

/// One cgroup2 mount at `dest` (its root is the cgroup namespace's root). Two refusals have a
/// way round, as runc has:
/// - EBUSY: `dest` is already the root of a cgroup2 mount, the one superblock there is (a
///   container without a network namespace, rootless podman's `--network=host`, binds the
///   host's /sys with its cgroup2 mount, and the kernel refuses the same superblock on the
///   same mountpoint). A tmpfs between the two makes the fresh mount possible, so the
///   container sees its own cgroup namespace's root as it would with a sysfs of its own
///   (runc binds the container's cgroup directory there instead: the same files).
/// - EPERM: a user namespace may mount cgroup2 only in a cgroup namespace it owns; without
///   one, the host's /sys/fs/cgroup is bound (runc does the same).
fn mount_v2(root: BorrowedFd<'_>, dest: &Path, opts: &MountOptions) -> Result<()> {
    let cgroup2 = |target: &OwnedFd| {
        mount(
            Some("cgroup2"),
            &fd_path(target),
            Some("cgroup2"),
            opts.flags,
            None::<&str>,
        )
    };
    let target = ensure_in_root(root, dest, Kind::Dir)?;
    let mut result = cgroup2(&target);
    if result == Err(nix::Error::EBUSY) {
        mount(
            Some("tmpfs"),
            &fd_path(&target),
            Some("tmpfs"),
            opts.flags,
            Some("mode=755"),
        )
        .map_err(|e| crate::error::MountError::failed(e, "tmpfs", dest))?;
        // The fd opened before names the directory below the tmpfs: reopen the mount.
        result = cgroup2(&open_in_root(root, dest)?);
    }
    match result {
        Ok(()) => Ok(()),
        Err(nix::Error::EPERM) => {
            let target = open_in_root(root, dest)?;
            bind_host(root, Path::new("/sys/fs/cgroup"), &target, dest, opts)
        }
        Err(e) => Err(crate::error::MountError::failed(e, "cgroup2", dest)),
    }
}

/// The flags of the `cgroup` mount that each hierarchy gets too, bound or mounted (as runc
/// and crun give them).
const HIERARCHY_FLAGS: MsFlags = MsFlags::MS_NOSUID
    .union(MsFlags::MS_NODEV)
    .union(MsFlags::MS_NOEXEC)
    .union(MsFlags::MS_RDONLY);

/// Binds a host cgroup directory on `target` with the mount's nosuid, nodev, noexec and
/// read-only.
fn bind_host(
    root: BorrowedFd<'_>,
    host: &Path,
    target: &OwnedFd,
    sub: &Path,
    opts: &MountOptions,
) -> Result<()> {
    let err = |e| crate::error::MountError::failed(e, &host.to_string_lossy(), sub);
    mount(
        Some(host),
        &fd_path(target),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(err)?;
    // A bind keeps the source's flags: the remount sets the hierarchy's. The fd opened
    // before the bind names the directory under it: reopen the mount.
    let mounted = open_in_root(root, sub)?;
    mount(
        None::<&str>,
        &fd_path(&mounted),
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | (opts.flags & HIERARCHY_FLAGS),
        None::<&str>,
    )
    .map_err(err)?;
    Ok(())
}

/// This process's cgroup in each hierarchy, from /proc/self/cgroup: (controllers, path),
/// the controllers empty for the v2 hierarchy.
fn own_cgroups() -> Vec<(String, String)> {
    let text =
        kapsel_sys::kernfile::read_to_string(Path::new("/proc/self/cgroup")).unwrap_or_default();
    parse_own_cgroups(&text)
}

fn parse_own_cgroups(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let _id = parts.next()?;
            Some((parts.next()?.to_string(), parts.next()?.to_string()))
        })
        .collect()
}

/// The path of `h` among `own`: a v1 line whose controllers all appear in the
/// hierarchy's mount options, or the v2 line.
fn own_path<'a>(own: &'a [(String, String)], h: &Hierarchy) -> Option<&'a str> {
    own.iter()
        .find(|(ctrls, _)| match &h.v1_options {
            None => ctrls.is_empty(),
            Some(o) => !ctrls.is_empty() && ctrls.split(',').all(|c| o.split(',').any(|x| x == c)),
        })
        .map(|(_, p)| p.as_str())
}

/// The cgroup hierarchies mounted under /sys/fs/cgroup, from /proc/self/mountinfo.
fn host_hierarchies() -> Vec<Hierarchy> {
    let text =
        kapsel_sys::kernfile::read_to_string(Path::new("/proc/self/mountinfo")).unwrap_or_default();
    parse_hierarchies(&text)
}

fn parse_hierarchies(mountinfo: &str) -> Vec<Hierarchy> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mount_point = left.split(' ').nth(4).unwrap_or("");
        let mut r = right.split(' ');
        let fstype = r.next().unwrap_or("");
        let super_opts = r.nth(1).unwrap_or("");
        let Some(name) = mount_point.strip_prefix("/sys/fs/cgroup/") else {
            if mount_point == "/sys/fs/cgroup" && fstype == "cgroup2" {
                out.push(Hierarchy {
                    name: String::new(),
                    v1_options: None,
                });
            }
            continue;
        };
        if name.contains('/') || out.iter().any(|h: &Hierarchy| h.name == name) {
            continue;
        }
        match fstype {
            "cgroup2" => out.push(Hierarchy {
                name: name.to_string(),
                v1_options: None,
            }),
            "cgroup" => {
                let controllers: Vec<&str> = super_opts
                    .split(',')
                    .filter(|o| !matches!(*o, "rw" | "ro") && !o.starts_with("release_agent"))
                    .collect();
                out.push(Hierarchy {
                    name: name.to_string(),
                    v1_options: Some(controllers.join(",")),
                });
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hybrid_layout() {
        let info = "\
30 25 0:26 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
32 30 0:28 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
33 30 0:29 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
        let h = parse_hierarchies(info);
        assert_eq!(h.len(), 3);
        assert_eq!(h[0].name, "cpu");
        assert_eq!(h[0].v1_options.as_deref(), Some("cpu"));
        assert_eq!(h[1].v1_options.as_deref(), Some("name=systemd"));
        assert_eq!(h[2].name, "unified");
        assert!(h[2].v1_options.is_none());
    }

    #[test]
    fn own_cgroup_per_hierarchy() {
        let own = parse_own_cgroups(
            "4:cpu,cpuacct:/libpod_parent/libpod-1\n1:name=systemd:/\n0::/libpod_parent/libpod-1\n",
        );
        let h = |name: &str, o: Option<&str>| Hierarchy {
            name: name.into(),
            v1_options: o.map(String::from),
        };
        let cpu = h("cpu,cpuacct", Some("cpu,cpuacct"));
        assert_eq!(own_path(&own, &cpu), Some("/libpod_parent/libpod-1"));
        let systemd = h("systemd", Some("xattr,name=systemd"));
        assert_eq!(own_path(&own, &systemd), Some("/"));
        assert_eq!(
            own_path(&own, &h("unified", None)),
            Some("/libpod_parent/libpod-1")
        );
        assert_eq!(own_path(&own, &h("pids", Some("pids"))), None);
    }

    #[test]
    fn pure_v2() {
        let h =
            parse_hierarchies("30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n");
        assert_eq!(h.len(), 1);
        assert!(h[0].v1_options.is_none());
    }
}
