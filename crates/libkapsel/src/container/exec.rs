//! `exec`: run another process in a running container. It joins every namespace of
//! the container (user first, mount last; the pid namespace by the parent around the
//! clone), takes the container's process settings unless overridden, and either
//! returns once it runs (--detach) or waits for it and exits with its status.

use crate::error::{nix_err, Error, Result};
use crate::process::channel::{self, Message};
use crate::process::plan::ProcessPlan;
use crate::process::{finish, launch};
use crate::state::dir::StateRoot;
use crate::state::Status;
use kapsel_cgroups::SelfJoin;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{Capability, LinuxNamespaceType, Process, Spec};
use std::collections::HashSet;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

#[derive(Debug, Default, Clone)]
pub struct ExecOptions {
    pub process: Option<PathBuf>,
    pub args: Vec<String>,
    pub tty: bool,
    pub console_socket: Option<PathBuf>,
    pub detach: bool,
    pub pid_file: Option<PathBuf>,
    pub env: Vec<String>,
    pub cwd: Option<PathBuf>,
    pub user: Option<String>,
    pub additional_gids: Vec<u32>,
    pub caps: Vec<String>,
    pub no_new_privs: bool,
    pub apparmor: Option<String>,
    pub process_label: Option<String>,
    pub preserve_fds: u32,
    pub ignore_paused: bool,
    /// `--pidfd-socket`: where to send a pidfd of the new process.
    pub pidfd_socket: Option<PathBuf>,
    /// `--cgroup [controllers:]path`: existing sub-cgroups to run in.
    pub cgroups: Vec<String>,
}

/// Returns the exit code for the command (0 when detached).
pub fn exec(root: &StateRoot, id: &str, opts: &ExecOptions) -> Result<i32> {
    exec_inner(root, id, opts).map_err(|e| e.in_container(id, "exec"))
}

fn exec_inner(root: &StateRoot, id: &str, opts: &ExecOptions) -> Result<i32> {
    let cid = crate::state::id::ContainerId::new(id)?;
    let state = root.read_state(&cid)?;
    match state.status(&root.dir_of(&cid)) {
        Status::Running => {}
        Status::Paused if opts.ignore_paused => {}
        Status::Stopped => return Err(crate::error::StatusError::ExecStopped.into()),
        s => return Err(crate::error::StatusError::Exec(s.as_str()).into()),
    }
    let spec = crate::spec::load(&state.bundle)?;
    let process = build_process(&spec, opts)?;
    let plan = ProcessPlan::new(&process, &spec)?;
    let namespaces = open_namespaces(&spec, state.pid)?;
    let root = if namespaces
        .iter()
        .any(|(t, _)| *t == LinuxNamespaceType::Mount)
    {
        None
    } else {
        Some(open_root(state.pid)?)
    };
    let console = match (plan.terminal, &opts.console_socket) {
        (true, Some(path)) => Some(crate::process::tty::connect(path)?),
        (true, None) => {
            return Err(Error::Usage(
                "--tty needs --console-socket to hand its pty to".into(),
            ))
        }
        _ => None,
    };
    let mask = crate::process::wait::signal_mask();
    if !opts.detach {
        mask.thread_block().map_err(nix_err("sigprocmask", ""))?;
    }
    let seccomp = super::plan::compile_seccomp(&spec)?;
    let state_json = serde_json::to_string(&state.oci(Status::Running)).unwrap_or_default();
    let sub_cgroups = crate::linux::cgroups::parse_sub_cgroups(&opts.cgroups)?;
    let cgroup = crate::linux::cgroups::manager(&state.cgroup).filter(|m| m.skipped().is_none());
    if !sub_cgroups.is_empty() && cgroup.is_none() {
        return Err(Error::Usage("--cgroup: the container has no cgroup".into()));
    }
    // Rootless with the systemd driver from outside the user's cgroups, the user's systemd
    // moves the process into the scope (it cannot itself), before it does anything else.
    let via_systemd = sub_cgroups.is_empty()
        && cgroup
            .as_ref()
            .is_some_and(kapsel_cgroups::Manager::joins_via_systemd);
    let job = Job {
        spec: &spec,
        plan: &plan,
        namespaces,
        root,
        preserve_fds: opts.preserve_fds,
        seccomp: seccomp.as_ref(),
        cgroup_join: cgroup
            .as_ref()
            .filter(|_| !via_systemd)
            .map(|m| crate::linux::cgroups::self_join(m.paths(), &sub_cgroups))
            .transpose()?,
        attach: cgroup.as_ref().filter(|_| via_systemd),
        state_json: &state_json,
    };
    let pidfd_socket = opts
        .pidfd_socket
        .as_deref()
        .map(crate::process::pidfd_socket::connect)
        .transpose()?;
    let pid = spawn(job, console)?;
    if let Some(socket) = &pidfd_socket {
        if let Err(e) = crate::process::pidfd_socket::send(socket, pid) {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
            return Err(e);
        }
    }
    if let Some(p) = &opts.pid_file {
        super::create::write_pid_file(p, pid)?;
    }
    if opts.detach {
        return Ok(0);
    }
    crate::process::wait::wait_forwarding(pid, &mask)
}

