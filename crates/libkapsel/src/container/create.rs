//! `create`: load and check the bundle, reserve the id, clone the container process
//! into its namespaces and wait until it is ready at the start gate. Either the
//! container exists afterwards, or nothing of it does.

use super::plan::{ContainerPlan, PlanOptions};
use crate::error::{nix_err, Error, Result};
use crate::process::spawn::{spawn, SpawnArgs};
use crate::state::dir::{ContainerDir, StateRoot};
use crate::state::id::ContainerId;
use crate::state::{read_stat, OciState, State, Status, OCI_VERSION};
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
    pub cgroups: crate::linux::cgroups::CgroupOptions,
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
    // Everything that can fail on a bad config fails here, before the host changes.
    let mut plan = ContainerPlan::new(
        id,
        &PlanOptions {
            bundle: &opts.bundle,
            no_pivot: opts.no_pivot,
            no_new_keyring: opts.no_new_keyring,
            preserve_fds: opts.preserve_fds,
        },
    )?;
    let mut relay_end = None;
    let console = match (&opts.console_socket, plan.init.process.terminal) {
        (Some(path), true) => Some(crate::process::tty::connect(path)?),
        (None, true) if opts.relay_console => {
            let (ours, theirs) = crate::process::tty::console_pair()?;
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
    let pidfd_socket = opts
        .pidfd_socket
        .as_deref()
        .map(crate::process::pidfd_socket::connect)
        .transpose()?;
    let planned = crate::linux::cgroups::plan(&plan.spec, id, opts.cgroups)?;
    let dir = reserve(root, &plan.id)?;
    let prepared =
        super::reservation::record(&dir, id, &plan.bundle, &plan.rootfs, &planned, &plan.extras)
            .and_then(|()| match plan.notify_socket.clone() {
                Some(host) => crate::process::sd_notify::prepare(&mut plan.init, &dir.path, &host),
                None => Ok(()),
            });
    if let Err(e) = prepared {
        let _ = dir.remove();
        return Err(e);
    }
    crate::util::fault::point("after-reserve");
    let cgroup = match crate::linux::cgroups::make(planned, &plan.spec) {
        Ok(m) => m,
        Err(e) => {
            let _ = dir.remove();
            return Err(e);
        }
    };
    crate::util::fault::point("after-cgroup");
    let made = build(&dir, &plan, console, &cgroup, pidfd_socket.as_ref(), opts);
    let made = made.map(|c| Created {
        console: relay_end,
        ..c
    });
    if made.is_err() {
        super::extras::release_host_mounts(&plan.rootfs, plan.extras.host_mounts_before.as_deref());
        crate::rootfs::devices::remove_image_nodes(&plan.extras.image_nodes);
        let _ = cgroup.destroy();
        let _ = dir.remove();
        poststop_after_failure(&plan, id);
    }
    made
}

/// The runtime-spec: when create fails (a prestart, createRuntime or createContainer hook,
/// say), the container is destroyed and the lifecycle goes on with the poststop hooks,
/// each failure of which is a warning (runc runs them on any failed create too).
fn poststop_after_failure(plan: &ContainerPlan, id: &str) {
    let poststop = &plan.poststop_hooks;
    if poststop.is_empty() {
        return;
    }
    let annotations = plan
        .spec
        .annotations()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let created = crate::util::time::now_rfc3339();
    let state = OciState {
        oci_version: OCI_VERSION,
        id,
        pid: 0,
        status: Status::Stopped,
        bundle: &plan.bundle,
        rootfs: &plan.rootfs,
        created: &created,
        owner: "",
        annotations: &annotations,
    };
    let json = serde_json::to_string(&state).unwrap_or_default();
    crate::process::hooks::run_all_warning(
        "poststop",
        poststop,
        &json,
        &format!("container {id}: create"),
    );
}

/// Reserves the id, first reclaiming it from a create that died holding it.
pub(super) fn reserve(root: &StateRoot, id: &ContainerId) -> Result<ContainerDir> {
    match root.reserve(id) {
        Err(Error::Exists) if super::reservation::reclaim(root, id)? => root.reserve(id),
        r => r,
    }
}

fn build(
    dir: &ContainerDir,
    plan: &ContainerPlan,
    console: Option<OwnedFd>,
    cgroup: &kapsel_cgroups::Manager,
    pidfd_socket: Option<&OwnedFd>,
    opts: &CreateOptions,
) -> Result<Created> {
    let fifo = dir.fifo_path();
    nix::unistd::mkfifo(&fifo, Mode::from_bits_truncate(0o600))
        .map_err(nix_err("mkfifo", &fifo))?;
    let gate = nix::fcntl::open(&fifo, OFlag::O_RDWR | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(nix_err("open", &fifo))?;
    let annotations = plan
        .spec
        .annotations()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    let mut state = State {
        id: plan.id.to_string(),
        pid: 0,
        pid_start: 0,
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        created: crate::util::time::now_rfc3339(),
        owner: String::new(),
        annotations,
        poststart: plan.poststart_hooks.clone(),
        poststop: plan.poststop_hooks.clone(),
        own_pid_ns: plan
            .init
            .ns
            .has_new(oci_spec::runtime::LinuxNamespaceType::Pid),
        cgroup: Some(cgroup.paths().clone()),
        creator: None,
        net_devices: Vec::new(),
        resctrl: None,
        host_mounts_before: plan.extras.host_mounts_before.clone(),
        image_nodes: plan.extras.image_nodes.clone(),
    };
    let hook_state = |pid: i32| {
        let mut s = state.clone();
        s.pid = pid;
        serde_json::to_string(&s.oci(Status::Creating)).unwrap_or_default()
    };
    let pid = spawn(SpawnArgs {
        init: &plan.init,
        spec: &plan.spec,
        prestart_hooks: &plan.prestart_hooks,
        create_runtime_hooks: &plan.create_runtime_hooks,
        idmapped: &plan.extras.idmapped,
        gate,
        console,
        cgroup,
        hook_state: &hook_state,
    })?;
    crate::util::fault::point("before-ready");
    state.pid = pid;
    state.pid_start = read_stat(pid).map(|(_, start)| start).unwrap_or(0);
    let saved = (|| {
        plan.extras.attach(plan.id.as_str(), pid, &mut state)?;
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
