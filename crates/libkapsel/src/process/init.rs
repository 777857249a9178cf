//! The container process: everything it does between clone3 and execve, in the order
//! the runtime-spec requires. It only executes what `create` planned; any failure is
//! sent to the parent as data and the process exits.

use super::channel::{Channel, Message};
use super::finish;
use crate::error::{nix_err, Error, Result};
use crate::hooks;
use crate::namespaces::NamespacePlan;
use crate::rootfs;
use crate::security;
use nix::sched::{setns, unshare, CloneFlags};
use nix::sys::stat::{umask, Mode};
use nix::unistd::{sethostname, setsid};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

pub struct InitContext<'a> {
    pub id: &'a str,
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub ns: &'a NamespacePlan,
    pub channel: Channel,
    /// The start gate (exec fifo, opened read-write so the open never blocks).
    pub gate: OwnedFd,
    pub console: Option<OwnedFd>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub seccomp: Option<&'a kapsel_seccomp::Filter>,
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
    crate::fault::child_panic_point();
    let prepared = setup(&mut ctx);
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => {
            send_warnings(&ctx.channel);
            let _ = ctx.channel.send(&Message::Failed(e.to_string()));
            std::process::exit(1);
        }
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
    drop(ctx.gate);
    let hooks = ctx
        .spec
        .hooks()
        .as_ref()
        .map(|h| hooks::stored(h.start_container()))
        .unwrap_or_default();
    if let Some(state) = &prepared.start_hooks_state {
        if let Err(e) = hooks::run_all("startContainer", &hooks, state) {
            eprintln!("container {}: start: {e}", ctx.id);
            std::process::exit(1);
        }
    }
    let err = prepared.image.exec();
    eprintln!("container {}: start: {err}", ctx.id);
    std::process::exit(127);
}

fn wait_for_continue(channel: &Channel) -> Result<()> {
    match channel.recv()? {
        Some(Message::Continue(_)) => Ok(()),
        _ => Err(Error::msg(
            "the runtime went away while setting up the process",
        )),
    }
}

fn send_warnings(channel: &Channel) {
    for w in crate::logging::take_warnings() {
        let _ = channel.send(&Message::Warning(w));
    }
}

