//! `restore`: a new container from CRIU images, as runc does it. The bundle is planned
//! like a create's (every config error before the host changes), the id reserved, the
//! cgroup made with its limits, then `criu swrk` is moved into that cgroup and restores
//! the process tree as kapsel's child (rst_sibling). Its notifications run the prestart
//! and createRuntime hooks (setup-namespaces), hand a terminal's pty master to
//! --console-socket (orphan-pts-master) and name the restored pid (post-restore).
//! Either the container runs afterwards, with its new pid in the state, or nothing of
//! it is left.

use super::create::write_pid_file;
use super::plan::{ContainerPlan, PlanOptions};
use crate::criu::{self, rpc, swrk, CriuOptions};
use crate::error::{nix_err, Error, Result};
use crate::rootfs::resolve::{ensure_in_root, Kind};
use crate::state::dir::{ContainerDir, StateRoot};
use crate::state::{read_stat, State, Status};
use nix::fcntl::OFlag;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::Mode;
use oci_spec::runtime::LinuxNamespaceType;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    pub criu: CriuOptions,
    pub bundle: PathBuf,
    pub console_socket: Option<PathBuf>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub no_subreaper: bool,
    pub no_pivot: bool,
    pub lsm_profile: Option<String>,
    pub lsm_mount_context: Option<String>,
    pub cgroups: crate::linux::cgroups::CgroupOptions,
}

/// Restores the container; without --detach waits for it like `run` and returns its
/// exit code (the container is deleted then), with --detach returns 0 once it runs.
pub fn restore(root: &StateRoot, id: &str, opts: &RestoreOptions) -> Result<i32> {
    let mask = crate::process::wait::signal_mask();
    if !opts.detach {
        mask.thread_block().map_err(nix_err("sigprocmask", ""))?;
        if !opts.no_subreaper {
            let _ = nix::sys::prctl::set_child_subreaper(true);
        }
    }
    let pid = restore_inner(root, id, opts).map_err(|e| e.in_container(id, "restore"))?;
    if opts.detach {
        return Ok(0);
    }
    let code = crate::process::wait::wait_forwarding(pid, &mask)
        .map_err(|e| e.in_container(id, "restore"))?;
    super::delete::delete(root, id, true)?;
    Ok(code)
}

fn restore_inner(root: &StateRoot, id: &str, opts: &RestoreOptions) -> Result<i32> {
    let plan = ContainerPlan::new(
        id,
        &PlanOptions {
            bundle: &opts.bundle,
            no_pivot: opts.no_pivot,
            no_new_keyring: false,
            preserve_fds: 0,
        },
    )?;
    if root.dir_of(&plan.id).exists() {
        return Err(Error::Exists);
    }
    if opts.criu.image_path.as_os_str().is_empty() {
        return Err(Error::Usage("--image-path: no directory given".into()));
    }
    // The images first: a missing directory or one that holds no checkpoint fails
    // before criu is asked anything.
    let dirs = opts.criu.dirs(false)?;
    let descriptors = read_descriptors(&opts.criu.image_path)?;
    let version = swrk::version(&opts.criu.binary)?;
    swrk::require(version, criu::MIN_VERSION)?;
    let console = match (&opts.console_socket, plan.init.process.terminal) {
        (Some(path), true) => Some(crate::process::tty::connect(path)?),
        (None, true) => {
            return Err(Error::config(
                "process.terminal",
                "a terminal needs --console-socket to hand its pty to",
            ))
        }
        _ => None,
    };
    let planned = crate::linux::cgroups::plan(&plan.spec, id, opts.cgroups)?;
    let dir = super::create::reserve(root, &plan.id)?;
    if let Err(e) =
        super::reservation::record(&dir, id, &plan.bundle, &plan.rootfs, &planned, &plan.extras)
    {
        let _ = dir.remove();
        return Err(e);
    }
    let cgroup = match crate::linux::cgroups::make(planned, &plan.spec) {
        Ok(m) => m,
        Err(e) => {
            let _ = dir.remove();
            return Err(e);
        }
    };
    let criu_root = dir.path.join("criu-root");
    let restored = with_root(&plan.rootfs, &criu_root, || {
        run_criu(
            &dir,
            &plan,
            &cgroup,
            &criu_root,
            &dirs,
            &descriptors,
            console.as_ref(),
            version,
            opts,
        )
    });
    match restored {
        Ok(pid) => Ok(pid),
        Err(e) => {
            let _ = cgroup.kill_all(nix::sys::signal::Signal::SIGKILL);
            let _ = cgroup.destroy();
            if let Some(p) = &opts.pid_file {
                let _ = std::fs::remove_file(p);
            }
            let _ = dir.remove();
            Err(e)
        }
    }
}

