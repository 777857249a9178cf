//! `create`: load and check the bundle, reserve the id, clone the container process
//! into its namespaces and wait until it is ready at the start gate. Either the
//! container exists afterwards, or nothing of it does.

use super::id::ContainerId;
use crate::error::{nix_err, Error, Result};
use crate::hooks;
use crate::namespaces;
use crate::process::spawn::{spawn, SpawnArgs};
use crate::spec;
use crate::state::{read_stat, State, Status};
use crate::statedir::{ContainerDir, StateRoot};
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Clone)]
pub struct CreateOptions {
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    /// `--pidfd-socket`: where to send a pidfd of the container's init.
    pub pidfd_socket: Option<PathBuf>,
    pub cgroups: crate::cgroups::CgroupOptions,
    /// With a terminal and no --console-socket: keep the pty master here (`run` relays it).
    pub relay_console: bool,
}

/// A created container whose process is a child of this process.
pub struct Created {
    pub pid: i32,
    pub state: State,
    /// Our end of the console socket when `relay_console` was asked for.
    pub console: Option<OwnedFd>,
}

pub fn create(root: &StateRoot, id: &str, opts: &CreateOptions) -> Result<Created> {
    create_inner(root, id, opts).map_err(|e| e.in_container(id, "create"))
}

fn create_inner(root: &StateRoot, id: &str, opts: &CreateOptions) -> Result<Created> {
    let cid = ContainerId::new(id)?;
    let bundle = std::fs::canonicalize(&opts.bundle)
        .map_err(|e| Error::io("open bundle", &opts.bundle, e))?;
    let mut spec = spec::load(&bundle)?;
    spec::validate(&spec, &bundle)?;
    let notify_socket = crate::process::sd_notify::requested();
    let rootfs_rel = spec
        .root()
        .as_ref()
        .map(|r| r.path().clone())
        .unwrap_or_default();
    let rootfs = std::fs::canonicalize(spec::rootfs_path(&bundle, &rootfs_rel))
        .map_err(|e| Error::io("open rootfs", &rootfs_rel, e))?;
    let ns = namespaces::plan(&spec)?;
    if let Some(sysctl) = spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) {
        crate::security::sysctl::validate(sysctl, &ns)?;
    }
    crate::security::process_attrs::validate_lsm(&spec)?;
    crate::userns::validate(
        &spec,
        ns.has_new(oci_spec::runtime::LinuxNamespaceType::User),
    )?;
    let mut relay_end = None;
    let console = match (
        &opts.console_socket,
        spec.process()
            .as_ref()
            .and_then(|p| p.terminal())
            .unwrap_or(false),
    ) {
        (Some(path), true) => Some(crate::tty::connect(path)?),
        (None, true) if opts.relay_console => {
            let (ours, theirs) = crate::tty::console_pair()?;
            relay_end = Some(ours);
            Some(theirs)
        }
        (None, true) => {
            return Err(Error::config(
                "process.terminal",
                "a terminal needs --console-socket to hand its pty to",
            ))
        }
        _ => None,
    };
    let seccomp = compile_seccomp(&spec)?;
    let shared_mounts_of = ns.shares_mounts().then_some(rootfs.as_path());
    let extras = super::extras::plan(&spec, &bundle, shared_mounts_of)?;
    let pidfd_socket = opts
        .pidfd_socket
        .as_deref()
        .map(crate::process::pidfd_socket::connect)
        .transpose()?;
    let planned = crate::cgroups::plan(&spec, id, opts.cgroups)?;
    let dir = reserve(root, &cid)?;
    let prepared = super::reservation::record(&dir, id, &bundle, &rootfs, &planned, &extras)
        .and_then(|()| match &notify_socket {
            Some(host) => crate::process::sd_notify::prepare(&mut spec, &dir.path, host),
            None => Ok(()),
        });
    if let Err(e) = prepared {
        let _ = dir.remove();
        return Err(e);
    }
    crate::fault::point("after-reserve");
    let cgroup = match crate::cgroups::make(planned, &spec) {
        Ok(m) => m,
        Err(e) => {
            let _ = dir.remove();
            return Err(e);
        }
    };
    crate::fault::point("after-cgroup");
    let made = build(
        &dir,
        id,
        &bundle,
        &rootfs,
        &spec,
        &ns,
        console,
        seccomp.as_ref(),
        &cgroup,
        &extras,
        pidfd_socket.as_ref(),
        opts,
    );
    let made = made.map(|c| Created {
        console: relay_end,
        ..c
    });
    if made.is_err() {
        super::extras::release_host_mounts(&rootfs, extras.host_mounts_before.as_deref());
        let _ = cgroup.destroy();
        let _ = dir.remove();
    }
    made
}

