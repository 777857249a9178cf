//! The container's cgroup in every hierarchy of the host: create, join, limit, freeze, inspect,
//! signal and remove it.
//!
//! On the hybrid layout, resources go to the v1 controllers and the container ALSO gets a
//! cgroup in the unified (v2) hierarchy, like runc. Devices and freezing use the v1 controllers
//! when they are mounted (as runc does on hybrid) and the v2 mechanisms (eBPF filter,
//! cgroup.freeze) otherwise; `kill_all(SIGKILL)` uses v2's atomic cgroup.kill when present.

use crate::devices::{self, DeviceRule};
use crate::dirs::{
    above_created, create_dir_all, enable_controllers, inherit_cpuset, rmdir_retrying,
};
use crate::error::{CgroupError, Result};
use crate::files;
use crate::freezer::{Freezer, FreezerState};
use crate::join::SelfJoin;
use crate::layout::{Layout, LayoutKind};
use crate::oom::OomWatcher;
use crate::path::{self, Host};
use crate::stats::{self, Stats};
use crate::{v1, v2, validate};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use oci_spec::runtime::LinuxResources;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the container's cgroups are; small enough for the state file, so `delete` and the
/// other verbs rebuild the manager without re-reading the spec.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CgroupPaths {
    pub kind: LayoutKind,
    /// v1 controller -> directory (co-mounted controllers share one).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub v1: BTreeMap<String, PathBuf>,
    /// The directory in the cgroup2 hierarchy (V2 and Hybrid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unified: Option<PathBuf>,
    /// The top-most directories `create` made; `destroy` removes empty parents up to these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created: Vec<PathBuf>,
    /// Set when a rootless container runs without cgroups: why (every method is then a no-op).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// With the systemd driver: the transient scope unit that owns these cgroups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_unit: Option<String>,
    /// The unit belongs to the caller's `systemd --user` (rootless), not to PID 1.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub systemd_user: bool,
}

impl CgroupPaths {
    /// Every distinct directory, v1 first, then the unified one.
    pub fn dirs(&self) -> Vec<&Path> {
        let mut out: Vec<&Path> = Vec::new();
        for dir in self
            .v1
            .values()
            .map(PathBuf::as_path)
            .chain(self.unified.as_deref())
        {
            if !out.contains(&dir) {
                out.push(dir);
            }
        }
        out
    }
}

/// The cgroup manager of one container.
#[derive(Debug)]
pub struct Manager {
    paths: CgroupPaths,
    rootless: bool,
    /// With the systemd driver, while creating: the unit to start.
    unit: Option<crate::systemd::Unit>,
    /// The calling process's own cgroups, to go back to after the systemd scope started
    /// with it inside (see `start_unit` and `leave`).
    home: Vec<PathBuf>,
    /// The cgroup2 mount point, where `create` starts enabling controllers on pure v2
    /// (None when rebuilt from a state file).
    unified_root: Option<PathBuf>,
    /// Rootless with the systemd driver: the unit to start with the container's init in
    /// it, once that process exists (`add_init`), and the resources to write then.
    pending: std::cell::RefCell<Option<PendingUnit>>,
    /// Why the systemd driver was asked for and not used (rootless without a user bus).
    fallback: Option<String>,
}

