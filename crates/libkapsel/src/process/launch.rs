//! The one way kapsel starts a process in a container, for `create` (its init) and `exec`
//! alike: the channel, the clone (born into its cgroup2 directory and, when one is joined,
//! its pid namespace), an intermediate process where a user namespace must be joined first,
//! and, in the new process, the security-critical hygiene before anything else: every
//! descriptor it was not given dropped, non-dumpable, the namespaces joined in order. What
//! the process then does is its caller's (`init` for a container, `exec` for another).

use super::channel::{self, Channel, Message};
use crate::error::{nix_err, Error, Result};
use kapsel_cgroups::SelfJoin;
use kapsel_sys::process::{clone_fork, Forked};
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::LinuxNamespaceType;
use std::os::fd::{AsFd, OwnedFd, RawFd};

/// A short-lived process between the runtime and the new one, for a user namespace that
/// must be joined before the new process is cloned (new namespaces then belong to it, and
/// a pid namespace owned by it can be entered). It clones the process with CLONE_PARENT,
/// so that it is the runtime's child all the same, reports its pid, and exits.
pub struct Intermediate<'a> {
    pub userns: Option<(&'a OwnedFd, &'a str)>,
    /// A pid namespace the intermediate enters (after the user namespace).
    pub pidns: Option<(&'a OwnedFd, &'a str)>,
    /// The cgroups the intermediate joins first, while it is still privileged on the host
    /// (the process inherits them); None: the runtime moves the process.
    pub cgroup: Option<SelfJoin>,
    /// `execCPUAffinity.initial`, set before that join.
    pub affinity: Option<&'a [u32]>,
    /// CLONE_NEW* flags of the namespaces the process gets new.
    pub new_namespaces: u64,
}

/// How one process is cloned.
pub struct Launch<'a> {
    /// CLONE_NEW* flags (when there is no intermediate to clone it).
    pub new_namespaces: u64,
    /// The cgroups the process joins itself, first thing (see kapsel_cgroups::SelfJoin).
    pub cgroup: Option<SelfJoin>,
    /// A pid namespace the runtime enters around the clone.
    pub pidns: Option<(&'a OwnedFd, &'a str)>,
    pub intermediate: Option<Intermediate<'a>>,
}

/// What `launch` returns on each side of the clone.
pub enum Launched {
    /// In the new process: its end of the channel and the cgroups it still has to join.
    Child {
        channel: Channel,
        cgroup: Option<SelfJoin>,
    },
    /// In the runtime: the process's pid as the runtime sees it, and the channel.
    Parent { pid: i32, channel: Channel },
}

/// Clones the process. In the child it returns `Launched::Child` (only there, after any
/// intermediate); in the runtime `Launched::Parent`, or an error once the intermediate
/// has been reaped.
pub fn launch(mut l: Launch<'_>) -> Result<Launched> {
    let (parent, child) = channel::pair()?;
    if let Some(j) = l.cgroup.as_mut().filter(|_| l.intermediate.is_some()) {
        // The intermediate is what this clone makes: the process it clones joins by
        // writing cgroup.procs.
        j.without_clone_into()
            .map_err(crate::linux::cgroups::map_err)?;
    }
    let forked = super::pidns::clone_joining(l.new_namespaces, l.cgroup.as_mut(), l.pidns);
    match forked? {
        Forked::Child => {
            drop(parent);
            if let Some(i) = l.intermediate {
                run_intermediate(&child, i);
                // Here in the process the intermediate cloned.
                if child.send_own_pid().is_err() {
                    std::process::exit(1);
                }
            }
            Ok(Launched::Child {
                channel: child,
                cgroup: l.cgroup,
            })
        }
        Forked::Parent(first) => {
            drop(child);
            drop(l.cgroup);
            if l.intermediate.is_none() {
                return Ok(Launched::Parent {
                    pid: first,
                    channel: parent,
                });
            }
            // The intermediate's clone3 returned a pid of the joined pid namespace; the
            // process tells us its pid as we see it instead (SCM_CREDENTIALS).
            let reported = parent.recv_pid();
            let _ = waitpid(Pid::from_raw(first), None);
            match reported? {
                Some(Message::Pid(pid)) => Ok(Launched::Parent {
                    pid,
                    channel: parent,
                }),
                Some(Message::Failed(w)) => Err(w.into()),
                _ => Err(Error::Protocol(
                    "the intermediate process exited without a word".into(),
                )),
            }
        }
    }
}

