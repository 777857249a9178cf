//! Checks every `linux.resources` value before anything is written, naming the spec field.
//! Zero means "unset" (as docker sends it); -1 means "unlimited" where the kernel has that notion.

use crate::error::{CgroupError, Result};
use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

const R: &str = "linux.resources";

/// Validates `resources` for a host whose resources live on cgroup v2 (`v2`) or v1.
pub fn validate(resources: &LinuxResources, v2: bool) -> Result<()> {
    if let Some(memory) = resources.memory() {
        validate_memory(memory, v2)?;
    }
    if let Some(cpu) = resources.cpu() {
        validate_cpu(cpu, v2)?;
    }
    if let Some(pids) = resources.pids() {
        at_least_minus_one(&format!("{R}.pids.limit"), pids.limit())?;
    }
    if let Some(blkio) = resources.block_io() {
        validate_blkio(blkio)?;
    }
    for (i, hp) in resources.hugepage_limits().iter().flatten().enumerate() {
        let field = format!("{R}.hugepageLimits[{i}]");
        hugepage_size_suffix(hp.page_size())
            .map_err(|r| CgroupError::invalid(format!("{field}.pageSize"), r))?;
        at_least_minus_one(&format!("{field}.limit"), hp.limit())?;
    }
    if let Some(network) = resources.network() {
        for (i, p) in network.priorities().iter().flatten().enumerate() {
            if p.name().is_empty() || p.name().contains(char::is_whitespace) {
                return Err(CgroupError::invalid(
                    format!("{R}.network.priorities[{i}].name"),
                    format!("`{}` is not an interface name", p.name()),
                ));
            }
        }
    }
    for device in resources.rdma().iter().flat_map(|m| m.keys()) {
        if device.is_empty() || device.contains(char::is_whitespace) {
            return Err(CgroupError::invalid(
                format!("{R}.rdma"),
                format!("`{device}` is not an RDMA device name"),
            ));
        }
    }
    for (key, value) in resources.unified().iter().flatten() {
        unified_key_syntax(key).map_err(|r| CgroupError::invalid(format!("{R}.unified"), r))?;
        if value.contains('\0') {
            return Err(CgroupError::invalid(
                format!("{R}.unified.{key}"),
                "value contains a NUL byte",
            ));
        }
    }
    if let Some(list) = resources.devices().as_ref().filter(|l| !l.is_empty()) {
        let mut rules = crate::devices::rules_from_spec(list)?;
        // As applied: the runtime's defaults after the spec's rules.
        rules.extend(crate::devices::default_allowed());
        crate::devices::check_expressible(&rules, list.len())?;
    }
    if v2 {
        without_v2_equivalent(resources)?;
    }
    Ok(())
}

/// Limits cgroup v2 has no control for: asked for, they cannot be enforced, which is an
/// error (runtime-spec: a runtime that cannot create the environment MUST error). Kernel
/// memory alone is noted and passed over: Linux itself dropped it.
#[allow(deprecated)]
fn without_v2_equivalent(resources: &LinuxResources) -> Result<()> {
    let memory = resources.memory().as_ref();
    let network = resources.network().as_ref();
    let asked = [
        (
            "memory.kernelTCP",
            memory.is_some_and(|m| m.kernel_tcp().unwrap_or(0) != 0),
        ),
        (
            "memory.swappiness",
            memory.is_some_and(|m| m.swappiness().is_some()),
        ),
        (
            "memory.disableOOMKiller",
            memory.is_some_and(|m| m.disable_oom_killer() == Some(true)),
        ),
        (
            "blockIO.leafWeight",
            resources.block_io().as_ref().is_some_and(|b| {
                b.leaf_weight().unwrap_or(0) != 0
                    || b.weight_device()
                        .iter()
                        .flatten()
                        .any(|d| d.leaf_weight().unwrap_or(0) != 0)
            }),
        ),
        (
            "network.classID",
            network.is_some_and(|n| n.class_id().unwrap_or(0) != 0),
        ),
        (
            "network.priorities",
            network.is_some_and(|n| n.priorities().as_ref().is_some_and(|p| !p.is_empty())),
        ),
    ];
    match asked.iter().find(|(_, set)| *set) {
        Some((field, _)) => Err(CgroupError::unsupported(
            format!("{R}.{field}"),
            "cgroup v2 has no such control, so the limit cannot be enforced on this host",
        )),
        None => Ok(()),
    }
}

