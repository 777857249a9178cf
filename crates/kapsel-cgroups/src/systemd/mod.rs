//! The systemd cgroup driver: the container's cgroup is a transient scope unit that systemd
//! creates and removes over D-Bus (`StartTransientUnit` / `StopUnit` / `SetUnitProperties`),
//! with `Delegate=yes` so kapsel may write the limits systemd does not express.
//!
//! `linux.cgroupsPath` is `slice:prefix:name` (as with runc): the unit is `prefix-name.scope`
//! in `slice` (default `system.slice`), and its cgroup is the slice's path joined with the
//! unit name, e.g. `machine-libpod.slice` -> `/machine.slice/machine-libpod.slice`.
//!
//! Rootless, the scope belongs to the caller's own `systemd --user` (reached over its
//! session bus, see `bus`): the default slice is `user.slice`, and the unit's cgroup is
//! below the user manager's own (`ControlGroup`, e.g.
//! `/user.slice/user-1500.slice/user@1500.service`), which systemd delegates to the user.
//! That manager may not move processes out of cgroups the user does not own (a login
//! session's scope): it asks PID 1 to, so the container's init is handed to it by pid
//! (see `Manager::add_init`) rather than born in the scope.

mod bus;
mod wire;

pub(crate) use bus::Instance;

use crate::error::{CgroupError, DbusError, Result};
use oci_spec::runtime::LinuxResources;
use std::path::PathBuf;
use wire::Encoder;
pub(crate) use wire::Value;

/// The unit and where its cgroup sits in every hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unit {
    pub name: String,
    pub slice: String,
    /// The cgroup below the hierarchy's root, without a leading `/`.
    pub cgroup: PathBuf,
}

/// The slice a unit goes to when `linux.cgroupsPath` names none.
fn default_slice(instance: Instance) -> &'static str {
    match instance {
        Instance::System => "system.slice",
        Instance::User => "user.slice",
    }
}

/// Parses `slice:prefix:name` (empty: `system.slice:kapsel:<id>`, rootless
/// `user.slice:kapsel:<id>`) into the unit. A user unit's cgroup is still relative to its
/// manager's (see `user_manager_cgroup`).
pub(crate) fn unit_for(
    cgroups_path: Option<&str>,
    container_id: &str,
    instance: Instance,
) -> Result<Unit> {
    let fallback = default_slice(instance);
    let spec = match cgroups_path {
        Some(p) if !p.is_empty() => p.to_string(),
        _ => format!("{fallback}:kapsel:{container_id}"),
    };
    let bad = |reason: String| CgroupError::CgroupsPath {
        path: spec.clone(),
        reason,
    };
    let (slice, prefix, name) = parse_systemd_path(&spec).map_err(&bad)?;
    if name.ends_with(".slice") {
        return Err(bad(
            "a slice as the container's unit is not supported; name a scope".to_string(),
        ));
    }
    let slice = if slice.is_empty() {
        fallback.to_string()
    } else {
        slice
    };
    let unit = if prefix.is_empty() {
        format!("{name}.scope")
    } else {
        format!("{prefix}-{name}.scope")
    };
    if !unit
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b))
    {
        return Err(bad(format!("`{unit}` is not a valid systemd unit name")));
    }
    let cgroup = slice_path(&slice).map_err(bad)?.join(&unit);
    Ok(Unit {
        name: unit,
        slice,
        cgroup,
    })
}

/// `a-b.slice` -> `a.slice/a-b.slice` (systemd.slice(5)); `-.slice` is the root.
fn slice_path(slice: &str) -> std::result::Result<PathBuf, String> {
    let stem = slice
        .strip_suffix(".slice")
        .ok_or_else(|| format!("`{slice}` is not a slice name"))?;
    let mut path = PathBuf::new();
    if stem == "-" {
        return Ok(path);
    }
    if stem.is_empty() || stem.starts_with('-') || stem.ends_with('-') || stem.contains("--") {
        return Err(format!("`{slice}` is not a valid slice name"));
    }
    let mut prefix = String::new();
    for part in stem.split('-') {
        if !prefix.is_empty() {
            prefix.push('-');
        }
        prefix.push_str(part);
        path.push(format!("{prefix}.slice"));
    }
    Ok(path)
}

/// cgroup v1 cpu.shares to v2 cpu.weight, the conversion runc and crun use.
fn shares_to_weight(shares: u64) -> u64 {
    1 + (shares.clamp(2, 262_144) - 2) * 9999 / 262_142
}

