//! `checkpoint`: dump a running container's process tree with CRIU into an image
//! directory, as runc does. Afterwards the container is gone (runc destroys it) unless
//! --leave-running or --pre-dump kept it running. Load -> refresh -> guard -> act, then
//! the delete of a container whose processes CRIU ended.

use crate::criu::{self, rpc, swrk, CriuOptions};
use crate::error::{CriuError, Error, Result, StatusError};
use crate::state::dir::StateRoot;
use crate::state::id::ContainerId;
use crate::state::{State, Status};
use oci_spec::runtime::LinuxNamespaceType;
use std::path::PathBuf;

#[derive(Debug, Clone, Default)]
pub struct CheckpointOptions {
    pub criu: CriuOptions,
    /// `--parent-path`: the previous (pre-)dump, relative to the image directory.
    pub parent_path: Option<PathBuf>,
    pub leave_running: bool,
    /// `--status-fd`: written a byte once the lazy-pages server is ready.
    pub status_fd: Option<i32>,
    /// `--page-server ADDRESS:PORT`.
    pub page_server: Option<String>,
    pub pre_dump: bool,
}

/// What a checkpoint did, for the caller to report.
#[derive(Debug, Clone)]
pub struct Checkpointed {
    /// The log CRIU wrote.
    pub log: PathBuf,
    /// CRIU's version (major*10000 + minor*100 + sublevel).
    pub criu_version: u32,
}

pub fn checkpoint(root: &StateRoot, id: &str, opts: &CheckpointOptions) -> Result<Checkpointed> {
    let (done, destroy) =
        checkpoint_inner(root, id, opts).map_err(|e| e.in_container(id, "checkpoint"))?;
    if destroy {
        // CRIU ended the processes: the container is removed, as runc's checkpoint does.
        super::delete::delete(root, id, true)?;
    }
    Ok(done)
}

fn checkpoint_inner(
    root: &StateRoot,
    id: &str,
    opts: &CheckpointOptions,
) -> Result<(Checkpointed, bool)> {
    let dir = root.open(&ContainerId::new(id)?)?;
    let state = dir.read_state()?;
    if state.is_reservation() {
        return Err(Error::StillCreating);
    }
    let status = state.status(&dir.path);
    if !matches!(status, Status::Running | Status::Paused) {
        return Err(StatusError::Checkpoint(status.as_str()).into());
    }
    if opts.criu.image_path.as_os_str().is_empty() {
        return Err(Error::Usage("--image-path: no directory given".into()));
    }
    let version = swrk::version(&opts.criu.binary)?;
    swrk::require(version, criu::MIN_VERSION)?;
    let spec = crate::spec::load(&state.bundle)?;
    let dirs = opts.criu.dirs(true)?;
    let log_name = if opts.pre_dump {
        "pre-dump.log"
    } else {
        "dump.log"
    };
    let log = swrk::LogFile(Some(dirs.log_dir.join(log_name)));
    let mut o = opts.criu.base(&dirs, log_name)?;
    o.pid = Some(state.pid);
    o.root = Some(state.rootfs.to_string_lossy().into_owned());
    o.leave_running = opts.leave_running;
    if let Some(ns) = criu::joined_ns(&spec, LinuxNamespaceType::Network) {
        swrk::require(version, criu::EXT_NETNS_VERSION)?;
        let ino =
            std::fs::metadata(&ns).map_err(|e| Error::io("stat network namespace", &ns, e))?;
        o.external.push(format!(
            "net[{}]:{}",
            std::os::unix::fs::MetadataExt::ino(&ino),
            criu::EXT_NETNS_KEY
        ));
    }
    o.freeze_cgroup = freezer(&state, version);
    if let Some(ps) = &opts.page_server {
        let (address, port) = ps
            .rsplit_once(':')
            .and_then(|(a, p)| Some((a.to_string(), p.parse::<i32>().ok()?)))
            .ok_or_else(|| Error::Usage(format!("--page-server: `{ps}` is not ADDRESS:PORT")))?;
        o.page_server = Some((address, port));
    }
    if let Some(parent) = &opts.parent_path {
        o.parent_img = Some(parent.to_string_lossy().into_owned());
        o.track_mem = true;
    }
    let kind = if opts.pre_dump {
        if !swrk::features(&opts.criu.binary, true, false)?.0 {
            return Err(CriuError::Feature("track memory changes (--pre-dump)").into());
        }
        rpc::ReqType::PreDump
    } else {
        rpc::ReqType::Dump
    };
    let mut status_fd = None;
    if opts.criu.lazy_pages {
        if !swrk::features(&opts.criu.binary, false, true)?.1 {
            return Err(CriuError::Feature("serve lazy pages (--lazy-pages)").into());
        }
        if let Some(fd) = opts.status_fd {
            status_fd = Some(check_status_fd(fd)?);
            // criu before 3.15 writes the byte itself; newer ones send `status-ready`.
            if version < 31500 {
                o.status_fd = Some(fd);
            }
        }
    }
    if !opts.pre_dump {
        external_mounts(&spec, &state, &mut o)?;
        write_descriptors(&state, &opts.criu.image_path)?;
    }
    let mut worker = swrk::Worker::start(&opts.criu.binary, false)?;
    worker.call(kind, &rpc::request(kind, Some(&o)), &log, &mut |n| {
        if n.script == "status-ready" {
            if let Some(fd) = status_fd.take() {
                let _ = nix::unistd::write(fd, &[0u8]);
            }
        }
        Ok(())
    })?;
    worker.finish(kind, &log, !opts.pre_dump)?;
    drop(dir);
    Ok((
        Checkpointed {
            log: log.0.unwrap_or_default(),
            criu_version: version,
        },
        !opts.leave_running && !opts.pre_dump,
    ))
}