fn at_least_minus_one(field: &str, value: i64) -> Result<()> {
    if value < -1 {
        return Err(CgroupError::invalid(
            field,
            format!("{value} is negative (use -1 for unlimited)"),
        ));
    }
    Ok(())
}

fn validate_memory(m: &LinuxMemory, v2: bool) -> Result<()> {
    let limit = m.limit().unwrap_or(0);
    let swap = m.swap().unwrap_or(0);
    at_least_minus_one(&format!("{R}.memory.limit"), limit)?;
    at_least_minus_one(
        &format!("{R}.memory.reservation"),
        m.reservation().unwrap_or(0),
    )?;
    at_least_minus_one(&format!("{R}.memory.swap"), swap)?;
    #[allow(deprecated)]
    at_least_minus_one(&format!("{R}.memory.kernel"), m.kernel().unwrap_or(0))?;
    at_least_minus_one(
        &format!("{R}.memory.kernelTCP"),
        m.kernel_tcp().unwrap_or(0),
    )?;
    if let Some(s) = m.swappiness() {
        if s > 100 {
            return Err(CgroupError::invalid(
                format!("{R}.memory.swappiness"),
                format!("{s} is out of range 0-100"),
            ));
        }
    }
    if limit > 0 && swap > 0 && swap < limit {
        return Err(CgroupError::invalid(
            format!("{R}.memory.swap"),
            format!("{swap} is below linux.resources.memory.limit {limit} (swap counts memory plus swap)"),
        ));
    }
    if v2 && swap > 0 && limit <= 0 {
        return Err(CgroupError::invalid(
            format!("{R}.memory.swap"),
            "cgroup v2 cannot limit swap without linux.resources.memory.limit",
        ));
    }
    Ok(())
}

fn validate_cpu(c: &LinuxCpu, v2: bool) -> Result<()> {
    // Refused here too, not only when the v2 files are written: the systemd driver sets the
    // unit's properties (a pids limit given with it) before any file.
    if v2 && (c.realtime_runtime().unwrap_or(0) != 0 || c.realtime_period().unwrap_or(0) != 0) {
        return Err(CgroupError::unsupported(
            "linux.resources.cpu.realtimeRuntime",
            "realtime scheduling limits do not exist on cgroup v2",
        ));
    }
    if let Some(shares) = c.shares().filter(|&s| s != 0) {
        if !(2..=262_144).contains(&shares) {
            return Err(CgroupError::invalid(
                format!("{R}.cpu.shares"),
                format!("{shares} is out of range 2-262144"),
            ));
        }
    }
    let quota = c.quota().unwrap_or(0);
    at_least_minus_one(&format!("{R}.cpu.quota"), quota)?;
    if quota > 0 && quota < 1000 {
        return Err(CgroupError::invalid(
            format!("{R}.cpu.quota"),
            format!("{quota} is below the kernel's minimum of 1000 microseconds"),
        ));
    }
    if let Some(period) = c.period().filter(|&p| p != 0) {
        if !(1000..=1_000_000).contains(&period) {
            return Err(CgroupError::invalid(
                format!("{R}.cpu.period"),
                format!("{period} is out of range 1000-1000000 microseconds"),
            ));
        }
    }
    if let (Some(burst), true) = (c.burst().filter(|&b| b != 0), quota > 0) {
        if burst > quota as u64 {
            return Err(CgroupError::invalid(
                format!("{R}.cpu.burst"),
                format!("{burst} exceeds linux.resources.cpu.quota {quota}"),
            ));
        }
    }
    at_least_minus_one(
        &format!("{R}.cpu.realtimeRuntime"),
        c.realtime_runtime().unwrap_or(0),
    )?;
    if let Some(idle) = c.idle() {
        if idle != 0 && idle != 1 {
            return Err(CgroupError::invalid(
                format!("{R}.cpu.idle"),
                format!("{idle} is neither 0 nor 1"),
            ));
        }
    }
    for (name, list) in [("cpus", c.cpus()), ("mems", c.mems())] {
        if let Some(list) = list.as_deref().filter(|l| !l.is_empty()) {
            cpu_list_syntax(list)
                .map_err(|r| CgroupError::invalid(format!("{R}.cpu.{name}"), r))?;
        }
    }
    Ok(())
}

