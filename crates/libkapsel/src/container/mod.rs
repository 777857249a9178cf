//! One file per lifecycle verb. Every verb has the same shape: load the state, refresh
//! the live status, guard the transition, act, save.

pub mod create;
pub mod delete;
pub mod events;
pub mod exec;
pub mod id;
pub mod kill;
pub mod pause;
pub mod ps;
pub mod query;
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
        let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
        loop {
            match poll(&mut fds, PollTimeout::from(10_000u16)) {
                Ok(0) => {
                    return Err(Error::msg(format!(
                        "process {} did not exit within 10s of signal {signal}",
                        state.pid
                    )))
                }
                Ok(_) => break,
                Err(nix::Error::EINTR) => continue,
                Err(e) => return Err(crate::error::nix_err("poll pidfd", "")(e)),
            }
        }
    }
    Ok(())
}
