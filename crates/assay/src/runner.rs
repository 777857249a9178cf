//! The matrix: every selected benchmark on every runtime, runs interleaved (A B C A B C ...)
//! so drift of the machine affects all runtimes alike.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::bundle::Bundles;
use crate::config::{Config, HIDE_UNIFIED};
use crate::exec::{Exec, Failure};
use crate::glob;
use crate::interrupt;
use crate::machine::{loadavg, Machine};
use crate::mountns::{self, View};
use crate::progress::Progress;
use crate::reaper::Reaper;
use crate::results::{BenchmarkResult, Cell, CellStatus, MetricDef, Results, RuntimeInfo, Sample};
use crate::runtime::{is_executable, version_line, which, Runtime};
use crate::suites::{self, Benchmark, Ctx, RunOutcome, RunResult, Target, Tools};
use crate::timefmt;

/// The selected benchmarks, in catalogue order.
pub fn selected(config: &Config) -> Vec<Benchmark> {
    suites::catalog(&config.scales)
        .into_iter()
        .filter(|b| glob::selected(&config.suites, &b.name))
        .collect()
}

/// Checks the runtimes can be started: each error names the key.
pub fn check_runtimes(config: &Config) -> Result<(), String> {
    for (i, rt) in config.runtimes.iter().enumerate() {
        if !is_executable(&rt.path) {
            return Err(format!(
                "runtimes[{i}].path: `{}` is not an executable file",
                rt.path.display()
            ));
        }
        if let Some(w) = rt.wrapper.first().filter(|w| *w != HIDE_UNIFIED) {
            if which(w).is_none() {
                return Err(format!("runtimes[{i}].wrapper: `{w}` not found in PATH"));
            }
        }
    }
    Ok(())
}

/// The `--version` line of each runtime, or why there is none.
pub fn versions(exec: &Exec, runtimes: &[Runtime]) -> Vec<String> {
    runtimes
        .iter()
        .map(|rt| match exec.run(&rt.version_argv()) {
            Ok(out) => version_line(&out.stdout),
            Err(e) => format!("unknown ({e})"),
        })
        .collect()
}

fn work_dir(config: &Config) -> PathBuf {
    // On disk, not tmpfs: the fileio benchmarks write here.
    config
        .work_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("/var/tmp/assay-{}", std::process::id())))
}

/// One benchmark of a matrix: its description, and the names of the columns it runs on.
pub struct Row {
    pub name: String,
    pub description: String,
    pub metrics: Vec<MetricDef>,
    pub targets: Vec<String>,
}

impl Row {
    pub fn new(name: &str, description: &str, metrics: &[MetricDef], targets: Vec<String>) -> Row {
        Row {
            name: name.into(),
            description: description.into(),
            metrics: metrics.to_vec(),
            targets,
        }
    }
}

/// Runs `run(row, target)` for every row and target, `warmup` untimed then `runs` timed
/// times, interleaved across targets; a target that fails or skips a row is not run again
/// on it. Stops between samples when an interrupt was requested.
pub fn matrix(
    config: &Config,
    rows: &[Row],
    mut run: impl FnMut(usize, usize) -> RunResult,
) -> Result<Vec<BenchmarkResult>, String> {
    let per_cell = (config.warmup + config.runs) as usize;
    let total = rows.iter().map(|r| r.targets.len() * per_cell).sum();
    let mut progress = Progress::new(total);
    let clock = Instant::now();
    let mut out = Vec::new();
    for (bi, row) in rows.iter().enumerate() {
        let mut cells: Vec<Cell> = row.targets.iter().map(|t| Cell::new(t)).collect();
        progress.begin(row.targets.len() * per_cell);
        for i in 0..config.warmup + config.runs {
            let warm = i < config.warmup;
            for (ti, cell) in cells.iter_mut().enumerate() {
                if interrupt::requested() {
                    return Err("interrupted: nothing written".into());
                }
                if cell.status != CellStatus::Ok {
                    continue;
                }
                let (n, of) = if warm {
                    (i + 1, config.warmup)
                } else {
                    (i - config.warmup + 1, config.runs)
                };
                progress.step(&row.targets[ti], &row.name, n, of, warm);
                let load1 = loadavg(Path::new("/"))[0];
                match run(bi, ti) {
                    Ok(RunOutcome::Values(values)) if !warm => cell.samples.push(Sample {
                        values,
                        load1,
                        at_s: clock.elapsed().as_secs_f64(),
                    }),
                    Ok(RunOutcome::Values(_)) => {}
                    Ok(RunOutcome::Skip(reason)) => {
                        cell.status = CellStatus::Skipped;
                        cell.error = Some(reason);
                    }
                    Err(f) => {
                        progress.note(&format!(
                            "assay: {} failed {}: {f}",
                            row.targets[ti], row.name
                        ));
                        cell.status = CellStatus::Failed;
                        cell.error = Some(f.to_string());
                        cell.stderr = Some(f.stderr.trim().to_string()).filter(|s| !s.is_empty());
                    }
                }
            }
        }
        cells
            .iter_mut()
            .for_each(|c| c.summarise(row.metrics.len()));
        out.push(BenchmarkResult {
            name: row.name.clone(),
            description: row.description.clone(),
            metrics: row.metrics.clone(),
            cells,
        });
    }
    progress.finish();
    Ok(out)
}

