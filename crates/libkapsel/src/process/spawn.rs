//! The parent side of process creation: clone3 into the new namespaces, then serve
//! the child's requests (runtime hooks) until it reports ready or failed.

use super::channel::{self, Message};
use super::init::{self, InitContext};
use crate::error::{nix_err, Error, Result};
use crate::hooks;
use crate::namespaces::NamespacePlan;
use kapsel_sys::process::{clone_fork, Forked};
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

pub struct SpawnArgs<'a> {
    pub id: &'a str,
    pub spec: &'a Spec,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub ns: &'a NamespacePlan,
    pub gate: OwnedFd,
    pub console: Option<OwnedFd>,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub seccomp: Option<&'a kapsel_seccomp::Filter>,
    pub cgroup: &'a kapsel_cgroups::Manager,
    pub idmapped: &'a crate::rootfs::idmap::Idmapped,
    /// State JSON (status "creating") for hooks, built once the pid is known.
    pub hook_state: &'a dyn Fn(i32) -> String,
}

/// Clones the container process and waits until it is ready at the start gate.
/// On failure the child has been killed and reaped.
pub fn spawn(a: SpawnArgs<'_>) -> Result<i32> {
    let (parent, child) = channel::pair()?;
    let joined_user =
        a.ns.join
            .iter()
            .find(|(t, _, _)| *t == LinuxNamespaceType::User);
    // New namespaces must belong to a joined user namespace, so they are created by a
    // short-lived intermediate that joined it first (CLONE_PARENT makes the container
    // our child all the same).
    // The child joins its cgroups itself, first thing (born in the unified one, then
    // moving its only thread into each v1 one), which avoids the kernel's global cgroup
    // lock that moving it from here would take. The container process of a joined user
    // namespace is cloned by an intermediate: the parent moves that one.
    let mut self_join = if joined_user.is_none() {
        Some(a.cgroup.self_join().map_err(crate::cgroups::map_err)?)
    } else {
        None
    };
    let flags = if joined_user.is_some() {
        0
    } else {
        a.ns.clone_flags
    };
    let joins_itself = self_join.is_some();
    let wait_for_parent = needs_parent(a.ns, a.cgroup, joins_itself);
    let unprivileged_parent =
        !(nix::unistd::geteuid().is_root() && crate::userns::in_initial_userns());
    let pidns =
        a.ns.join_pid
            .as_ref()
            .map(|(path, fd)| (fd, path.to_str().unwrap_or("pid namespace")));
    let forked = super::pidns::clone_joining(flags, self_join.as_mut(), pidns);
    let mut pid = match forked? {
        Forked::Child => {
            drop(parent);
            if let Some((_, path, fd)) = joined_user {
                intermediate(&child, fd, path, a.ns.clone_flags);
                if child.send_own_pid().is_err() {
                    std::process::exit(1);
                }
            }
            init::run(InitContext {
                id: a.id,
                spec: a.spec,
                bundle: a.bundle,
                rootfs: a.rootfs,
                ns: a.ns,
                channel: child,
                gate: a.gate,
                console: a.console,
                no_pivot: a.no_pivot,
                no_new_keyring: a.no_new_keyring,
                preserve_fds: a.preserve_fds,
                seccomp: a.seccomp,
                idmapped: a.idmapped,
                cgroup_join: self_join,
                wait_for_parent,
                unprivileged_parent,
            })
        }
        Forked::Parent(pid) => pid,
    };
    crate::fault::point("after-clone");
    drop(self_join);
    drop(child);
    drop(a.gate);
    drop(a.console);
    if joined_user.is_some() {
        // The intermediate's clone3 returned a pid of the joined pid namespace; the
        // container process tells us its pid as we see it instead.
        let first = parent.recv_pid();
        let _ = waitpid(Pid::from_raw(pid), None);
        pid = match first? {
            Some(Message::Pid(p)) => p,
            Some(Message::Failed(text)) => return Err(Error::Msg(text)),
            _ => return Err(Error::msg("the intermediate process exited without a word")),
        };
    }
    let result = (|| {
        if !joins_itself {
            a.cgroup.add_pid(pid).map_err(crate::cgroups::map_err)?;
        }
        // The container is in its cgroups, or born in the systemd scope the runtime
        // started and is in: the runtime leaves it.
        a.cgroup.leave().map_err(crate::cgroups::map_err)?;
        if a.ns.has_new(LinuxNamespaceType::User) {
            crate::userns::write_maps(pid, a.spec)?;
        }
        if wait_for_parent {
            parent.send(&Message::Continue(String::new()))?;
        }
        Ok(())
    })();
    match result.and_then(|()| serve(&parent, a.spec, pid, a.hook_state)) {
        Ok(()) => Ok(pid),
        Err(e) => {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
            // The container process works on its own meanwhile: when it failed first
            // (and our maps, move or word then found it gone), its reason is the one to
            // report. It is dead now, so this reads what it left, then EOF.
            Err(failure_left_by_child(&parent).unwrap_or(e))
        }
    }
}

