//! Checkpoint and restore through CRIU's RPC (feature `criu`, left out of the device
//! build). [`swrk`] runs one conversation with `criu swrk`; [`rpc`] and [`wire`] are its
//! messages; this file holds what checkpoint and restore share: their options, the image
//! and work directories, and what of config.json CRIU must be told about (bind mounts
//! and masked paths as external mounts, a joined network namespace as an external one).

pub mod rpc;
pub mod swrk;
pub mod wire;

use crate::error::{nix_err, Error, Result};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The oldest CRIU kapsel drives: the VERSION request came with 3.0.
pub const MIN_VERSION: u32 = 30000;
/// An external network namespace (`--external net[ino]:key`): 3.11.
pub const EXT_NETNS_VERSION: u32 = 31100;
/// The cgroup v2 freezer (`freeze_cgroup` on a unified cgroup): 3.14.
pub const V2_FREEZER_VERSION: u32 = 31400;

/// The key runc and kapsel give an external network namespace in the images.
pub const EXT_NETNS_KEY: &str = "extRootNetNS";
/// The stdio descriptors of the container's init at dump time (runc's file name).
pub const DESCRIPTORS: &str = "descriptors.json";

/// The flags `checkpoint` and `restore` share (runc's names).
#[derive(Debug, Clone, Default)]
pub struct CriuOptions {
    /// The criu binary (`--criu`, default `criu` in PATH).
    pub binary: PathBuf,
    pub image_path: PathBuf,
    pub work_path: Option<PathBuf>,
    pub tcp_established: bool,
    pub ext_unix_sk: bool,
    pub shell_job: bool,
    pub file_locks: bool,
    pub manage_cgroups_mode: Option<String>,
    pub empty_ns: Vec<String>,
    pub auto_dedup: bool,
    pub lazy_pages: bool,
}

/// The image directory (opened, as CRIU reads it through /proc/<kapsel>/fd), the work
/// directory and where the log goes.
pub struct Dirs {
    pub images: OwnedFd,
    pub work: Option<OwnedFd>,
    pub log_dir: PathBuf,
}

fn open_dir(path: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(
        path,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(nix_err("open", path))
}

fn mkdir(path: &Path) -> Result<()> {
    match std::fs::create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io("mkdir", path, e)),
    }
}

impl CriuOptions {
    /// Opens the directories; a checkpoint makes them (0700, as runc), a restore needs
    /// the image directory to exist.
    pub fn dirs(&self, make_images: bool) -> Result<Dirs> {
        if make_images {
            mkdir(&self.image_path)?;
        }
        let images = open_dir(&self.image_path)?;
        let mut log_dir = self.image_path.clone();
        let work = match &self.work_path {
            Some(w) => {
                mkdir(w)?;
                log_dir = w.clone();
                Some(open_dir(w)?)
            }
            None => None,
        };
        Ok(Dirs {
            images,
            work,
            log_dir,
        })
    }

    /// criu_opts with what both directions set as runc does.
    pub fn base(&self, dirs: &Dirs, log_file: &str) -> Result<rpc::Opts> {
        let mode = match self.manage_cgroups_mode.as_deref() {
            None | Some("") => None,
            Some(m) => Some(rpc::cg_mode(m).ok_or_else(|| {
                Error::Usage(format!(
                    "--manage-cgroups-mode: unknown mode `{m}` (soft, full, strict or ignore)"
                ))
            })?),
        };
        Ok(rpc::Opts {
            images_dir_fd: dirs.images.as_raw_fd(),
            work_dir_fd: dirs.work.as_ref().map(|w| w.as_raw_fd()),
            log_level: 4,
            log_file: log_file.to_string(),
            manage_cgroups: true,
            manage_cgroups_mode: mode,
            notify_scripts: true,
            shell_job: self.shell_job,
            tcp_established: self.tcp_established,
            ext_unix_sk: self.ext_unix_sk,
            file_locks: self.file_locks,
            empty_ns: empty_ns_mask(&self.empty_ns)?,
            orphan_pts_master: true,
            auto_dedup: self.auto_dedup,
            lazy_pages: self.lazy_pages,
            ..rpc::Opts::default()
        })
    }
}

/// `--empty-ns` names (runtime-spec namespace types) as CLONE_* flags.
fn empty_ns_mask(names: &[String]) -> Result<u32> {
    let mut mask = 0u32;
    for n in names {
        mask |= match n.as_str() {
            "network" => libc::CLONE_NEWNET,
            "mount" => libc::CLONE_NEWNS,
            "pid" => libc::CLONE_NEWPID,
            "ipc" => libc::CLONE_NEWIPC,
            "uts" => libc::CLONE_NEWUTS,
            "user" => libc::CLONE_NEWUSER,
            "cgroup" => libc::CLONE_NEWCGROUP,
            other => {
                return Err(Error::Usage(format!(
                    "--empty-ns: unknown namespace `{other}`"
                )))
            }
        } as u32;
    }
    Ok(mask)
}

/// A mount's destination as CRIU keys it: absolute, inside the container, `..` and
/// `.` resolved lexically.
fn container_path(dest: &Path) -> String {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in dest.components() {
        match c {
            std::path::Component::Normal(p) => parts.push(p),
            std::path::Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    let mut out = String::new();
    for p in parts {
        out.push('/');
        out.push_str(&p.to_string_lossy());
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// The bind mounts of config.json: (destination in the container, host source).
pub fn bind_mounts(spec: &Spec) -> Vec<(String, PathBuf)> {
    spec.mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|m| {
            m.typ().as_deref() == Some("bind")
                || m.options()
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .any(|o| o == "bind" || o == "rbind")
        })
        .map(|m| {
            (
                container_path(m.destination()),
                m.source().clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// The destinations of the tmpfs mounts (CRIU restores their content; nothing below
/// them is made in the rootfs).
pub fn tmpfs_mounts(spec: &Spec) -> Vec<String> {
    spec.mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|m| m.typ().as_deref() == Some("tmpfs"))
        .map(|m| container_path(m.destination()))
        .collect()
}

pub fn masked_paths(spec: &Spec) -> Vec<String> {
    spec.linux()
        .as_ref()
        .and_then(|l| l.masked_paths().clone())
        .unwrap_or_default()
}

/// The path of a namespace of `kind` the container joins instead of making (config.json
/// `linux.namespaces[].path`).
pub fn joined_ns(spec: &Spec, kind: LinuxNamespaceType) -> Option<PathBuf> {
    spec.linux()
        .as_ref()?
        .namespaces()
        .as_ref()?
        .iter()
        .find(|n| n.typ() == kind)?
        .path()
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_paths_are_absolute_and_lexically_clean() {
        assert_eq!(container_path(Path::new("data")), "/data");
        assert_eq!(container_path(Path::new("/a/./b/../c/")), "/a/c");
        assert_eq!(container_path(Path::new("/../..")), "/");
    }

    #[test]
    fn empty_ns_names_are_runtime_spec_types() {
        assert_eq!(
            empty_ns_mask(&["network".into()]).unwrap(),
            libc::CLONE_NEWNET as u32
        );
        assert!(empty_ns_mask(&["net".into()]).is_err());
    }
}
