//! kapsel's crash points (`KAPSEL_FAULT`): a `create` that SIGKILLs itself at a chosen step,
//! and what the host holds of the container afterwards.

use std::path::PathBuf;

use crate::bundle::Bundle;
use crate::cgroupfs::CgroupDirs;
use crate::command::Output;
use crate::context::Ctx;

/// The steps of `create` kapsel can die at, in order.
pub const POINTS: [&str; 5] = [
    "after-reserve",
    "after-cgroup",
    "after-clone",
    "after-mounts",
    "before-ready",
];

impl Ctx {
    /// `create` with `KAPSEL_FAULT=point`: the runtime kills itself at that step.
    pub fn create_killed_at(&mut self, bundle: &Bundle, id: &str, point: &str) -> Output {
        self.create_with_fault(bundle, id, point, &[])
    }

    /// `create` with `KAPSEL_FAULT=point` and more environment.
    pub fn create_with_fault(
        &mut self,
        bundle: &Bundle,
        id: &str,
        point: &str,
        env: &[(&str, &str)],
    ) -> Output {
        let mut cmd = self.rt().env("KAPSEL_FAULT", point);
        for (k, v) in env {
            cmd = cmd.env(k, v);
        }
        self.create_cmd(bundle, id, cmd).arg(id).run()
    }
}

/// The default cgroup directories of container `id` that exist now.
pub fn cgroup_dirs_of(id: &str) -> Vec<PathBuf> {
    CgroupDirs::default_for(id).remaining()
}

/// Pids in any of the default cgroups of container `id`.
pub fn cgroup_procs_of(id: &str) -> Vec<i32> {
    let mut pids: Vec<i32> = cgroup_dirs_of(id)
        .iter()
        .flat_map(|d| {
            std::fs::read_to_string(d.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .collect::<Vec<i32>>()
        })
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}