/// Reserves the id, first reclaiming it from a create that died holding it.
fn reserve(root: &StateRoot, id: &ContainerId) -> Result<ContainerDir> {
    match root.reserve(id) {
        Err(Error::Exists) if super::reservation::reclaim(root, id)? => root.reserve(id),
        r => r,
    }
}

#[allow(clippy::too_many_arguments)]
fn build(
    dir: &ContainerDir,
    id: &str,
    bundle: &Path,
    rootfs: &Path,
    spec: &oci_spec::runtime::Spec,
    ns: &namespaces::NamespacePlan,
    console: Option<OwnedFd>,
    seccomp: Option<&kapsel_seccomp::Filter>,
    cgroup: &kapsel_cgroups::Manager,
    extras: &super::extras::Extras,
    pidfd_socket: Option<&OwnedFd>,
    opts: &CreateOptions,
) -> Result<Created> {
    let fifo = dir.fifo_path();
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600))
        .map_err(nix_err("mkfifo", &fifo))?;
    let gate = nix::fcntl::open(&fifo, OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(nix_err("open", &fifo))?;
    let annotations = spec
        .annotations()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut state = State {
        id: id.to_string(),
        pid: 0,
        pid_start: 0,
        bundle: bundle.to_path_buf(),
        rootfs: rootfs.to_path_buf(),
        created: crate::time::now_rfc3339(),
        owner: String::new(),
        annotations,
        poststart: spec
            .hooks()
            .as_ref()
            .map(|h| hooks::stored(h.poststart()))
            .unwrap_or_default(),
        poststop: spec
            .hooks()
            .as_ref()
            .map(|h| hooks::stored(h.poststop()))
            .unwrap_or_default(),
        own_pid_ns: ns.has_new(oci_spec::runtime::LinuxNamespaceType::Pid),
        cgroup: Some(cgroup.paths().clone()),
        creator: None,
        net_devices: Vec::new(),
        resctrl: None,
        host_mounts_before: extras.host_mounts_before.clone(),
    };
    let hook_state = |pid: i32| {
        let mut s = state.clone();
        s.pid = pid;
        serde_json::to_string(&s.oci(Status::Creating)).unwrap_or_default()
    };
    let pid = spawn(SpawnArgs {
        id,
        spec,
        bundle,
        rootfs,
        ns,
        gate,
        console,
        no_pivot: opts.no_pivot,
        no_new_keyring: opts.no_new_keyring,
        preserve_fds: opts.preserve_fds,
        seccomp,
        cgroup,
        idmapped: &extras.idmapped,
        hook_state: &hook_state,
    })?;
    crate::fault::point("before-ready");
    state.pid = pid;
    state.pid_start = read_stat(pid).map(|(_, start)| start).unwrap_or(0);
    let saved = (|| {
        extras.attach(id, pid, &mut state)?;
        if let Some(socket) = pidfd_socket {
            crate::process::pidfd_socket::send(socket, pid)?;
        }
        if let Some(pid_file) = &opts.pid_file {
            write_pid_file(pid_file, pid)?;
        }
        dir.write_state(&state)
    })();
    if let Err(e) = saved {
        super::extras::release_devices(&state);
        super::extras::release_rdt(&state);
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None);
        if let Some(p) = &opts.pid_file {
            let _ = std::fs::remove_file(p);
        }
        return Err(e);
    }
    Ok(Created {
        pid,
        state,
        console: None,
    })
}

/// `linux.seccomp` compiled to BPF before anything exists, with a NOTIFY listener checked.
pub(crate) fn compile_seccomp(
    spec: &oci_spec::runtime::Spec,
) -> Result<Option<kapsel_seccomp::Filter>> {
    let Some(cfg) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(None);
    };
    let filter =
        kapsel_seccomp::compile(cfg).map_err(|e| Error::config("linux.seccomp", e.to_string()))?;
    if filter.uses_notify() {
        if let Some(path) = cfg.listener_path() {
            kapsel_seccomp::check_listener(path)
                .map_err(|e| Error::config("linux.seccomp.listenerPath", e.to_string()))?;
        }
    }
    Ok(Some(filter))
}

/// Writes the pid file atomically (temp + rename), as callers read it right away.
pub(crate) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.kapsel-tmp"));
    std::fs::write(&tmp, pid.to_string()).map_err(|e| Error::io("write pid file", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io("write pid file", path, e)
    })
}
