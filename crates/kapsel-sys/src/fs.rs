//! Path resolution confined to a root directory: openat2(2) with RESOLVE_IN_ROOT.

use crate::error::SysError;
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// mount_setattr(2) on the mount `fd` refers to (AT_EMPTY_PATH), optionally recursive.
pub fn mount_setattr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: u64,
    clr: u64,
) -> Result<(), SysError> {
    setattr(fd, recursive, set, clr, 0)
}

/// MOUNT_ATTR_RDONLY: the mount is read-only.
pub const MOUNT_ATTR_RDONLY: u64 = 0x0000_0001;

/// MOUNT_ATTR_IDMAP: ids on the mount are seen through the mappings of a user namespace.
pub const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;

/// mount_setattr(2) MOUNT_ATTR_IDMAP with the user namespace `userns` on a detached
/// mount (from [`open_tree_clone`]); the kernel allows this once per mount.
pub fn mount_setattr_idmap(
    fd: BorrowedFd<'_>,
    recursive: bool,
    userns: BorrowedFd<'_>,
) -> Result<(), SysError> {
    setattr(
        fd,
        recursive,
        MOUNT_ATTR_IDMAP,
        0,
        userns.as_raw_fd() as u64,
    )
}

fn setattr(
    fd: BorrowedFd<'_>,
    recursive: bool,
    set: u64,
    clr: u64,
    userns_fd: u64,
) -> Result<(), SysError> {
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    let attr = MountAttr {
        attr_set: set,
        attr_clr: clr,
        propagation: 0,
        userns_fd,
    };
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: the empty path is NUL-terminated, `attr` is a valid mount_attr of the size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret < 0 {
        return Err(SysError::last("mount_setattr", None));
    }
    Ok(())
}

const AT_RECURSIVE: u32 = 0x8000;

/// open_tree(2) OPEN_TREE_CLONE: a detached copy of the mount at `path` (with its
/// submounts when `recursive`), to change before it is attached with [`move_mount_to`].
pub fn open_tree_clone(path: &Path, recursive: bool) -> Result<OwnedFd, SysError> {
    const OPEN_TREE_CLONE: u32 = 1;
    let cpath = CString::new(path.as_os_str().as_bytes()).map_err(|_| SysError {
        op: "open_tree",
        path: Some(path.to_path_buf()),
        errno: libc::EINVAL,
    })?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: `cpath` is NUL-terminated and outlives the call.
    let fd = unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, cpath.as_ptr(), flags) };
    if fd < 0 {
        return Err(SysError::last("open_tree", Some(path.to_path_buf())));
    }
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// move_mount(2): attach the detached mount `from` on the directory or file `to` refers to.
pub fn move_mount_to(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> Result<(), SysError> {
    const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
    const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;
    // SAFETY: both paths are empty NUL-terminated strings; the descriptors are borrowed
    // for the duration of the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if ret < 0 {
        return Err(SysError::last("move_mount", None));
    }
    Ok(())
}

/// Ownership of a descriptor the kernel installed for us (SCM_RIGHTS).
pub fn owned_from_received(raw: RawFd) -> OwnedFd {
    // SAFETY: the descriptor was just created by recvmsg for this process and nothing
    // else holds it.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

/// Ownership of a descriptor inherited across execve (its number passed to us).
pub fn owned_from_inherited(raw: RawFd) -> OwnedFd {
    // SAFETY: the descriptor was opened by this process before it re-executed itself and
    // handed over its number; nothing else in this process owns it.
    unsafe { OwnedFd::from_raw_fd(raw) }
}

/// The id of the mount `path` is on (its own mount when it is a mount point), as
/// /proc/self/mountinfo numbers it: statx(2) with STATX_MNT_ID, not following a last
/// symlink and not triggering an automount.
pub fn mount_id(path: &Path) -> Result<u64, SysError> {
    const STATX_MNT_ID: u32 = 0x1000;
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| SysError {
        op: "statx",
        path: Some(path.to_path_buf()),
        errno: libc::EINVAL,
    })?;
    // SAFETY: an all-zero statx is a valid value of this plain C struct.
    let mut buf: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `buf` a writable statx, both valid for the call.
    // (The raw system call: Debian's musl 1.2.3 has no statx wrapper.)
    let ret = unsafe {
        libc::syscall(
            libc::SYS_statx,
            libc::AT_FDCWD,
            c.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT,
            STATX_MNT_ID,
            &mut buf as *mut libc::statx,
        )
    };
    if ret < 0 {
        return Err(SysError::last("statx", Some(path.to_path_buf())));
    }
    if buf.stx_mask & STATX_MNT_ID == 0 {
        return Err(SysError {
            op: "statx(STATX_MNT_ID)",
            path: Some(path.to_path_buf()),
            errno: libc::ENOSYS,
        });
    }
    Ok(buf.stx_mnt_id)
}

/// Ownership of stdio descriptor `raw` (0, 1 or 2) when it is open: the wasm handler's
/// module gets stdio as descriptors of its own, as a program after execve would.
pub fn owned_stdio(raw: RawFd) -> Option<OwnedFd> {
    if !(0..3).contains(&raw) {
        return None;
    }
    // SAFETY: F_GETFD only reads the descriptor's flags; a closed number answers EBADF.
    if unsafe { libc::fcntl(raw, libc::F_GETFD) } < 0 {
        return None;
    }
    // SAFETY: `raw` is open (checked above) and is stdio, which from here on only the
    // wasm handler uses: this process never execs or returns to other code after it.
    Some(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// A descriptor the caller handed this process by number (`checkpoint --status-fd`):
/// borrowed for the life of the process, with its status flags (F_GETFL). Fails with
/// EBADF when nothing is open at that number.
pub fn caller_fd(raw: RawFd) -> Result<(BorrowedFd<'static>, i32), SysError> {
    // SAFETY: F_GETFL reads the flags of whatever is at `raw`, or fails with EBADF;
    // it touches no memory of ours.
    let flags = unsafe { libc::fcntl(raw, libc::F_GETFL) };
    if flags < 0 {
        return Err(SysError::last("fcntl F_GETFL", None));
    }
    // SAFETY: the descriptor is open (checked just above) and belongs to the caller for
    // the whole run of this process; kapsel never closes it, so it outlives the borrow.
    Ok((unsafe { BorrowedFd::borrow_raw(raw) }, flags))
}
