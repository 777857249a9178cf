//! cgroup v1: one directory per hierarchy, each controller with its own files.

mod blkio;
mod cpu;
mod memory;
mod other;

pub(crate) use other::{apply_pids as apply_pids_file, apply_rdma as apply_rdma_file};

use crate::devices::{DeviceKind, DeviceRule};
use crate::error::{CgroupError, Result};
use crate::files;
use oci_spec::runtime::LinuxResources;
use std::collections::BTreeMap;
use std::path::Path;

/// The container's directory per v1 controller.
pub(crate) struct Dirs<'a>(pub &'a BTreeMap<String, std::path::PathBuf>);

impl Dirs<'_> {
    /// The directory of `controller`; a limit asked of a controller this host has not
    /// mounted cannot be enforced, which is an error (the runtime-spec: a runtime that
    /// cannot create the environment of config.json MUST generate an error), as in runc.
    fn get(&self, controller: &str, field: &str) -> Result<&Path> {
        self.0.get(controller).map(|p| p.as_path()).ok_or_else(|| {
            CgroupError::unsupported(
                field,
                format!("the {controller} cgroup controller is not mounted on this host, so the limit cannot be enforced"),
            )
        })
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
            cpu::apply(dirs.get("cpu", &format!("{R}.cpu"))?, cpu, ignored)?;
        }
        if cpu.cpus().as_deref().is_some_and(|c| !c.is_empty())
            || cpu.mems().as_deref().is_some_and(|m| !m.is_empty())
        {
            other::apply_cpuset(dirs.get("cpuset", &format!("{R}.cpu.cpus"))?, cpu)?;
        }
    }
    if let Some(memory) = resources.memory().as_ref().filter(|m| memory::is_set(m)) {
        memory::apply(dirs.get("memory", &format!("{R}.memory"))?, memory, ignored)?;
    }
    if let Some(pids) = resources.pids().filter(|p| p.limit() != 0) {
        other::apply_pids(dirs.get("pids", &format!("{R}.pids"))?, pids.limit())?;
    }
    if let Some(blkio) = resources.block_io().as_ref().filter(|b| blkio::is_set(b)) {
        blkio::apply(dirs.get("blkio", &format!("{R}.blockIO"))?, blkio)?;
    }
    if let Some(limits) = resources
        .hugepage_limits()
        .as_deref()
        .filter(|l| !l.is_empty())
    {
        other::apply_hugetlb(dirs.get("hugetlb", &format!("{R}.hugepageLimits"))?, limits)?;
    }
    if let Some(network) = resources.network() {
        if let Some(class) = network.class_id().filter(|&c| c != 0) {
            let dir = dirs.get("net_cls", &format!("{R}.network.classID"))?;
            files::write(dir, "net_cls.classid", class)?;
        }
        if let Some(prios) = network.priorities().as_deref().filter(|p| !p.is_empty()) {
            let dir = dirs.get("net_prio", &format!("{R}.network.priorities"))?;
            for p in prios {
                files::write(
                    dir,
                    "net_prio.ifpriomap",
                    format!("{} {}", p.name(), p.priority()),
                )?;
            }
        }
    }
    if let Some(rdma) = resources.rdma().as_ref().filter(|r| !r.is_empty()) {
        other::apply_rdma(dirs.get("rdma", &format!("{R}.rdma"))?, rdma)?;
    }
    if let Some(rules) = devices.filter(|r| !r.is_empty()) {
        apply_devices(dirs.get("devices", &format!("{R}.devices"))?, rules)?;
    }
    Ok(())
}

/// devices.allow / devices.deny, one rule per write, in spec order. A fresh cgroup inherits
/// the parent's list, so it is first reset to "deny all" (where runc starts too) unless the
/// first rule does exactly that (any `a` deny is that reset).
pub(crate) fn apply_devices(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    let mut allow = files::ControlFile::new(dir, "devices.allow");
    let mut deny = files::ControlFile::new(dir, "devices.deny");
    if !rules
        .first()
        .is_some_and(|r| r.kind == DeviceKind::All && !r.allow)
    {
        deny.write("a")?;
    }
    for rule in rules {
        let file = if rule.allow { &mut allow } else { &mut deny };
        file.write(&rule.v1_line())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
