//! The last steps before execve, shared by a container's init and by `exec`: rlimits,
//! oom_score_adj, working directory, the terminal as stdio, the executable, scheduler,
//! I/O priority, personality, LSM label, umask, no_new_privs, descriptor hygiene,
//! signals, and capabilities around the uid change. The seccomp filter is loaded last.

use super::exec;
use crate::error::{nix_err, Error, Result};
use crate::security;
use kapsel_seccomp::Filter;
use nix::sys::stat::{umask, Mode};
use nix::unistd::{setgid, setgroups, setuid, Gid, Uid};
use oci_spec::runtime::{PosixRlimitType, Process, Spec};
use std::ffi::CString;
use std::os::fd::OwnedFd;

/// What execve needs, prepared while errors can still be reported.
pub struct ExecImage {
    pub path: CString,
    pub argv: Vec<CString>,
    pub envp: Vec<CString>,
    /// A filter still to load right before execve (no_new_privs set, no NOTIFY).
    pub late_seccomp: Option<Filter>,
    /// The user-notification fd of a filter loaded already, for the seccomp agent.
    pub notify_fd: Option<OwnedFd>,
}

impl ExecImage {
    /// Loads a late seccomp filter, then replaces this process; returns only on
    /// failure, with the error.
    pub fn exec(&self) -> Error {
        if let Some(filter) = &self.late_seccomp {
            if let Err(e) = kapsel_seccomp::load(filter) {
                return Error::config("linux.seccomp", e.to_string());
            }
        }
        let err = nix::unistd::execve(&self.path, &self.argv, &self.envp).unwrap_err();
        Error::msg(format!(
            "exec `{}`: {}",
            self.path.to_string_lossy(),
            kapsel_sys::errno_text(err as i32)
        ))
    }
}

pub fn finish(
    process: &Process,
    spec: &Spec,
    console: Option<OwnedFd>,
    preserve_fds: u32,
    seccomp: Option<&Filter>,
    proc: crate::procfs::ProcRoot,
) -> Result<ExecImage> {
    let cwd = process.cwd();
    set_rlimits(process)?;
    if let Some(adj) = process.oom_score_adj() {
        proc.write_own("oom_score_adj", &adj.to_string())
            .map_err(|e| {
                Error::config(
                    "process.oomScoreAdj",
                    format!("write `{adj}` to /proc/self/oom_score_adj: {e}"),
                )
            })?;
    }
    enter_cwd(cwd)?;
    if let Some(slave) = &console {
        crate::tty::become_stdio(slave)?;
    }
    drop(console);
    let env = process.env().clone().unwrap_or_default();
    let args = process.args().clone().unwrap_or_default();
    let path = exec::resolve(&args[0], &env)?;
    security::process_attrs::apply_scheduler(process)?;
    security::process_attrs::apply_io_priority(process)?;
    security::process_attrs::apply_personality(spec)?;
    security::process_attrs::apply_lsm(process)?;
    let nnp = process.no_new_privileges().unwrap_or(false);
    umask(Mode::from_bits_truncate(
        process.user().umask().unwrap_or(0o022),
    ));
    if nnp {
        nix::sys::prctl::set_no_new_privs().map_err(nix_err("prctl(PR_SET_NO_NEW_PRIVS)", ""))?;
    }
    super::affinity::apply(process, super::affinity::Stage::Final)?;
    // Nothing the caller leaked reaches the process: only stdio and preserved fds stay.
    kapsel_sys::process::cloexec_from(3 + preserve_fds + listen_fds())?;
    // Set up by the runtime for its own crash; the process must outlive `create`.
    kapsel_sys::process::set_parent_death_signal(0)?;
    kapsel_sys::process::reset_signals();
    // Without no_new_privs, loading the filter needs CAP_SYS_ADMIN, so it is loaded
    // before the process gives up its capabilities (as runc does); a NOTIFY filter is
    // loaded here too, so its fd reaches the runtime while the runtime still listens.
    // Otherwise it is loaded just before execve. A filter loaded here sees every later
    // call of ours, and a profile may deny any of them (one written before close_range
    // existed answers it with ENOSYS). So everything above and the whole user and
    // capability change below happen first, with CAP_SYS_ADMIN kept until the filter is
    // in; after it come only calls that cannot be avoided or have a fallback
    // (docs/security.md, "After the seccomp filter").
    let early = seccomp.filter(|f| !nnp || f.uses_notify());
    let mut image = ExecImage {
        path: CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| Error::config("process.args[0]", "contains a NUL byte"))?,
        argv: exec::cstrings(&args, "process.args")?,
        envp: exec::cstrings(&env, "process.env")?,
        late_seccomp: if early.is_none() {
            seccomp.cloned()
        } else {
            None
        },
        notify_fd: None,
    };
    let keep_admin = early.is_some() && !nnp;
    let caps = security::capabilities::plan_for(process, keep_admin);
    caps.before_user_change()?;
    set_user(process, &proc)?;
    drop(proc);
    caps.after_user_change()?;
    if let Some(filter) = early {
        image.notify_fd = kapsel_seccomp::load(filter)
            .map_err(|e| Error::config("linux.seccomp", e.to_string()))?;
    }
    caps.drop_kept_admin();
    Ok(image)
}

