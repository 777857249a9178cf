//! Per-process settings applied just before exec: scheduler, I/O priority,
//! personality, and the LSM labels (refused when the LSM is not enabled, like runc).

use crate::error::{Error, Result};
use kapsel_sys::process::SchedAttr;
use oci_spec::runtime::{
    IOPriorityClass, LinuxPersonality, LinuxPersonalityDomain, LinuxSchedulerFlag,
    LinuxSchedulerPolicy, Process, Spec,
};

/// `process.scheduler` as sched_setattr(2) takes it.
pub fn plan_scheduler(process: &Process) -> Result<Option<SchedAttr>> {
    let Some(s) = process.scheduler() else {
        return Ok(None);
    };
    let policy = match s.policy() {
        LinuxSchedulerPolicy::SchedOther => 0,
        LinuxSchedulerPolicy::SchedFifo => 1,
        LinuxSchedulerPolicy::SchedRr => 2,
        LinuxSchedulerPolicy::SchedBatch => 3,
        LinuxSchedulerPolicy::SchedIso => 4,
        LinuxSchedulerPolicy::SchedIdle => 5,
        LinuxSchedulerPolicy::SchedDeadline => 6,
    };
    let mut flags = 0u64;
    for f in s.flags().iter().flatten() {
        flags |= match f {
            LinuxSchedulerFlag::SchedResetOnFork => 0x01,
            LinuxSchedulerFlag::SchedFlagReclaim => 0x02,
            LinuxSchedulerFlag::SchedFlagDLOverrun => 0x04,
            LinuxSchedulerFlag::SchedFlagKeepPolicy => 0x08,
            LinuxSchedulerFlag::SchedFlagKeepParams => 0x10,
            LinuxSchedulerFlag::SchedFlagUtilClampMin => 0x20,
            LinuxSchedulerFlag::SchedFlagUtilClampMax => 0x40,
        };
    }
    Ok(Some(SchedAttr {
        policy,
        flags,
        nice: s.nice().unwrap_or(0),
        priority: s.priority().unwrap_or(0).max(0) as u32,
        runtime: s.runtime().unwrap_or(0),
        deadline: s.deadline().unwrap_or(0),
        period: s.period().unwrap_or(0),
    }))
}

pub fn apply_scheduler(attr: Option<&SchedAttr>) -> Result<()> {
    let Some(attr) = attr else {
        return Ok(());
    };
    kapsel_sys::process::sched_setattr(attr)
        .map_err(|e| Error::from(e).in_field("process.scheduler"))
}

/// `process.ioPriority` as (class, priority) for ioprio_set(2).
pub fn plan_io_priority(process: &Process) -> Result<Option<(u32, u32)>> {
    let Some(p) = process.io_priority() else {
        return Ok(None);
    };
    let class = match p.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    if !(0..=7).contains(&p.priority()) {
        return Err(Error::config(
            "process.ioPriority.priority",
            format!("{} is outside 0..7", p.priority()),
        ));
    }
    Ok(Some((class, p.priority() as u32)))
}

pub fn apply_io_priority(prio: Option<(u32, u32)>) -> Result<()> {
    let Some((class, priority)) = prio else {
        return Ok(());
    };
    kapsel_sys::process::ioprio_set(class, priority)
        .map_err(|e| Error::from(e).in_field("process.ioPriority"))
}

pub fn personality_value(p: &LinuxPersonality) -> Result<u64> {
    let mut v = match p.domain() {
        LinuxPersonalityDomain::PerLinux => 0x0000,
        LinuxPersonalityDomain::PerLinux32 => 0x0008,
    };
    for f in p.flags().iter().flatten() {
        v |= match f.as_str() {
            "ADDR_NO_RANDOMIZE" => 0x0004_0000,
            "MMAP_PAGE_ZERO" => 0x0010_0000,
            "ADDR_COMPAT_LAYOUT" => 0x0020_0000,
            "READ_IMPLIES_EXEC" => 0x0040_0000,
            "ADDR_LIMIT_32BIT" => 0x0080_0000,
            "SHORT_INODE" => 0x0100_0000,
            "WHOLE_SECONDS" => 0x0200_0000,
            "STICKY_TIMEOUTS" => 0x0400_0000,
            "ADDR_LIMIT_3GB" => 0x0800_0000,
            "FDPIC_FUNCPTRS" => 0x0008_0000,
            "UNAME26" => 0x0002_0000,
            other => {
                return Err(Error::config(
                    "linux.personality.flags",
                    format!("unknown flag `{other}`"),
                ))
            }
        };
    }
    Ok(v)
}

pub fn apply_personality(value: Option<u64>) -> Result<()> {
    let Some(v) = value else {
        return Ok(());
    };
    nix::sys::personality::set(nix::sys::personality::Persona::from_bits_retain(v as i32))
        .map(drop)
        .map_err(|e| crate::error::nix_err("personality", "")(e).in_field("linux.personality"))
}

pub(crate) fn apparmor_enabled() -> bool {
    kapsel_sys::kernfile::read_to_string(std::path::Path::new(
        "/sys/module/apparmor/parameters/enabled",
    ))
    .is_ok_and(|s| s.starts_with('Y'))
}

pub(crate) fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// Checked before create starts: a requested label on a host without the LSM is an error.
pub fn validate_lsm(spec: &Spec) -> Result<()> {
    let process = spec.process().as_ref();
    if process
        .and_then(|p| p.apparmor_profile().as_deref())
        .is_some_and(|p| !p.is_empty())
        && !apparmor_enabled()
    {
        return Err(Error::config(
            "process.apparmorProfile",
            "AppArmor is not enabled on this host",
        ));
    }
    if process
        .and_then(|p| p.selinux_label().as_deref())
        .is_some_and(|p| !p.is_empty())
        && !selinux_enabled()
    {
        return Err(Error::config(
            "process.selinuxLabel",
            "SELinux is not enabled on this host",
        ));
    }
    Ok(())
}

/// Labels the next exec (the LSM switches at execve), through the verified procfs.
pub fn apply_lsm(
    apparmor: Option<&str>,
    selinux: Option<&str>,
    proc: &crate::linux::procfs::ProcRoot,
) -> Result<()> {
    if let Some(profile) = apparmor {
        let rel = if proc.read_own("attr/apparmor/exec").is_ok() {
            "attr/apparmor/exec"
        } else {
            "attr/exec"
        };
        proc.write_own(rel, &format!("exec {profile}"))
            .map_err(|e| {
                Error::config(
                    "process.apparmorProfile",
                    format!("write `/proc/self/{rel}`: {}", crate::error::io_text(&e)),
                )
            })?;
    }
    if let Some(label) = selinux {
        proc.write_own("attr/exec", label).map_err(|e| {
            Error::config(
                "process.selinuxLabel",
                format!(
                    "write `/proc/self/attr/exec`: {}",
                    crate::error::io_text(&e)
                ),
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personality_domains_and_flags() {
        let p: LinuxPersonality =
            serde_json::from_str(r#"{"domain":"LINUX32","flags":["ADDR_NO_RANDOMIZE"]}"#).unwrap();
        assert_eq!(personality_value(&p).unwrap(), 0x0008 | 0x0004_0000);
        let bad: LinuxPersonality =
            serde_json::from_str(r#"{"domain":"LINUX","flags":["NOPE"]}"#).unwrap();
        assert!(personality_value(&bad)
            .unwrap_err()
            .to_string()
            .starts_with("linux.personality.flags"));
    }
}
