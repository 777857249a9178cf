//! v1 cpu controller: cpu.shares, cpu.cfs_{quota,period,burst}_us, cpu.rt_*, cpu.idle.

use crate::error::{CgroupError, Result};
use crate::files;
use oci_spec::runtime::LinuxCpu;
use std::path::Path;

pub(super) fn is_set(c: &LinuxCpu) -> bool {
    c.shares().unwrap_or(0) != 0
        || c.quota().unwrap_or(0) != 0
        || c.period().unwrap_or(0) != 0
        || c.burst().is_some()
        || c.realtime_runtime().unwrap_or(0) != 0
        || c.realtime_period().unwrap_or(0) != 0
        || c.idle().is_some()
}

pub(super) fn apply(dir: &Path, c: &LinuxCpu, _ignored: &mut Vec<String>) -> Result<()> {
    if let Some(shares) = c.shares().filter(|&s| s != 0) {
        files::write(dir, "cpu.shares", shares)?;
    }
    let quota = c.quota().unwrap_or(0);
    let mut period_pending = None;
    if let Some(period) = c.period().filter(|&p| p != 0) {
        match files::write(dir, "cpu.cfs_period_us", period) {
            Ok(()) => {}
            // A shorter period can make old_quota/new_period exceed the parent's bandwidth;
            // the kernel refuses it (EINVAL) until the new quota is in place.
            Err(CgroupError::Write { errno, .. }) if errno == libc::EINVAL && quota != 0 => {
                period_pending = Some(period);
            }
            Err(e) => return Err(e),
        }
    }
    if quota != 0 {
        files::write(dir, "cpu.cfs_quota_us", quota)?;
        if let Some(period) = period_pending {
            files::write(dir, "cpu.cfs_period_us", period)?;
        }
    }
    if let Some(burst) = c.burst() {
        files::write(dir, "cpu.cfs_burst_us", burst)?;
    }
    // The period first: a runtime is only accepted if it fits in the period.
    if let Some(period) = c.realtime_period().filter(|&p| p != 0) {
        files::write(dir, "cpu.rt_period_us", period)?;
    }
    if let Some(runtime) = c.realtime_runtime().filter(|&r| r != 0) {
        files::write(dir, "cpu.rt_runtime_us", runtime)?;
    }
    if let Some(idle) = c.idle() {
        files::write(dir, "cpu.idle", idle)?;
    }
    Ok(())
}