fn set_rlimits(process: &Process) -> Result<()> {
    use nix::sys::resource::{setrlimit, Resource};
    for (i, r) in process.rlimits().iter().flatten().enumerate() {
        let res = match r.typ() {
            PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
            PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
            PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
            PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
            PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
            PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
            PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
            PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
            PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
            PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
            PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
            PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
            PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
            PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
            PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
            PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
        };
        setrlimit(res, r.soft(), r.hard()).map_err(|e| {
            Error::config(
                format!("process.rlimits[{i}]"),
                format!(
                    "setrlimit {:?} soft {} hard {}: {}",
                    r.typ(),
                    r.soft(),
                    r.hard(),
                    kapsel_sys::errno_text(e as i32)
                ),
            )
        })?;
    }
    Ok(())
}

fn set_user(process: &Process, proc: &crate::procfs::ProcRoot) -> Result<()> {
    let user = process.user();
    // Duplicates removed, first occurrence kept (as runc does).
    let mut groups: Vec<Gid> = Vec::new();
    for g in user
        .additional_gids()
        .iter()
        .flatten()
        .map(|g| Gid::from_raw(*g))
    {
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    match setgroups(&groups) {
        Ok(()) => {}
        // In a user namespace whose setgroups is "deny" (rootless), an empty list is the best
        // we can do: the process keeps the groups it has, as runc does.
        Err(nix::Error::EPERM) if groups.is_empty() && setgroups_denied(proc) => {}
        Err(e) => {
            return Err(Error::config(
                "process.user.additionalGids",
                format!("setgroups: {}", kapsel_sys::errno_text(e as i32)),
            ))
        }
    }
    setgid(Gid::from_raw(user.gid())).map_err(|e| {
        Error::config(
            "process.user.gid",
            format!(
                "setgid {}: {}",
                user.gid(),
                kapsel_sys::errno_text(e as i32)
            ),
        )
    })?;
    setuid(Uid::from_raw(user.uid())).map_err(|e| {
        Error::config(
            "process.user.uid",
            format!(
                "setuid {}: {}",
                user.uid(),
                kapsel_sys::errno_text(e as i32)
            ),
        )
    })?;
    Ok(())
}

/// LISTEN_FDS from systemd socket activation: those fds are passed through too.
/// The working directory, resolved inside the container's root with no magic links,
/// so that `/proc/self/fd/N` or a symlink cannot put the process in a host directory
/// (CVE-2024-21626).
fn enter_cwd(cwd: &std::path::Path) -> Result<()> {
    use kapsel_sys::fs::{openat2, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS};
    let root = std::fs::File::open("/").map_err(|e| Error::io("open", "/", e))?;
    let rel = cwd.strip_prefix("/").unwrap_or(cwd);
    let rel = if rel.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        rel
    };
    let fd = openat2(
        std::os::fd::AsFd::as_fd(&root),
        rel,
        libc::O_PATH | libc::O_DIRECTORY,
        0,
        RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
    )
    .map_err(|e| {
        Error::config(
            "process.cwd",
            format!("`{}`: {}", cwd.display(), kapsel_sys::errno_text(e.errno)),
        )
    })?;
    nix::unistd::fchdir(&fd).map_err(|e| {
        Error::config(
            "process.cwd",
            format!(
                "chdir `{}`: {}",
                cwd.display(),
                kapsel_sys::errno_text(e as i32)
            ),
        )
    })
}

pub fn listen_fds() -> u32 {
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn setgroups_denied(proc: &crate::procfs::ProcRoot) -> bool {
    proc.read_own("setgroups").is_ok_and(|s| s.trim() == "deny")
}
