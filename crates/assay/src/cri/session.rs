//! What every CRI sample works with: the endpoint, the config and the pods' cgroup parent
//! ([`Ctx`]), a pod removed when dropped ([`Pod`]), and the small helpers the benchmarks
//! and the sysbench tests share.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::config::Config;
use crate::error::Failure;

use super::api::{LinuxContainerResources, Mount, PodSandboxConfig};
use super::client::Cri;
use super::pod;

/// What a sample does to its pod, in order; the steps after the untimed ones are timed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Step {
    Create,
    Start,
    Exec,
    StopRemove,
    DestroyPod,
}

/// What every sample needs.
pub struct Ctx<'a> {
    pub cri: &'a Cri,
    pub config: &'a Config,
    /// The cgroup parent of every pod (`/assay-cri-PID`), removed at the end.
    pub cgroup_parent: String,
    /// Mounts that make the host's sysbench run in busybox; `None` without sysbench.
    pub sysbench: Option<(String, Vec<Mount>)>,
    pub(super) ids: AtomicU64,
}

impl<'a> Ctx<'a> {
    pub fn new(cri: &'a Cri, config: &'a Config, cgroup_parent: String) -> Ctx<'a> {
        let sysbench = crate::runtime::which("sysbench").and_then(|p| {
            let mounts = pod::host_program_mounts(&p).ok()?;
            Some((p.display().to_string(), mounts))
        });
        Ctx {
            cri,
            config,
            cgroup_parent,
            sysbench,
            ids: AtomicU64::new(0),
        }
    }

    pub(super) fn sandbox(&self) -> PodSandboxConfig {
        let n = self.ids.fetch_add(1, Ordering::Relaxed);
        pod::sandbox(
            &format!("assay-{}-{n}", std::process::id()),
            &self.cgroup_parent,
        )
    }

    /// The direct mode's spacing and cache handling before a timed phase.
    pub(super) fn spacing(&self) -> Result<(), Failure> {
        crate::suites::before_timed(self.config)
    }
}

pub(super) fn ms(since: Instant) -> f64 {
    since.elapsed().as_secs_f64() * 1000.0
}

/// A pod that is stopped and removed (with its containers) when dropped.
pub(super) struct Pod<'a> {
    cri: &'a Cri,
    id: String,
    config: PodSandboxConfig,
}

impl<'a> Pod<'a> {
    pub(super) fn run(ctx: &Ctx<'a>, handler: &str) -> Result<Pod<'a>, Failure> {
        let config = ctx.sandbox();
        let id = ctx
            .cri
            .block_on(ctx.cri.h.run_pod_sandbox(config.clone(), handler))?;
        Ok(Pod {
            cri: ctx.cri,
            id,
            config,
        })
    }

    pub(super) fn create(
        &self,
        command: &[&str],
        res: Option<LinuxContainerResources>,
        mounts: Vec<Mount>,
    ) -> Result<String, Failure> {
        let c = pod::container("c", command, res, mounts);
        self.cri
            .block_on(
                self.cri
                    .h
                    .create_container(&self.id, c, self.config.clone()),
            )
            .map_err(Failure::from)
    }

    pub(super) fn start(&self, id: &str) -> Result<(), Failure> {
        self.cri
            .block_on(self.cri.h.start_container(id))
            .map_err(Failure::from)
    }

    /// Runs one step on this pod's container (`Create` sets `container`).
    pub(super) fn step(&mut self, step: Step, container: &mut String) -> Result<(), Failure> {
        let h = &self.cri.h;
        match step {
            Step::Create => *container = self.create(SLEEP, None, Vec::new())?,
            Step::Start => self.start(container)?,
            Step::Exec => {
                let r = self.cri.block_on(h.exec_sync(container, &["true"], 30))?;
                if r.exit_code != 0 {
                    let why = format!("exit code {}", r.exit_code);
                    return Err(Failure::new("ExecSync true", why));
                }
            }
            Step::StopRemove => self.cri.block_on(async {
                h.stop_container(container, 0).await?;
                h.remove_container(container).await
            })?,
            Step::DestroyPod => self.destroy()?,
        }
        Ok(())
    }

    /// Stops and removes the pod, once; an error is returned, not swallowed.
    pub(super) fn destroy(&mut self) -> Result<(), Failure> {
        if self.id.is_empty() {
            return Ok(());
        }
        let id = std::mem::take(&mut self.id);
        destroy_pod(self.cri, &id)
    }
}

impl Drop for Pod<'_> {
    fn drop(&mut self) {
        let _ = self.destroy();
    }
}

fn destroy_pod(cri: &Cri, id: &str) -> Result<(), Failure> {
    cri.block_on(async {
        cri.h.stop_pod_sandbox(id).await?;
        cri.h.remove_pod_sandbox(id).await
    })
    .map_err(Failure::from)
}

pub(super) const SLEEP: &[&str] = &["sleep", "inf"];