/// In the intermediate: into the user namespace (and the pid namespace), clone the
/// process as a sibling, exit. Returns only in the new process.
fn run_intermediate(chan: &Channel, i: Intermediate<'_>) {
    let joined = (|| -> Result<Forked> {
        if let Some((userns, what)) = i.userns {
            super::affinity::apply(i.affinity, super::affinity::Stage::Initial)?;
            if let Some(mut j) = i.cgroup {
                // The intermediate was not born in the cgroup2 directory (its clone
                // carried no CLONE_INTO_CGROUP of this join): it writes cgroup.procs.
                j.without_clone_into()
                    .map_err(crate::linux::cgroups::map_err)?;
                j.join().map_err(crate::linux::cgroups::map_err)?;
            }
            setns(userns.as_fd(), CloneFlags::CLONE_NEWUSER).map_err(nix_err("setns", what))?;
            // Be a mapped id of the namespace (its root, where it has one): files made
            // later are owned by a mapped id (an unmapped fsuid gets EOVERFLOW), and the
            // kernel refuses SCM_CREDENTIALS from an unmapped (overflow) uid. The process
            // sets its own ids later.
            let _ = nix::unistd::setresgid(0.into(), 0.into(), 0.into());
            let _ = nix::unistd::setresuid(0.into(), 0.into(), 0.into());
        }
        if let Some((pidns, what)) = i.pidns {
            setns(pidns.as_fd(), CloneFlags::CLONE_NEWPID).map_err(nix_err("setns", what))?;
        }
        Ok(clone_fork(
            i.new_namespaces | libc::CLONE_PARENT as u64,
            None,
        )?)
    })();
    match joined {
        Ok(Forked::Child) => {}
        Ok(Forked::Parent(_)) => std::process::exit(0),
        Err(e) => {
            let _ = chan.send(&Message::failed(&e));
            std::process::exit(1);
        }
    }
}

/// In the new process, before anything of the container: until execve it is a copy of
/// kapsel, so nothing of the host may be reachable through it. Every descriptor not in
/// `keep` from the first non-preserved one on is closed (the caller's leaks, the state
/// dir: CVE-2024-21626), and it becomes non-dumpable so that no other process can open
/// its /proc/PID/exe (the runtime binary, CVE-2019-5736) or /proc/PID/fd — unless
/// `dumpable_for_maps`: an unprivileged parent still has to write its id maps through
/// /proc/PID, and the caller makes it non-dumpable once they exist.
pub fn seal(keep: &[RawFd], first_closed: u32, dumpable_for_maps: bool) -> Result<()> {
    kapsel_sys::process::close_all_except(first_closed, keep)?;
    if !dumpable_for_maps {
        nix::sys::prctl::set_dumpable(false).map_err(nix_err("prctl(PR_SET_DUMPABLE)", ""))?;
    }
    Ok(())
}

/// Joins namespaces by descriptor in the given order (the user and pid namespaces are
/// not among them: see [`Intermediate`] and [`Launch::pidns`]).
pub fn join_namespaces<'a>(
    joins: impl Iterator<Item = (LinuxNamespaceType, &'a OwnedFd, String)>,
) -> Result<()> {
    for (t, fd, what) in joins {
        if matches!(t, LinuxNamespaceType::User | LinuxNamespaceType::Pid) {
            continue;
        }
        setns(fd.as_fd(), crate::linux::namespaces::clone_flag(t))
            .map_err(nix_err("setns", what))?;
    }
    Ok(())
}

/// The runtime gives up on the process: kills and reaps it, and reports its own reason
/// when it sent one (it works on its own meanwhile and may have failed first), else `e`.
pub fn abandon(pid: i32, chan: &Channel, e: Error) -> Error {
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    let _ = waitpid(Pid::from_raw(pid), None);
    loop {
        match chan.recv() {
            Ok(Some(Message::Failed(w))) => return w.into(),
            Ok(Some(_)) => continue,
            _ => return e,
        }
    }
}

/// In the new process: the end of the road, with the error as data for the runtime.
pub fn fail(chan: &Channel, e: &Error, code: i32) -> ! {
    for w in crate::logging::take_warnings() {
        let _ = chan.send(&Message::Warning(w));
    }
    let _ = chan.send(&Message::failed(e));
    std::process::exit(code);
}
