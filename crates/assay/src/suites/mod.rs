//! The benchmark catalogue (`context.component.facet` names) and one run of a benchmark.

mod container;
mod footprint;
mod limits;
mod operations;
mod performance;
mod scalability;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::bundle::Bundles;
use crate::config::{CacheMode, Config};
use crate::error::{Error, Failure};
use crate::exec::Exec;
use crate::results::{Better, MetricDef};
use crate::runtime::Runtime;

pub use performance::{parsed, SysbenchTest};

/// What a benchmark measures, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Version,
    WrapperFloor,
    Create,
    Start,
    DeleteStopped,
    DeleteRunning,
    Kill,
    State,
    Lifecycle,
    RunTrue,
    Scale { n: u32, concurrent: bool },
    Sysbench(SysbenchTest),
    CpuHardCap,
    CpuScaling,
    BinarySize,
    CreateResources,
    RunResources,
    LifecycleCpu,
    CreateSyscalls,
}

impl Kind {
    /// A benchmark that times one runtime verb of a container (`run` is a verb too).
    pub fn is_one_verb(&self) -> bool {
        matches!(
            self,
            Kind::Create
                | Kind::Start
                | Kind::DeleteStopped
                | Kind::DeleteRunning
                | Kind::Kill
                | Kind::State
                | Kind::RunTrue
        )
    }
}

#[derive(Debug, Clone)]
pub struct Benchmark {
    pub name: String,
    pub description: String,
    pub metrics: Vec<MetricDef>,
    pub kind: Kind,
    /// Also run directly on the host, as the reference the overheads are computed against.
    pub on_host: bool,
}

/// What assay runs a benchmark on.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Runtime(&'a Runtime),
    /// The same work without a container (performance suite only).
    Host,
}

impl Target<'_> {
    pub fn name(&self) -> &str {
        match self {
            Target::Runtime(rt) => &rt.name,
            Target::Host => "host",
        }
    }
}

/// The result of one run: a value per metric, or a reason it does not apply.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    Values(Vec<f64>),
    /// Values and a time series (`[seconds, requested, achieved]`) kept with the sample.
    Traced(Vec<f64>, Vec<[f64; 3]>),
    Skip(String),
}

pub type RunResult = Result<RunOutcome, Failure>;

/// Tools some suites need, found once.
#[derive(Debug, Clone, Default)]
pub struct Tools {
    pub sysbench: Option<PathBuf>,
    pub strace: Option<PathBuf>,
}

/// Everything a benchmark run needs.
pub struct Ctx<'a> {
    pub exec: &'a Exec,
    pub bundles: &'a Bundles,
    pub config: &'a Config,
    pub tools: Tools,
    /// This binary, re-run as the `__measure` helper.
    pub self_exe: PathBuf,
    ids: AtomicU64,
}

impl<'a> Ctx<'a> {
    pub fn new(
        exec: &'a Exec,
        bundles: &'a Bundles,
        config: &'a Config,
        tools: Tools,
        self_exe: PathBuf,
    ) -> Self {
        Ctx {
            exec,
            bundles,
            config,
            tools,
            self_exe,
            ids: AtomicU64::new(0),
        }
    }