fn failure_left_by_child(chan: &channel::Channel) -> Option<Error> {
    loop {
        match chan.recv() {
            Ok(Some(Message::Failed(text))) => return Some(Error::Msg(text)),
            Ok(Some(_)) => continue,
            _ => return None,
        }
    }
}

/// Whether the child must wait for the parent (id maps, cgroup move) before going on.
fn needs_parent(ns: &NamespacePlan, cgroup: &kapsel_cgroups::Manager, joins_itself: bool) -> bool {
    ns.has_new(LinuxNamespaceType::User) || (!joins_itself && cgroup.skipped().is_none())
}

/// In the intermediate: join the user namespace, clone the container process into
/// its new namespaces as a sibling, report its pid and exit. Returns only in the
/// container process.
fn intermediate(chan: &channel::Channel, userns: &OwnedFd, path: &Path, flags: u64) {
    let result = setns(userns.as_fd(), CloneFlags::CLONE_NEWUSER)
        .map_err(nix_err("setns", path))
        .and_then(|()| {
            // Become the namespace's root when it has one, so files we create are owned
            // by a mapped id (an unmapped fsuid gets EOVERFLOW).
            let _ = nix::unistd::setresgid(0.into(), 0.into(), 0.into());
            let _ = nix::unistd::setresuid(0.into(), 0.into(), 0.into());
            Ok(clone_fork(flags | libc::CLONE_PARENT as u64, None)?)
        });
    match result {
        Ok(Forked::Child) => {}
        Ok(Forked::Parent(_)) => std::process::exit(0),
        Err(e) => {
            let _ = chan.send(&Message::Failed(e.to_string()));
            std::process::exit(1);
        }
    }
}

fn serve(
    chan: &channel::Channel,
    spec: &Spec,
    pid: i32,
    hook_state: &dyn Fn(i32) -> String,
) -> Result<()> {
    loop {
        match chan.recv()? {
            Some(Message::Ready) => return Ok(()),
            Some(Message::Failed(text)) => return Err(Error::Msg(text)),
            Some(Message::Warning(text)) => crate::logging::warn(&text),
            Some(Message::SeccompFd(fd)) => {
                super::notify::hand_over(spec, &fd, pid, &hook_state(pid))?
            }
            Some(Message::RuntimeHooks) => {
                crate::fault::point("after-mounts");
                let state = hook_state(pid);
                if let Some(h) = spec.hooks() {
                    #[allow(deprecated)]
                    let prestart = h.prestart();
                    hooks::run_all("prestart", &hooks::stored(prestart), &state)?;
                    hooks::run_all("createRuntime", &hooks::stored(h.create_runtime()), &state)?;
                }
                chan.send(&Message::Continue(state))?;
            }
            Some(other) => {
                return Err(Error::msg(format!(
                    "unexpected message from the container process: {other:?}"
                )))
            }
            None => {
                let how = match waitpid(Pid::from_raw(pid), None) {
                    Ok(WaitStatus::Exited(_, code)) => format!("exited with status {code}"),
                    Ok(WaitStatus::Signaled(_, sig, _)) => format!("was killed by {sig}"),
                    _ => "vanished".to_string(),
                };
                return Err(Error::msg(format!(
                    "container process {how} before it was ready"
                )));
            }
        }
    }
}
