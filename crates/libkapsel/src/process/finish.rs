//! The last steps before execve, shared by a container's init and by `exec`: rlimits,
//! oom_score_adj, working directory, the terminal as stdio, the executable, scheduler,
//! I/O priority, personality, LSM label, umask, no_new_privs, descriptor hygiene,
//! signals, and capabilities around the uid change. The seccomp filter is loaded last.

use super::lookup;
use super::plan::{ProcessPlan, UserPlan};
use crate::error::{nix_err, Error, Result};
use crate::security;
use kapsel_seccomp::Filter;
use nix::sys::stat::{umask, Mode};
use nix::unistd::{setgid, setgroups, setuid, Gid, Uid};
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
    /// Run `path` with the wasm handler instead of execve (crate::wasm).
    pub wasm: bool,
}

impl ExecImage {
    /// Loads a late seccomp filter, then replaces this process; returns only on
    /// failure, with the error.
    pub fn exec(&self) -> Error {
        if let Err(e) = self.load_late_seccomp() {
            return e;
        }
        let err = nix::unistd::execve(&self.path, &self.argv, &self.envp).unwrap_err();
        crate::error::ExecError::Execve {
            path: self.path.to_string_lossy().into_owned(),
            errno: err as i32,
        }
        .into()
    }

    /// Loads the filter left for the last moment (before execve, or before the wasm
    /// handler runs the module).
    pub fn load_late_seccomp(&self) -> Result<()> {
        if let Some(filter) = &self.late_seccomp {
            kapsel_seccomp::load(filter).map_err(|source| Error::Seccomp {
                field: "linux.seccomp",
                source,
            })?;
        }
        Ok(())
    }
}

pub fn finish(
    plan: &ProcessPlan,
    console: Option<OwnedFd>,
    preserve_fds: u32,
    seccomp: Option<&Filter>,
    proc: crate::linux::procfs::ProcRoot,
) -> Result<ExecImage> {
    set_rlimits(plan)?;
    if let Some(adj) = plan.oom_score_adj {
        proc.write_own("oom_score_adj", &adj.to_string())
            .map_err(|e| {
                Error::config(
                    "process.oomScoreAdj",
                    format!("write `{adj}` to /proc/self/oom_score_adj: {e}"),
                )
            })?;
    }
    enter_cwd(&plan.cwd)?;
    if let Some(slave) = &console {
        crate::process::tty::become_stdio(slave, plan.user.uid)?;
    }
    drop(console);
    // A wasm module is a file the handler reads (relative to the working directory, as
    // crun's handlers open it), not an executable in PATH.
    let path = if plan.wasm {
        std::path::PathBuf::from(&plan.arg0)
    } else {
        lookup::resolve(&plan.arg0, &plan.env)?
    };
    security::process_attrs::apply_scheduler(plan.scheduler.as_ref())?;
    security::process_attrs::apply_io_priority(plan.io_priority)?;
    security::process_attrs::apply_personality(plan.personality)?;
    security::process_attrs::apply_lsm(plan.apparmor.as_deref(), plan.selinux.as_deref(), &proc)?;
    let nnp = plan.no_new_privileges;
    umask(Mode::from_bits_truncate(plan.user.umask));
    if nnp {
        nix::sys::prctl::set_no_new_privs().map_err(nix_err("prctl(PR_SET_NO_NEW_PRIVS)", ""))?;
    }
    super::affinity::apply(
        plan.affinity_final.as_deref(),
        super::affinity::Stage::Final,
    )?;
    // Nothing the caller leaked reaches the process: only stdio and preserved fds stay.
    kapsel_sys::process::cloexec_from(3 + preserve_fds + listen_fds())?;
    // Set up by the runtime for its own crash; the process must outlive `create`.
    nix::sys::prctl::set_pdeathsig(None).map_err(nix_err("prctl(PR_SET_PDEATHSIG)", ""))?;
    // One read of the process's status tells the ignored signals and the capabilities
    // held, instead of a query per signal and per capability.
    let masks = proc.status_masks();
    kapsel_sys::process::reset_signals(masks.map_or(u64::MAX, |m| m.ignored_signals));
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
        argv: plan.args.clone(),
        envp: if plan.env.iter().any(|e| e.starts_with("HOME=")) {
            plan.envp.clone()
        } else {
            let mut envp = plan.envp.clone();
            envp.extend(lookup::cstrings(
                &[format!("HOME={}", lookup::home_of(plan.user.uid))],
                "HOME",
            )?);
            envp
        },
        late_seccomp: if early.is_none() {
            seccomp.cloned()
        } else {
            None
        },
        notify_fd: None,
        wasm: plan.wasm,
    };
    let keep_admin = early.is_some() && !nnp;
    let caps = security::capabilities::CapChange::new(
        plan.caps,
        plan.user.uid,
        keep_admin,
        plan.cap_last,
        masks.map(|m| (m.permitted, m.bounding)),
    );
    caps.before_user_change()?;
    set_user(&plan.user, &proc)?;
    drop(proc);
    caps.after_user_change()?;
    if let Some(filter) = early {
        image.notify_fd = kapsel_seccomp::load(filter).map_err(|source| Error::Seccomp {
            field: "linux.seccomp",
            source,
        })?;
    }
    caps.drop_kept_admin();
    Ok(image)
}

fn set_rlimits(plan: &ProcessPlan) -> Result<()> {
    for r in &plan.rlimits {
        nix::sys::resource::setrlimit(r.resource, r.soft, r.hard).map_err(|e| {
            Error::config(
                format!("process.rlimits[{}]", r.index),
                format!(
                    "setrlimit {} soft {} hard {}: {}",
                    r.name,
                    r.soft,
                    r.hard,
                    kapsel_sys::errno_text(e as i32)
                ),
            )
        })?;
    }
    Ok(())
}

fn set_user(user: &UserPlan, proc: &crate::linux::procfs::ProcRoot) -> Result<()> {
    let groups: Vec<Gid> = user.groups.iter().map(|g| Gid::from_raw(*g)).collect();
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
    setgid(Gid::from_raw(user.gid)).map_err(|e| {
        Error::config(
            "process.user.gid",
            format!("setgid {}: {}", user.gid, kapsel_sys::errno_text(e as i32)),
        )
    })?;
    setuid(Uid::from_raw(user.uid)).map_err(|e| {
        Error::config(
            "process.user.uid",
            format!("setuid {}: {}", user.uid, kapsel_sys::errno_text(e as i32)),
        )
    })?;
    Ok(())
}

/// LISTEN_FDS from systemd socket activation: those fds are passed through too.
/// The working directory, resolved inside the container's root with no magic links,
/// so that `/proc/self/fd/N` or a symlink cannot put the process in a host directory
/// (CVE-2024-21626).
fn enter_cwd(cwd: &std::path::Path) -> Result<()> {
    use crate::linux::{openat2, ResolveFlag};
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
        ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS,
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

fn setgroups_denied(proc: &crate::linux::procfs::ProcRoot) -> bool {
    proc.read_own("setgroups").is_ok_and(|s| s.trim() == "deny")
}
