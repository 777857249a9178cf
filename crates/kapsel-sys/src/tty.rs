//! Terminal ioctls and descriptor duplication onto fixed numbers.

use crate::error::SysError;
use std::os::fd::RawFd;

/// TIOCSCTTY: make the terminal `fd` the controlling terminal of this session.
pub fn set_controlling(fd: RawFd) -> Result<(), SysError> {
    // SAFETY: TIOCSCTTY takes an integer argument; no memory is passed.
    let ret = unsafe { libc::ioctl(fd, libc::TIOCSCTTY, 0) };
    if ret < 0 {
        return Err(SysError::last("ioctl(TIOCSCTTY)", None));
    }
    Ok(())
}

/// TIOCSWINSZ: set the terminal's size.
pub fn set_window_size(fd: RawFd, rows: u16, cols: u16) -> Result<(), SysError> {
    let ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: `ws` is a valid winsize that outlives the call.
    let ret = unsafe { libc::ioctl(fd, libc::TIOCSWINSZ, &ws as *const libc::winsize) };
    if ret < 0 {
        return Err(SysError::last("ioctl(TIOCSWINSZ)", None));
    }
    Ok(())
}

/// TIOCGWINSZ: the terminal's size as (rows, cols), or None when `fd` is no terminal.
pub fn window_size(fd: RawFd) -> Option<(u16, u16)> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: `ws` is a valid, writable winsize that outlives the call.
    let ret = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws as *mut libc::winsize) };
    (ret == 0).then_some((ws.ws_row, ws.ws_col))
}
