//! cgroup v1: one directory per hierarchy, each controller with its own files.

mod blkio;
mod cpu;
mod memory;
mod other;

pub(crate) use other::{apply_pids as apply_pids_file, apply_rdma as apply_rdma_file};

use crate::devices::DeviceRule;
use crate::error::Result;
use crate::files;
use oci_spec::runtime::LinuxResources;
use std::collections::BTreeMap;
use std::path::Path;

/// The container's directory per v1 controller.
pub(crate) struct Dirs<'a>(pub &'a BTreeMap<String, std::path::PathBuf>);

impl Dirs<'_> {
    /// The directory of `controller`, or a note in `ignored` when it is not mounted.
    fn get(&self, controller: &str, field: &str, ignored: &mut Vec<String>) -> Option<&Path> {
        let dir = self.0.get(controller).map(|p| p.as_path());
        if dir.is_none() {
            ignored.push(format!(
                "{field}: the {controller} controller is not mounted, ignored"
            ));
        }
        dir
    }
}

/// Writes `resources` to the v1 controllers. `devices` is `None` on update (runc's `update`
/// leaves device rules alone). Values are validated by the caller.
pub(crate) fn apply(
    dirs: &Dirs<'_>,
    resources: &LinuxResources,
    devices: Option<&[DeviceRule]>,
    ignored: &mut Vec<String>,
) -> Result<()> {
    const R: &str = "linux.resources";
    if let Some(cpu) = resources.cpu() {
        if cpu::is_set(cpu) {
            if let Some(dir) = dirs.get("cpu", &format!("{R}.cpu"), ignored) {
                cpu::apply(dir, cpu, ignored)?;
            }
        }
        if cpu.cpus().as_deref().is_some_and(|c| !c.is_empty())
            || cpu.mems().as_deref().is_some_and(|m| !m.is_empty())
        {
            if let Some(dir) = dirs.get("cpuset", &format!("{R}.cpu.cpus"), ignored) {
                other::apply_cpuset(dir, cpu)?;
            }
        }
    }
    if let Some(memory) = resources.memory() {
        if memory::is_set(memory) {
            if let Some(dir) = dirs.get("memory", &format!("{R}.memory"), ignored) {
                memory::apply(dir, memory, ignored)?;
            }
        }
    }
    if let Some(pids) = resources.pids().filter(|p| p.limit() != 0) {
        if let Some(dir) = dirs.get("pids", &format!("{R}.pids"), ignored) {
            other::apply_pids(dir, pids.limit())?;
        }
    }
    if let Some(blkio) = resources.block_io() {
        if blkio::is_set(blkio) {
            if let Some(dir) = dirs.get("blkio", &format!("{R}.blockIO"), ignored) {
                blkio::apply(dir, blkio)?;
            }
        }
    }
    if let Some(limits) = resources
        .hugepage_limits()
        .as_deref()
        .filter(|l| !l.is_empty())
    {
        if let Some(dir) = dirs.get("hugetlb", &format!("{R}.hugepageLimits"), ignored) {
            other::apply_hugetlb(dir, limits)?;
        }
    }
    if let Some(network) = resources.network() {
        if network.class_id().is_some_and(|c| c != 0) {
            if let Some(dir) = dirs.get("net_cls", &format!("{R}.network.classID"), ignored) {
                files::write(dir, "net_cls.classid", network.class_id().unwrap_or(0))?;
            }
        }
        if let Some(prios) = network.priorities().as_deref().filter(|p| !p.is_empty()) {
            if let Some(dir) = dirs.get("net_prio", &format!("{R}.network.priorities"), ignored) {
                for p in prios {
                    files::write(
                        dir,
                        "net_prio.ifpriomap",
                        format!("{} {}", p.name(), p.priority()),
                    )?;
                }
            }
        }
    }
    if let Some(rdma) = resources.rdma().as_ref().filter(|r| !r.is_empty()) {
        if let Some(dir) = dirs.get("rdma", &format!("{R}.rdma"), ignored) {
            other::apply_rdma(dir, rdma)?;
        }
    }
    if let Some(rules) = devices.filter(|r| !r.is_empty()) {
        if let Some(dir) = dirs.get("devices", &format!("{R}.devices"), ignored) {
            apply_devices(dir, rules)?;
        }
    }
    Ok(())
}

/// devices.allow / devices.deny, one rule per write, in spec order. A fresh cgroup inherits
/// the parent's list, so it is first reset to "deny all" (where runc starts too) unless the
/// first rule does exactly that.
pub(crate) fn apply_devices(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    if !rules.first().is_some_and(|r| r.is_wildcard() && !r.allow) {
        files::write(dir, "devices.deny", "a")?;
    }
    for rule in rules {
        let file = if rule.allow {
            "devices.allow"
        } else {
            "devices.deny"
        };
        files::write(dir, file, rule.v1_line())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
