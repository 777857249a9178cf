//! Process creation and process file descriptors: clone3 (fork-like), pidfd_open,
//! pidfd_send_signal, close_range.

use crate::error::SysError;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// The first real-time signal as callers number it: the kernel's 32 plus the two that
/// glibc keeps for itself. runc, docker and containerd map `RTMIN` to 34; asking the C
/// library instead would give 35 under musl.
pub const SIGRTMIN: i32 = 34;
/// The last signal the kernel has (`_NSIG - 1`).
pub const SIGRTMAX: i32 = 64;

/// Where `clone3` returned.
pub enum Forked {
    Parent(libc::pid_t),
    Child,
}

/// clone3(2) used like fork(2): no new stack, so the child continues on a copy of the
/// caller's stack. `flags` are CLONE_NEW* flags (and CLONE_PARENT); the exit signal
/// is SIGCHLD. When
/// `cgroup_fd` is given, CLONE_INTO_CGROUP places the child in that cgroup v2 directory
/// before it runs. Falls back to clone(2) when the kernel lacks clone3 (ENOSYS) and no
/// cgroup fd is asked for.
///
/// The caller must be single-threaded, as for fork(2).
pub fn clone_fork(flags: u64, cgroup_fd: Option<RawFd>) -> Result<Forked, SysError> {
    #[repr(C)]
    #[derive(Default)]
    struct CloneArgs {
        flags: u64,
        pidfd: u64,
        child_tid: u64,
        parent_tid: u64,
        exit_signal: u64,
        stack: u64,
        stack_size: u64,
        tls: u64,
        set_tid: u64,
        set_tid_size: u64,
        cgroup: u64,
    }
    const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;
    // With CLONE_PARENT the kernel takes the exit signal from the caller and insists
    // that none be given.
    let exit_signal = if flags & libc::CLONE_PARENT as u64 != 0 {
        0
    } else {
        libc::SIGCHLD as u64
    };
    let mut args = CloneArgs {
        flags,
        exit_signal,
        ..Default::default()
    };
    if let Some(fd) = cgroup_fd {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    // SAFETY: clone3 with a zero stack behaves like fork: the child gets a copy of the
    // address space. `args` is a valid, fully initialised clone_args of the size we pass.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    if ret < 0 {
        let err = SysError::last("clone3", None);
        if err.errno == libc::ENOSYS && cgroup_fd.is_none() {
            return clone_legacy(flags);
        }
        return Err(err);
    }
    Ok(if ret == 0 {
        Forked::Child
    } else {
        Forked::Parent(ret as libc::pid_t)
    })
}

fn clone_legacy(flags: u64) -> Result<Forked, SysError> {
    // SAFETY: raw clone(2) without CLONE_VM and with a null stack is fork(2) with extra
    // namespace flags; all pointer arguments are null.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags as libc::c_ulong) | libc::SIGCHLD as libc::c_ulong,
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
            std::ptr::null_mut::<libc::c_void>(),
            0usize,
        )
    };
    if ret < 0 {
        return Err(SysError::last("clone", None));
    }
    Ok(if ret == 0 {
        Forked::Child
    } else {
        Forked::Parent(ret as libc::pid_t)
    })
}

/// pidfd_open(2): a file descriptor that refers to `pid` and becomes readable when it exits.
pub fn pidfd_open(pid: libc::pid_t) -> Result<OwnedFd, SysError> {
    // SAFETY: plain syscall with integer arguments.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(SysError::last("pidfd_open", None));
    }
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// pidfd_send_signal(2): signal the process behind `pidfd`, immune to pid reuse.
pub fn pidfd_send_signal(pidfd: RawFd, signal: i32) -> Result<(), SysError> {
    // SAFETY: plain syscall; a null siginfo means "as kill(2) would send it".
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd,
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if ret < 0 {
        return Err(SysError::last("pidfd_send_signal", None));
    }
    Ok(())
}

/// close_range(2) with CLOSE_RANGE_CLOEXEC: mark every descriptor from `first` on as
/// close-on-exec, so nothing the caller leaked reaches the container's process.
pub fn cloexec_from(first: u32) -> Result<(), SysError> {
    const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;
    // SAFETY: plain syscall with integer arguments; it only changes descriptor flags.
    let ret = unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if ret < 0 {
        return Err(SysError::last("close_range", None));
    }
    Ok(())
}

/// Reads one byte from `fd`, blocking (the start gate). A seccomp filter of the
/// container may be loaded already: where it denies read(2), readv(2) reads the same.
pub fn read_byte(fd: std::os::fd::BorrowedFd<'_>) -> Result<(), SysError> {
    let mut byte = [0u8; 1];
    let mut use_readv = false;
    loop {
        let ret = if use_readv {
            let iov = libc::iovec {
                iov_base: byte.as_mut_ptr().cast(),
                iov_len: 1,
            };
            // SAFETY: one iovec describing `byte`, valid and writable for the call.
            unsafe { libc::readv(std::os::fd::AsRawFd::as_raw_fd(&fd), &iov, 1) }
        } else {
            // SAFETY: `byte` is valid and writable for one byte for the call.
            unsafe {
                libc::read(
                    std::os::fd::AsRawFd::as_raw_fd(&fd),
                    byte.as_mut_ptr().cast(),
                    1,
                )
            }
        };
        match ret {
            1 => return Ok(()),
            0 => {
                return Err(SysError {
                    op: "read",
                    path: None,
                    errno: libc::EPIPE,
                })
            }
            _ => {
                let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
                match errno {
                    libc::EINTR => {}
                    libc::EPERM | libc::EACCES | libc::ENOSYS if !use_readv => use_readv = true,
                    _ => {
                        let op = if use_readv { "readv" } else { "read" };
                        return Err(SysError {
                            op,
                            path: None,
                            errno,
                        });
                    }
                }
            }
        }
    }
}