fn setup(ctx: &mut InitContext<'_>) -> Result<Prepared> {
    // Warnings the parent held when it cloned us are its own to print.
    let _ = crate::logging::take_warnings();
    // If `create` dies before we are ready, do not linger.
    kapsel_sys::process::set_parent_death_signal(libc::SIGKILL)?;
    if let Some(p) = ctx.spec.process() {
        super::affinity::apply(p, super::affinity::Stage::Initial)?;
    }
    // Into our cgroups before anything else, with the single thread we have.
    if let Some(join) = ctx.cgroup_join.take() {
        join.join().map_err(crate::cgroups::map_err)?;
    }
    let shared_mounts = ctx.ns.shares_mounts();
    if shared_mounts {
        // The runtime may run in a private mount namespace of its own (exe_guard): the
        // container inherits the caller's, as the runtime-spec asks.
        crate::exe_guard::enter_caller_mount_ns()?;
    }
    // Until execve this process is a copy of kapsel: nothing of the host may be reachable
    // through it. Drop every descriptor it does not need (the caller's leaks, the state
    // dir) and make it non-dumpable, so other processes cannot open its /proc/PID/exe
    // (the runtime binary, CVE-2019-5736) or /proc/PID/fd. An unprivileged parent still
    // has to write our id maps, so then this waits until it has.
    let mut keep = vec![ctx.channel.raw_fd(), ctx.gate.as_raw_fd()];
    keep.extend(ctx.console.as_ref().map(|c| c.as_raw_fd()));
    keep.extend(ctx.ns.join.iter().map(|(_, _, fd)| fd.as_raw_fd()));
    keep.extend(ctx.idmapped.raw_fds());
    kapsel_sys::process::close_all_except(3 + ctx.preserve_fds + finish::listen_fds(), &keep)?;
    // Decided before the clone: once the maps exist, our own uid would look like root.
    let maps_by_user = ctx.ns.has_new(LinuxNamespaceType::User) && ctx.unprivileged_parent;
    if !maps_by_user {
        kapsel_sys::process::set_dumpable(false)?;
    }
    if ctx.wait_for_parent {
        // Wait until the parent has written our uid/gid maps (or moved us into our
        // cgroups).
        wait_for_continue(&ctx.channel)?;
        if ctx.ns.has_new(LinuxNamespaceType::User) {
            crate::userns::become_root(ctx.spec)?;
        }
    }
    if maps_by_user {
        kapsel_sys::process::set_dumpable(false)?;
    }
    // The procfs every /proc write goes through, taken before a joined mount namespace
    // or any mount of the config can change what /proc is (see procfs.rs).
    let proc = crate::procfs::ProcRoot::open()?;
    for (t, path, fd) in &ctx.ns.join {
        if *t == LinuxNamespaceType::User {
            // Joined by the intermediate process already (see spawn::intermediate).
            continue;
        }
        setns(fd.as_fd(), crate::namespaces::clone_flag(*t)).map_err(nix_err("setns", path))?;
    }
    if ctx.ns.has_new(LinuxNamespaceType::Network) {
        // A new network namespace has only `lo`, and it is down; runc and crun bring it
        // up (podman --network none and pods without a network rely on 127.0.0.1).
        kapsel_sys::netlink::RtNetlink::open()
            .and_then(|mut nl| nl.set_up(1))
            .map_err(|e| Error::msg(format!("bring up the loopback interface: {e}")))?;
    }
    if ctx.ns.new_cgroup {
        // Rooted at the cgroups we are in now.
        unshare(CloneFlags::CLONE_NEWCGROUP).map_err(nix_err("unshare(CLONE_NEWCGROUP)", ""))?;
    }
    if ctx.ns.new_time {
        enter_time_namespace(ctx.spec, &proc)?;
    }
    setsid().map_err(nix_err("setsid", ""))?;
    if !ctx.no_new_keyring {
        // No keyring support in the kernel is fine (runc ignores ENOSYS as well).
        match kapsel_sys::process::join_session_keyring(ctx.id) {
            Err(e) if e.errno != libc::ENOSYS => return Err(e.into()),
            _ => {}
        }
    }
    let process = ctx
        .spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "missing"))?;

    // Root filesystem, built in our own mount namespace.
    umask(Mode::empty());
    let propagation = rootfs::root_propagation(ctx.spec)?;
    let root = rootfs::prepare(ctx.rootfs, propagation, shared_mounts)?;
    rootfs::mount_and_populate(&root, ctx.bundle, ctx.spec, ctx.idmapped)?;
    let hook_state = hooks_round_trip(ctx)?;
    if let Some(state) = &hook_state {
        let list = ctx
            .spec
            .hooks()
            .as_ref()
            .map(|h| hooks::stored(h.create_container()))
            .unwrap_or_default();
        hooks::run_all("createContainer", &list, state)?;
    }
    drop(root);
    rootfs::enter(ctx.rootfs, ctx.no_pivot, propagation, shared_mounts)?;

    if let Some(h) = ctx.spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        sethostname(h).map_err(nix_err("sethostname", ""))?;
    }
    if let Some(d) = ctx.spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        kapsel_sys::process::set_domainname(d)?;
    }
    let console = match ctx.console.take() {
        Some(sock) if process.terminal().unwrap_or(false) => {
            let size = process
                .console_size()
                .as_ref()
                .map(|b| (b.height() as u16, b.width() as u16));
            Some(crate::tty::setup(sock, size, true)?)
        }
        _ => None,
    };
    let cwd = process.cwd();
    rootfs::resolve::ensure_in_root(
        std::fs::File::open("/")
            .map_err(|e| Error::io("open", "/", e))?
            .as_fd(),
        cwd,
        rootfs::resolve::Kind::Dir,
    )?;
    if let Some(sysctl) = ctx.spec.linux().as_ref().and_then(|l| l.sysctl().as_ref()) {
        security::sysctl::apply(sysctl, &proc)?;
    }
    rootfs::restrict(ctx.spec)?;
    // Socket activation: the descriptors are passed on (see finish), and so is the
    // count, with the container's init as their owner (as runc does).
    let activated;
    let process = match finish::listen_fds() {
        0 => process,
        n => {
            let mut p = process.clone();
            let mut env = p.env().clone().unwrap_or_default();
            env.retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
            env.push(format!("LISTEN_FDS={n}"));
            env.push("LISTEN_PID=1".to_string());
            p.set_env(Some(env));
            activated = p;
            &activated
        }
    };
    if let Some(policy) = crate::mempolicy::from_spec(ctx.spec)? {
        crate::mempolicy::apply(&policy)?;
    }
    let mut image = finish::finish(
        process,
        ctx.spec,
        console,
        ctx.preserve_fds,
        ctx.seccomp,
        proc,
    )?;
    if let Some(fd) = image.notify_fd.take() {
        ctx.channel.send(&Message::SeccompFd(fd))?;
    }
    let start_hooks = ctx
        .spec
        .hooks()
        .as_ref()
        .is_some_and(|h| h.start_container().as_ref().is_some_and(|v| !v.is_empty()));
    Ok(Prepared {
        image,
        start_hooks_state: if start_hooks {
            hook_state.map(|s| with_status(&s, "created"))
        } else {
            None
        },
    })
}