/// The limits systemd expresses as unit properties, and the resources left for kapsel to
/// write into the delegated cgroup itself (`v2`: the host's resources are on cgroup v2).
///
/// systemd writes every file of a controller again from the unit's properties whenever it
/// applies that controller's settings (a later property of it, `systemctl daemon-reload`):
/// a limit of a controller it manages must be a property too, or it falls back to
/// systemd's default (`max`).
pub(crate) fn split_resources(
    r: &LinuxResources,
    v2: bool,
) -> (Vec<(&'static str, Value)>, LinuxResources) {
    let mut props = Vec::new();
    let mut rest = r.clone();
    let limit = |v: i64| if v < 0 { u64::MAX } else { v as u64 };
    if let Some(mem) = r.memory() {
        let mut m = *mem;
        match (mem.limit(), mem.swap()) {
            (Some(l), None) if l != 0 => {
                props.push(("MemoryMax", Value::U64(limit(l))));
                m.set_limit(None);
            }
            // The swap limit is written from the memory limit (v2's memory.swap.max is their
            // difference), so both files stay with kapsel when swap is set; on v2 systemd is
            // told the same values (MemorySwapMax is v2's memory.swap.max).
            (Some(l), Some(s)) if l != 0 && v2 => {
                props.push(("MemoryMax", Value::U64(limit(l))));
                if let Some(swap) = crate::v2::memory::swap_to_v2(s, l) {
                    props.push(("MemorySwapMax", Value::U64(limit(swap))));
                }
            }
            _ => {}
        }
        if let Some(res) = mem.reservation().filter(|v| *v > 0) {
            props.push(("MemoryLow", Value::U64(res as u64)));
            m.set_reservation(None);
        }
        rest.set_memory(Some(m));
    }
    if let Some(p) = r.pids() {
        if p.limit() != 0 {
            props.push(("TasksMax", Value::U64(limit(p.limit()))));
            rest.set_pids(None);
        }
    }
    if let Some(cpu) = r.cpu() {
        let mut c = cpu.clone();
        if let Some(shares) = cpu.shares().filter(|s| *s > 0) {
            props.push(("CPUWeight", Value::U64(shares_to_weight(shares))));
            c.set_shares(None);
        }
        if let Some(quota) = cpu.quota().filter(|q| *q != 0) {
            let period = cpu.period().filter(|p| *p > 0).unwrap_or(100_000);
            let per_sec = if quota < 0 {
                u64::MAX
            } else {
                (quota as u64).saturating_mul(1_000_000) / period
            };
            props.push(("CPUQuotaPerSecUSec", Value::U64(per_sec)));
            props.push(("CPUQuotaPeriodUSec", Value::U64(period)));
            c.set_quota(None);
            c.set_period(None);
        }
        rest.set_cpu(Some(c));
    }
    (props, rest)
}

fn dbus_err(unit: &str, what: &'static str, source: DbusError) -> CgroupError {
    CgroupError::Systemd {
        unit: unit.to_string(),
        what,
        source,
    }
}

/// The cgroup of the caller's `systemd --user` (its `ControlGroup` property), below which
/// its units' cgroups are. `bus_absent` on the error says there is no user bus at all.
pub(crate) fn user_manager_cgroup() -> std::result::Result<PathBuf, DbusError> {
    let mut conn = bus::Connection::open(Instance::User)?;
    let cg = conn.manager_string("ControlGroup")?;
    Ok(PathBuf::from(cg.trim_start_matches('/')))
}

/// Starts the scope with `pids` in it and waits until systemd has made its cgroup.
pub(crate) fn start(
    instance: Instance,
    unit: &Unit,
    pids: &[u32],
    props: Vec<(&'static str, Value)>,
) -> Result<()> {
    let mut conn =
        bus::Connection::open(instance).map_err(|e| dbus_err(&unit.name, "connect", e))?;
    conn.subscribe()
        .map_err(|e| dbus_err(&unit.name, "Subscribe", e))?;
    let mut all: Vec<(&str, Value)> = vec![
        (
            "Description",
            Value::Str(format!("kapsel container {}", unit.name)),
        ),
        ("Slice", Value::Str(unit.slice.clone())),
        ("Delegate", Value::Bool(true)),
        ("DefaultDependencies", Value::Bool(false)),
        ("PIDs", Value::U32Array(pids.to_vec())),
        ("MemoryAccounting", Value::Bool(true)),
        ("CPUAccounting", Value::Bool(true)),
        ("TasksAccounting", Value::Bool(true)),
    ];
    all.extend(props);
    let mut body = Encoder::default();
    body.str(&unit.name);
    body.str("fail");
    body.properties(&all);
    body.array(8, |_| {});
    let reply = conn
        .manager_call("StartTransientUnit", "ssa(sv)a(sa(sv))", body.buf)
        .map_err(|e| dbus_err(&unit.name, "StartTransientUnit", e))?;
    let job = reply
        .first_string()
        .ok_or_else(|| dbus_err(&unit.name, "StartTransientUnit", DbusError::NoJob))?;
    match conn.wait_job(&job) {
        Ok(result) if result == "done" => Ok(()),
        Ok(result) => Err(dbus_err(
            &unit.name,
            "start job",
            DbusError::JobResult(result),
        )),
        Err(e) => Err(dbus_err(&unit.name, "start job", e)),
    }
}

/// Changes the unit's properties at run time (`kapsel update`).
pub(crate) fn set_properties(
    instance: Instance,
    unit: &str,
    props: Vec<(&'static str, Value)>,
) -> Result<()> {
    if props.is_empty() {
        return Ok(());
    }
    let mut conn = bus::Connection::open(instance).map_err(|e| dbus_err(unit, "connect", e))?;
    let mut body = Encoder::default();
    body.str(unit);
    body.bool(true);
    body.properties(&props);
    conn.manager_call("SetUnitProperties", "sba(sv)", body.buf)
        .map_err(|e| dbus_err(unit, "SetUnitProperties", e))?;
    Ok(())
}

/// Moves `pids` into the unit's cgroup (`AttachProcessesToUnit`, systemd 238; a user
/// manager asks PID 1 for a process outside the cgroups delegated to it, systemd 248). A
/// user manager moves only processes of its user's uid.
pub(crate) fn attach(instance: Instance, unit: &str, pids: &[u32]) -> Result<()> {
    let mut conn = bus::Connection::open(instance).map_err(|e| dbus_err(unit, "connect", e))?;
    let mut body = Encoder::default();
    body.str(unit);
    body.str("");
    body.array(4, |e| pids.iter().for_each(|p| e.u32(*p)));
    conn.manager_call("AttachProcessesToUnit", "ssau", body.buf)
        .map_err(|e| dbus_err(unit, "AttachProcessesToUnit", e))?;
    Ok(())
}

/// Stops the unit (systemd kills what is left and removes its cgroup) and waits for it.
/// A unit systemd no longer knows (it stops scopes whose processes all exited) is fine.
pub(crate) fn stop(instance: Instance, unit: &str) -> Result<()> {
    let mut conn = bus::Connection::open(instance).map_err(|e| dbus_err(unit, "connect", e))?;
    conn.subscribe()
        .map_err(|e| dbus_err(unit, "Subscribe", e))?;
    let mut body = Encoder::default();
    body.str(unit);
    body.str("replace");
    let reply = match conn.manager_call("StopUnit", "ss", body.buf) {
        Ok(r) => r,
        Err(e) if e.reply_name() == Some("org.freedesktop.systemd1.NoSuchUnit") => return Ok(()),
        Err(e) => return Err(dbus_err(unit, "StopUnit", e)),
    };
    let job = reply
        .first_string()
        .ok_or_else(|| dbus_err(unit, "StopUnit", DbusError::NoJob))?;
    conn.wait_job(&job)
        .map(|_| ())
        .map_err(|e| dbus_err(unit, "stop job", e))
}

/// Splits the systemd form `slice:prefix:name` and checks each part.
fn parse_systemd_path(spec: &str) -> std::result::Result<(String, String, String), String> {
    let parts: Vec<&str> = spec.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return Err("expected the systemd form `slice:prefix:name`".to_string());
    };
    if !slice.is_empty() && (!slice.ends_with(".slice") || slice.contains('/')) {
        return Err(format!("`{slice}` is not a systemd slice name (`*.slice`)"));
    }
    if name.is_empty() || name.contains('/') || prefix.contains('/') {
        return Err("prefix and name must be non-empty and contain no `/`".to_string());
    }
    Ok((slice.to_string(), prefix.to_string(), name.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxResourcesBuilder;
    use oci_spec::runtime::{LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder};

    #[test]
    fn systemd_form_parts_are_checked() {
        assert_eq!(
            parse_systemd_path("machine.slice:kapsel:c1").unwrap(),
            ("machine.slice".into(), "kapsel".into(), "c1".into())
        );
        assert!(parse_systemd_path("machine:kapsel:c1").is_err());
        assert!(parse_systemd_path("a.slice:p:").is_err());
    }

    #[test]
    fn units_and_their_cgroups_follow_systemds_naming() {
        let u = unit_for(
            Some("machine-libpod.slice:libpod:abc"),
            "x",
            Instance::System,
        )
        .unwrap();
        assert_eq!(u.name, "libpod-abc.scope");
        assert_eq!(u.slice, "machine-libpod.slice");
        assert_eq!(
            u.cgroup,
            PathBuf::from("machine.slice/machine-libpod.slice/libpod-abc.scope")
        );
        let d = unit_for(None, "c1", Instance::System).unwrap();
        assert_eq!(d.name, "kapsel-c1.scope");
        assert_eq!(d.cgroup, PathBuf::from("system.slice/kapsel-c1.scope"));
        let root = unit_for(Some("-.slice::c2"), "c2", Instance::System).unwrap();
        assert_eq!(root.cgroup, PathBuf::from("c2.scope"));
        let bare = unit_for(Some(":p:c3"), "c3", Instance::System).unwrap();
        assert_eq!(bare.slice, "system.slice");
    }

    #[test]
    fn rootless_units_default_to_the_user_managers_user_slice() {
        let d = unit_for(None, "c1", Instance::User).unwrap();
        assert_eq!(
            (d.name.as_str(), d.slice.as_str()),
            ("kapsel-c1.scope", "user.slice")
        );
        assert_eq!(d.cgroup, PathBuf::from("user.slice/kapsel-c1.scope"));
        let bare = unit_for(Some(":libpod:abc"), "abc", Instance::User).unwrap();
        assert_eq!(bare.cgroup, PathBuf::from("user.slice/libpod-abc.scope"));
        let nested = unit_for(Some("user-app.slice:p:n"), "n", Instance::User).unwrap();
        assert_eq!(
            nested.cgroup,
            PathBuf::from("user.slice/user-app.slice/p-n.scope")
        );
    }

    #[test]
    fn bad_systemd_paths_are_refused_with_the_reason() {
        for (spec, want) in [
            ("a--b.slice:p:n", "not a valid slice name"),
            ("nope:p:n", "not a systemd slice name"),
            ("system.slice:p:n.slice", "a slice as the container's unit"),
            ("system.slice:p:bad name", "not a valid systemd unit name"),
            ("/plain/path", "slice:prefix:name"),
        ] {
            let err = unit_for(Some(spec), "c", Instance::System)
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{spec}: {err}");
        }
    }

    #[test]
    fn limits_systemd_knows_become_properties_and_the_rest_stays() {
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(100 << 20)
                    .build()
                    .unwrap(),
            )
            .pids(LinuxPidsBuilder::default().limit(64).build().unwrap())
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(1024u64)
                    .quota(50_000)
                    .period(100_000u64)
                    .cpus("0")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let (props, rest) = split_resources(&r, true);
        assert!(props.contains(&("MemoryMax", Value::U64(100 << 20))));
        assert!(props.contains(&("TasksMax", Value::U64(64))));
        assert!(props.contains(&("CPUWeight", Value::U64(39))));
        assert!(props.contains(&("CPUQuotaPerSecUSec", Value::U64(500_000))));
        assert!(rest.pids().is_none());
        assert_eq!(rest.memory().as_ref().unwrap().limit(), None);
        let cpu = rest.cpu().as_ref().unwrap();
        assert_eq!((cpu.shares(), cpu.quota()), (None, None));
        assert_eq!(cpu.cpus().as_deref(), Some("0"));
    }

    #[test]
    fn a_swap_limit_keeps_the_memory_limit_with_kapsel() {
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(100 << 20)
                    .swap(200 << 20)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        // v1: both stay with kapsel (memory.memsw.limit_in_bytes has no property).
        let (props, rest) = split_resources(&r, false);
        assert!(props.is_empty());
        assert_eq!(rest.memory().as_ref().unwrap().limit(), Some(100 << 20));
        // v2: kapsel writes both files and systemd is told the same values, so that it
        // writes them back unchanged when it applies the unit's memory settings again.
        let (props, rest) = split_resources(&r, true);
        assert_eq!(
            props,
            vec![
                ("MemoryMax", Value::U64(100 << 20)),
                ("MemorySwapMax", Value::U64(100 << 20))
            ]
        );
        let m = rest.memory().unwrap();
        assert_eq!((m.limit(), m.swap()), (Some(100 << 20), Some(200 << 20)));
        // swap equal to the limit: no swap at all, memory.swap.max 0
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(64 << 20)
                    .swap(64 << 20)
                    .reservation(32 << 20)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let (props, _) = split_resources(&r, true);
        assert_eq!(
            props,
            vec![
                ("MemoryMax", Value::U64(64 << 20)),
                ("MemorySwapMax", Value::U64(0)),
                ("MemoryLow", Value::U64(32 << 20))
            ]
        );
    }
}
