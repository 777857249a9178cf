//! The benchmarks of the direct mode: the catalogue (`catalog`), what a run works with
//! (`ctx`), and one run of a benchmark on a runtime or the host, by suite.

mod catalog;
mod container;
mod ctx;
mod footprint;
mod limits;
mod operations;
mod performance;
mod scalability;
mod wasm;

use crate::config::{CacheMode, Config};

pub use catalog::{catalog, Benchmark, Kind};
pub use ctx::{before_timed, Ctx, RunOutcome, RunResult, Target, Tools};
pub use performance::{parsed, SysbenchTest};

/// Runs `bench` once on `target`.
pub fn run_once(ctx: &Ctx, target: Target, bench: &Benchmark) -> RunResult {
    let rt = match target {
        Target::Host => {
            return match bench.kind {
                Kind::Sysbench(test) => performance::run_on_host(ctx, test),
                _ => Ok(RunOutcome::Skip("not a host benchmark".into())),
            }
        }
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
        Kind::WasmHello => wasm::hello(ctx, rt),
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
        Kind::WasmHello => 0.3,
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
