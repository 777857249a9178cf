//! v1 memory controller: memory.limit_in_bytes, memory.memsw.limit_in_bytes (memory + swap),
//! memory.soft_limit_in_bytes, memory.kmem.tcp.limit_in_bytes, memory.swappiness,
//! memory.oom_control, memory.use_hierarchy.

use crate::error::{CgroupError, Result};
use crate::files;
use oci_spec::runtime::LinuxMemory;
use std::path::Path;

const LIMIT: &str = "memory.limit_in_bytes";
const MEMSW: &str = "memory.memsw.limit_in_bytes";

#[allow(deprecated)]
pub(super) fn is_set(m: &LinuxMemory) -> bool {
    m.limit().unwrap_or(0) != 0
        || m.reservation().unwrap_or(0) != 0
        || m.swap().unwrap_or(0) != 0
        || m.kernel().unwrap_or(0) != 0
        || m.kernel_tcp().unwrap_or(0) != 0
        || m.swappiness().is_some()
        || m.disable_oom_killer() == Some(true)
        || m.use_hierarchy().is_some()
}

pub(super) fn apply(dir: &Path, m: &LinuxMemory, ignored: &mut Vec<String>) -> Result<()> {
    let limit = m.limit().unwrap_or(0);
    let mut swap = m.swap().unwrap_or(0);
    if m.check_before_update() == Some(true) && limit > 0 {
        let usage = files::read_u64(dir, "memory.usage_in_bytes")?;
        if (limit as u64) < usage {
            return Err(CgroupError::BelowUsage {
                path: dir.join(LIMIT),
                limit,
                usage,
            });
        }
    }
    // "unlimited memory" with swap unset means unlimited memory+swap too (when swap accounting
    // exists), or the old memsw limit would keep capping the new memory limit.
    if limit == -1 && swap == 0 && files::exists(dir, MEMSW) {
        swap = -1;
    }
    if swap != 0 && !files::exists(dir, MEMSW) {
        return Err(CgroupError::unsupported(
            "linux.resources.memory.swap",
            format!(
                "no swap accounting on this host (no `{MEMSW}` in `{}`), so the limit cannot be enforced",
                dir.display()
            ),
        ));
    }
    // The kernel keeps memory <= memory+swap at every step: raise memsw first when growing.
    let memsw_first = limit != 0 && swap != 0 && {
        let current = files::read_u64(dir, LIMIT)?;
        swap == -1 || current < swap as u64
    };
    if memsw_first {
        files::write(dir, MEMSW, swap)?;
        files::write(dir, LIMIT, limit)?;
    } else {
        if limit != 0 {
            files::write(dir, LIMIT, limit)?;
        }
        if swap != 0 {
            files::write(dir, MEMSW, swap)?;
        }
    }
    if let Some(reservation) = m.reservation().filter(|&r| r != 0) {
        files::write(dir, "memory.soft_limit_in_bytes", reservation)?;
    }
    #[allow(deprecated)]
    if m.kernel().unwrap_or(0) != 0 {
        // Limits on kernel memory are gone since Linux 5.4 (writes fail with EOPNOTSUPP on 6.x).
        ignored.push("linux.resources.memory.kernel: kernel memory limits are not supported by Linux >= 5.4, ignored".into());
    }
    if let Some(tcp) = m.kernel_tcp().filter(|&t| t != 0) {
        files::write(dir, "memory.kmem.tcp.limit_in_bytes", tcp)?;
    }
    if let Some(swappiness) = m.swappiness() {
        files::write(dir, "memory.swappiness", swappiness)?;
    }
    if m.disable_oom_killer() == Some(true) {
        files::write(dir, "memory.oom_control", 1)?;
    }
    if let Some(hierarchy) = m.use_hierarchy() {
        let want = u64::from(hierarchy);
        // Linux >= 5.x only knows hierarchical accounting; writing the current value is a no-op
        // we skip, anything else the kernel refuses with a clear errno.
        if files::read_u64(dir, "memory.use_hierarchy")? != want {
            files::write(dir, "memory.use_hierarchy", want)?;
        }
    }
    Ok(())
}
