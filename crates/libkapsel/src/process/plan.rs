//! One process of a container, decided before it is cloned: `process` of config.json (or
//! of `exec`) checked and turned into the values the kernel takes, so that a bad value
//! fails while nothing on the host has changed and the code after the clone only
//! applies. A container's init and every `exec`'d process are planned here, and so is
//! all a container's init gets across the clone ([`InitPlan`], built by container::plan).

use crate::error::{Error, Result};
use crate::linux::namespaces::NamespacePlan;
use crate::rootfs::RootfsPlan;
use crate::security::capabilities::{self, CapSets};
use crate::state::StoredHook;
use kapsel_sys::process::SchedAttr;
use nix::sys::resource::Resource;
use oci_spec::runtime::{PosixRlimitType, Process, Spec};
use std::ffi::CString;
use std::path::PathBuf;

/// One `process.rlimits` entry.
#[derive(Debug, Clone)]
pub struct Rlimit {
    pub index: usize,
    pub name: String,
    pub resource: Resource,
    pub soft: u64,
    pub hard: u64,
}

/// The uid/gid change: ids, additional groups (duplicates removed, as runc does), umask.
#[derive(Debug, Clone)]
pub struct UserPlan {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    pub umask: u32,
}

#[derive(Debug, Clone)]
pub struct ProcessPlan {
    /// The executable as given (looked up in the container's PATH after pivot_root).
    pub arg0: String,
    pub args: Vec<CString>,
    pub env: Vec<String>,
    pub envp: Vec<CString>,
    pub cwd: PathBuf,
    pub terminal: bool,
    /// (rows, columns) of the terminal.
    pub console_size: Option<(u16, u16)>,
    pub user: UserPlan,
    /// The five sets, None when the config names none (the uid change alone decides).
    pub caps: Option<CapSets>,
    /// The highest capability this kernel knows (/proc/sys/kernel/cap_last_cap), read
    /// once by the runtime.
    pub cap_last: u32,
    pub rlimits: Vec<Rlimit>,
    pub oom_score_adj: Option<i32>,
    pub no_new_privileges: bool,
    pub scheduler: Option<SchedAttr>,
    /// (class, priority) for ioprio_set.
    pub io_priority: Option<(u32, u32)>,
    /// `linux.personality`, which applies to every process of the container.
    pub personality: Option<u64>,
    pub apparmor: Option<String>,
    pub selinux: Option<String>,
    /// `execCPUAffinity`: before the cgroup join, and just before execve.
    pub affinity_initial: Option<Vec<u32>>,
    pub affinity_final: Option<Vec<u32>>,
    /// A container's init run by the wasm handler (process::handler) instead of execve:
    /// `arg0` is the module, not looked up in PATH.
    pub wasm: bool,
}

impl ProcessPlan {
    /// Plans `process`; `spec` gives the container-wide fields that apply to it too.
    pub fn new(process: &Process, spec: &Spec) -> Result<ProcessPlan> {
        let args = process.args().clone().unwrap_or_default();
        let Some(arg0) = args.first().cloned() else {
            return Err(Error::config(
                "process.args",
                "must name at least the executable",
            ));
        };
        if !process.cwd().is_absolute() {
            return Err(Error::config(
                "process.cwd",
                format!("`{}` is not an absolute path", process.cwd().display()),
            ));
        }
        let env = environment(process.env().as_deref().unwrap_or_default())?;
        let user = process.user();
        let mut groups = Vec::new();
        for g in user.additional_gids().iter().flatten() {
            if !groups.contains(g) {
                groups.push(*g);
            }
        }
        let last = capabilities::last_cap();
        Ok(ProcessPlan {
            args: super::lookup::cstrings(&args, "process.args")?,
            envp: super::lookup::cstrings(&env, "process.env")?,
            arg0,
            env,
            cwd: process.cwd().clone(),
            terminal: process.terminal().unwrap_or(false),
            console_size: process
                .console_size()
                .as_ref()
                .map(|b| (b.height() as u16, b.width() as u16)),
            user: UserPlan {
                uid: user.uid(),
                gid: user.gid(),
                groups,
                umask: user.umask().unwrap_or(0o022),
            },
            caps: process
                .capabilities()
                .as_ref()
                .map(|c| capabilities::plan(c, last)),
            cap_last: last,
            rlimits: rlimits(process)?,
            oom_score_adj: process.oom_score_adj(),
            no_new_privileges: process.no_new_privileges().unwrap_or(false),
            scheduler: crate::security::process_attrs::plan_scheduler(process)?,
            io_priority: crate::security::process_attrs::plan_io_priority(process)?,
            personality: spec
                .linux()
                .as_ref()
                .and_then(|l| l.personality().as_ref())
                .map(crate::security::process_attrs::personality_value)
                .transpose()?,
            apparmor: process.apparmor_profile().clone().filter(|p| !p.is_empty()),
            selinux: process.selinux_label().clone().filter(|p| !p.is_empty()),
            affinity_initial: super::affinity::cpus(process, super::affinity::Stage::Initial)?,
            affinity_final: super::affinity::cpus(process, super::affinity::Stage::Final)?,
            wasm: false,
        })
    }