/// Runs the whole matrix and returns the results; the work folder is removed afterwards.
pub fn run(config: &Config) -> Result<Results, String> {
    config.validate().map_err(|e| e.0)?;
    check_runtimes(config)?;
    let benches = selected(config);
    if benches.is_empty() {
        return Err(format!(
            "suites: no benchmark matches {:?} (see `assay list`)",
            config.suites
        ));
    }
    let hidden = config.runtimes.iter().any(|r| r.wrapper == [HIDE_UNIFIED]);
    mountns::prepare(hidden)?;
    let work = work_dir(config);
    std::fs::create_dir_all(&work)
        .map_err(|e| format!("work_dir: create `{}`: {e}", work.display()))?;
    let result = run_in(config, &benches, &work);
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn run_in(config: &Config, benches: &[Benchmark], work: &Path) -> Result<Results, String> {
    let started_unix = timefmt::unix_now();
    let machine = Machine::probe(Path::new("/"));
    // A hung runtime command is killed (generously above what any suite asks for).
    let limit = Duration::from_secs(120 + 4 * u64::from(config.seconds));
    let exec = Exec::new(work.join("scratch"))
        .map_err(|e| format!("start: {e}"))?
        .with_time_limit(limit);
    let runtimes: Vec<Runtime> = config
        .runtimes
        .iter()
        .map(|r| Runtime::new(r, &work.join("state")))
        .collect();
    let versions = versions(&exec, &runtimes);
    let bundles = Bundles::prepare(&config.bundle, work, &exec)?;
    let tools = Tools {
        sysbench: which("sysbench"),
        strace: which("strace"),
    };
    let self_exe = std::env::current_exe().map_err(|e| format!("locate the assay binary: {e}"))?;
    let ctx = Ctx::new(&exec, &bundles, config, tools, self_exe);

    let targets_of = |b: &Benchmark| {
        let mut t: Vec<Target> = runtimes.iter().map(Target::Runtime).collect();
        if b.on_host {
            t.insert(0, Target::Host);
        }
        t
    };
    let rows: Vec<Row> = benches
        .iter()
        .map(|b| {
            let targets = targets_of(b).iter().map(|t| t.name().to_string()).collect();
            Row::new(&b.name, &b.description, &b.metrics, targets)
        })
        .collect();
    let out = matrix(config, &rows, |bi, ti| {
        let bench = &benches[bi];
        let target = targets_of(bench)[ti];
        let view = match target {
            Target::Runtime(rt) => rt.view(),
            Target::Host => View::Host,
        };
        // Outside the timed part: the runtime's processes inherit this thread's view.
        mountns::enter(view).map_err(|e| Failure::new("mount namespace", e))?;
        suites::run_once(&ctx, target, bench)
    })?;
    let orphans_reaped = Reaper::global().map(|r| r.orphans_reaped()).unwrap_or(0);
    Ok(Results {
        assay_version: env!("CARGO_PKG_VERSION").to_string(),
        started: timefmt::rfc3339(started_unix),
        finished: timefmt::rfc3339(timefmt::unix_now()),
        started_unix,
        machine,
        config: config.clone(),
        baseline: config.baseline_name(),
        runtimes: runtimes
            .iter()
            .zip(versions)
            .map(|(rt, version)| RuntimeInfo {
                name: rt.name.clone(),
                path: rt.path.display().to_string(),
                args: rt.args.clone(),
                wrapper: rt.wrapper.clone(),
                version,
            })
            .collect(),
        orphans_reaped,
        benchmarks: out,
    })
}