/// The cgroup CRIU freezes the container with instead of ptrace-stopping each task: the
/// v1 freezer, or the unified cgroup (criu 3.14 and newer).
fn freezer(state: &State, version: u32) -> Option<String> {
    let paths = state.cgroup.as_ref().filter(|p| p.skipped.is_none())?;
    if let Some(f) = paths.v1.get("freezer") {
        return Some(f.to_string_lossy().into_owned());
    }
    if version >= criu::V2_FREEZER_VERSION {
        return paths
            .unified
            .as_ref()
            .map(|u| u.to_string_lossy().into_owned());
    }
    None
}

/// --status-fd must be an open, writable descriptor of the caller.
fn check_status_fd(fd: i32) -> Result<std::os::fd::BorrowedFd<'static>> {
    let (borrowed, flags) = kapsel_sys::fs::caller_fd(fd).map_err(|e| {
        Error::Usage(format!(
            "--status-fd {fd}: {}",
            kapsel_sys::errno_text(e.errno)
        ))
    })?;
    if flags & (libc::O_WRONLY | libc::O_RDWR) == 0 {
        return Err(Error::Usage(format!(
            "--status-fd {fd}: not open for writing"
        )));
    }
    Ok(borrowed)
}

/// Bind mounts (their destination stands for itself: the source is named again at
/// restore) and masked files (the /dev/null bind over them), as runc tells CRIU.
fn external_mounts(spec: &oci_spec::runtime::Spec, state: &State, o: &mut rpc::Opts) -> Result<()> {
    for (dest, _) in criu::bind_mounts(spec) {
        o.ext_mnt.push((dest.clone(), dest));
    }
    for path in criu::masked_paths(spec) {
        let seen = format!("/proc/{}/root{}", state.pid, path);
        match std::fs::metadata(&seen) {
            Ok(m) if !m.is_dir() => o.ext_mnt.push((path, "/dev/null".into())),
            _ => {}
        }
    }
    Ok(())
}

/// The init's stdio as /proc/PID/fd shows it (`pipe:[123]`, `/dev/null`, ...), for the
/// restore to hand new pipes in place of the old ones (runc's descriptors.json).
fn write_descriptors(state: &State, images: &std::path::Path) -> Result<()> {
    let fds: Vec<String> = (0..3)
        .map(|i| {
            std::fs::read_link(format!("/proc/{}/fd/{i}", state.pid))
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    let path = images.join(criu::DESCRIPTORS);
    let json = serde_json::to_string(&fds).unwrap_or_default();
    std::fs::write(&path, json).map_err(|e| Error::io("write", &path, e))?;
    Ok(())
}