    /// With the descriptors of systemd socket activation (`LISTEN_FDS` of the runtime)
    /// passed on: the count, with the container's init as their owner (as runc does).
    pub fn with_listen_fds(mut self, n: u32) -> Result<ProcessPlan> {
        if n == 0 {
            return Ok(self);
        }
        self.env
            .retain(|e| !e.starts_with("LISTEN_FDS=") && !e.starts_with("LISTEN_PID="));
        self.env.push(format!("LISTEN_FDS={n}"));
        self.env.push("LISTEN_PID=1".to_string());
        self.envp = super::lookup::cstrings(&self.env, "process.env")?;
        Ok(self)
    }
}

/// `process.env` as the process gets it: every entry `name=value` with a name (runc
/// refuses the config otherwise), and a name given twice kept once, with its last value
/// in its first place (as runc and crun do).
fn environment(env: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::with_capacity(env.len());
    for (i, entry) in env.iter().enumerate() {
        let Some((name, _)) = entry.split_once('=').filter(|(name, _)| !name.is_empty()) else {
            return Err(Error::config(
                format!("process.env[{i}]"),
                format!("`{}` is not name=value", entry.escape_debug()),
            ));
        };
        let prefix = name.len() + 1;
        match out
            .iter_mut()
            .find(|e| e.len() >= prefix && e[..prefix] == entry[..prefix])
        {
            Some(first) => first.clone_from(entry),
            None => out.push(entry.clone()),
        }
    }
    Ok(out)
}

fn rlimits(process: &Process) -> Result<Vec<Rlimit>> {
    let mut out = Vec::new();
    for (index, r) in process.rlimits().iter().flatten().enumerate() {
        let resource = match r.typ() {
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
        if r.soft() > r.hard() {
            return Err(Error::config(
                format!("process.rlimits[{index}]"),
                format!(
                    "soft limit {} is above the hard limit {}",
                    r.soft(),
                    r.hard()
                ),
            ));
        }
        out.push(Rlimit {
            index,
            name: format!("{:?}", r.typ()),
            resource,
            soft: r.soft(),
            hard: r.hard(),
        });
    }
    Ok(out)
}

/// What the container process does, and nothing else.
pub struct InitPlan {
    pub id: String,
    pub rootfs: PathBuf,
    pub ns: NamespacePlan,
    pub root: RootfsPlan,
    pub process: ProcessPlan,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    /// `linux.sysctl`, checked to be scoped by the container's own namespaces.
    pub sysctl: Vec<(String, String)>,
    /// `linux.timeOffsets` as /proc/PID/timens_offsets takes it.
    pub time_offsets: Option<String>,
    pub mempolicy: Option<crate::linux::mempolicy::MemPolicy>,
    pub seccomp: Option<kapsel_seccomp::Filter>,
    pub create_container_hooks: Vec<StoredHook>,
    pub start_container_hooks: Vec<StoredHook>,
    /// Some hook at all: the process asks the runtime to run prestart and createRuntime
    /// and gets the state JSON for the hooks it runs itself.
    pub any_hooks: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_keeps_one_entry_per_name_and_refuses_entries_without_a_name() {
        let env = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            environment(&env(&["A=1", "TERM=xterm", "B=", "TERM=dumb", "AB=2"])).unwrap(),
            env(&["A=1", "TERM=dumb", "B=", "AB=2"])
        );
        let e = environment(&env(&["A=1", "NOEQUALS"]))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("process.env[1]") && e.contains("NOEQUALS"),
            "{e}"
        );
        assert!(environment(&env(&["=x"])).is_err());
    }
}
