//! v2 cpu and cpuset: cpu.weight (from shares), cpu.max (quota period), cpu.max.burst,
//! cpu.idle, cpuset.cpus, cpuset.mems. Realtime limits have no v2 file.

use crate::error::{CgroupError, Result};
use crate::files;
use oci_spec::runtime::LinuxCpu;
use std::path::Path;

/// cpu.shares [2, 262144] to cpu.weight [1, 10000], the linear map runc 1.1 and older crun use.
pub fn shares_to_weight(shares: u64) -> u64 {
    1 + (shares.saturating_sub(2) * 9999) / 262_142
}

pub(super) fn apply(dir: &Path, c: &LinuxCpu, _ignored: &mut Vec<String>) -> Result<()> {
    if c.realtime_runtime().unwrap_or(0) != 0 || c.realtime_period().unwrap_or(0) != 0 {
        return Err(CgroupError::unsupported(
            "linux.resources.cpu.realtimeRuntime",
            "realtime scheduling limits do not exist on cgroup v2",
        ));
    }
    if let Some(idle) = c.idle() {
        files::write(dir, "cpu.idle", idle)?;
    }
    if let Some(shares) = c.shares().filter(|&s| s != 0) {
        files::write(dir, "cpu.weight", shares_to_weight(shares))?;
    }
    let quota = c.quota().unwrap_or(0);
    let period = c.period().unwrap_or(0);
    if quota != 0 || period != 0 {
        files::write(dir, "cpu.max", cpu_max(dir, quota, period)?)?;
    }
    if let Some(burst) = c.burst() {
        files::write(dir, "cpu.max.burst", burst)?;
    }
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        files::write(dir, "cpuset.cpus", cpus)?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        files::write(dir, "cpuset.mems", mems)?;
    }
    Ok(())
}

/// The period of a `cpu.max` text (`$QUOTA $PERIOD`).
pub(crate) fn period(cpu_max: &str) -> Option<u64> {
    cpu_max.split_whitespace().nth(1)?.parse().ok()
}

/// `cpu.max` holds `$QUOTA $PERIOD`; a period alone keeps the current quota (runc would reset
/// it to `max`), a quota alone keeps the current period (the kernel does that itself).
fn cpu_max(dir: &Path, quota: i64, period: u64) -> Result<String> {
    let quota_text = match quota {
        0 => {
            let current = files::read(dir, "cpu.max")?;
            current
                .split_whitespace()
                .next()
                .unwrap_or("max")
                .to_string()
        }
        -1 => "max".to_string(),
        q => q.to_string(),
    };
    Ok(if period != 0 {
        format!("{quota_text} {period}")
    } else {
        quota_text
    })
}
