//! The benchmarks of CRI mode, named like the direct mode's (`operations.cri.create`, ...)
//! and described by TouchStone's names (OpCreate, OpRun, OpCreateAndRun, OpDestroy,
//! ScalabilityN, CPUTime, HardLimit). Each sample starts from nothing and removes its pods
//! afterwards, untimed; the timed part is the CRI calls named in the description.

use std::time::Instant;

use crate::config::Config;

use crate::results::{Better, MetricDef};
use crate::suites::{RunOutcome, RunResult, SysbenchTest};

use super::api::PodSandboxConfig;
use super::client::{CallError, CriError, Handle};
use super::pod;
use super::session::{ms, Ctx, Pod, Step, SLEEP};
use super::sysbench;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    PodStart,
    PodDestroy,
    Create,
    Start,
    CreateStart,
    Destroy,
    Exec,
    Scale(u32),
    CpuTime,
    /// sysbench memory or fileio in the container, a host folder mounted at /work.
    Sysbench(SysbenchTest),
    HardLimit,
    Scaling,
}

#[derive(Debug, Clone)]
pub struct Bench {
    pub name: String,
    pub description: String,
    pub metrics: Vec<MetricDef>,
    pub kind: Kind,
}

fn metric(key: &str, unit: &str, better: Better) -> MetricDef {
    MetricDef {
        key: key.into(),
        unit: unit.into(),
        better,
    }
}

/// Every CRI benchmark, for the given scalability pod counts.
pub fn catalog(scales: &[u32]) -> Vec<Bench> {
    let time = || vec![metric("time", "ms", Better::Lower)];
    let b = |name: &str, description: &str, metrics: Vec<MetricDef>, kind| Bench {
        name: name.into(),
        description: description.into(),
        metrics,
        kind,
    };
    let mut list = vec![
        b("operations.cri.pod-start", "RunPodSandbox: a host-network pod whose sandbox runs the pause stand-in", time(), Kind::PodStart),
        b("operations.cri.pod-destroy", "StopPodSandbox + RemovePodSandbox of a pod with one running container", time(), Kind::PodDestroy),
        b("operations.cri.create", "OpCreate: CreateContainer in a running pod (containerd prepares it; the OCI runtime is not called yet)", time(), Kind::Create),
        b("operations.cri.start", "OpRun: StartContainer of a created container (runtime create + start)", time(), Kind::Start),
        b("operations.cri.create-start", "OpCreateAndRun: CreateContainer + StartContainer in a running pod", time(), Kind::CreateStart),
        b("operations.cri.destroy", "OpDestroy: StopContainer (no grace period) + RemoveContainer of a running container", time(), Kind::Destroy),
        b("operations.cri.exec", "ExecSync of `true` in a running container (runtime exec)", time(), Kind::Exec),
    ];
    for &n in scales {
        list.push(b(
            &format!("scalability.cri.n{n}"),
            &format!("Scalability{n}: {n} pods at once, each RunPodSandbox + CreateContainer + StartContainer, then all stopped and removed"),
            vec![
                metric("total", "ms", Better::Lower),
                metric("per_pod", "ms", Better::Lower),
                metric("start_all", "ms", Better::Lower),
                metric("destroy_all", "ms", Better::Lower),
            ],
            Kind::Scale(n),
        ));
    }
    list.push(b(
        "performance.cri.cputime",
        "CPUTime: sysbench cpu (host binary and libraries bind-mounted) through ExecSync in a pod",
        vec![metric("events", "events/s", Better::Higher)],
        Kind::CpuTime,
    ));
    for test in CRI_SYSBENCH {
        let metrics = test
            .metrics()
            .into_iter()
            .map(|(key, unit, higher)| {
                metric(
                    key,
                    unit,
                    if higher {
                        Better::Higher
                    } else {
                        Better::Lower
                    },
                )
            })
            .collect();
        list.push(b(
            &format!("performance.cri.{}", test.facet().replace('.', "-")),
            &format!(
                "{} through ExecSync in a pod (fileio in a host folder mounted at /work)",
                test.description()
            ),
            metrics,
            Kind::Sysbench(test),
        ));
    }
    list.push(b(
        "limits.cri.hardlimit",
        "HardLimit: sysbench cpu in a container capped at 10% of a core (CFS quota via CRI resources)",
        vec![metric("events", "events/s", Better::Neither)],
        Kind::HardLimit,
    ));
    list.push(b(
        "limits.cri.scaling",
        "HardLimit scaling: sysbench cpu while UpdateContainerResources raises the cap from 50% to 100% of a core, once a second",
        vec![
            metric("events", "events/s", Better::Neither),
            metric("update", "ms", Better::Lower),
        ],
        Kind::Scaling,
    ));
    list
}

/// Estimated seconds per sample of `kind` (pod set-up and removal included).
pub fn estimate_s(kind: Kind, config: &Config) -> f64 {
    let secs = f64::from(config.seconds);
    let each = match kind {
        Kind::Scale(n) => 0.3 * f64::from(n) + 0.5,
        Kind::CpuTime | Kind::HardLimit => secs + 1.0,
        Kind::Sysbench(t) if t.is_fileio() => secs + 3.0,
        Kind::Sysbench(_) => secs + 1.0,
        Kind::Scaling => 2.0 * secs.max(2.0) + 1.0,
        _ => 0.6,
    };
    each + config.spacing_ms as f64 / 1000.0
}

