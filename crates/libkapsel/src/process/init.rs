//! The container process: everything it does between clone3 and execve, in the order
//! the runtime-spec requires. It only executes the [`InitPlan`] `create` made; it never
//! reads config.json. Any failure is sent to the parent as data and the process exits.

use super::channel::{Channel, Message};
use super::finish;
use crate::error::{nix_err, Error, Result};
use crate::process::hooks;
use crate::process::plan::InitPlan;
use crate::rootfs;
use crate::security;
use nix::sched::{unshare, CloneFlags};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{sethostname, setsid};
use oci_spec::runtime::LinuxNamespaceType;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

pub struct InitContext<'a> {
    pub plan: &'a InitPlan,
    pub channel: Channel,
    /// The start gate (exec fifo, opened read-write so the open never blocks).
    pub gate: OwnedFd,
    pub console: Option<OwnedFd>,
    /// Idmapped bind mounts the runtime prepared, to attach in place of a bind.
    pub idmapped: &'a rootfs::idmap::Idmapped,
    /// What we need to join the container's cgroups ourselves; `None` when the parent
    /// moves us.
    pub cgroup_join: Option<kapsel_cgroups::SelfJoin>,
    /// The parent still has to write id maps or move us into our cgroup.
    pub wait_for_parent: bool,
    /// The parent is not root of the initial user namespace (it writes our maps through
    /// /proc/PID, which a non-dumpable process would refuse it).
    pub unprivileged_parent: bool,
}

/// What is left to do after the start gate opens.
struct Prepared {
    image: finish::ExecImage,
    start_hooks_state: Option<String>,
}

pub fn run(mut ctx: InitContext<'_>) -> ! {
    crate::util::fault::child_panic_point();
    let prepared = match setup(&mut ctx) {
        Ok(p) => p,
        Err(e) => super::launch::fail(&ctx.channel, &e, 1),
    };
    send_warnings(&ctx.channel);
    if ctx.channel.send(&Message::Ready).is_err() {
        std::process::exit(1);
    }
    drop(ctx.channel);
    // Block at the start gate until `start` writes a byte.
    if kapsel_sys::process::read_byte(ctx.gate.as_fd()).is_err() {
        std::process::exit(1);
    }
    // The gate stays open (close-on-exec) until execve: `start` waits for it to close, so
    // it returns once the program runs (its poststart hooks come after it), and reads here
    // why the program did not run.
    let id = &ctx.plan.id;
    if let Some(state) = &prepared.start_hooks_state {
        if let Err(e) = hooks::run_all("startContainer", &ctx.plan.start_container_hooks, state) {
            fail_at_start(id, &ctx.gate, &e, 1);
        }
    }
    if prepared.image.wasm {
        run_wasm(ctx.plan, ctx.gate, &prepared.image)
    }
    let err = prepared.image.exec();
    fail_at_start(id, &ctx.gate, &err, 127)
}

/// The wasm handler in place of execve: the module is read and validated while `start`
/// can still be told why it will not run; then what execve would do — descriptors
/// close-on-exec closed, the late seccomp filter loaded, the gate closed — and the
/// module runs in this process, whose exit status it decides.
fn run_wasm(plan: &InitPlan, gate: OwnedFd, image: &finish::ExecImage) -> ! {
    let path = image.path.to_string_lossy().into_owned();
    let loaded = match crate::wasm::load(&path) {
        Ok(l) => l,
        Err(e) => fail_at_start(&plan.id, &gate, &e, 127),
    };
    let first = 3 + plan.preserve_fds + finish::listen_fds();
    if let Err(e) = kapsel_sys::process::close_all_except(first, &[gate.as_raw_fd()]) {
        fail_at_start(&plan.id, &gate, &e.into(), 127);
    }
    if let Err(e) = image.load_late_seccomp() {
        fail_at_start(&plan.id, &gate, &e, 127);
    }
    drop(gate);
    crate::wasm::run(loaded, &image.argv, &image.envp, &plan.process.cwd)
}

