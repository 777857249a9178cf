//! seccomp(2) wrappers: load a filter program, get a user-notification fd.

use crate::error::SysError;
use std::os::fd::{FromRawFd, OwnedFd};

/// One classic BPF instruction, laid out as the kernel's `struct sock_filter`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockFilter {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// SECCOMP_SET_MODE_FILTER
const SET_MODE_FILTER: libc::c_uint = 1;
/// SECCOMP_GET_ACTION_AVAIL
const GET_ACTION_AVAIL: libc::c_uint = 2;
/// SECCOMP_FILTER_FLAG_NEW_LISTENER: the call returns a notification fd.
pub const FLAG_NEW_LISTENER: u32 = 1 << 3;

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog): install `program` on the calling
/// thread (all threads with SECCOMP_FILTER_FLAG_TSYNC). The caller must have set
/// no_new_privs or hold CAP_SYS_ADMIN. With FLAG_NEW_LISTENER in `flags` the kernel
/// returns the user-notification fd, which is returned here.
pub fn set_mode_filter(program: &[SockFilter], flags: u32) -> Result<Option<OwnedFd>, SysError> {
    #[repr(C)]
    struct SockFprog {
        len: libc::c_ushort,
        filter: *const SockFilter,
    }
    let len = libc::c_ushort::try_from(program.len()).map_err(|_| SysError {
        op: "seccomp(SECCOMP_SET_MODE_FILTER): program longer than 65535 instructions",
        path: None,
        errno: libc::E2BIG,
    })?;
    let prog = SockFprog {
        len,
        filter: program.as_ptr(),
    };
    // SAFETY: `prog` points at `program`, which outlives the call; the kernel copies the
    // instructions before returning and keeps no reference to our memory.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SET_MODE_FILTER,
            flags as libc::c_ulong,
            &prog as *const SockFprog,
        )
    };
    if ret < 0 {
        return Err(SysError::last("seccomp(SECCOMP_SET_MODE_FILTER)", None));
    }
    if flags & FLAG_NEW_LISTENER != 0 {
        // SAFETY: with NEW_LISTENER the kernel returns a fresh descriptor owned by nobody else.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as i32) }));
    }
    Ok(None)
}

/// Whether the running kernel accepts `flag` for SECCOMP_SET_MODE_FILTER. Probed the way
/// libseccomp does: a supported flag with a null program fails with EFAULT, an unknown
/// one with EINVAL. Nothing is installed either way.
pub fn filter_flag_supported(flag: u32) -> bool {
    // SAFETY: the program pointer is null, so the kernel validates the flags and fails
    // before it would read any memory; no filter can be installed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SET_MODE_FILTER,
            flag as libc::c_ulong,
            std::ptr::null::<libc::c_void>(),
        )
    };
    ret < 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EFAULT)
}

/// seccomp(SECCOMP_GET_ACTION_AVAIL): whether the kernel knows the return action
/// `action` (a SECCOMP_RET_* value without its data bits).
pub fn action_available(action: u32) -> bool {
    // SAFETY: the kernel reads one u32 from the pointer, which points at a live local.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            GET_ACTION_AVAIL,
            0 as libc::c_ulong,
            &action as *const u32,
        )
    };
    ret == 0
}

/// prctl(PR_SET_NO_NEW_PRIVS, 1): required before an unprivileged filter load.
pub fn set_no_new_privs() -> Result<(), SysError> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    let ret = unsafe {
        libc::prctl(
            libc::PR_SET_NO_NEW_PRIVS,
            1 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if ret < 0 {
        return Err(SysError::last("prctl(PR_SET_NO_NEW_PRIVS)", None));
    }
    Ok(())
}