/// The memory and fileio tests that also run through CRI.
const CRI_SYSBENCH: [SysbenchTest; 4] = [
    SysbenchTest::Memory,
    SysbenchTest::MemoryLatency,
    SysbenchTest::FileSeqWrite,
    SysbenchTest::FileSeqRewrite,
];

/// (untimed steps, timed steps) of an operations benchmark on a running pod.
fn steps_of(kind: Kind) -> Option<(&'static [Step], &'static [Step])> {
    use Step::*;
    Some(match kind {
        Kind::PodDestroy => (&[Create, Start], &[DestroyPod]),
        Kind::Create => (&[], &[Create]),
        Kind::Start => (&[Create], &[Start]),
        Kind::CreateStart => (&[], &[Create, Start]),
        Kind::Destroy => (&[Create, Start], &[StopRemove]),
        Kind::Exec => (&[Create, Start], &[Exec]),
        _ => return None,
    })
}

/// One sample of `bench` on `handler`.
pub fn run_once(ctx: &Ctx, bench: &Bench, handler: &str) -> RunResult {
    if let Some((untimed, timed)) = steps_of(bench.kind) {
        let mut pod = Pod::run(ctx, handler)?;
        let mut container = String::new();
        for step in untimed {
            pod.step(*step, &mut container)?;
        }
        ctx.spacing()?;
        let t = Instant::now();
        for step in timed {
            pod.step(*step, &mut container)?;
        }
        let v = ms(t);
        pod.destroy()?;
        return Ok(RunOutcome::Values(vec![v]));
    }
    match bench.kind {
        Kind::PodStart => {
            ctx.spacing()?;
            let t = Instant::now();
            let mut pod = Pod::run(ctx, handler)?;
            let v = ms(t);
            pod.destroy()?;
            Ok(RunOutcome::Values(vec![v]))
        }
        Kind::Scale(n) => scale(ctx, handler, n),
        Kind::CpuTime => sysbench::cpu(ctx, handler, None),
        Kind::Sysbench(test) => sysbench::test(ctx, handler, test),
        Kind::HardLimit => sysbench::cpu(ctx, handler, Some(10)),
        Kind::Scaling => sysbench::scaling(ctx, handler),
        _ => Ok(RunOutcome::Skip(format!(
            "{:?}: not a CRI benchmark",
            bench.kind
        ))),
    }
}

/// `n` pods started at once over the one HTTP/2 connection, then all destroyed at once.
fn scale(ctx: &Ctx, handler: &str, n: u32) -> RunResult {
    let configs: Vec<PodSandboxConfig> = (0..n).map(|_| ctx.sandbox()).collect();
    ctx.spacing()?;
    let t = Instant::now();
    let started: Vec<Result<String, (Option<String>, CriError)>> = ctx.cri.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for (i, config) in configs.into_iter().enumerate() {
            let h: Handle = ctx.cri.h.clone();
            let handler = handler.to_string();
            set.spawn(async move {
                let pod = h
                    .run_pod_sandbox(config.clone(), &handler)
                    .await
                    .map_err(|e| (None, e))?;
                let c = pod::container(&format!("c{i}"), SLEEP, None, Vec::new());
                let started = async {
                    let id = h.create_container(&pod, c, config).await?;
                    h.start_container(&id).await
                };
                match started.await {
                    Ok(()) => Ok(pod),
                    Err(e) => Err((Some(pod), e)),
                }
            });
        }
        let mut all = Vec::new();
        while let Some(r) = set.join_next().await {
            all.push(r.unwrap_or_else(|e| {
                Err((
                    None,
                    CriError {
                        rpc: "scale task",
                        why: CallError::Task(e),
                    },
                ))
            }));
        }
        all
    });
    let start_all = ms(t);
    let pods: Vec<String> = started
        .iter()
        .filter_map(|r| match r {
            Ok(p) | Err((Some(p), _)) => Some(p.clone()),
            Err((None, _)) => None,
        })
        .collect();
    let t = Instant::now();
    let destroyed: Vec<Result<(), CriError>> = ctx.cri.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for p in pods {
            let h = ctx.cri.h.clone();
            set.spawn(async move {
                h.stop_pod_sandbox(&p).await?;
                h.remove_pod_sandbox(&p).await
            });
        }
        let mut all = Vec::new();
        while let Some(r) = set.join_next().await {
            all.push(r.unwrap_or_else(|e| {
                Err(CriError {
                    rpc: "scale task",
                    why: CallError::Task(e),
                })
            }));
        }
        all
    });
    let destroy_all = ms(t);
    if let Some(Err((_, e))) = started.into_iter().find(Result::is_err) {
        return Err(e.into());
    }
    if let Some(Err(e)) = destroyed.into_iter().find(Result::is_err) {
        return Err(e.into());
    }
    let total = start_all + destroy_all;
    Ok(RunOutcome::Values(vec![
        total,
        total / f64::from(n.max(1)),
        start_all,
        destroy_all,
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_touchstones_rows() {
        let names: Vec<String> = catalog(&[5, 10, 50]).into_iter().map(|b| b.name).collect();
        for want in [
            "operations.cri.create",
            "operations.cri.start",
            "operations.cri.create-start",
            "operations.cri.destroy",
            "scalability.cri.n5",
            "scalability.cri.n50",
            "performance.cri.cputime",
            "limits.cri.hardlimit",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} missing");
        }
    }
}