fn validate_blkio(b: &LinuxBlockIo) -> Result<()> {
    let weight_range = |field: String, w: u16| -> Result<()> {
        if w != 0 && !(10..=1000).contains(&w) {
            return Err(CgroupError::invalid(
                field,
                format!("{w} is out of range 10-1000"),
            ));
        }
        Ok(())
    };
    weight_range(format!("{R}.blockIO.weight"), b.weight().unwrap_or(0))?;
    weight_range(
        format!("{R}.blockIO.leafWeight"),
        b.leaf_weight().unwrap_or(0),
    )?;
    for (i, d) in b.weight_device().iter().flatten().enumerate() {
        let field = format!("{R}.blockIO.weightDevice[{i}]");
        device_numbers(&field, d.major(), d.minor())?;
        weight_range(format!("{field}.weight"), d.weight().unwrap_or(0))?;
        weight_range(format!("{field}.leafWeight"), d.leaf_weight().unwrap_or(0))?;
    }
    let lists = [
        ("throttleReadBpsDevice", b.throttle_read_bps_device()),
        ("throttleWriteBpsDevice", b.throttle_write_bps_device()),
        ("throttleReadIOPSDevice", b.throttle_read_iops_device()),
        ("throttleWriteIOPSDevice", b.throttle_write_iops_device()),
    ];
    for (name, list) in lists {
        for (i, d) in list.iter().flatten().enumerate() {
            device_numbers(&format!("{R}.blockIO.{name}[{i}]"), d.major(), d.minor())?;
        }
    }
    Ok(())
}

fn device_numbers(field: &str, major: i64, minor: i64) -> Result<()> {
    for (name, n) in [("major", major), ("minor", minor)] {
        if !(0..=u32::MAX as i64).contains(&n) {
            return Err(CgroupError::invalid(
                format!("{field}.{name}"),
                format!("{n} is not a device number"),
            ));
        }
    }
    Ok(())
}

/// `0-3,5,7-8`: what cpuset.cpus and cpuset.mems accept.
pub(crate) fn cpu_list_syntax(list: &str) -> std::result::Result<(), String> {
    let bad = || format!("`{list}` is not a list like `0-3,5`");
    for part in list.trim().split(',') {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let lo: u32 = lo.parse().map_err(|_| bad())?;
        let hi: u32 = hi.parse().map_err(|_| bad())?;
        if lo > hi {
            return Err(bad());
        }
    }
    Ok(())
}

/// `2MB` -> `2MB`; checks the `<number><KB|MB|GB>` form the kernel uses in hugetlb file names.
pub(crate) fn hugepage_size_suffix(size: &str) -> std::result::Result<(), String> {
    let digits = size.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &size[digits.len()..];
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !["KB", "MB", "GB"].contains(&unit)
    {
        return Err(format!("`{size}` is not a page size like `2MB` or `1GB`"));
    }
    Ok(())
}

