//! The parent side of process creation: clone3 into the new namespaces, then serve
//! the child's requests (runtime hooks) until it reports ready or failed.

use super::channel::{self, Message};
use super::init::{self, InitContext};
use super::launch;
use crate::container::plan::ContainerPlan;
use crate::error::{Error, Result};
use crate::hooks;
use crate::namespaces::NamespacePlan;
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use oci_spec::runtime::LinuxNamespaceType;
use std::os::fd::OwnedFd;

pub struct SpawnArgs<'a> {
    pub plan: &'a ContainerPlan,
    pub gate: OwnedFd,
    pub console: Option<OwnedFd>,
    pub cgroup: &'a kapsel_cgroups::Manager,
    /// State JSON (status "creating") for hooks, built once the pid is known.
    pub hook_state: &'a dyn Fn(i32) -> String,
}

/// Clones the container process and waits until it is ready at the start gate.
/// On failure the child has been killed and reaped.
pub fn spawn(a: SpawnArgs<'_>) -> Result<i32> {
    let ns = &a.plan.init.ns;
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
    let self_join = match joined_user {
        None => Some(a.cgroup.self_join().map_err(crate::cgroups::map_err)?),
        Some(_) => None,
    };
    let joins_itself = self_join.is_some();
    let wait_for_parent = needs_parent(ns, a.cgroup, joins_itself);
    let unprivileged_parent =
        !(nix::unistd::geteuid().is_root() && crate::userns::in_initial_userns());
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
            plan: &a.plan.init,
            channel,
            gate: a.gate,
            console: a.console,
            idmapped: &a.plan.extras.idmapped,
            cgroup_join: cgroup,
            wait_for_parent,
            unprivileged_parent,
        }),
        launch::Launched::Parent { pid, channel } => (pid, channel),
    };
    crate::fault::point("after-clone");
    drop(a.gate);
    drop(a.console);
    let result = (|| {
        if !joins_itself {
            a.cgroup.add_pid(pid).map_err(crate::cgroups::map_err)?;
        }
        // The container is in its cgroups, or born in the systemd scope the runtime
        // started and is in: the runtime leaves it.
        a.cgroup.leave().map_err(crate::cgroups::map_err)?;
        if ns.has_new(LinuxNamespaceType::User) {
            crate::userns::write_maps(pid, &a.plan.spec)?;
        }
        if wait_for_parent {
            parent.send(&Message::Continue(String::new()))?;
        }
        Ok(())
    })();
    match result.and_then(|()| serve(&parent, a.plan, pid, a.hook_state)) {
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

fn serve(
    chan: &channel::Channel,
    plan: &ContainerPlan,
    pid: i32,
    hook_state: &dyn Fn(i32) -> String,
) -> Result<()> {
    loop {
        match chan.recv()? {
            Some(Message::Ready) => return Ok(()),
            Some(Message::Failed(w)) => return Err(w.into()),
            Some(Message::Warning(text)) => crate::logging::warn(&text),
            Some(Message::SeccompFd(fd)) => {
                super::notify::hand_over(&plan.spec, &fd, pid, &hook_state(pid))?
            }
            Some(Message::RuntimeHooks) => {
                crate::fault::point("after-mounts");
                let state = hook_state(pid);
                hooks::run_all("prestart", &plan.prestart_hooks, &state)?;
                hooks::run_all("createRuntime", &plan.create_runtime_hooks, &state)?;
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