/// The process to run: `--process FILE`, or the container's own process with the
/// arguments and flags of the command line on top (as runc does).
fn build_process(spec: &Spec, opts: &ExecOptions) -> Result<Process> {
    let mut p = if let Some(path) = &opts.process {
        let bytes = std::fs::read(path).map_err(|e| Error::io("open process file", path, e))?;
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        crate::spec::spec_scheduler_flags(&mut value);
        crate::spec::json::from_value(&value)
            .or_else(|_| serde_json::from_slice(&bytes))
            .map_err(|e| {
                Error::config(
                    format!(
                        "{}: {}",
                        path.display(),
                        crate::spec::json_path::of_error(&bytes, &e)
                    ),
                    e.to_string(),
                )
            })?
    } else {
        let mut p = spec
            .process()
            .clone()
            .ok_or_else(|| Error::config("process", "missing"))?;
        if opts.args.is_empty() {
            return Err(Error::Usage(
                "exec needs a command to run (or --process FILE)".into(),
            ));
        }
        p.set_args(Some(opts.args.clone()));
        p.set_terminal(Some(opts.tty));
        p
    };
    if opts.tty {
        p.set_terminal(Some(true));
    }
    if p.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::config(
            "process.args",
            "must name at least the executable",
        ));
    }
    if !opts.env.is_empty() {
        let mut env = p.env().clone().unwrap_or_default();
        for kv in &opts.env {
            let key = kv.split('=').next().unwrap_or("");
            env.retain(|e| e.split('=').next() != Some(key));
            env.push(kv.clone());
        }
        p.set_env(Some(env));
    }
    if let Some(cwd) = &opts.cwd {
        p.set_cwd(cwd.clone());
    }
    if let Some(u) = &opts.user {
        let mut user = p.user().clone();
        let (uid, gid) = u
            .split_once(':')
            .map_or((u.as_str(), None), |(a, b)| (a, Some(b)));
        user.set_uid(
            uid.parse()
                .map_err(|_| Error::Usage(format!("--user: `{u}` is not uid[:gid] (numbers)")))?,
        );
        if let Some(g) = gid {
            user.set_gid(
                g.parse().map_err(|_| {
                    Error::Usage(format!("--user: `{u}` is not uid[:gid] (numbers)"))
                })?,
            );
        }
        p.set_user(user);
    }
    if !opts.additional_gids.is_empty() {
        let mut user = p.user().clone();
        user.set_additional_gids(Some(opts.additional_gids.clone()));
        p.set_user(user);
    }
    if !opts.caps.is_empty() {
        let mut caps = p.capabilities().clone().unwrap_or_default();
        let mut add = HashSet::new();
        for c in &opts.caps {
            add.insert(
                parse_cap(c)
                    .ok_or_else(|| Error::Usage(format!("--cap: unknown capability `{c}`")))?,
            );
        }
        let grow = |set: &Option<HashSet<Capability>>| -> Option<HashSet<Capability>> {
            let mut s = set.clone().unwrap_or_default();
            s.extend(add.iter().cloned());
            Some(s)
        };
        caps.set_bounding(grow(caps.bounding()));
        caps.set_effective(grow(caps.effective()));
        caps.set_permitted(grow(caps.permitted()));
        caps.set_ambient(grow(caps.ambient()));
        p.set_capabilities(Some(caps));
    }
    if opts.no_new_privs {
        p.set_no_new_privileges(Some(true));
    }
    if let Some(a) = &opts.apparmor {
        p.set_apparmor_profile(Some(a.clone()));
    }
    if let Some(l) = &opts.process_label {
        p.set_selinux_label(Some(l.clone()));
    }
    if !p.cwd().is_absolute() {
        return Err(Error::config(
            "process.cwd",
            format!("`{}` is not an absolute path", p.cwd().display()),
        ));
    }
    Ok(p)
}

