//! One file per lifecycle verb. Every verb has the same shape: load the state, refresh
//! the live status, guard the transition, act, save.

#[cfg(feature = "criu")]
pub mod checkpoint;
pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod extras;
pub mod features;
pub mod kill;
pub mod pause;
pub mod plan;
pub mod ps;
pub mod query;
mod reservation;
#[cfg(feature = "criu")]
pub mod restore;
pub mod run;
pub mod start;
pub mod update;

use crate::error::{Error, Result};
use crate::state::{process_alive, State};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::os::fd::AsFd;

/// Sends `signal` to the container's init through a pidfd (immune to pid reuse) and,
/// when `wait` is set, waits for it to die on the same pidfd — no sleep-polling.
pub(crate) fn signal_init(state: &State, signal: i32, wait: bool) -> Result<()> {
    let pidfd = match kapsel_sys::process::pidfd_open(state.pid) {
        Ok(fd) => fd,
        Err(e) if e.errno == libc::ESRCH => return Err(Error::NotRunning),
        Err(e) => return Err(e.into()),
    };
    // The pid may have been recycled between reading the state and opening the pidfd.
    if !process_alive(state.pid, state.pid_start) {
        return Err(Error::NotRunning);
    }
    match kapsel_sys::process::pidfd_send_signal(std::os::fd::AsRawFd::as_raw_fd(&pidfd), signal) {
        Ok(()) => {}
        Err(e) if e.errno == libc::ESRCH => return Err(Error::NotRunning),
        Err(e) => return Err(e.into()),
    }
    if wait {
        wait_for_exit(&pidfd, state.pid, signal)?;
    }
    Ok(())
}

/// Waits on the pidfd until the process has exited. The init of a pid namespace only
/// completes its exit once every other process of the namespace is reaped, which may
/// be up to a caller (an `exec`'d process's parent is a subreaper outside). Once it is
/// exiting (PF_EXITING) it has left its cgroup and holds nothing: that counts as gone.
fn wait_for_exit(pidfd: &std::os::fd::OwnedFd, pid: i32, signal: i32) -> Result<()> {
    const PF_EXITING: u64 = 0x4;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(&mut fds, PollTimeout::from(100u16)) {
            Ok(0) => {
                if crate::state::read_flags(pid).is_some_and(|f| f & PF_EXITING != 0) {
                    return Ok(());
                }
                if std::time::Instant::now() > deadline {
                    return Err(Error::Timeout {
                        pid,
                        signal,
                        secs: 10,
                    });
                }
            }
            Ok(_) => return Ok(()),
            Err(nix::Error::EINTR) => {}
            Err(e) => return Err(crate::error::nix_err("poll pidfd", "")(e)),
        }
    }
}
