//! v2 memory: memory.max, memory.low (reservation), memory.swap.max (v1's memory+swap minus
//! memory). No v2 file exists for kernel, kernelTCP, swappiness, disableOOMKiller, useHierarchy.

use crate::error::{CgroupError, Result};
use crate::files;
use crate::v2::limit_or_max;
use oci_spec::runtime::LinuxMemory;
use std::path::Path;

/// The v1 memory+swap limit as a v2 swap-only limit: `None` leaves memory.swap.max alone
/// (swap unset), -1 is unlimited, 0 no swap at all (swap equal to the limit, as runc writes
/// it). The caller has validated that a positive `swap` comes with a positive `limit` not
/// above it.
pub fn swap_to_v2(swap: i64, limit: i64) -> Option<i64> {
    match (swap, limit) {
        // "memory unlimited" with swap unset: unlimited swap too, as on v1
        (0, -1) => Some(-1),
        (0, _) => None,
        (-1, _) => Some(-1),
        _ => Some(swap - limit),
    }
}

#[allow(deprecated)]
pub(super) fn apply(dir: &Path, m: &LinuxMemory, ignored: &mut Vec<String>) -> Result<()> {
    let limit = m.limit().unwrap_or(0);
    let swap = swap_to_v2(m.swap().unwrap_or(0), limit);
    if m.check_before_update() == Some(true) && limit > 0 {
        let usage = files::read_u64(dir, "memory.current")?;
        if (limit as u64) < usage {
            return Err(CgroupError::BelowUsage {
                path: dir.join("memory.max"),
                limit,
                usage,
            });
        }
    }
    if let Some(swap) = swap {
        if files::exists(dir, "memory.swap.max") {
            files::write(dir, "memory.swap.max", limit_or_max(swap))?;
        } else if swap > 0 {
            // Without swap accounting no swap limit can hold; "unlimited" and "none" are
            // passed over (runc does the same).
            return Err(CgroupError::unsupported(
                "linux.resources.memory.swap",
                format!(
                    "no `memory.swap.max` in `{}` (swap accounting is off)",
                    dir.display()
                ),
            ));
        }
    }
    if limit != 0 {
        files::write(dir, "memory.max", limit_or_max(limit))?;
    }
    if let Some(reservation) = m.reservation().filter(|&r| r != 0) {
        files::write(dir, "memory.low", limit_or_max(reservation))?;
    }
    if m.kernel().unwrap_or(0) != 0 {
        // Limits on kernel memory are gone from Linux itself (deprecated in 5.4): the one
        // field that is still only noted.
        ignored.push("linux.resources.memory.kernel: kernel memory limits are not supported by Linux >= 5.4, ignored".into());
    }
    Ok(())
}
