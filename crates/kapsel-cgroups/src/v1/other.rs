//! v1 controllers with one or two files each: cpuset, pids, hugetlb, rdma.

use crate::error::Result;
use crate::files;
use oci_spec::runtime::{LinuxCpu, LinuxHugepageLimit, LinuxRdma};
use std::collections::HashMap;
use std::path::Path;

pub(super) fn apply_cpuset(dir: &Path, c: &LinuxCpu) -> Result<()> {
    if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        files::write(dir, "cpuset.cpus", cpus)?;
    }
    if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        files::write(dir, "cpuset.mems", mems)?;
    }
    Ok(())
}

/// pids.max: a positive limit, or `max` for -1.
pub(crate) fn apply_pids(dir: &Path, limit: i64) -> Result<()> {
    if limit > 0 {
        files::write(dir, "pids.max", limit)
    } else {
        files::write(dir, "pids.max", "max")
    }
}

/// hugetlb.<size>.limit_in_bytes, and the reservation limit next to it when the kernel has one.
pub(super) fn apply_hugetlb(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<()> {
    for l in limits {
        let size = l.page_size();
        files::write(dir, &format!("hugetlb.{size}.limit_in_bytes"), l.limit())?;
        let rsvd = format!("hugetlb.{size}.rsvd.limit_in_bytes");
        if files::exists(dir, &rsvd) {
            files::write(dir, &rsvd, l.limit())?;
        }
    }
    Ok(())
}

/// rdma.max: `<device> hca_handle=<n> hca_object=<n>` (`max` when unset); same on v1 and v2.
pub(crate) fn apply_rdma(dir: &Path, rdma: &HashMap<String, LinuxRdma>) -> Result<()> {
    let mut devices: Vec<_> = rdma.iter().collect();
    devices.sort_by(|a, b| a.0.cmp(b.0));
    for (device, limits) in devices {
        let n = |v: Option<u32>| v.map_or_else(|| "max".to_string(), |v| v.to_string());
        let line = format!(
            "{device} hca_handle={} hca_object={}",
            n(limits.hca_handles()),
            n(limits.hca_objects())
        );
        files::write(dir, "rdma.max", line)?;
    }
    Ok(())
}
