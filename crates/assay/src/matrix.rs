//! The matrix both modes run: every row (a benchmark) on every column (a runtime, or a CRI
//! handler), runs interleaved (A B C, C A B, ...: a new random order every round) so drift
//! of the machine affects all columns alike; failed runs are recorded and the cell goes
//! on, and the results so far are handed out after every row.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::config::Config;
use crate::interrupt;
use crate::machine::{cpu_jiffies, loadavg, reference_ms, steal_pct};
use crate::progress::{self, fmt_duration, Progress};
use crate::results::{
    BenchmarkResult, Cell, CellStatus, MatrixRun, MetricDef, Sample, SampleFailure,
};
use crate::stats::Rng;
use crate::suites::{RunOutcome, RunResult};

/// One benchmark of a matrix: its description, and the names of the columns it runs on.
pub struct Row {
    pub name: String,
    pub description: String,
    pub metrics: Vec<MetricDef>,
    pub targets: Vec<String>,
    /// Estimated seconds per sample, set-up included (for the estimate and the ETA).
    pub estimate_s: f64,
}

impl Row {
    pub fn new(
        name: &str,
        description: &str,
        metrics: &[MetricDef],
        targets: Vec<String>,
        estimate_s: f64,
    ) -> Row {
        Row {
            name: name.into(),
            description: description.into(),
            metrics: metrics.to_vec(),
            targets,
            estimate_s,
        }
    }
}

/// A cell stops after this many failed runs in a row (a runtime that cannot do the
/// benchmark at all), or when more than half of its runs failed.
const FAILS_IN_A_ROW: usize = 3;

/// Runs `run(row, target)` for every row and target, `warmup` untimed then `runs` timed
/// times. Every round takes the targets in a new random order (seeded, and recorded), so
/// no runtime always follows the same other one's clean-up. A failed run is recorded and
/// the cell goes on; a target that skips a row, or fails it too often, is not run on it
/// again. After each benchmark `saved` gets the results so far. Stops between samples
/// when an interrupt was requested.
pub fn matrix(
    config: &Config,
    rows: &[Row],
    mut run: impl FnMut(usize, usize) -> RunResult,
    mut saved: impl FnMut(&MatrixRun),
) -> MatrixRun {
    let per_cell = (config.warmup + config.runs) as usize;
    let mut progress = Progress::new(
        rows.iter()
            .map(|r| (r.targets.len() * per_cell, r.estimate_s))
            .collect(),
    );
    let columns: usize = rows.iter().map(|r| r.targets.len()).max().unwrap_or(0);
    progress::status(&format!(
        "assay: {} benchmarks × up to {columns} columns × ({} runs + {} warm-up), about {} \
         (estimate); results saved after every benchmark",
        rows.len(),
        config.runs,
        config.warmup,
        fmt_duration(Duration::from_secs_f64(progress.estimate()))
    ));
    let seed = config.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    let mut rng = Rng::new(seed);
    let clock = Instant::now();
    let cpu_start = cpu_jiffies();
    let mut m = MatrixRun {
        seed,
        ..MatrixRun::default()
    };
    m.noise.reference.push([0.0, reference_ms()]);
    for (bi, row) in rows.iter().enumerate() {
        let mut cells: Vec<Cell> = row.targets.iter().map(|t| Cell::new(t)).collect();
        let mut in_a_row = vec![0usize; cells.len()];
        let mut taken = 0;
        progress.begin(bi);
        'rounds: for i in 0..config.warmup + config.runs {
            let warm = i < config.warmup;
            let mut order: Vec<usize> = (0..cells.len()).collect();
            rng.shuffle(&mut order);
            for ti in order {
                if interrupt::requested() {
                    m.interrupted = true;
                    break 'rounds;
                }
                let cell = &mut cells[ti];
                if cell.status != CellStatus::Ok {
                    continue;
                }
                let (n, of) = if warm {
                    (i + 1, config.warmup)
                } else {
                    (i - config.warmup + 1, config.runs)
                };
                progress.step(&row.targets[ti], &row.name, n, of, warm);
                taken += 1;
                let load1 = loadavg(Path::new("/"))[0];
                let before = cpu_jiffies();
                let at_s = clock.elapsed().as_secs_f64();
                let outcome = run(bi, ti);
                let steal = steal_pct(before, cpu_jiffies());
                let sample = |values, trace| Sample {
                    values,
                    load1,
                    at_s,
                    steal_pct: steal,
                    trace,
                };
                match outcome {
                    Ok(RunOutcome::Values(values)) => {
                        in_a_row[ti] = 0;
                        if !warm {
                            cell.samples.push(sample(values, Vec::new()));
                        }
                    }
                    Ok(RunOutcome::Traced(values, trace)) => {
                        in_a_row[ti] = 0;
                        if !warm {
                            cell.samples.push(sample(values, trace));
                        }
                    }
                    Ok(RunOutcome::Skip(reason)) => {
                        cell.status = CellStatus::Skipped;
                        cell.error = Some(reason);
                    }
                    Err(f) => {
                        in_a_row[ti] += 1;
                        let stderr = Some(f.stderr.trim().to_string()).filter(|s| !s.is_empty());
                        cell.failures.push(SampleFailure {
                            run: if warm { 0 } else { n },
                            error: f.to_string(),
                            stderr: stderr.clone(),
                        });
                        let too_many =
                            in_a_row[ti] >= FAILS_IN_A_ROW || cell.failures.len() * 2 > per_cell;
                        progress::status(&format!(
                            "assay: {} {} {} {n} failed{}: {f}",
                            row.targets[ti],
                            row.name,
                            if warm { "warm-up" } else { "run" },
                            if too_many { " (cell given up)" } else { "" }
                        ));
                        if too_many {
                            cell.status = CellStatus::Failed;
                            cell.error = Some(f.to_string());
                            cell.stderr = stderr;
                        }
                    }
                }
            }
        }
        progress.end(row.targets.len() * per_cell - taken);
        cells
            .iter_mut()
            .for_each(|c| c.summarise(row.metrics.len()));
        m.benchmarks.push(BenchmarkResult {
            name: row.name.clone(),
            description: row.description.clone(),
            metrics: row.metrics.clone(),
            cells,
        });
        m.noise
            .reference
            .push([clock.elapsed().as_secs_f64(), reference_ms()]);
        m.noise.steal_pct = steal_pct(cpu_start, cpu_jiffies());
        saved(&m);
        if m.interrupted {
            break;
        }
    }
    progress.finish();
    m
}