/// With hooks in the config, ask the parent to run prestart and createRuntime in the
/// runtime namespace; its reply carries the state JSON for the hooks run in here.
fn hooks_round_trip(ctx: &InitContext<'_>) -> Result<Option<String>> {
    let any = ctx.spec.hooks().as_ref().is_some_and(|h| {
        #[allow(deprecated)]
        let prestart = h.prestart();
        [
            prestart,
            h.create_runtime(),
            h.create_container(),
            h.start_container(),
        ]
        .iter()
        .any(|l| l.as_ref().is_some_and(|v| !v.is_empty()))
    });
    if !any && !crate::fault::armed_at("after-mounts") {
        return Ok(None);
    }
    ctx.channel.send(&Message::RuntimeHooks)?;
    match ctx.channel.recv()? {
        Some(Message::Continue(state)) => Ok(Some(state)),
        _ => Err(Error::msg("the runtime went away while running hooks")),
    }
}

fn with_status(state: &str, status: &str) -> String {
    match crate::json::from_str::<serde_json::Value>(state) {
        Ok(mut v) => {
            v["status"] = serde_json::Value::String(status.into());
            v.to_string()
        }
        Err(_) => state.to_string(),
    }
}

fn enter_time_namespace(spec: &Spec, proc: &crate::procfs::ProcRoot) -> Result<()> {
    // CLONE_NEWTIME affects only our children and, since Linux 5.11, this process at
    // execve; the offsets must be written before any process lives in it.
    unshare(CloneFlags::from_bits_retain(
        LinuxNamespaceType::Time as i32,
    ))
    .map_err(nix_err("unshare(CLONE_NEWTIME)", ""))?;
    let Some(offsets) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().as_ref())
    else {
        return Ok(());
    };
    let mut text = String::new();
    for (clock, off) in offsets {
        let id = match clock.as_str() {
            "monotonic" => libc::CLOCK_MONOTONIC,
            "boottime" => libc::CLOCK_BOOTTIME,
            other => {
                return Err(Error::config(
                    "linux.timeOffsets",
                    format!("unknown clock `{other}`"),
                ))
            }
        };
        text.push_str(&format!(
            "{id} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    proc.write_own("timens_offsets", &text)
        .map_err(|e| Error::io("write", "/proc/self/timens_offsets", e))
}