/// A user unit waiting for the container's init (see `Manager::add_init`).
#[derive(Debug)]
struct PendingUnit {
    unit: crate::systemd::Unit,
    props: Vec<(&'static str, crate::systemd::Value)>,
    rest: Option<LinuxResources>,
}

impl Manager {
    /// Resolves the container's directories following runc's `cgroupsPath` rules; touches
    /// nothing.
    pub fn new(
        host: &Host,
        layout: &Layout,
        cgroups_path: Option<&str>,
        container_id: &str,
        systemd: bool,
        rootless: bool,
    ) -> Result<Self> {
        use crate::systemd::Instance;
        let instance = systemd.then_some(if rootless {
            Instance::User
        } else {
            Instance::System
        });
        let mut inner = path::inner_path(host, cgroups_path, container_id, instance)?;
        let mut unit = match instance {
            Some(i) => Some(crate::systemd::unit_for(cgroups_path, container_id, i)?),
            None => None,
        };
        let user = instance == Some(Instance::User);
        if let Some(u) = unit.as_mut().filter(|_| user) {
            // The user manager's units are below its own cgroup.
            match crate::systemd::user_manager_cgroup() {
                Ok(base) => {
                    u.cgroup = base.join(&u.cgroup);
                    inner = path::InnerPath::Absolute(u.cgroup.clone());
                }
                Err(e) if e.bus_absent() => {
                    // As without the systemd driver (a delegated cgroup of the caller's,
                    // else no cgroups at all), saying why once.
                    let mut m = Self::new(host, layout, None, container_id, false, true)?;
                    m.fallback = Some(format!(
                        "rootless: the systemd cgroup driver needs the user's systemd ({e})"
                    ));
                    return Ok(m);
                }
                Err(source) => {
                    return Err(CgroupError::Systemd {
                        unit: u.name.clone(),
                        what: "ControlGroup of the user's systemd",
                        source,
                    })
                }
            }
        }
        let here = path::InnerPath::Relative(PathBuf::new());
        let own = path::OwnCgroups::new(&host.self_cgroup);
        let mut home = Vec::new();
        let mut v1 = BTreeMap::new();
        if layout.kind != LayoutKind::V2 {
            for h in &layout.v1 {
                let dir = path::hierarchy_dir(
                    &own,
                    &inner,
                    &h.mount_point,
                    &h.mount_root,
                    &h.controllers,
                )?;
                if unit.is_some() && !user {
                    home.push(path::hierarchy_dir(
                        &own,
                        &here,
                        &h.mount_point,
                        &h.mount_root,
                        &h.controllers,
                    )?);
                }
                for c in &h.controllers {
                    v1.insert(c.clone(), dir.clone());
                }
            }
        }
        let unified = match &layout.unified {
            Some(mount) => {
                if unit.is_some() && !user {
                    home.push(path::hierarchy_dir(
                        &own,
                        &here,
                        mount,
                        &layout.unified_mount_root,
                        &[],
                    )?);
                }
                // Pure v2 takes runc's fs2 rule for relative paths (`on_pure_v2`).
                let inner = if layout.kind == LayoutKind::V2 {
                    inner.on_pure_v2()
                } else {
                    inner
                };
                Some(path::hierarchy_dir(
                    &own,
                    &inner,
                    mount,
                    &layout.unified_mount_root,
                    &[],
                )?)
            }
            None => None,
        };
        Ok(Manager {
            paths: CgroupPaths {
                kind: layout.kind,
                v1,
                unified,
                created: Vec::new(),
                skipped: None,
                systemd_unit: unit.as_ref().map(|u| u.name.clone()),
                systemd_user: user,
            },
            rootless,
            unit,
            home,
            unified_root: layout.unified.clone(),
            pending: Default::default(),
            fallback: None,
        })
    }

    /// With the systemd driver: starts the container's scope with the calling process in it
    /// (systemd will not start an empty scope) and the limits systemd expresses as unit
    /// properties, and returns the resources left for `apply`. The caller moves back out with
    /// `leave` once the container process is inside. Without systemd: `resources` as given.
    pub fn start_unit(
        &mut self,
        resources: Option<&LinuxResources>,
    ) -> Result<Option<LinuxResources>> {
        let Some(unit) = self.unit.take() else {
            return Ok(resources.cloned());
        };
        let (props, rest) = match resources {
            Some(r) => {
                // Checked whole before systemd is told any of it: a property systemd took
                // is not checked again (a memory limit of -5 would become `infinity`).
                validate::validate(r, self.paths.kind == LayoutKind::V2)?;
                let (props, rest) =
                    crate::systemd::split_resources(r, self.paths.kind == LayoutKind::V2);
                (props, Some(rest))
            }
            None => (Vec::new(), None),
        };
        if self.paths.systemd_user {
            // Started by `add_init` with the container's init in it; nothing to write now.
            *self.pending.borrow_mut() = Some(PendingUnit { unit, props, rest });
            return Ok(None);
        }
        crate::systemd::start(self.instance(), &unit, &[std::process::id()], props)?;
        Ok(rest)
    }

    fn instance(&self) -> crate::systemd::Instance {
        if self.paths.systemd_user {
            crate::systemd::Instance::User
        } else {
            crate::systemd::Instance::System
        }
    }

    /// Rootless with the systemd driver, between `start_unit` and `add_init`: the container's
    /// init must not join the cgroup itself (its scope does not exist yet, and a process
    /// outside the user's delegated cgroups could not move into it): systemd moves it.
    pub fn systemd_adopts_init(&self) -> bool {
        self.pending.borrow().is_some()
    }

