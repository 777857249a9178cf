//! `run`: create + start, then wait for the container as its parent, forwarding
//! signals, and exit with its status. Signals are blocked before the clone, so an
//! exit that happens at once is never missed.

use super::create::{create, CreateOptions};
use super::delete::delete;
use super::start::start;
use crate::error::{nix_err, Result};
use crate::statedir::StateRoot;
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// Signals `run` passes on to the container.
const FORWARDED: &[Signal] = &[
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

pub struct RunOptions {
    pub create: CreateOptions,
    pub detach: bool,
    pub keep: bool,
}

/// Returns the exit code for the command: the container's status (128+N when killed by N).
pub fn run(root: &StateRoot, id: &str, opts: &RunOptions) -> Result<i32> {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    for s in FORWARDED {
        mask.add(*s);
    }
    if !opts.detach {
        mask.thread_block().map_err(nix_err("sigprocmask", ""))?;
        let _ = kapsel_sys::process::set_child_subreaper();
    }
    let created = create(root, id, &opts.create)?;
    if let Err(e) = start(root, id) {
        let _ = delete(root, id, true);
        return Err(e);
    }
    if opts.detach {
        return Ok(0);
    }
    let code = wait_forwarding(created.pid, &mask).map_err(|e| e.in_container(id, "run"))?;
    if !opts.keep {
        delete(root, id, true)?;
    }
    Ok(code)
}

fn wait_forwarding(pid: i32, mask: &SigSet) -> Result<i32> {
    let sfd = SignalFd::with_flags(mask, SfdFlags::SFD_CLOEXEC).map_err(nix_err("signalfd", ""))?;
    loop {
        // The container may already have exited before the signalfd existed.
        if let Some(code) = reap(pid)? {
            return Ok(code);
        }
        let Some(info) = sfd.read_signal().map_err(nix_err("read signalfd", ""))? else {
            continue;
        };
        let sig = info.ssi_signo as i32;
        if sig != libc::SIGCHLD {
            if let Ok(s) = Signal::try_from(sig) {
                let _ = kill(Pid::from_raw(pid), s);
            }
        }
    }
}

/// Reaps every exited child (we are a subreaper); returns the container's exit code.
fn reap(pid: i32) -> Result<Option<i32>> {
    let mut result = None;
    loop {
        match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(p, code)) if p.as_raw() == pid => result = Some(code),
            Ok(WaitStatus::Signaled(p, sig, _)) if p.as_raw() == pid => {
                result = Some(128 + sig as i32)
            }
            Ok(WaitStatus::StillAlive) | Err(nix::Error::ECHILD) => return Ok(result),
            Ok(_) => {}
            Err(nix::Error::EINTR) => {}
            Err(e) => return Err(nix_err("waitpid", "")(e)),
        }
    }
}