    /// A container id unique to this run.
    pub fn new_id(&self) -> String {
        format!(
            "assay-{}-{}",
            std::process::id(),
            self.ids.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Called right before every timed phase: see [`before_timed`].
    pub fn before_timed(&self) -> Result<(), Failure> {
        before_timed(self.config)
    }
}

/// Right before every timed phase, in both modes: the same idle spacing for every runtime,
/// and in cold mode a sync and a page-cache drop.
pub fn before_timed(config: &Config) -> Result<(), Failure> {
    std::thread::sleep(Duration::from_millis(config.spacing_ms));
    if config.cache == CacheMode::Cold {
        nix::unistd::sync();
        let path = "/proc/sys/vm/drop_caches";
        std::fs::write(path, "3")
            .map_err(|e| Failure::new("drop caches", Error::io("write", path)(e)))?;
    }
    Ok(())
}

fn metric(key: &str, unit: &str, better: Better) -> MetricDef {
    MetricDef {
        key: key.into(),
        unit: unit.into(),
        better,
    }
}

fn bench(name: &str, description: &str, metrics: Vec<MetricDef>, kind: Kind) -> Benchmark {
    Benchmark {
        name: name.into(),
        description: description.into(),
        metrics,
        kind,
        on_host: false,
    }
}

/// Every benchmark assay knows, for the given scalability counts.
pub fn catalog(scales: &[u32]) -> Vec<Benchmark> {
    use Better::*;
    let time = || vec![metric("time", "ms", Lower)];
    let mut list = vec![
        bench(
            "operations.runtime.version",
            "`--version` without wrapper: the process start-up floor",
            time(),
            Kind::Version,
        ),
        bench(
            "operations.runtime.wrapper",
            "the configured wrapper running /bin/true: its share of every call",
            time(),
            Kind::WrapperFloor,
        ),
        bench(
            "operations.container.create",
            "`create` of a container running `sleep`",
            time(),
            Kind::Create,
        ),
        bench(
            "operations.container.start",
            "`start` of a created container",
            time(),
            Kind::Start,
        ),
        bench(
            "operations.container.delete",
            "`delete` of a stopped container",
            time(),
            Kind::DeleteStopped,
        ),
        bench(
            "operations.container.delete-force",
            "`delete --force` of a running container",
            time(),
            Kind::DeleteRunning,
        ),
        bench(
            "operations.container.kill",
            "`kill ID KILL` of a running container",
            time(),
            Kind::Kill,
        ),
        bench(
            "operations.container.state",
            "`state` of a running container",
            time(),
            Kind::State,
        ),
        bench(
            "operations.container.lifecycle",
            "create + start + delete --force, timed as one",
            time(),
            Kind::Lifecycle,
        ),
        bench(
            "operations.container.run",
            "`run` of a container running `true`, to its exit",
            time(),
            Kind::RunTrue,
        ),
    ];
    for concurrent in [false, true] {
        for &n in scales {
            let mode = if concurrent {
                "concurrent"
            } else {
                "sequential"
            };
            let how = if concurrent {
                "all at once, one thread each"
            } else {
                "one after another"
            };
            list.push(bench(
                &format!("scalability.{mode}.n{n}"),
                &format!("start {n} sleeping containers then delete --force them all, {how}"),
                vec![
                    metric("total", "ms", Lower),
                    metric("per_container", "ms", Lower),
                    metric("start_all", "ms", Lower),
                    metric("destroy_all", "ms", Lower),
                ],
                Kind::Scale { n, concurrent },
            ));
        }
    }
    for test in SysbenchTest::ALL {
        let metrics = test
            .metrics()
            .into_iter()
            .map(|(key, unit, higher)| metric(key, unit, if higher { Higher } else { Lower }))
            .collect();
        let mut b = bench(
            &format!("performance.{}", test.facet()),
            test.description(),
            metrics,
            Kind::Sysbench(test),
        );
        b.on_host = true;
        list.push(b);
    }
    list.extend([
        bench(
            "limits.cpu.hardcap",
            "sysbench cpu under cpu quota 1000 / period 10000 (10% of one core); cpu: what it got, read from its cgroup once a second",
            vec![metric("throughput", "events/s", Neither), metric("cpu", "% of a core", Neither)],
            Kind::CpuHardCap,
        ),
        bench(
            "limits.cpu.scaling",
            "sysbench cpu while `update --cpu-quota` raises the cap from 50% to 100% over the run; shortfall: cap minus the CPU it got, mean over the seconds",
            vec![metric("throughput", "events/s", Neither), metric("update", "ms", Lower), metric("shortfall", "% of a core", Neither)],
            Kind::CpuScaling,
        ),
        bench(
            "footprint.binary.size",
            "runtime binary size, the shared libraries it links and their total size",
            vec![metric("binary", "KiB", Lower), metric("libraries", "count", Lower), metric("libraries_size", "KiB", Lower)],
            Kind::BinarySize,
        ),
        bench(
            "footprint.create.resources",
            "`create`: peak RSS of the runtime processes, their CPU time, memory left charged to a measuring cgroup",
            resources_metrics(),
            Kind::CreateResources,
        ),
        bench(
            "footprint.run.resources",
            "`run` of `true`: peak RSS, CPU time, memory left charged to a measuring cgroup",
            resources_metrics(),
            Kind::RunResources,
        ),
        bench(
            "footprint.lifecycle.cpu",
            "CPU time (user + system) of create + start + delete --force",
            vec![metric("cpu", "ms", Lower)],
            Kind::LifecycleCpu,
        ),
        bench(
            "footprint.create.syscalls",
            "system calls of `create` (strace -f -c, wrapper included, up to the container's exec)",
            vec![metric("syscalls", "count", Lower)],
            Kind::CreateSyscalls,
        ),
    ]);
    list
}

fn resources_metrics() -> Vec<MetricDef> {
    vec![
        metric("peak_rss", "KiB", Better::Lower),
        metric("cpu", "ms", Better::Lower),
        metric("charged", "KiB", Better::Lower),
    ]
}

/// Runs `bench` once on `target`.
pub fn run_once(ctx: &Ctx, target: Target, bench: &Benchmark) -> RunResult {
    let rt = match target {
        Target::Host => return performance::run_on_host(ctx, bench),
        Target::Runtime(rt) => rt,
    };
    match &bench.kind {
        Kind::Version => operations::version(ctx, rt),
        Kind::WrapperFloor => operations::wrapper_floor(ctx, rt),
        Kind::Create => operations::create(ctx, rt),
        Kind::Start => operations::start(ctx, rt),
        Kind::DeleteStopped => operations::delete_stopped(ctx, rt),
        Kind::DeleteRunning => operations::delete_running(ctx, rt),
        Kind::Kill => operations::kill(ctx, rt),
        Kind::State => operations::state(ctx, rt),
        Kind::Lifecycle => operations::lifecycle(ctx, rt),
        Kind::RunTrue => operations::run_true(ctx, rt),
        Kind::Scale { n, concurrent } => scalability::scale(ctx, rt, *n, *concurrent),
        Kind::Sysbench(test) => performance::in_container(ctx, rt, *test),
        Kind::CpuHardCap => limits::hard_cap(ctx, rt),
        Kind::CpuScaling => limits::scaling(ctx, rt),
        Kind::BinarySize => footprint::binary_size(ctx, rt),
        Kind::CreateResources => footprint::create_resources(ctx, rt),
        Kind::RunResources => footprint::run_resources(ctx, rt),
        Kind::LifecycleCpu => footprint::lifecycle_cpu(ctx, rt),
        Kind::CreateSyscalls => footprint::create_syscalls(ctx, rt),
    }
}

/// How many runtime calls lie one after another in the timed part of each metric of
/// `kind` (a per-call wrapper costs its floor that many times); `None` where the calls
/// overlap or the metric is not a time.
pub fn wrapped_calls(kind: &Kind) -> Option<Vec<f64>> {
    Some(match kind {
        k if k.is_one_verb() => vec![1.0],
        Kind::Lifecycle => vec![3.0],
        // total, per_container, start_all (create + start), destroy_all (delete)
        Kind::Scale {
            n,
            concurrent: false,
        } => {
            let n = f64::from(*n);
            vec![3.0 * n, 3.0, 2.0 * n, n]
        }
        _ => return None,
    })
}

/// Estimated seconds per sample of `kind`, set-up and spacing included: the run's
/// estimate and the ETA weigh benchmarks by it.
pub fn estimate_s(kind: &Kind, config: &Config) -> f64 {
    let secs = f64::from(config.seconds);
    let each = match kind {
        Kind::Version | Kind::WrapperFloor | Kind::BinarySize => 0.02,
        Kind::RunTrue => 0.08,
        Kind::Lifecycle => 0.15,
        Kind::Scale { n, concurrent } => f64::from(*n) * if *concurrent { 0.08 } else { 0.15 },
        Kind::Sysbench(t) if t.is_fileio() => secs + 2.0,
        Kind::Sysbench(_) => secs + 0.3,
        Kind::CpuHardCap => secs + 0.3,
        Kind::CpuScaling => 2.0 * secs.max(2.0) + 0.5,
        Kind::CreateResources | Kind::RunResources | Kind::LifecycleCpu => 0.25,
        Kind::CreateSyscalls => 1.0,
        // One verb with its untimed set-up and clean-up.
        _ => 0.15,
    };
    let cold = if config.cache == CacheMode::Cold {
        0.5
    } else {
        0.0
    };
    each + config.spacing_ms as f64 / 1000.0 + cold
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_scheme_and_are_unique() {
        let list = catalog(&[5, 10, 50]);
        let mut names: Vec<&str> = list.iter().map(|b| b.name.as_str()).collect();
        for n in &names {
            assert_eq!(n.split('.').count(), 3, "{n}");
            assert!([
                "operations",
                "scalability",
                "performance",
                "limits",
                "footprint"
            ]
            .contains(&n.split('.').next().unwrap()));
        }
        let before = names.len();
        names.sort();
        names.dedup();
        assert_eq!(before, names.len());
        assert!(names.contains(&"operations.container.lifecycle"));
        assert!(names.contains(&"scalability.concurrent.n50"));
        assert!(list
            .iter()
            .filter(|b| b.on_host)
            .all(|b| b.name.starts_with("performance.")));
    }
}
