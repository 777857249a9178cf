//! `process.execCPUAffinity`: the cpus a container process runs on while the runtime
//! still sets it up (`initial`, before it joins the container's cgroup) and from just
//! before execve on (`final`). Without `final` the kernel decides (joining a cpuset
//! cgroup resets the affinity to the cgroup's cpus).

use crate::error::{Error, Result};
use nix::sched::{sched_setaffinity, CpuSet};
use nix::unistd::Pid;
use oci_spec::runtime::Process;

/// Which of the two sets.
#[derive(Clone, Copy)]
pub enum Stage {
    Initial,
    Final,
}

impl Stage {
    fn field(self) -> &'static str {
        match self {
            Stage::Initial => "process.execCPUAffinity.initial",
            Stage::Final => "process.execCPUAffinity.final",
        }
    }
}

/// The cpus of `stage`, if the config names any.
pub fn cpus(process: &Process, stage: Stage) -> Result<Option<Vec<u32>>> {
    let Some(a) = process.exec_cpu_affinity() else {
        return Ok(None);
    };
    let list = match stage {
        Stage::Initial => a.initial(),
        Stage::Final => a.cpu_affinity_final(),
    };
    match list.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(l) => crate::util::idlist::parse(l, CpuSet::count() as u32)
            .map(Some)
            .map_err(|e| Error::config(stage.field(), e)),
    }
}

/// Checks the planned sets before anything exists: every cpu is online.
pub fn check_online(initial: Option<&[u32]>, last: Option<&[u32]>) -> Result<()> {
    let online = kapsel_sys::kernfile::read_to_string(std::path::Path::new(
        "/sys/devices/system/cpu/online",
    ))
    .ok();
    let Some(online) =
        online.and_then(|t| crate::util::idlist::parse(&t, CpuSet::count() as u32).ok())
    else {
        return Ok(());
    };
    for (stage, list) in [(Stage::Initial, initial), (Stage::Final, last)] {
        if let Some(c) = list.iter().copied().flatten().find(|c| !online.contains(c)) {
            return Err(Error::config(
                stage.field(),
                format!("cpu {c} is not online"),
            ));
        }
    }
    Ok(())
}

/// sched_setaffinity for the calling process to the planned cpus of `stage`, if any.
pub fn apply(cpus: Option<&[u32]>, stage: Stage) -> Result<()> {
    let Some(list) = cpus else {
        return Ok(());
    };
    let mut set = CpuSet::new();
    for c in list {
        set.set(*c as usize)
            .map_err(|e| Error::config(stage.field(), format!("cpu {c}: {e}")))?;
    }
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| {
        Error::config(
            stage.field(),
            format!("sched_setaffinity: {}", kapsel_sys::errno_text(e as i32)),
        )
    })
}