    /// Puts the container's init (`pid`, waiting for its parent) into the cgroup: with a
    /// pending user unit, starts the unit with it inside and writes the resources systemd
    /// left to kapsel (returning notes, as `apply`); otherwise `add_pid`.
    pub fn add_init(&self, pid: i32) -> Result<Vec<String>> {
        let Some(p) = self.pending.borrow_mut().take() else {
            self.add_pid(pid)?;
            return Ok(Vec::new());
        };
        if let Err(e) =
            crate::systemd::start(self.instance(), &p.unit, &[pid as u32], p.props.clone())
        {
            // Never started: `destroy` must not stop a unit of that name (someone else's,
            // when systemd refused it as existing).
            *self.pending.borrow_mut() = Some(p);
            return Err(e);
        }
        match &p.rest {
            // No device filter: loading one takes privileges a rootless caller lacks (the
            // user namespace already keeps it from making device nodes).
            Some(rest) => self.set(rest, false),
            None => Ok(Vec::new()),
        }
    }

    /// Rootless with the systemd driver: whether a new process of the caller (`exec`) cannot
    /// join the container's scope itself. The kernel lets a process move one (itself too)
    /// only when it may write `cgroup.procs` of the common ancestor of both cgroups: from
    /// outside the cgroups systemd delegated to the user (a system service, `runuser`) it
    /// may not, and the user's systemd moves it instead (`attach_via_systemd`).
    pub fn joins_via_systemd(&self) -> bool {
        if !self.paths.systemd_user || self.paths.kind != LayoutKind::V2 {
            return false;
        }
        let Some(scope) = self.paths.unified.as_deref() else {
            return false;
        };
        let host = Host::system();
        let own = files::read_path(&host.self_cgroup).ok().and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("0::").map(str::to_string))
        });
        let (Some(own), Ok(layout)) = (own, crate::layout::detect(&host.root, &host.mountinfo))
        else {
            return false;
        };
        let Some(mount) = layout.unified.as_deref() else {
            return false;
        };
        let own = mount.join(own.trim_start_matches('/'));
        let common: PathBuf = own
            .components()
            .zip(scope.components())
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| a)
            .collect();
        [common.as_path(), scope].iter().any(|dir| {
            nix::unistd::access(&dir.join("cgroup.procs"), nix::unistd::AccessFlags::W_OK).is_err()
        })
    }

    /// Has the user's systemd move `pid` into the container's scope (see
    /// `joins_via_systemd`).
    pub fn attach_via_systemd(&self, pid: i32) -> Result<()> {
        let Some(unit) = &self.paths.systemd_unit else {
            return self.add_pid(pid);
        };
        crate::systemd::attach(self.instance(), unit, &[pid as u32])
    }

    /// Why the systemd driver asked for was not used (rootless without a user bus), for
    /// the caller to print once.
    pub fn fallback(&self) -> Option<&str> {
        self.fallback.as_deref()
    }

    /// Moves the calling process back to its own cgroups after `start_unit` (a no-op
    /// without the systemd driver).
    pub fn leave(&self) -> Result<()> {
        if self.paths.systemd_unit.is_none() {
            return Ok(());
        }
        for dir in &self.home {
            files::write(dir, "cgroup.procs", std::process::id())?;
        }
        Ok(())
    }

    /// A manager for cgroups an earlier `create` made (from the state file).
    pub fn from_paths(paths: CgroupPaths) -> Self {
        Manager {
            paths,
            rootless: false,
            pending: Default::default(),
            fallback: None,
            unit: None,
            home: Vec::new(),
            unified_root: None,
        }
    }

    pub fn paths(&self) -> &CgroupPaths {
        &self.paths
    }

    /// Why cgroups are not used (rootless and not writable): the caller prints it as a warning.
    pub fn skipped(&self) -> Option<&str> {
        self.paths.skipped.as_deref()
    }

    /// Creates every directory. In rootless mode a hierarchy we may not write makes the whole
    /// manager a no-op (see `skipped`) instead of an error.
    pub fn create(&mut self) -> Result<()> {
        if self.paths.systemd_user {
            // systemd makes the scope's cgroup when it starts the unit (`add_init`).
            return Ok(());
        }
        let dirs: Vec<PathBuf> = self
            .paths
            .dirs()
            .into_iter()
            .map(Path::to_path_buf)
            .collect();
        for dir in &dirs {
            match create_dir_all(dir) {
                Ok(top) => self.paths.created.extend(top),
                Err(CgroupError::Mkdir { errno, path })
                    if self.rootless
                        && [libc::EACCES, libc::EPERM, libc::EROFS].contains(&errno) =>
                {
                    let _ = self.destroy();
                    self.paths.created.clear();
                    self.paths.skipped = Some(format!(
                        "rootless: cannot create `{}` ({}), running without cgroups",
                        path.display(),
                        kapsel_sys::errno_text(errno)
                    ));
                    return Ok(());
                }
                Err(e) => {
                    let _ = self.destroy();
                    return Err(e);
                }
            }
            // A directory that already existed (made by someone else) may still not be
            // ours to join: rootless then runs without cgroups too.
            let procs = dir.join("cgroup.procs");
            if self.rootless
                && procs.exists()
                && nix::unistd::access(&procs, nix::unistd::AccessFlags::W_OK).is_err()
            {
                let _ = self.destroy();
                self.paths.created.clear();
                self.paths.skipped = Some(format!(
                    "rootless: cannot write `{}`, running without cgroups",
                    procs.display()
                ));
                return Ok(());
            }
        }
        if let Some(cpuset) = self.paths.v1.get("cpuset") {
            inherit_cpuset(cpuset)?;
        }
        if self.paths.kind == LayoutKind::V2 && self.paths.skipped.is_none() {
            if let Some(dir) = &self.paths.unified {
                // From the root (also for a systemd scope, which systemd made), as runc.
                let from = self
                    .unified_root
                    .as_deref()
                    .or_else(|| above_created(dir, &self.paths.created));
                if let Some(from) = from {
                    enable_controllers(dir, from)?;
                }
            }
        }
        Ok(())
    }

    /// Moves `pid` into the container's cgroup in every hierarchy.
    pub fn add_pid(&self, pid: i32) -> Result<()> {
        if self.paths.skipped.is_some() {
            return Ok(());
        }
        for dir in self.paths.dirs() {
            files::write(dir, "cgroup.procs", pid)?;
        }
        Ok(())
    }

    /// What a process about to be cloned needs to join the container's cgroups itself,
    /// without the kernel's global cgroup lock (see `join`). Empty when cgroups are
    /// skipped. `add_pid` is the way for a process that has more than one thread or
    /// cannot be made to cooperate.
    pub fn self_join(&self) -> Result<SelfJoin> {
        if self.paths.skipped.is_some() {
            return Ok(SelfJoin::default());
        }
        SelfJoin::open(
            self.paths.v1.values().map(PathBuf::as_path),
            self.paths.unified.as_deref(),
        )
    }

    /// Applies the spec's resources at create time, devices included. Returns notes about
    /// values this host cannot honour and skipped (for the caller to print as warnings).
    pub fn apply(&self, resources: &LinuxResources) -> Result<Vec<String>> {
        self.set(resources, true)
    }

    /// Applies new limits to a running container (`kapsel update`): like `apply`, but device
    /// rules stay as they are, as with runc.
    pub fn update(&self, resources: &LinuxResources) -> Result<Vec<String>> {
        if let Some(unit) = &self.paths.systemd_unit {
            let completed;
            let mut resources = resources;
            if let Some(period) = self.period_for_a_lone_quota(resources)? {
                let mut r = resources.clone();
                let mut cpu = r.cpu().clone().unwrap_or_default();
                cpu.set_period(Some(period));
                r.set_cpu(Some(cpu));
                completed = r;
                resources = &completed;
            }
            // Everything is checked before systemd is told any of it, as the files are
            // checked before the first write: a refused update changes nothing.
            validate::validate(resources, self.paths.kind == LayoutKind::V2)?;
            self.refuse_below_usage(resources)?;
            let (props, mut rest) =
                crate::systemd::split_resources(resources, self.paths.kind == LayoutKind::V2);
            crate::systemd::set_properties(self.instance(), unit, props)?;
            // systemd writes an unlimited quota as `max` with its default period of 100 ms,
            // whatever CPUQuotaPeriodUSec says: the period is written again after it (runc's
            // systemd driver writes the files after the properties too).
            if self.paths.kind == LayoutKind::V2 {
                if let Some(cpu) = resources.cpu().as_ref().filter(|c| c.quota() == Some(-1)) {
                    let mut c = rest.cpu().clone().unwrap_or_default();
                    c.set_quota(Some(-1));
                    c.set_period(cpu.period());
                    rest.set_cpu(Some(c));
                }
            }
            return self.set(&rest, false);
        }
        self.set(resources, false)
    }

    /// `memory.checkBeforeUpdate`: a new memory limit below the cgroup's usage is refused
    /// (the files' own check, made before systemd sets a `MemoryMax` it would not refuse).
    fn refuse_below_usage(&self, resources: &LinuxResources) -> Result<()> {
        let Some(m) = resources.memory().as_ref() else {
            return Ok(());
        };
        let limit = m.limit().unwrap_or(0);
        if m.check_before_update() != Some(true) || limit <= 0 {
            return Ok(());
        }
        let (dir, usage_file, limit_file) = match self.paths.kind {
            LayoutKind::V2 => (self.unified_dir()?, "memory.current", "memory.max"),
            _ => match self.paths.v1.get("memory") {
                Some(dir) => (
                    dir.as_path(),
                    "memory.usage_in_bytes",
                    "memory.limit_in_bytes",
                ),
                None => return Ok(()),
            },
        };
        let usage = files::read_u64(dir, usage_file)?;
        if (limit as u64) < usage {
            return Err(CgroupError::BelowUsage {
                path: dir.join(limit_file),
                limit,
                usage,
            });
        }
        Ok(())
    }

    fn set(&self, resources: &LinuxResources, with_devices: bool) -> Result<Vec<String>> {
        let mut ignored = Vec::new();
        if self.paths.skipped.is_some() {
            return Ok(ignored);
        }
        let kind = self.paths.kind;
        validate::validate(resources, kind == LayoutKind::V2)?;
        let rules: Option<Vec<DeviceRule>> = match resources.devices() {
            Some(list) if with_devices && !list.is_empty() => {
                let mut rules = devices::rules_from_spec(list)?;
                // The devices every container needs (null, zero, tty, pts, ...) come
                // after the spec's rules, as with runc, so a deny-all stays usable.
                rules.extend(devices::default_allowed());
                Some(rules)
            }
            _ => None,
        };
        let unified = resources.unified().as_ref().filter(|u| !u.is_empty());
        match kind {
            LayoutKind::V2 => {
                let dir = self.unified_dir()?;
                v2::apply(dir, resources, rules.as_deref(), &mut ignored)?;
            }
            LayoutKind::V1 | LayoutKind::Hybrid => {
                if let Some(unified) = unified {
                    let Some(dir) = self.paths.unified.as_deref() else {
                        return Err(CgroupError::unsupported(
                            "linux.resources.unified",
                            "cgroup v2 keys need a cgroup2 hierarchy, this host has only v1",
                        ));
                    };
                    // The runtime-spec: the controllers the keys need are enabled (in the
                    // levels this runtime made; on pure v2 `create` already did).
                    if let Some(from) = above_created(dir, &self.paths.created) {
                        enable_controllers(dir, from)?;
                    }
                    v2::check_unified_keys(dir, unified)?;
                }
                let v1_rules = rules
                    .as_deref()
                    .filter(|_| self.paths.v1.contains_key("devices"));
                v1::apply(&v1::Dirs(&self.paths.v1), resources, v1_rules, &mut ignored)?;
                if let (Some(rules), None, Some(dir)) =
                    (rules.as_deref(), v1_rules, self.paths.unified.as_deref())
                {
                    v2::devices::attach(dir, rules)?;
                }
                if let (Some(unified), Some(dir)) = (unified, self.paths.unified.as_deref()) {
                    v2::write_unified(dir, unified)?;
                }
            }
        }
        Ok(ignored)
    }

    /// The period in force (cpu.max) when an update of a v2 systemd unit sets a cpu quota
    /// without one: systemd takes the two together (CPUQuotaPerSecUSec and
    /// CPUQuotaPeriodUSec), and a period assumed to be 100 ms would reset one set before
    /// and scale the quota by it (issue 18: `update --cpu-quota` after `--cpu-period 50000`
    /// left `max 100000`; the cgroupfs driver and runc keep the period).
    fn period_for_a_lone_quota(&self, r: &LinuxResources) -> Result<Option<u64>> {
        let lone_quota = r
            .cpu()
            .as_ref()
            .is_some_and(|c| c.quota().unwrap_or(0) != 0 && c.period().unwrap_or(0) == 0);
        if !lone_quota || self.paths.kind != LayoutKind::V2 {
            return Ok(None);
        }
        Ok(v2::cpu::period(&files::read(
            self.unified_dir()?,
            "cpu.max",
        )?))
    }

    fn unified_dir(&self) -> Result<&Path> {
        self.paths
            .unified
            .as_deref()
            .ok_or_else(|| CgroupError::unsupported("cgroup", "this host has no cgroup2 hierarchy"))
    }

    fn freezer(&self) -> Result<Freezer<'_>> {
        if let Some(why) = &self.paths.skipped {
            return Err(CgroupError::unsupported("freezer", why.clone()));
        }
        if let Some(dir) = self.paths.v1.get("freezer") {
            return Ok(Freezer::V1(dir));
        }
        match &self.paths.unified {
            Some(dir) => Ok(Freezer::V2(dir)),
            None => Err(CgroupError::unsupported(
                "freezer",
                "no freezer controller is mounted",
            )),
        }
    }

    /// Freezes every process (`pause`), returning once the kernel reports them frozen.
    pub fn freeze(&self) -> Result<()> {
        self.freezer()?.freeze()
    }

    /// Thaws the processes (`resume`).
    pub fn thaw(&self) -> Result<()> {
        self.freezer()?.thaw()
    }

    pub fn freezer_state(&self) -> Result<FreezerState> {
        if self.paths.skipped.is_some() {
            return Ok(FreezerState::Thawed);
        }
        self.freezer()?.state()
    }

    /// The pids in the container's cgroup and its sub-cgroups, sorted.
    pub fn pids(&self) -> Result<Vec<i32>> {
        if self.paths.skipped.is_some() {
            return Ok(Vec::new());
        }
        let dir = match self.paths.kind {
            LayoutKind::V2 => self.paths.unified.as_deref(),
            _ => ["pids", "freezer", "memory", "devices"]
                .iter()
                .find_map(|c| self.paths.v1.get(*c).map(PathBuf::as_path))
                .or_else(|| self.paths.dirs().first().copied()),
        };
        let Some(dir) = dir else {
            return Ok(Vec::new());
        };
        let mut pids = files::read_pids(dir)?;
        for child in files::child_dirs(dir) {
            // A sub-cgroup may vanish while we walk.
            if let Ok(more) = files::read_pids(&child) {
                pids.extend(more);
            }
        }
        pids.sort_unstable();
        pids.dedup();
        Ok(pids)
    }

    /// Sends `signal` to every process (`kill --all`). SIGKILL uses v2's cgroup.kill when the
    /// kernel has it (atomic, no fork race); otherwise the cgroup is frozen while each pid is
    /// signalled, so nothing forks away in between.
    pub fn kill_all(&self, signal: Signal) -> Result<()> {
        if self.paths.skipped.is_some() {
            return Ok(());
        }
        let kill_file = self
            .paths
            .unified
            .as_deref()
            .filter(|d| files::exists(d, "cgroup.kill"));
        if let (Signal::SIGKILL, Some(dir)) = (signal, kill_file) {
            files::write(dir, "cgroup.kill", 1)?;
            if self.paths.kind == LayoutKind::V2 {
                return Ok(());
            }
        }
        let freezer = self.freezer().ok();
        let was = freezer.map(|f| f.state()).transpose()?;
        let froze = match (freezer, was) {
            (Some(f), Some(FreezerState::Thawed)) => f.freeze().is_ok(),
            _ => false,
        };
        let result = self.signal_each(signal);
        // SIGKILL must reach frozen tasks; other signals leave a paused container paused.
        if let Some(f) = freezer {
            if froze || signal == Signal::SIGKILL {
                f.thaw()?;
            }
        }
        result
    }

    fn signal_each(&self, signal: Signal) -> Result<()> {
        for pid in self.pids()? {
            match nix::sys::signal::kill(Pid::from_raw(pid), signal) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(e) => {
                    return Err(CgroupError::Kill {
                        path: self
                            .paths
                            .dirs()
                            .first()
                            .map(|p| p.to_path_buf())
                            .unwrap_or_default(),
                        pid,
                        signal: signal as i32,
                        errno: e as i32,
                    })
                }
            }
        }
        Ok(())
    }

    /// Current usage, in the shape of runc's `events --stats` data.
    pub fn stats(&self) -> Result<Stats> {
        match (self.paths.kind, &self.paths.unified) {
            (LayoutKind::V2, Some(dir)) => stats::collect_v2(dir),
            _ => stats::collect_v1(&self.paths.v1),
        }
    }

    /// A watcher for OOM kills in the container's memory cgroup.
    pub fn oom_watcher(&self) -> Result<OomWatcher> {
        if let Some(dir) = self.paths.v1.get("memory") {
            return OomWatcher::v1(dir);
        }
        match (self.paths.kind, &self.paths.unified) {
            (LayoutKind::V2, Some(dir)) => OomWatcher::v2(dir),
            _ => Err(CgroupError::unsupported(
                "memory",
                "no memory controller is mounted",
            )),
        }
    }

    /// Removes every directory: the container's (with any sub-cgroups it made) and the empty
    /// parents `create` made. Idempotent; retries while exiting processes keep a cgroup busy.
    pub fn destroy(&self) -> Result<()> {
        // A rootless container that runs without cgroups owns none of these directories.
        if self.paths.skipped.is_some() {
            return Ok(());
        }
        // A user unit that was never started: nothing of it is ours (`add_init`).
        if self.pending.borrow().is_some() {
            return Ok(());
        }
        let mut first_error = None;
        if let Some(unit) = &self.paths.systemd_unit {
            // Never inside the scope systemd is about to empty.
            if let Err(e) = self.leave() {
                first_error.get_or_insert(e);
            }
            if let Err(e) = crate::systemd::stop(self.instance(), unit) {
                first_error.get_or_insert(e);
            }
        }
        for dir in self.paths.dirs() {
            // Usually empty and without sub-cgroups: one rmdir. Otherwise remove the
            // sub-cgroups first, and wait out tasks that are still exiting.
            let removed = match std::fs::remove_dir(dir) {
                Ok(()) => true,
                Err(e) => e.kind() == std::io::ErrorKind::NotFound,
            };
            if !removed {
                let mut subtree = files::child_dirs(dir);
                subtree.reverse();
                subtree.push(dir.to_path_buf());
                for d in subtree {
                    if let Err(e) = rmdir_retrying(&d) {
                        first_error.get_or_insert(e);
                    }
                }
            }
            if let Some(top) = self.paths.created.iter().find(|t| dir.starts_with(t)) {
                let mut parent = dir.parent();
                while let Some(p) = parent.filter(|p| p.starts_with(top)) {
                    if std::fs::remove_dir(p).is_err() {
                        break;
                    }
                    parent = p.parent();
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Hierarchy;
    use crate::testutil::TempTree;

    fn hybrid(mounts: &Path) -> Layout {
        let h = |c: &[&str], dir: &str| Hierarchy {
            controllers: c.iter().map(|s| s.to_string()).collect(),
            mount_point: mounts.join(dir),
            mount_root: PathBuf::from("/"),
        };
        Layout {
            kind: LayoutKind::Hybrid,
            v1: vec![
                h(&["cpu", "cpuacct"], "cpu,cpuacct"),
                h(&["memory"], "memory"),
            ],
            unified: Some(mounts.join("unified")),
            unified_mount_root: PathBuf::from("/"),
        }
    }

    fn host(tree: &TempTree) -> Host {
        Host {
            root: tree.path().to_path_buf(),
            mountinfo: tree.path().join("mountinfo"),
            self_cgroup: tree.file("self", "2:memory:/outer\n1:cpu,cpuacct:/\n0::/outer2\n"),
            systemd_marker: tree.path().join("no-systemd"),
        }
    }

    #[test]
    fn paths_cover_every_hierarchy_and_survive_the_state_file() {
        let tree = TempTree::new("manager-paths");
        let mounts = Path::new("/cg");
        let m = Manager::new(&host(&tree), &hybrid(mounts), None, "c1", false, false).unwrap();
        let p = m.paths();
        assert_eq!(p.v1["cpu"], Path::new("/cg/cpu,cpuacct/c1"));
        assert_eq!(p.v1["cpuacct"], p.v1["cpu"]);
        assert_eq!(p.v1["memory"], Path::new("/cg/memory/outer/c1"));
        assert_eq!(
            p.unified.as_deref(),
            Some(Path::new("/cg/unified/outer2/c1"))
        );
        // co-mounted controllers are joined once
        assert_eq!(p.dirs().len(), 3);
        let json = serde_json::to_string(p).unwrap();
        let back: CgroupPaths = serde_json::from_str(&json).unwrap();
        assert_eq!(&back, p);
        assert_eq!(Manager::from_paths(back).paths(), p);
    }

    #[test]
    fn rootless_without_a_writable_hierarchy_runs_without_cgroups() {
        let tree = TempTree::new("manager-rootless");
        // sysfs refuses mkdir (EPERM as root, EACCES otherwise), like a cgroupfs we may not write
        let layout = Layout {
            kind: LayoutKind::V1,
            v1: vec![Hierarchy {
                controllers: vec!["memory".into()],
                mount_point: PathBuf::from("/sys"),
                mount_root: PathBuf::from("/"),
            }],
            unified: None,
            unified_mount_root: PathBuf::from("/"),
        };
        let path = Some("/kapsel-unwritable");
        let mut strict = Manager::new(&host(&tree), &layout, path, "c1", false, false).unwrap();
        let err = strict.create().unwrap_err().to_string();
        assert!(
            err.starts_with("create cgroup `/sys/kapsel-unwritable`: "),
            "{err}"
        );
        let mut rootless = Manager::new(&host(&tree), &layout, path, "c1", false, true).unwrap();
        rootless.create().unwrap();
        let why = rootless.skipped().unwrap();
        assert!(
            why.starts_with("rootless: cannot create `/sys/kapsel-unwritable`"),
            "{why}"
        );
        rootless.add_pid(1).unwrap();
        let r: LinuxResources = serde_json::from_str(r#"{"pids":{"limit":5}}"#).unwrap();
        assert!(rootless.apply(&r).unwrap().is_empty());
        assert_eq!(rootless.freezer_state().unwrap(), FreezerState::Thawed);
    }

    /// A pure cgroup v2 layout with its hierarchy at `root`.
    fn v2_layout(root: &std::path::Path) -> Layout {
        Layout {
            kind: LayoutKind::V2,
            v1: Vec::new(),
            unified: Some(root.to_path_buf()),
            unified_mount_root: PathBuf::from("/"),
        }
    }

    #[test]
    fn v2_create_enables_the_parents_controllers_and_destroy_removes_what_it_made() {
        let tree = TempTree::new("manager-v2");
        tree.file("cg/cgroup.controllers", "cpu memory pids\n");
        tree.file("cg/cgroup.subtree_control", "\n");
        let root = tree.path().join("cg");
        let layout = v2_layout(&root);
        let mut m = Manager::new(&host(&tree), &layout, Some("/k/c1"), "c1", false, false).unwrap();
        m.create().unwrap();
        assert_eq!(m.paths().created, [root.join("k")]);
        assert!(root.join("k/c1").is_dir());
        assert_eq!(tree.read("cg/cgroup.subtree_control"), "+cpu +memory +pids");
        assert!(m.self_join().unwrap().clone_into().is_some());
        m.destroy().unwrap();
        assert!(!root.join("k").exists());
        assert!(root.is_dir());
        m.destroy().unwrap();
    }

    #[test]
    fn v2_create_enables_what_levels_it_did_not_make_lack_from_the_root() {
        // systemd enabled memory and pids at the root and in system.slice; the container
        // also needs cpu and hugetlb (issue 18: cpu.weight and hugetlb.2MB.max were ENOENT)
        let tree = TempTree::new("manager-v2-levels");
        tree.file("cg/cgroup.controllers", "cpu memory pids hugetlb\n");
        tree.file("cg/cgroup.subtree_control", "memory pids\n");
        tree.file("cg/system.slice/cgroup.controllers", "memory pids\n");
        tree.file("cg/system.slice/cgroup.subtree_control", "memory pids\n");
        let root = tree.path().join("cg");
        let layout = v2_layout(&root);
        let path = Some("/system.slice/c1");
        let mut m = Manager::new(&host(&tree), &layout, path, "c1", false, false).unwrap();
        m.create().unwrap();
        // only the missing ones are written (a real cgroupfs would then offer them below)
        assert_eq!(tree.read("cg/cgroup.subtree_control"), "+cpu +hugetlb");
        assert_eq!(
            tree.read("cg/system.slice/cgroup.subtree_control"),
            "memory pids\n"
        );
        assert_eq!(m.paths().created, [root.join("system.slice/c1")]);
    }
}
