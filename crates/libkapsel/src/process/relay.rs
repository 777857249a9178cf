//! `run` of a container with `terminal: true` and no --console-socket: kapsel keeps the
//! pty master and relays it to its own stdin/stdout (raw mode when stdin is a
//! terminal, window size passed on at start and on SIGWINCH) until the container exits.

use crate::error::{nix_err, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
use nix::unistd::{read, write, Pid};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

pub fn relay_and_wait(pid: i32, mask: &SigSet, master: OwnedFd) -> Result<i32> {
    let stdin = std::io::stdin();
    let saved = tcgetattr(stdin.as_fd()).ok();
    if let Some(t) = &saved {
        let mut raw = t.clone();
        cfmakeraw(&mut raw);
        let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw);
        copy_window_size(stdin.as_fd(), master.as_fd());
    }
    let result = relay(pid, mask, &master, stdin.as_fd());
    if let Some(t) = &saved {
        let _ = tcsetattr(stdin.as_fd(), SetArg::TCSANOW, t);
    }
    result
}

fn relay(pid: i32, mask: &SigSet, master: &OwnedFd, stdin: BorrowedFd<'_>) -> Result<i32> {
    let sfd = SignalFd::with_flags(mask, SfdFlags::SFD_CLOEXEC).map_err(nix_err("signalfd", ""))?;
    let stdout = std::io::stdout();
    let mut buf = [0u8; 8192];
    let mut stdin_open = true;
    loop {
        if let Some(code) = super::wait::reap(pid)? {
            drain(master, stdout.as_fd(), &mut buf);
            return Ok(code);
        }
        let mut fds = vec![
            PollFd::new(sfd.as_fd(), PollFlags::POLLIN),
            PollFd::new(master.as_fd(), PollFlags::POLLIN),
        ];
        if stdin_open {
            fds.push(PollFd::new(stdin, PollFlags::POLLIN));
        }
        match poll(&mut fds, PollTimeout::NONE) {
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(nix_err("poll", "")(e)),
            Ok(_) => {}
        }
        let ready = |i: usize| {
            fds.get(i)
                .and_then(|f| f.revents())
                .is_some_and(|r| !r.is_empty())
        };
        let (sig_ready, master_ready, stdin_ready) = (ready(0), ready(1), ready(2));
        if sig_ready {
            if let Ok(Some(info)) = sfd.read_signal() {
                match info.ssi_signo as i32 {
                    libc::SIGCHLD => {}
                    libc::SIGWINCH => copy_window_size(stdin, master.as_fd()),
                    n => {
                        if let Ok(s) = Signal::try_from(n) {
                            let _ = kill(Pid::from_raw(pid), s);
                        }
                    }
                }
            }
        }
        if master_ready && !copy(master.as_fd(), stdout.as_fd(), &mut buf) {
            // The pty hung up: the container's session is over; wait for its exit.
            continue;
        }
        if stdin_ready && !copy(stdin, master.as_fd(), &mut buf) {
            stdin_open = false;
        }
    }
}

/// One read and a full write; false on EOF or error.
fn copy(from: BorrowedFd<'_>, to: BorrowedFd<'_>, buf: &mut [u8]) -> bool {
    match read(from, buf) {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            let mut off = 0;
            while off < n {
                match write(to, &buf[off..n]) {
                    Ok(w) => off += w,
                    Err(nix::Error::EINTR) => {}
                    Err(_) => return false,
                }
            }
            true
        }
    }
}

/// What the container wrote before it exited.
fn drain(master: &OwnedFd, out: BorrowedFd<'_>, buf: &mut [u8]) {
    loop {
        let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::ZERO) {
            Ok(n) if n > 0 && copy(master.as_fd(), out, buf) => {}
            _ => return,
        }
    }
}

fn copy_window_size(from: BorrowedFd<'_>, to: BorrowedFd<'_>) {
    if let Some((rows, cols)) = kapsel_sys::tty::window_size(from.as_raw_fd()) {
        let _ = kapsel_sys::tty::set_window_size(to.as_raw_fd(), rows, cols);
    }
}