/// Tells `start` through the gate why the program will not run (as a failure crosses the
/// sync socket: errno and text), and exits.
fn fail_at_start(id: &str, gate: &OwnedFd, err: &Error, code: i32) -> ! {
    let mut buf = Vec::new();
    if let Message::Failed(wire) = Message::failed(err) {
        super::channel::encode_failed(&mut buf, &wire);
    }
    if nix::unistd::write(gate, &buf).is_err() {
        eprintln!("container {id}: start: {err}");
    }
    std::process::exit(code);
}

fn wait_for_continue(channel: &Channel) -> Result<()> {
    match channel.recv()? {
        Some(Message::Continue(_)) => Ok(()),
        _ => Err(Error::Protocol(
            "the runtime went away while setting up the process".into(),
        )),
    }
}

fn send_warnings(channel: &Channel) {
    for w in crate::logging::take_warnings() {
        let _ = channel.send(&Message::Warning(w));
    }
}

fn setup(ctx: &mut InitContext<'_>) -> Result<Prepared> {
    let plan = ctx.plan;
    // Warnings the parent held when it cloned us are its own to print.
    let _ = crate::logging::take_warnings();
    // If `create` dies before we are ready, do not linger.
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(crate::error::nix_err("prctl(PR_SET_PDEATHSIG)", ""))?;
    super::affinity::apply(
        plan.process.affinity_initial.as_deref(),
        super::affinity::Stage::Initial,
    )?;
    // Into our cgroups before anything else, with the single thread we have.
    if let Some(join) = ctx.cgroup_join.take() {
        join.join().map_err(crate::linux::cgroups::map_err)?;
    }
    let shared_mounts = plan.root.shares_mounts;
    if shared_mounts {
        // The runtime may run in a private mount namespace of its own (exe_guard): the
        // container inherits the caller's, as the runtime-spec asks.
        crate::linux::mount_ns::enter_caller_mount_ns()?;
    }
    // An unprivileged parent still has to write our id maps through /proc/PID: then we
    // become non-dumpable once it has (decided before the clone: once the maps exist,
    // our own uid would look like root).
    let maps_by_user = plan.ns.has_new(LinuxNamespaceType::User) && ctx.unprivileged_parent;
    let mut keep = vec![ctx.channel.raw_fd(), ctx.gate.as_raw_fd()];
    keep.extend(ctx.console.as_ref().map(|c| c.as_raw_fd()));
    keep.extend(plan.ns.join.iter().map(|(_, _, fd)| fd.as_raw_fd()));
    keep.extend(ctx.idmapped.raw_fds());
    super::launch::seal(
        &keep,
        3 + plan.preserve_fds + finish::listen_fds(),
        maps_by_user,
    )?;
    if ctx.wait_for_parent {
        // Wait until the parent has written our uid/gid maps (or moved us into our
        // cgroups).
        wait_for_continue(&ctx.channel)?;
        if plan.ns.has_new(LinuxNamespaceType::User) {
            crate::linux::userns::become_root(plan.ns.root_mapped)?;
        }
    }
    if plan.ns.late_ipc {
        unshare(CloneFlags::CLONE_NEWIPC).map_err(nix_err("unshare(CLONE_NEWIPC)", ""))?;
    }
    if maps_by_user {
        nix::sys::prctl::set_dumpable(false)
            .map_err(crate::error::nix_err("prctl(PR_SET_DUMPABLE)", ""))?;
    }
    // The procfs every /proc write goes through, taken before a joined mount namespace
    // or any mount of the config can change what /proc is (see procfs.rs).
    let proc = crate::linux::procfs::ProcRoot::open()?;
    // The user namespace was joined by the intermediate process (see launch).
    super::launch::join_namespaces(
        plan.ns
            .join
            .iter()
            .map(|(t, path, fd)| (*t, fd, path.display().to_string())),
    )?;
    if plan.ns.has_new(LinuxNamespaceType::Network) {
        // A new network namespace has only `lo`, and it is down; runc and crun bring it
        // up (podman --network none and pods without a network rely on 127.0.0.1).
        kapsel_sys::netlink::RtNetlink::open()
            .and_then(|mut nl| nl.set_up(1))
            .map_err(|e| Error::Protocol(format!("bring up the loopback interface: {e}")))?;
    }
    if plan.ns.new_cgroup {
        // Rooted at the cgroups we are in now.
        unshare(CloneFlags::CLONE_NEWCGROUP).map_err(nix_err("unshare(CLONE_NEWCGROUP)", ""))?;
    }
    if plan.ns.new_time {
        enter_time_namespace(plan.time_offsets.as_deref(), &proc)?;
    }
    setsid().map_err(nix_err("setsid", ""))?;
    if !plan.no_new_keyring {
        // No keyring support in the kernel is fine (runc ignores ENOSYS as well).
        match kapsel_sys::process::join_session_keyring(&plan.id) {
            Err(e) if e.errno != libc::ENOSYS => return Err(e.into()),
            _ => {}
        }
    }

    // Root filesystem, built in our own mount namespace.
    umask(Mode::empty());
    let root = rootfs::prepare(&plan.rootfs, &plan.root)?;
    rootfs::mount_and_populate(&root, &plan.root, ctx.idmapped)?;
    let hook_state = hooks_round_trip(ctx)?;
    if let Some(state) = &hook_state {
        hooks::run_all("createContainer", &plan.create_container_hooks, state)?;
    }
    drop(root);
    rootfs::enter(&plan.rootfs, &plan.root)?;
    rootfs::reopen_dev_null()?;

    if let Some(h) = &plan.hostname {
        sethostname(h).map_err(nix_err("sethostname", ""))?;
    }
    if let Some(d) = &plan.domainname {
        kapsel_sys::process::set_domainname(d)?;
    }
    let console = match ctx.console.take() {
        Some(sock) if plan.process.terminal => Some(crate::process::tty::setup(
            sock,
            plan.process.console_size,
            true,
        )?),
        _ => None,
    };
    rootfs::resolve::ensure_in_root(
        std::fs::File::open("/")
            .map_err(|e| Error::io("open", "/", e))?
            .as_fd(),
        &plan.process.cwd,
        rootfs::resolve::Kind::Dir,
    )?;
    security::sysctl::apply(&plan.sysctl, &proc)?;
    rootfs::restrict(&plan.root)?;
    if let Some(policy) = &plan.mempolicy {
        crate::linux::mempolicy::apply(policy)?;
    }
    let mut image = finish::finish(
        &plan.process,
        console,
        plan.preserve_fds,
        plan.seccomp.as_ref(),
        proc,
    )?;
    if let Some(fd) = image.notify_fd.take() {
        ctx.channel.send(&Message::SeccompFd(fd))?;
    }
    Ok(Prepared {
        image,
        start_hooks_state: if plan.start_container_hooks.is_empty() {
            None
        } else {
            hook_state.map(|s| with_status(&s, "created"))
        },
    })
}