/// `<controller>.<file>`: a plain file name, nothing that walks the tree.
pub(crate) fn unified_key_syntax(key: &str) -> std::result::Result<(), String> {
    let ok = !key.is_empty()
        && !key.starts_with('.')
        && !key.ends_with('.')
        && key.contains('.')
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if !ok {
        return Err(format!(
            "unknown key `{key}` (expected `<controller>.<file>`)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources(json: &str) -> LinuxResources {
        serde_json::from_str(json).unwrap()
    }

    fn error(json: &str, v2: bool) -> String {
        validate(&resources(json), v2).unwrap_err().to_string()
    }

    #[test]
    fn accepts_a_typical_spec_and_zero_as_unset() {
        let ok = r#"{"memory":{"limit":104857600,"swap":209715200,"reservation":0},
            "cpu":{"shares":1024,"quota":50000,"period":100000,"cpus":"0-1","mems":"0","idle":0},
            "pids":{"limit":-1},"blockIO":{"weight":0,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1000}]},
            "hugepageLimits":[{"pageSize":"2MB","limit":0}],
            "unified":{"memory.high":"max"},
            "devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"}]}"#;
        validate(&resources(ok), true).unwrap();
        validate(&resources(ok), false).unwrap();
    }

    #[test]
    fn rejects_negative_and_malformed_values_naming_the_field() {
        assert_eq!(
            error(r#"{"memory":{"limit":-5}}"#, false),
            "linux.resources.memory.limit: -5 is negative (use -1 for unlimited)"
        );
        assert_eq!(
            error(r#"{"pids":{"limit":-2}}"#, true),
            "linux.resources.pids.limit: -2 is negative (use -1 for unlimited)"
        );
        assert_eq!(
            error(r#"{"cpu":{"cpus":"0-x"}}"#, false),
            "linux.resources.cpu.cpus: `0-x` is not a list like `0-3,5`"
        );
        assert_eq!(
            error(r#"{"cpu":{"quota":10}}"#, false),
            "linux.resources.cpu.quota: 10 is below the kernel's minimum of 1000 microseconds"
        );
        assert_eq!(
            error(r#"{"cpu":{"period":5}}"#, false),
            "linux.resources.cpu.period: 5 is out of range 1000-1000000 microseconds"
        );
        assert_eq!(
            error(r#"{"cpu":{"shares":1}}"#, false),
            "linux.resources.cpu.shares: 1 is out of range 2-262144"
        );
        assert_eq!(
            error(r#"{"memory":{"swappiness":101}}"#, false),
            "linux.resources.memory.swappiness: 101 is out of range 0-100"
        );
        assert_eq!(
            error(r#"{"blockIO":{"weight":5}}"#, false),
            "linux.resources.blockIO.weight: 5 is out of range 10-1000"
        );
        assert_eq!(
            error(
                r#"{"blockIO":{"throttleWriteIOPSDevice":[{"major":-1,"minor":0,"rate":1}]}}"#,
                false
            ),
            "linux.resources.blockIO.throttleWriteIOPSDevice[0].major: -1 is not a device number"
        );
        assert_eq!(
            error(r#"{"hugepageLimits":[{"pageSize":"2M","limit":1}]}"#, false),
            "linux.resources.hugepageLimits[0].pageSize: `2M` is not a page size like `2MB` or `1GB`"
        );
    }

    #[test]
    fn realtime_limits_are_refused_before_anything_on_v2_only() {
        let rt = r#"{"cpu":{"realtimePeriod":400000},"pids":{"limit":31}}"#;
        assert_eq!(
            error(rt, true),
            "linux.resources.cpu.realtimeRuntime: realtime scheduling limits do not exist on cgroup v2"
        );
        let r: LinuxResources = serde_json::from_str(rt).unwrap();
        assert!(validate(&r, false).is_ok());
    }

    #[test]
    fn swap_rules() {
        assert_eq!(
            error(r#"{"memory":{"limit":200,"swap":100}}"#, false),
            "linux.resources.memory.swap: 100 is below linux.resources.memory.limit 200 (swap counts memory plus swap)"
        );
        assert_eq!(
            error(r#"{"memory":{"swap":100}}"#, true),
            "linux.resources.memory.swap: cgroup v2 cannot limit swap without linux.resources.memory.limit"
        );
        validate(&resources(r#"{"memory":{"swap":100}}"#), false).unwrap();
    }

    #[test]
    fn rejects_unified_keys_that_walk_the_tree() {
        for key in ["../memory.max", "memory", ".x", "a/b.c", "cpu.max\n"] {
            let json = format!(
                r#"{{"unified":{{{}:"1"}}}}"#,
                serde_json::to_string(key).unwrap()
            );
            let err = error(&json, true);
            assert!(
                err.starts_with("linux.resources.unified: unknown key `"),
                "{err}"
            );
        }
    }

    #[test]
    fn rejects_device_rules_with_bad_types_or_access() {
        assert_eq!(
            error(
                r#"{"devices":[{"allow":true,"type":"p","access":"r"}]}"#,
                false
            ),
            "linux.resources.devices[0].type: `p` is not a cgroup device type (a, b or c)"
        );
        assert_eq!(
            error(
                r#"{"devices":[{"allow":true,"type":"c","access":"rx"}]}"#,
                false
            ),
            "linux.resources.devices[0].access: `rx` is not a combination of r, w and m"
        );
        assert_eq!(
            error(
                r#"{"devices":[{"allow":true,"type":"c","major":-3,"access":"r"}]}"#,
                false
            ),
            "linux.resources.devices[0].major: -3 is not a device number (use -1 or omit for any)"
        );
        // a type outside the spec's enum never gets past the parser
        assert!(serde_json::from_str::<LinuxResources>(
            r#"{"devices":[{"allow":true,"type":"x"}]}"#
        )
        .is_err());
    }
}
