//! The direct mode: the selected benchmarks on every runtime through runc's command line,
//! run as one [`matrix`] (with the host as a column where a benchmark has a host reference),
//! and the per-call wrapper floor taken out of the results.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bundle::Bundles;
use crate::config::{Config, HIDE_UNIFIED};
use crate::error::{Context, Error, Failure};
use crate::exec::Exec;
use crate::glob;
use crate::leftovers;
use crate::machine::Machine;
use crate::matrix::{matrix, Row};
use crate::mountns::{self, View};
use crate::progress;
use crate::reaper::Reaper;
use crate::results::{BenchmarkResult, CellStatus, MatrixRun, Results, RunHead, RuntimeInfo};
use crate::runtime::{is_executable, version_line, which, Runtime};
use crate::suites::{self, Benchmark, Ctx, Target, Tools};
use crate::timefmt;

/// The selected benchmarks, in catalogue order; with a runtime behind a per-call wrapper
/// the wrapper floor is measured too, as the results are given net of it.
pub fn selected(config: &Config) -> Vec<Benchmark> {
    let wrapped = config
        .runtimes
        .iter()
        .any(|r| !r.wrapper.is_empty() && r.wrapper != [HIDE_UNIFIED]);
    let catalog = suites::catalog(&config.scales);
    let needs_floor = wrapped
        && catalog.iter().any(|b| {
            glob::selected(&config.suites, &b.name) && suites::wrapped_calls(&b.kind).is_some()
        });
    catalog
        .into_iter()
        .filter(|b| {
            glob::selected(&config.suites, &b.name)
                || (needs_floor && b.kind == suites::Kind::WrapperFloor)
        })
        .collect()
}

/// Takes each runtime's per-call wrapper floor (its `runtime.wrapper` median) out of the
/// benchmarks whose timed part is a known number of calls in a row.
fn net_of_wrappers(benches: &[Benchmark], out: &mut [BenchmarkResult]) {
    let Some(floor_row) = out.iter().find(|b| b.name == "operations.runtime.wrapper") else {
        return;
    };
    let floors: Vec<(String, f64)> = floor_row
        .cells
        .iter()
        .filter(|c| c.status == CellStatus::Ok)
        .filter_map(|c| Some((c.runtime.clone(), c.summaries.first()?.as_ref()?.median)))
        .collect();
    for (b, r) in benches.iter().zip(out.iter_mut()) {
        let Some(calls) = suites::wrapped_calls(&b.kind) else {
            continue;
        };
        for cell in &mut r.cells {
            if let Some((_, floor)) = floors.iter().find(|(rt, _)| *rt == cell.runtime) {
                let per_metric: Vec<f64> = calls.iter().map(|k| k * floor).collect();
                cell.subtract(&per_metric);
            }
        }
    }
}

/// Checks the runtimes can be started: each error names the key.
pub fn check_runtimes(config: &Config) -> Result<(), Error> {
    for (i, rt) in config.runtimes.iter().enumerate() {
        if !is_executable(&rt.path) {
            return Err(Error::NotExecutable {
                field: format!("runtimes[{i}].path"),
                path: rt.path.clone(),
            });
        }
        if let Some(w) = rt.wrapper.first().filter(|w| *w != HIDE_UNIFIED) {
            if which(w).is_none() {
                let field = format!("runtimes[{i}].wrapper");
                return Err(Error::config(field, format!("`{w}` not found in PATH")));
            }
        }
    }
    Ok(())
}