/// The container init's namespaces, in join order (user first, mount last).
fn open_namespaces(spec: &Spec, pid: i32) -> Result<Vec<(LinuxNamespaceType, OwnedFd)>> {
    let mut out = Vec::new();
    let listed = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    for (t, name) in [
        (LinuxNamespaceType::User, "user"),
        (LinuxNamespaceType::Ipc, "ipc"),
        (LinuxNamespaceType::Uts, "uts"),
        (LinuxNamespaceType::Network, "net"),
        (LinuxNamespaceType::Pid, "pid"),
        (LinuxNamespaceType::Cgroup, "cgroup"),
        (LinuxNamespaceType::Time, "time"),
        (LinuxNamespaceType::Mount, "mnt"),
    ] {
        if !listed.iter().any(|n| n.typ() == t) {
            continue;
        }
        let path = format!("/proc/{pid}/ns/{name}");
        let f = std::fs::File::open(&path).map_err(|e| Error::io("open", &path, e))?;
        out.push((t, OwnedFd::from(f)));
    }
    Ok(out)
}

/// The root directory of a container without a mount namespace of its own (its init
/// chrooted there in the host's mount namespace), for the exec'd process to chroot to.
fn open_root(pid: i32) -> Result<OwnedFd> {
    let path = format!("/proc/{pid}/root");
    nix::fcntl::open(
        path.as_str(),
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(nix_err("open", &path))
}

/// Everything the exec'd process is made from.
struct Job<'a> {
    spec: &'a Spec,
    plan: &'a ProcessPlan,
    namespaces: Vec<(LinuxNamespaceType, OwnedFd)>,
    /// The container's root, when it has no mount namespace to join.
    root: Option<OwnedFd>,
    preserve_fds: u32,
    seccomp: Option<&'a kapsel_seccomp::Filter>,
    /// What the process needs to join the container's cgroup (or the `--cgroup`
    /// sub-cgroups) itself.
    cgroup_join: Option<SelfJoin>,
    /// The container's cgroup when systemd must move the process there (the process waits
    /// for the word that it did).
    attach: Option<&'a kapsel_cgroups::Manager>,
    state_json: &'a str,
}

fn spawn(mut job: Job<'_>, console: Option<OwnedFd>) -> Result<i32> {
    let find = |t: LinuxNamespaceType| {
        job.namespaces
            .iter()
            .find(|(n, _)| *n == t)
            .map(|(_, fd)| fd)
    };
    let (userns, pidns) = (
        find(LinuxNamespaceType::User),
        find(LinuxNamespaceType::Pid),
    );
    // Without a user namespace the parent enters the pid namespace around the clone.
    // With one, the pid namespace can only be entered after the user namespace, which
    // the parent must not join: an intermediate joins both. So does a parent that could
    // not go back to its own pid namespace: one owned by an outer user namespace, as when
    // rootless podman runs us inside its own.
    let via_intermediate =
        userns.is_some() || (pidns.is_some() && !crate::linux::userns::in_initial_userns());
    const PIDNS: &str = "pid namespace of the container";
    let mut join = job.cgroup_join.take();
    let intermediate = via_intermediate.then(|| launch::Intermediate {
        userns: userns.map(|fd| (fd, "user namespace of the container")),
        pidns: pidns.map(|fd| (fd, PIDNS)),
        // Into the user namespace it joins the cgroups first; else the process does.
        cgroup: join.take_if(|_| userns.is_some()),
        affinity: job.plan.affinity_initial.as_deref(),
        new_namespaces: 0,
    });
    let launched = launch::launch(launch::Launch {
        new_namespaces: 0,
        cgroup: join,
        pidns: pidns.filter(|_| !via_intermediate).map(|fd| (fd, PIDNS)),
        intermediate,
    })?;
    let (pid, parent) = match launched {
        launch::Launched::Child { channel, cgroup } => {
            let err = child_main(&job, cgroup, console, &channel, via_intermediate);
            launch::fail(&channel, &err, 127)
        }
        launch::Launched::Parent { pid, channel } => (pid, channel),
    };
    drop(console);
    if let Some(cgroup) = job.attach {
        if let Err(e) = cgroup.attach_via_systemd(pid) {
            let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
            return Err(crate::linux::cgroups::map_err(e));
        }
        parent.send(&Message::Continue(String::new()))?;
    }
    // The channel is close-on-exec: EOF means the exec succeeded.
    loop {
        match parent.recv()? {
            Some(Message::Warning(w)) => crate::logging::warn(&w),
            Some(Message::SeccompFd(fd)) => {
                crate::process::seccomp_agent::hand_over(job.spec, &fd, pid, job.state_json)?;
            }
            Some(Message::Failed(w)) => {
                let _ = waitpid(Pid::from_raw(pid), None);
                return Err(w.into());
            }
            Some(_) => {}
            None => break,
        }
    }
    // EOF: the close-on-exec channel went away, the process runs (or, had it died
    // without a word, its status is collected by whoever waits for it).
    Ok(pid)
}

