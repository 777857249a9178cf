//! The results file: everything needed to re-render a report later.

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::Error;
use crate::machine::Machine;
use crate::stats::Summary;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Lower,
    Higher,
    /// Neither: a property to read, not a race (e.g. throughput under a cap).
    Neither,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDef {
    pub key: String,
    pub unit: String,
    pub better: Better,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellStatus {
    Ok,
    Failed,
    Skipped,
}

/// One timed repetition: a value per metric and the 1-minute load when it was taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub values: Vec<f64>,
    pub load1: f64,
    /// Seconds since the run started.
    pub at_s: f64,
    /// Share of CPU time the hypervisor stole while the sample ran, in %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steal_pct: Option<f64>,
    /// A time series the sample recorded: `[seconds, requested, achieved]` (the CPU limits:
    /// % of one core asked for and used, once a second).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trace: Vec<[f64; 3]>,
}

/// A timed repetition that failed; the cell goes on with the next one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleFailure {
    /// 1-based timed run (0: a warm-up run).
    pub run: u32,
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
}

/// One runtime's results for one benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub runtime: String,
    pub status: CellStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stderr: Option<String>,
    pub samples: Vec<Sample>,
    /// One per metric, in the benchmark's metric order; `None` without samples.
    pub summaries: Vec<Option<Summary>>,
    /// Runs that failed while others succeeded (a cell fails only when too many do).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<SampleFailure>,
    /// Per metric, the ms of per-call wrapper subtracted from every sample (the runtime's
    /// wrapper floor times the wrapped calls in the timed part); empty when none was.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub net_of_ms: Vec<f64>,
}

impl Cell {
    pub fn new(runtime: &str) -> Cell {
        Cell {
            runtime: runtime.into(),
            status: CellStatus::Ok,
            error: None,
            stderr: None,
            samples: Vec::new(),
            summaries: Vec::new(),
            failures: Vec::new(),
            net_of_ms: Vec::new(),
        }
    }

    /// Subtracts `per_metric[m]` ms from metric `m` of every sample and summarises again.
    pub fn subtract(&mut self, per_metric: &[f64]) {
        for s in &mut self.samples {
            for (v, d) in s.values.iter_mut().zip(per_metric) {
                *v -= d;
            }
        }
        self.net_of_ms = per_metric.to_vec();
        self.summarise(per_metric.len());
    }

    /// Computes the summaries from the samples.
    pub fn summarise(&mut self, metrics: usize) {
        self.summaries = (0..metrics)
            .map(|m| {
                let values: Vec<f64> = self
                    .samples
                    .iter()
                    .filter_map(|s| s.values.get(m).copied())
                    .collect();
                Summary::of(&values)
            })
            .collect();
    }

    pub fn values(&self, metric: usize) -> Vec<f64> {
        self.samples
            .iter()
            .filter_map(|s| s.values.get(metric).copied())
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchmarkResult {
    pub name: String,
    pub description: String,
    pub metrics: Vec<MetricDef>,
    pub cells: Vec<Cell>,
}

impl BenchmarkResult {
    /// The suite: the first part of `context.component.facet`.
    pub fn suite(&self) -> &str {
        self.name.split('.').next().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuntimeInfo {
    pub name: String,
    pub path: String,
    pub args: Vec<String>,
    pub wrapper: Vec<String>,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub assay_version: String,
    pub started: String,
    pub finished: String,
    pub started_unix: u64,
    pub machine: Machine,
    pub config: Config,
    pub baseline: String,
    pub runtimes: Vec<RuntimeInfo>,
    /// Processes assay reaped as subreaper that it had not started (container processes).
    pub orphans_reaped: u64,
    pub benchmarks: Vec<BenchmarkResult>,
    /// The seed of the per-round shuffle of the runtime order (none in older files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// False while the run is going on, and when it was interrupted: the file then holds
    /// the benchmarks finished so far.
    #[serde(default = "finished_run")]
    pub complete: bool,
    #[serde(default)]
    pub noise: Noise,
}

fn finished_run() -> bool {
    true
}

/// What the machine was doing besides the benchmarks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Noise {
    /// The host's own reference workload (a fixed amount of arithmetic on one core),
    /// `[seconds since the start, ms]`, timed at the start and after every benchmark: it
    /// should not move on a quiet machine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference: Vec<[f64; 2]>,
    /// CPU time stolen by the hypervisor over the whole run, in %.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steal_pct: Option<f64>,
}

/// What a run knows before its first sample; [`Results::of_run`] adds the matrix.
#[derive(Debug, Clone)]
pub struct RunHead {
    pub started_unix: u64,
    pub machine: Machine,
    pub config: Config,
    pub baseline: String,
    pub runtimes: Vec<RuntimeInfo>,
}

/// What a matrix produced so far.
#[derive(Debug, Clone, Default)]
pub struct MatrixRun {
    pub benchmarks: Vec<BenchmarkResult>,
    pub interrupted: bool,
    pub noise: Noise,
    pub seed: u64,
}

impl Results {
    /// The results of a matrix so far (`complete: false`) or at its end.
    pub fn of_run(head: &RunHead, m: &MatrixRun, complete: bool, orphans_reaped: u64) -> Results {
        Results {
            assay_version: env!("CARGO_PKG_VERSION").to_string(),
            started: crate::timefmt::rfc3339(head.started_unix),
            finished: crate::timefmt::rfc3339(crate::timefmt::unix_now()),
            started_unix: head.started_unix,
            machine: head.machine.clone(),
            config: head.config.clone(),
            baseline: head.baseline.clone(),
            runtimes: head.runtimes.clone(),
            orphans_reaped,
            benchmarks: m.benchmarks.clone(),
            seed: Some(m.seed),
            complete,
            noise: m.noise.clone(),
        }
    }

    pub fn load(path: &std::path::Path) -> Result<Results, Error> {
        let text = std::fs::read_to_string(path).map_err(Error::io("read", path))?;
        serde_json::from_str(&text).map_err(Error::parse("parse results", path))
    }

    pub fn save(&self, path: &std::path::Path) -> Result<(), Error> {
        let text = serde_json::to_string_pretty(self).map_err(Error::encode("results"))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text + "\n")
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(Error::io("write", path))
    }
}