/// With hooks in the config, ask the parent to run prestart and createRuntime in the
/// runtime namespace; its reply carries the state JSON for the hooks run in here.
fn hooks_round_trip(ctx: &InitContext<'_>) -> Result<Option<String>> {
    if !ctx.plan.any_hooks && !crate::util::fault::armed_at("after-mounts") {
        return Ok(None);
    }
    ctx.channel.send(&Message::RuntimeHooks)?;
    match ctx.channel.recv()? {
        Some(Message::Continue(state)) => Ok(Some(state)),
        _ => Err(Error::Protocol(
            "the runtime went away while running hooks".into(),
        )),
    }
}

fn with_status(state: &str, status: &str) -> String {
    match crate::spec::json::from_str::<serde_json::Value>(state) {
        Ok(mut v) => {
            v["status"] = serde_json::Value::String(status.into());
            v.to_string()
        }
        Err(_) => state.to_string(),
    }
}

/// CLONE_NEWTIME affects only our children and, since Linux 5.11, this process at
/// execve; the offsets (planned as the text timens_offsets takes) must be written before
/// any process lives in it.
fn enter_time_namespace(
    offsets: Option<&str>,
    proc: &crate::linux::procfs::ProcRoot,
) -> Result<()> {
    unshare(CloneFlags::from_bits_retain(
        LinuxNamespaceType::Time as i32,
    ))
    .map_err(nix_err("unshare(CLONE_NEWTIME)", ""))?;
    let Some(text) = offsets else {
        return Ok(());
    };
    proc.write_own("timens_offsets", text)
        .map_err(|e| Error::io("write", "/proc/self/timens_offsets", e))
}