/// In the new process: join, set up, exec. `join`: the cgroups to join first (`None` when
/// an intermediate joined them). Returns only the error that stopped it.
fn child_main(
    job: &Job<'_>,
    join: Option<SelfJoin>,
    console: Option<OwnedFd>,
    chan: &channel::Channel,
    via_intermediate: bool,
) -> Error {
    let plan = job.plan;
    let run = || -> Result<finish::ExecImage> {
        nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
            .map_err(crate::error::nix_err("prctl(PR_SET_PDEATHSIG)", ""))?;
        let _ = crate::logging::take_warnings();
        if job.attach.is_some() {
            // Still the caller's uid, which the user's systemd checks, until it moved us.
            match chan.recv()? {
                Some(Message::Continue(_)) => {}
                _ => {
                    return Err(Error::Protocol(
                        "the runtime went away before systemd moved the process".into(),
                    ))
                }
            }
        }
        if !via_intermediate {
            crate::process::affinity::apply(
                plan.affinity_initial.as_deref(),
                crate::process::affinity::Stage::Initial,
            )?;
        }
        // With the single thread we have, through the descriptors the parent opened.
        join_cgroup(join)?;
        if job.root.is_some() {
            // In the host's mount namespace, as the container's init.
            crate::linux::mount_ns::enter_caller_mount_ns()?;
        }
        let mut keep = vec![chan.raw_fd()];
        keep.extend(console.as_ref().map(|c| c.as_raw_fd()));
        keep.extend(job.namespaces.iter().map(|(_, fd)| fd.as_raw_fd()));
        keep.extend(job.root.as_ref().map(|fd| fd.as_raw_fd()));
        launch::seal(&keep, 3 + job.preserve_fds, false)?;
        // Before the container's mount namespace is joined (see procfs.rs).
        let proc = crate::linux::procfs::ProcRoot::open()?;
        launch::join_namespaces(
            job.namespaces
                .iter()
                .map(|(t, fd)| (*t, fd, format!("{t} namespace of the container"))),
        )?;
        if let Some(root) = &job.root {
            nix::unistd::fchdir(root).map_err(nix_err("fchdir", "the container's root"))?;
            nix::unistd::chroot(".").map_err(nix_err("chroot", "the container's root"))?;
        }
        let slave = match console {
            Some(sock) => {
                nix::unistd::setsid().map_err(nix_err("setsid", ""))?;
                Some(crate::process::tty::setup(sock, plan.console_size, false)?)
            }
            None => None,
        };
        let mut image = finish::finish(plan, slave, job.preserve_fds, job.seccomp, proc)?;
        if let Some(fd) = image.notify_fd.take() {
            chan.send(&Message::SeccompFd(fd))?;
        }
        Ok(image)
    };
    match run() {
        Ok(image) => image.exec(),
        Err(e) => e,
    }
}

/// `CAP_SYS_ADMIN` or `SYS_ADMIN`, as config.json spells them.
fn parse_cap(name: &str) -> Option<Capability> {
    crate::spec::json::from_value(&serde_json::Value::String(name.to_string())).ok()
}

/// Moves the calling process, which has one thread, into the container's cgroup (or the
/// --cgroup sub-cgroups).
fn join_cgroup(join: Option<SelfJoin>) -> Result<()> {
    join.map_or(Ok(()), |j| j.join().map_err(crate::linux::cgroups::map_err))
}