/// The `--version` line of each runtime, or why there is none.
pub fn versions(exec: &Exec, runtimes: &[Runtime], limit: Duration) -> Vec<String> {
    runtimes
        .iter()
        .map(|rt| match exec.run_limited(&rt.version_argv(), limit) {
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

/// Runs the whole matrix and returns the results; `saved` gets the results so far after
/// every benchmark (`complete: false`). The work folder is removed afterwards.
pub fn run(config: &Config, saved: &mut dyn FnMut(&Results)) -> Result<Results, Error> {
    config.validate()?;
    check_runtimes(config)?;
    let catalog = suites::catalog(&config.scales);
    let names: Vec<&str> = catalog.iter().map(|b| b.name.as_str()).collect();
    glob::check(&config.suites, &names, "assay list")?;
    let benches = selected(config);
    let hidden = config.runtimes.iter().any(|r| r.wrapper == [HIDE_UNIFIED]);
    mountns::prepare(hidden)?;
    let work = work_dir(config);
    std::fs::create_dir_all(&work)
        .map_err(Error::io("create", &work))
        .context("work_dir")?;
    leftovers::dir(&work);
    leftovers::cgroups(&format!("assay-{}-", std::process::id()));
    leftovers::cgroups(&format!("assay-measure-{}-", std::process::id()));
    let result = run_in(config, &benches, &work, saved);
    let _ = std::fs::remove_dir_all(&work);
    leftovers::dir_gone(&work);
    // Every container is deleted by now; a cgroup folder one of them still has is the
    // runtime's leftover (the v1 hierarchies hold it below assay's own cgroup).
    let prefix = format!("assay-{}-", std::process::id());
    for dir in leftovers::sweep_cgroups(Path::new("/sys/fs/cgroup"), &prefix, 4) {
        eprintln!(
            "assay: a runtime left the cgroup `{}` behind: removed",
            dir.display()
        );
    }
    result
}

fn run_in(
    config: &Config,
    benches: &[Benchmark],
    work: &Path,
    saved: &mut dyn FnMut(&Results),
) -> Result<Results, Error> {
    let started_unix = timefmt::unix_now();
    let mut machine = Machine::probe(Path::new("/"));
    machine.description = config.description.clone().unwrap_or_default();
    // A hung command other than a runtime verb (which have their own limits) is killed
    // generously above what any suite asks for.
    let limit = Duration::from_secs(120 + 4 * u64::from(config.seconds));
    let exec = Exec::new(work.join("scratch"))?.with_time_limit(limit);
    let runtimes: Vec<Runtime> = config
        .runtimes
        .iter()
        .map(|r| Runtime::new(r, &work.join("state")))
        .collect();
    progress::status("assay: asking every runtime for its version");
    let versions = versions(&exec, &runtimes, config.time_limit("version"));
    progress::status("assay: preparing the bundles");
    let bundles = Bundles::prepare(&config.bundle, work, &exec)?;
    let tools = Tools {
        sysbench: which("sysbench"),
        strace: which("strace"),
    };
    let self_exe = std::env::current_exe().map_err(Error::os("locate the assay binary"))?;
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
            Row::new(
                &b.name,
                &b.description,
                &b.metrics,
                targets,
                suites::estimate_s(&b.kind, config),
            )
        })
        .collect();
    let head = RunHead {
        started_unix,
        machine,
        config: config.clone(),
        baseline: config.baseline_name(),
        runtimes: runtimes
            .iter()
            .zip(&versions)
            .map(|(rt, version)| RuntimeInfo {
                name: rt.name.clone(),
                path: rt.path.display().to_string(),
                args: rt.args.clone(),
                wrapper: rt.wrapper.clone(),
                version: version.clone(),
            })
            .collect(),
    };
    let orphans = || Reaper::global().map(|r| r.orphans_reaped()).unwrap_or(0);
    let results = |m: &MatrixRun, complete: bool| {
        let mut r = Results::of_run(&head, m, complete, orphans());
        net_of_wrappers(&benches[..r.benchmarks.len()], &mut r.benchmarks);
        r
    };
    let out = matrix(
        config,
        &rows,
        |bi, ti| {
            let bench = &benches[bi];
            let target = targets_of(bench)[ti];
            let view = match target {
                Target::Runtime(rt) => rt.view(),
                Target::Host => View::Host,
            };
            // Outside the timed part: the runtime's processes inherit this thread's view.
            mountns::enter(view).map_err(|e| Failure::new("mount namespace", e))?;
            suites::run_once(&ctx, target, bench)
        },
        |m| saved(&results(m, false)),
    );
    Ok(results(&out, !out.interrupted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{parse_runtime_flag, RuntimeConfig};
    use crate::results::{Cell, Sample};

    #[test]
    fn a_per_call_wrapper_is_measured_and_taken_out() {
        let mut config = Config {
            suites: vec!["operations.container.lifecycle".into()],
            ..Config::default()
        };
        let plain: RuntimeConfig = parse_runtime_flag("a=/bin/a").unwrap();
        config.runtimes = vec![plain.clone()];
        let names: Vec<String> = selected(&config).into_iter().map(|b| b.name).collect();
        assert_eq!(names, ["operations.container.lifecycle"]);
        config
            .runtimes
            .push(parse_runtime_flag("b=/bin/b@env A=1").unwrap());
        let benches = selected(&config);
        let names: Vec<&str> = benches.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "operations.runtime.wrapper",
                "operations.container.lifecycle"
            ]
        );
        config.runtimes[1] = parse_runtime_flag("b=/bin/b@hide-unified").unwrap();
        assert_eq!(
            selected(&config).len(),
            1,
            "hide-unified costs nothing per call"
        );

        let cell = |rt: &str, v: &[f64]| {
            let mut c = Cell::new(rt);
            c.samples = v
                .iter()
                .map(|x| Sample {
                    values: vec![*x],
                    load1: 0.0,
                    at_s: 0.0,
                    steal_pct: None,
                    trace: Vec::new(),
                })
                .collect();
            c.summarise(1);
            c
        };
        let row = |b: &Benchmark, cells| BenchmarkResult {
            name: b.name.clone(),
            description: String::new(),
            metrics: b.metrics.clone(),
            cells,
        };
        let mut out = vec![
            row(&benches[0], vec![cell("b", &[2.0, 2.0, 2.0])]),
            row(
                &benches[1],
                vec![cell("a", &[20.0]), cell("b", &[26.0, 27.0])],
            ),
        ];
        net_of_wrappers(&benches, &mut out);
        assert_eq!(out[1].cells[0].values(0), [20.0], "no wrapper, untouched");
        assert_eq!(
            out[1].cells[1].values(0),
            [20.0, 21.0],
            "3 calls x 2 ms off"
        );
        assert_eq!(out[1].cells[1].net_of_ms, [6.0]);
    }
}