/// CRIU wants the root to be a mount point whose parent is not over-mounted: the rootfs
/// is bind-mounted on a directory in the state dir for the restore (as runc does).
fn with_root<T>(rootfs: &Path, at: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::fs::create_dir(at).map_err(|e| Error::io("mkdir", at, e))?;
    let mounted = mount(
        Some(rootfs),
        at,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| crate::error::MountError::failed(e, &rootfs.to_string_lossy(), at));
    let out = mounted.and_then(|()| f());
    let _ = umount2(at, MntFlags::MNT_DETACH);
    let _ = std::fs::remove_dir(at);
    out
}

fn read_descriptors(images: &Path) -> Result<Vec<String>> {
    let path = images.join(criu::DESCRIPTORS);
    let text =
        std::fs::read_to_string(&path).map_err(|e| Error::io("read checkpoint", &path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::CorruptState {
        path,
        reason: e.to_string(),
    })
}

#[allow(clippy::too_many_arguments)]
fn run_criu(
    dir: &ContainerDir,
    plan: &ContainerPlan,
    cgroup: &kapsel_cgroups::Manager,
    criu_root: &Path,
    dirs: &criu::Dirs,
    descriptors: &[String],
    console: Option<&OwnedFd>,
    version: u32,
    opts: &RestoreOptions,
) -> Result<i32> {
    let log = swrk::LogFile(Some(dirs.log_dir.join("restore.log")));
    let mut o = opts.criu.base(dirs, "restore.log")?;
    o.evasive_devices = true;
    o.rst_sibling = true;
    o.root = Some(criu_root.to_string_lossy().into_owned());
    o.lsm_profile = opts.lsm_profile.clone();
    o.lsm_mount_context = opts.lsm_mount_context.clone();
    let mut keep_open: Vec<OwnedFd> = Vec::new();
    namespaces(plan, version, &mut o, &mut keep_open)?;
    mountpoints(plan)?;
    for (dest, source) in criu::bind_mounts(&plan.spec) {
        let source = std::fs::canonicalize(&source).unwrap_or(source);
        o.ext_mnt
            .push((dest, source.to_string_lossy().into_owned()));
    }
    if !criu::masked_paths(&plan.spec).is_empty() {
        o.ext_mnt.push(("/dev/null".into(), "/dev/null".into()));
    }
    // The init's old stdio pipes are replaced by criu's own stdio (kapsel's, passed on).
    for (i, d) in descriptors.iter().enumerate() {
        if d.contains("pipe:") {
            o.inherit_fd.push((d.clone(), i as i32));
        }
    }
    let mut worker = swrk::Worker::start(&opts.criu.binary, true)?;
    // criu restores the tree inside the cgroup it runs in, with these roots.
    cgroup
        .add_pid(worker.pid())
        .map_err(crate::linux::cgroups::map_err)?;
    o.cg_root = cgroup_roots(worker.pid())?;
    let mut state = initial_state(plan, cgroup);
    let mut restored_pid = 0;
    let resp = worker.call(
        rpc::ReqType::Restore,
        &rpc::request(rpc::ReqType::Restore, Some(&o)),
        &log,
        &mut |n| {
            match n.script.as_str() {
                "setup-namespaces" => {
                    let mut s = state.clone();
                    s.pid = n.pid;
                    let json = serde_json::to_string(&s.oci(Status::Creating)).unwrap_or_default();
                    crate::process::hooks::run_all("prestart", &plan.prestart_hooks, &json)?;
                    crate::process::hooks::run_all(
                        "createRuntime",
                        &plan.create_runtime_hooks,
                        &json,
                    )?;
                }
                "post-restore" => restored_pid = n.pid,
                "orphan-pts-master" => {
                    let (Some(socket), Some(master)) = (console, n.fd.as_ref()) else {
                        return Err(Error::Protocol(
                            "criu sent a pty master, but there is no --console-socket".into(),
                        ));
                    };
                    crate::util::unixsock::send_fd(
                        socket.as_fd(),
                        master.as_fd(),
                        "/dev/ptmx",
                        "send pty master over the console socket",
                    )?;
                }
                _ => {}
            }
            Ok(())
        },
    )?;
    drop(keep_open);
    let pid = resp.restored_pid.filter(|p| *p > 0).unwrap_or(restored_pid);
    worker.finish(rpc::ReqType::Restore, &log, true)?;
    if pid <= 0 {
        return Err(Error::Protocol("criu restored no process".into()));
    }
    state.pid = pid;
    state.pid_start = read_stat(pid).map(|(_, s)| s).unwrap_or(0);
    if let Some(p) = &opts.pid_file {
        write_pid_file(p, pid)?;
    }
    dir.write_state(&state)?;
    Ok(pid)
}

fn initial_state(plan: &ContainerPlan, cgroup: &kapsel_cgroups::Manager) -> State {
    State {
        id: plan.id.to_string(),
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        created: crate::util::time::now_rfc3339(),
        annotations: plan
            .spec
            .annotations()
            .clone()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        poststart: plan.poststart_hooks.clone(),
        poststop: plan.poststop_hooks.clone(),
        own_pid_ns: plan.init.ns.has_new(LinuxNamespaceType::Pid),
        cgroup: Some(cgroup.paths().clone()),
        host_mounts_before: plan.extras.host_mounts_before.clone(),
        image_nodes: plan.extras.image_nodes.clone(),
        ..State::default()
    }
}

/// Namespaces the container joins: the network one is external (inherited by key, as
/// the checkpoint named it), the others joined by criu (join_ns), as runc does.
fn namespaces(
    plan: &ContainerPlan,
    version: u32,
    o: &mut rpc::Opts,
    keep_open: &mut Vec<OwnedFd>,
) -> Result<()> {
    let Some(list) = plan
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
    else {
        return Ok(());
    };
    for ns in list {
        let Some(path) = ns.path() else { continue };
        let name = match ns.typ() {
            LinuxNamespaceType::Network => {
                swrk::require(version, criu::EXT_NETNS_VERSION)?;
                // Inherited by criu at its own number: opened without close-on-exec.
                let fd = nix::fcntl::open(path, OFlag::O_RDONLY, Mode::empty())
                    .map_err(nix_err("open network namespace", path))?;
                o.inherit_fd
                    .push((criu::EXT_NETNS_KEY.into(), fd.as_raw_fd()));
                keep_open.push(fd);
                continue;
            }
            LinuxNamespaceType::Pid => "pid",
            LinuxNamespaceType::Mount => "mnt",
            LinuxNamespaceType::Ipc => "ipc",
            LinuxNamespaceType::Uts => "uts",
            LinuxNamespaceType::User => "user",
            LinuxNamespaceType::Time => "time",
            LinuxNamespaceType::Cgroup => {
                return Err(Error::config(
                    "linux.namespaces",
                    "criu cannot join an existing cgroup namespace",
                ))
            }
        };
        o.join_ns
            .push((name.into(), path.to_string_lossy().into_owned()));
    }
    Ok(())
}

/// The destinations of bind mounts made in the rootfs (as create makes them), except
/// below a tmpfs, whose content criu restores.
fn mountpoints(plan: &ContainerPlan) -> Result<()> {
    let tmpfs = criu::tmpfs_mounts(&plan.spec);
    let root = nix::fcntl::open(
        &plan.rootfs,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(nix_err("open", &plan.rootfs))?;
    for (dest, source) in criu::bind_mounts(&plan.spec) {
        if tmpfs.iter().any(|t| dest.starts_with(&format!("{t}/"))) {
            continue;
        }
        let kind = if std::fs::metadata(&source).is_ok_and(|m| !m.is_dir()) {
            Kind::File
        } else {
            Kind::Dir
        };
        ensure_in_root(root.as_fd(), Path::new(&dest), kind)?;
    }
    Ok(())
}

/// /proc/PID/cgroup as criu's cgroup_root list: (controller, path), "" for cgroup v2.
fn cgroup_roots(pid: i32) -> Result<Vec<(String, String)>> {
    let path = format!("/proc/{pid}/cgroup");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    let mut roots = Vec::new();
    for line in text.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, ctrls, dir) = (parts.next(), parts.next(), parts.next());
        let (Some(ctrls), Some(dir)) = (ctrls, dir) else {
            continue;
        };
        if ctrls.is_empty() {
            roots.push((String::new(), dir.to_string()));
        } else {
            for c in ctrls.split(',') {
                roots.push((c.to_string(), dir.to_string()));
            }
        }
    }
    Ok(roots)
}
