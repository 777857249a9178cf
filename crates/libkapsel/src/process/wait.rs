//! Waiting for a child we started (`run`, `exec` without --detach) while passing the
//! signals we receive on to it. The signals are blocked before the child is cloned,
//! so an exit that happens at once is never missed.

use crate::error::{nix_err, Result};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// Signals passed on to the container.
const FORWARDED: &[Signal] = &[
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

/// SIGCHLD and the forwarded signals: block these before cloning the child.
pub fn signal_mask() -> SigSet {
    let mut mask = SigSet::empty();
    mask.add(Signal::SIGCHLD);
    for s in FORWARDED {
        mask.add(*s);
    }
    mask
}

/// Waits for `pid`, forwarding signals; returns its exit code (128+N if killed by N).
pub fn wait_forwarding(pid: i32, mask: &SigSet) -> Result<i32> {
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
pub fn reap(pid: i32) -> Result<Option<i32>> {
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