/// setdomainname(2), which nix does not wrap.
pub fn set_domainname(name: &str) -> Result<(), SysError> {
    // SAFETY: the pointer and length describe `name`'s bytes, valid for the call.
    let ret = unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) };
    if ret < 0 {
        return Err(SysError::last("setdomainname", None));
    }
    Ok(())
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): a fresh session keyring for the container.
pub fn join_session_keyring(name: &str) -> Result<(), SysError> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    let cname = std::ffi::CString::new(name).map_err(|_| SysError {
        op: "keyctl",
        path: None,
        errno: libc::EINVAL,
    })?;
    // SAFETY: `cname` is NUL-terminated and outlives the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_JOIN_SESSION_KEYRING,
            cname.as_ptr(),
        )
    };
    if ret < 0 {
        return Err(SysError::last("keyctl(KEYCTL_JOIN_SESSION_KEYRING)", None));
    }
    Ok(())
}

/// Restore the signals in `ignored` (bit n-1 for signal n, as /proc/PID/status's SigIgn;
/// `u64::MAX` for all) to their default disposition, and unblock all signals, so the
/// container starts with a clean slate. Ignored signals are the only dispositions execve
/// keeps (handlers fall back to the default by themselves): SIGPIPE, which Rust ignores at
/// start-up, and whatever the caller left ignored.
pub fn reset_signals(ignored: u64) {
    for sig in 1..=SIGRTMAX {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP || ignored & (1 << (sig - 1)) == 0 {
            continue;
        }
        // The system call itself: musl's signal() refuses 32-34 (its own signals) without
        // asking the kernel, so a caller's SIG_IGN of those would reach the container.
        // A zeroed kernel `struct sigaction` is SIG_DFL with no flags and an empty mask on
        // every layout (with or without sa_restorer); 8 is the kernel's sigset size.
        let act = [0u64; 4];
        // SAFETY: `act` is a readable buffer larger than the kernel's struct sigaction, the
        // old action is not asked for (null), and SIG_DFL is always sound to install.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                act.as_ptr(),
                std::ptr::null_mut::<u64>(),
                8usize,
            )
        };
    }
    // SAFETY: an empty, initialised set passed to sigprocmask; the old mask is not read.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
    }
}

/// The fields of `struct sched_attr` (sched_setattr(2)).
#[derive(Debug, Default, Clone, Copy)]
pub struct SchedAttr {
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

/// sched_setattr(2) for the calling thread.
pub fn sched_setattr(a: &SchedAttr) -> Result<(), SysError> {
    #[repr(C)]
    struct Raw {
        size: u32,
        sched_policy: u32,
        sched_flags: u64,
        sched_nice: i32,
        sched_priority: u32,
        sched_runtime: u64,
        sched_deadline: u64,
        sched_period: u64,
    }
    let raw = Raw {
        size: std::mem::size_of::<Raw>() as u32,
        sched_policy: a.policy,
        sched_flags: a.flags,
        sched_nice: a.nice,
        sched_priority: a.priority,
        sched_runtime: a.runtime,
        sched_deadline: a.deadline,
        sched_period: a.period,
    };
    // SAFETY: `raw` is a valid sched_attr (version 0 layout) whose size field matches.
    let ret = unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &raw as *const Raw, 0) };
    if ret < 0 {
        return Err(SysError::last("sched_setattr", None));
    }
    Ok(())
}

/// ioprio_set(IOPRIO_WHO_PROCESS, 0, class << 13 | level) for the calling process.
pub fn ioprio_set(class: u32, level: u32) -> Result<(), SysError> {
    const IOPRIO_WHO_PROCESS: i32 = 1;
    let prio = (class << 13) | (level & 0x1fff);
    // SAFETY: plain syscall with integer arguments.
    let ret = unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) };
    if ret < 0 {
        return Err(SysError::last("ioprio_set", None));
    }
    Ok(())
}

/// Closes every descriptor from `first` on except those in `keep`, with close_range(2)
/// over the gaps.
pub fn close_all_except(first: u32, keep: &[RawFd]) -> Result<(), SysError> {
    let mut keep: Vec<u32> = keep
        .iter()
        .filter(|fd| **fd >= first as RawFd)
        .map(|fd| *fd as u32)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    let mut from = first;
    for k in keep.into_iter().chain(std::iter::once(u32::MAX)) {
        if k > from {
            let to = if k == u32::MAX { u32::MAX } else { k - 1 };
            // SAFETY: plain syscall with integer arguments; it only closes descriptors
            // this process owns and was told to give up.
            let ret = unsafe { libc::syscall(libc::SYS_close_range, from, to, 0) };
            if ret < 0 {
                return Err(SysError::last("close_range", None));
            }
        }
        if k == u32::MAX {
            break;
        }
        from = k + 1;
    }
    Ok(())
}

/// getrandom(2) into all of `buf` (the wasm handler's `random_get`): from the kernel's
/// pool, with no file to open inside the container; blocks only before the pool is ready.
pub fn getrandom(buf: &mut [u8]) -> Result<(), SysError> {
    let mut done = 0;
    while done < buf.len() {
        let rest = &mut buf[done..];
        // SAFETY: the kernel writes at most `rest.len()` bytes to `rest`, a live, writable
        // slice this function borrows exclusively for the call.
        let n = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if n < 0 {
            let e = SysError::last("getrandom", None);
            if e.errno == libc::EINTR {
                continue;
            }
            return Err(e);
        }
        done += n as usize;
    }
    Ok(())
}
