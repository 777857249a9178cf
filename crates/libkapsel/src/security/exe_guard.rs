//! CVE-2019-5736: until it execs the user's program, a container process is a copy of
//! kapsel, and a program it runs through `#!/proc/self/exe` is kapsel again. If the
//! kapsel binary could be opened for writing through /proc/PID/exe, a container could
//! overwrite the host's runtime. So the commands that make container processes
//! (create, run, exec) first re-execute themselves from a read-only mount of the
//! binary: every /proc/PID/exe of kapsel code the container can ever see then lives on
//! a read-only mount (EROFS), also after kapsel has exited.
//!
//! Two ways, the cheaper first: a detached copy of the binary's mount
//! (`open_tree(OPEN_TREE_CLONE)`) made read-only with `mount_setattr` and executed with
//! `execveat(AT_EMPTY_PATH)` — no namespace to copy or tear down, the runtime stays in
//! the caller's mount namespace. Where that is not permitted (a caller inside a user
//! namespace does not own the mount), a private mount namespace with a read-only bind
//! mount of the binary, as before (docs/performance.md compares them). Skipped when
//! the binary is not writable by us anyway (a read-only mount, rootless), but not for
//! an immutable binary (see `writable`).

use crate::error::{nix_err, Error, Result};
use nix::mount::{mount, MsFlags};
use nix::sched::{unshare, CloneFlags};
use std::ffi::{CString, OsString};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Set in the re-executed process's environment (and removed at once).
const MARKER: &str = "_KAPSEL_RO_EXE";

/// Returns when this process already runs from a read-only binary; otherwise re-execs.
pub fn ensure_readonly_exe() -> Result<()> {
    if let Some(v) = std::env::var_os(MARKER) {
        // Children must not see it: they are not re-executions of this binary.
        std::env::remove_var(MARKER);
        if let Some(fd) = v.to_str().and_then(|v| v.parse::<RawFd>().ok()) {
            let fd = kapsel_sys::fs::owned_from_inherited(fd);
            let _ = nix::fcntl::fcntl(
                &fd,
                nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            );
            crate::linux::mount_ns::remember_caller(fd);
        }
        return Ok(());
    }
    let exe = std::fs::read_link("/proc/self/exe")
        .map_err(|e| Error::io("readlink", "/proc/self/exe", e))?;
    if !writable(&exe) {
        return Ok(());
    }
    if exe.as_os_str().as_bytes().ends_with(b" (deleted)") {
        return Err(Error::msg(format!(
            "the kapsel binary `{}` was deleted: run the new one",
            exe.display()
        )));
    }
    if let Some(tree) = detached_readonly(&exe) {
        return Err(reexec(&exe, tree.as_fd(), DETACHED));
    }
    // The caller's mount namespace, kept open across the exec: hooks that run "in the
    // runtime namespace" run there (see `in_caller_mount_ns`).
    let caller_ns = std::fs::File::open("/proc/self/ns/mnt")
        .map_err(|e| Error::io("open", "/proc/self/ns/mnt", e))?;
    let caller_ns = OwnedFd::from(caller_ns);
    nix::fcntl::fcntl(
        &caller_ns,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .map_err(nix_err("fcntl(F_SETFD)", "/proc/self/ns/mnt"))?;
    unshare(CloneFlags::CLONE_NEWNS).map_err(nix_err(
        "unshare(CLONE_NEWNS) to protect the runtime binary",
        "",
    ))?;
    // Nothing of ours propagates back to the caller's namespace.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(nix_err("make the runtime's mount namespace rslave", "/"))?;
    mount(
        Some(&exe),
        &exe,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(nix_err("bind the runtime binary", &exe))?;
    let flags = MsFlags::MS_BIND
        | MsFlags::MS_REMOUNT
        | MsFlags::MS_RDONLY
        | crate::rootfs::paths::locked_flags(&exe);
    mount(None::<&str>, &exe, None::<&str>, flags, None::<&str>)
        .map_err(nix_err("remount the runtime binary read-only", &exe))?;
    let path = cstring(exe.clone().into_os_string())?;
    let marker = caller_ns.as_raw_fd().to_string();
    let (args, env) = exec_args(&marker)?;
    let err = nix::unistd::execve(&path, &args, &env).unwrap_err();
    Err(nix_err(
        "re-exec the runtime from its read-only mount",
        PathBuf::from(&exe),
    )(err))
}

/// The marker value of a re-exec from a detached mount (no caller namespace to keep).
const DETACHED: &str = "detached";

/// A read-only detached mount of the binary alone, or None when this process may not
/// make one (then the namespace method is used).
fn detached_readonly(exe: &std::path::Path) -> Option<OwnedFd> {
    let tree = kapsel_sys::fs::open_tree_clone(exe, false).ok()?;
    kapsel_sys::fs::mount_setattr(tree.as_fd(), false, kapsel_sys::fs::MOUNT_ATTR_RDONLY, 0)
        .ok()?;
    Some(tree)
}

/// execveat(AT_EMPTY_PATH) of the binary through `tree`; returns only on failure.
fn reexec(exe: &std::path::Path, tree: std::os::fd::BorrowedFd<'_>, marker: &str) -> Error {
    let (args, env) = match exec_args(marker) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let err = nix::unistd::execveat(tree, c"", &args, &env, nix::fcntl::AtFlags::AT_EMPTY_PATH)
        .unwrap_err();
    nix_err(
        "re-exec the runtime from its read-only mount",
        PathBuf::from(exe),
    )(err)
}

/// This process's arguments, and its environment with the marker set to `marker`.
fn exec_args(marker: &str) -> Result<(Vec<CString>, Vec<CString>)> {
    let args: Vec<CString> = std::env::args_os().map(cstring).collect::<Result<_>>()?;
    let mut env: Vec<CString> = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            cstring(kv)
        })
        .collect::<Result<_>>()?;
    env.push(cstring(OsString::from(format!("{MARKER}={marker}")))?);
    Ok((args, env))
}

/// Whether we could open the binary for writing (root can unless the mount is
/// read-only or the file immutable).
/// Whether the binary needs the guard: only a read-only mount (EROFS) and file
/// permissions that deny us (EACCES: rootless) keep a container out. An immutable or
/// append-only binary (EPERM) does not: a container granted CAP_LINUX_IMMUTABLE could
/// clear the flag through /proc/PID/exe and then write (escapes.rs attacks it).
fn writable(path: &std::path::Path) -> bool {
    !matches!(
        nix::unistd::access(path, nix::unistd::AccessFlags::W_OK),
        Err(nix::Error::EROFS | nix::Error::EACCES)
    )
}

fn cstring(s: OsString) -> Result<CString> {
    CString::new(s.as_bytes())
        .map_err(|_| Error::msg("an argument or environment entry holds a NUL byte"))
}
