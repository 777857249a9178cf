//! The terminal relay of `run` left out of this build (feature `pty-relay`, which the
//! device profile drops). `create` refuses a terminal without --console-socket before
//! anything exists (`tty::console_pair`), so this is never reached.

use crate::error::{Error, Result};
use nix::sys::signal::SigSet;
use std::os::fd::OwnedFd;

pub fn relay_and_wait(_pid: i32, _mask: &SigSet, _master: OwnedFd) -> Result<i32> {
    Err(Error::config(
        "process.terminal",
        crate::absent("pty-relay"),
    ))
}
