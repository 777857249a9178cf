//! cgroup v2: one directory, v1-style spec values translated to v2 files as runc and crun do.

pub(crate) mod cpu;
pub mod devices;
mod io;
pub(crate) mod memory;

use crate::devices::DeviceRule;
use crate::error::{CgroupError, Result};
use crate::files;
use crate::v1;
use oci_spec::runtime::LinuxResources;
use std::collections::HashMap;
use std::path::Path;

const R: &str = "linux.resources";

/// Writes `resources` to the v2 cgroup `dir`. `devices` is `None` on update. Values are
/// validated by the caller; `unified` keys are checked against `dir` before any write.
pub(crate) fn apply(
    dir: &Path,
    resources: &LinuxResources,
    devices: Option<&[DeviceRule]>,
    ignored: &mut Vec<String>,
) -> Result<()> {
    if let Some(unified) = resources.unified() {
        check_unified_keys(dir, unified)?;
    }
    if let Some(c) = resources.cpu() {
        cpu::apply(dir, c, ignored)?;
    }
    if let Some(m) = resources.memory() {
        memory::apply(dir, m, ignored)?;
    }
    if let Some(pids) = resources.pids().filter(|p| p.limit() != 0) {
        v1::apply_pids_file(dir, pids.limit())?;
    }
    if let Some(b) = resources.block_io() {
        io::apply(dir, b)?;
    }
    for l in resources.hugepage_limits().iter().flatten() {
        let size = l.page_size();
        let value = limit_or_max(l.limit());
        files::write(dir, &format!("hugetlb.{size}.max"), &value)?;
        let rsvd = format!("hugetlb.{size}.rsvd.max");
        if files::exists(dir, &rsvd) {
            files::write(dir, &rsvd, &value)?;
        }
    }
    if let Some(rdma) = resources.rdma().as_ref().filter(|r| !r.is_empty()) {
        v1::apply_rdma_file(dir, rdma)?;
    }
    if let Some(unified) = resources.unified() {
        write_unified(dir, unified)?;
    }
    if let Some(rules) = devices {
        devices::attach(dir, rules)?;
    }
    Ok(())
}

/// `max` for -1, the number otherwise.
pub(crate) fn limit_or_max(value: i64) -> String {
    if value == -1 {
        "max".to_string()
    } else {
        value.to_string()
    }
}

/// Every `unified` key must name a file of this cgroup (whose controller is enabled).
pub(crate) fn check_unified_keys(dir: &Path, unified: &HashMap<String, String>) -> Result<()> {
    for key in unified.keys() {
        crate::validate::unified_key_syntax(key)
            .map_err(|r| CgroupError::invalid(format!("{R}.unified"), r))?;
        if !files::exists(dir, key) {
            let controller = key.split('.').next().unwrap_or(key);
            return Err(CgroupError::invalid(
                format!("{R}.unified"),
                format!(
                    "unknown key `{key}`: `{}` does not exist (the cgroup has no `{controller}` controller enabled)",
                    dir.join(key).display()
                ),
            ));
        }
    }
    Ok(())
}

/// Raw v2 key/values, written last so they override the translated ones (as runc does).
pub(crate) fn write_unified(dir: &Path, unified: &HashMap<String, String>) -> Result<()> {
    let mut keys: Vec<_> = unified.iter().collect();
    keys.sort();
    for (key, value) in keys {
        files::write(dir, key, value)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
