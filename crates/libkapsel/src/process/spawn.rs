//! The parent side of process creation: clone3 into the new namespaces, then serve
//! the child's requests (runtime hooks) until it reports ready or failed.

use super::channel::{self, Message};
use super::init::{self, InitContext};
use super::launch;
use crate::error::{Error, Result};
use crate::linux::namespaces::NamespacePlan;
use crate::process::hooks;
use crate::process::plan::InitPlan;
use crate::state::StoredHook;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::LinuxNamespaceType;
use oci_spec::runtime::Spec;
use std::os::fd::OwnedFd;

pub struct SpawnArgs<'a> {
    /// All the container process gets.
    pub init: &'a InitPlan,
    /// config.json, for the runtime's own part (id maps, the seccomp listener).
    pub spec: &'a Spec,
    pub prestart_hooks: &'a [StoredHook],
    pub create_runtime_hooks: &'a [StoredHook],
    pub idmapped: &'a crate::rootfs::idmap::Idmapped,
    pub gate: OwnedFd,
    pub console: Option<OwnedFd>,
    pub cgroup: &'a kapsel_cgroups::Manager,
    /// State JSON (status "creating") for hooks, built once the pid is known.
    pub hook_state: &'a dyn Fn(i32) -> String,
}

/// Clones the container process and waits until it is ready at the start gate.
/// On failure the child has been killed and reaped.
pub fn spawn(a: SpawnArgs<'_>) -> Result<i32> {
    let ns = &a.init.ns;
    let joined_user = ns
        .join
        .iter()
        .find(|(t, _, _)| *t == LinuxNamespaceType::User);
    // New namespaces must belong to a joined user namespace, so they are created by a
    // short-lived intermediate that joined it first (see launch::Intermediate).
    // The child joins its cgroups itself, first thing (born in the unified one, then
    // moving its only thread into each v1 one), which avoids the kernel's global cgroup
    // lock that moving it from here would take. The container process of a joined user
    // namespace is cloned by an intermediate: the parent moves that one.
    // Rootless with the systemd driver, systemd moves the process instead (`add_init`).
    let self_join = match joined_user {
        None if !a.cgroup.systemd_adopts_init() => Some(
            a.cgroup
                .self_join()
                .map_err(crate::linux::cgroups::map_err)?,
        ),
        _ => None,
    };
    let joins_itself = self_join.is_some();
    let wait_for_parent = needs_parent(ns, a.cgroup, joins_itself);
    let unprivileged_parent =
        !(nix::unistd::geteuid().is_root() && crate::linux::userns::in_initial_userns());
    let user_path = joined_user.map(|(_, path, _)| path.display().to_string());
    let pid_path = ns
        .join_pid
        .as_ref()
        .map(|(path, _)| path.display().to_string());
    let launched = launch::launch(launch::Launch {
        new_namespaces: if joined_user.is_some() {
            0
        } else {
            ns.clone_flags
        },
        cgroup: self_join,
        pidns: ns
            .join_pid
            .as_ref()
            .map(|(_, fd)| (fd, pid_path.as_deref().unwrap_or("pid namespace"))),
        intermediate: joined_user.map(|(_, _, fd)| launch::Intermediate {
            userns: Some((fd, user_path.as_deref().unwrap_or("user namespace"))),
            pidns: None,
            cgroup: None,
            affinity: None,
            new_namespaces: ns.clone_flags,
        }),
    })?;
    let (pid, parent) = match launched {
        launch::Launched::Child { channel, cgroup } => init::run(InitContext {
            plan: a.init,
            channel,
            gate: a.gate,
            console: a.console,
            idmapped: a.idmapped,
            cgroup_join: cgroup,
            wait_for_parent,
            unprivileged_parent,
        }),
        launch::Launched::Parent { pid, channel } => (pid, channel),
    };
    crate::util::fault::point("after-clone");
    drop(a.gate);
    drop(a.console);
    let result = (|| {
        if !joins_itself {
            let notes = a
                .cgroup
                .add_init(pid)
                .map_err(crate::linux::cgroups::map_err)?;
            for n in notes {
                crate::logging::warn(&n);
            }
        }
        // The container is in its cgroups, or born in the systemd scope the runtime
        // started and is in: the runtime leaves it.
        a.cgroup.leave().map_err(crate::linux::cgroups::map_err)?;
        if ns.has_new(LinuxNamespaceType::User) {
            crate::linux::userns::write_maps(pid, a.spec)?;
        }
        if wait_for_parent {
            parent.send(&Message::Continue(String::new()))?;
        }
        Ok(())
    })();
    let hooks = RuntimeHooks {
        spec: a.spec,
        prestart: a.prestart_hooks,
        create_runtime: a.create_runtime_hooks,
        state: a.hook_state,
    };
    match result.and_then(|()| serve(&parent, &hooks, pid)) {
        Ok(()) => Ok(pid),
        // The container process works on its own meanwhile: when it failed first (and our
        // maps, move or word then found it gone), its reason is the one to report.
        Err(e) => Err(launch::abandon(pid, &parent, e)),
    }
}

/// Whether the child must wait for the parent (id maps, cgroup move) before going on.
fn needs_parent(ns: &NamespacePlan, cgroup: &kapsel_cgroups::Manager, joins_itself: bool) -> bool {
    ns.has_new(LinuxNamespaceType::User) || (!joins_itself && cgroup.skipped().is_none())
}

/// What the runtime does for the container process while it sets up: the hooks of the
/// runtime namespace, and the seccomp listener's hand-over.
struct RuntimeHooks<'a> {
    spec: &'a Spec,
    prestart: &'a [StoredHook],
    create_runtime: &'a [StoredHook],
    state: &'a dyn Fn(i32) -> String,
}

fn serve(chan: &channel::Channel, a: &RuntimeHooks<'_>, pid: i32) -> Result<()> {
    let hook_state = a.state;
    loop {
        match chan.recv()? {
            Some(Message::Ready) => return Ok(()),
            Some(Message::Failed(w)) => return Err(w.into()),
            Some(Message::Warning(text)) => crate::logging::warn(&text),
            Some(Message::SeccompFd(fd)) => {
                super::seccomp_agent::hand_over(a.spec, &fd, pid, &hook_state(pid))?
            }
            Some(Message::RuntimeHooks) => {
                crate::util::fault::point("after-mounts");
                let state = hook_state(pid);
                hooks::run_all("prestart", a.prestart, &state)?;
                hooks::run_all("createRuntime", a.create_runtime, &state)?;
                chan.send(&Message::Continue(state))?;
            }
            Some(other) => {
                return Err(Error::Protocol(format!(
                    "unexpected message from the container process: {other:?}"
                )))
            }
            None => {
                let how = match waitpid(Pid::from_raw(pid), None) {
                    Ok(WaitStatus::Exited(_, code)) => format!("exited with status {code}"),
                    Ok(WaitStatus::Signaled(_, sig, _)) => format!("was killed by {sig}"),
                    _ => "vanished".to_string(),
                };
                return Err(Error::Protocol(format!(
                    "container process {how} before it was ready"
                )));
            }
        }
    }
}
