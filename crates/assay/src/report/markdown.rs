//! Markdown tables of chosen suites, for a README: medians with the ratio to the baseline
//! (performance: to the host) and its 95% interval, the significant best of each row in
//! bold.

use std::fmt::Write;

use crate::glob;
use crate::results::{BenchmarkResult, Cell, CellStatus, Results};

use super::analysis::{Analysis, Comparison};
use super::fmt::{num, ratio_text};
use super::table::columns;

/// The tables of the benchmarks selected by `patterns` (all when empty).
pub fn render(r: &Results, patterns: &[String], baseline: Option<&str>) -> String {
    let baseline = baseline.unwrap_or(&r.baseline);
    // A row every runtime skipped (the wrapper floor without a per-call wrapper) says
    // nothing.
    let selected: Vec<&BenchmarkResult> = r
        .benchmarks
        .iter()
        .filter(|b| glob::selected(patterns, &b.name))
        .filter(|b| b.cells.iter().any(|c| c.status != CellStatus::Skipped))
        .collect();
    let analysis = Analysis::of(&selected, baseline);
    let m = &r.machine;
    let order = match r.seed {
        Some(seed) => format!("runtime order shuffled every round (seed {seed})"),
        None => "runtimes in a fixed order".to_string(),
    };
    let mut s = format!(
        "assay {} on {} ({}, {} × {}), {} runs + {} warm-up, {} cache, started {}; \
         median (×ratio to {baseline} [95% bootstrap interval]; performance: to the host; \
         ≈ not significant: exact rank-sum test, Holm-adjusted over the {} tests of these tables, \
         p ≥ 0.05); best in bold where it beats the runner-up significantly; {order}.\n\n",
        r.assay_version,
        m.kernel,
        m.cgroups,
        m.cores,
        m.cpu,
        r.config.runs,
        r.config.warmup,
        format!("{:?}", r.config.cache).to_lowercase(),
        r.started,
        analysis.tests
    );
    let versions: Vec<String> = r
        .runtimes
        .iter()
        .map(|rt| format!("{}: {}", rt.name, rt.version))
        .collect();
    let _ = writeln!(s, "Runtimes: {}.", versions.join("; "));
    let noise = super::noise::warnings(r);
    if !noise.is_empty() {
        let _ = writeln!(
            s,
            "\nNoisy machine: {}; read small differences with care.",
            noise.join("; ")
        );
    }
    let runtimes: Vec<String> = r.runtimes.iter().map(|rt| rt.name.clone()).collect();
    let mut suites: Vec<&str> = selected.iter().map(|b| b.suite()).collect();
    suites.dedup();
    for suite in suites {
        let benches: Vec<&BenchmarkResult> = selected
            .iter()
            .filter(|b| b.suite() == suite)
            .copied()
            .collect();
        suite_table(&mut s, suite, &benches, &runtimes, &analysis);
    }
    s
}

fn suite_table(
    s: &mut String,
    suite: &str,
    benches: &[&BenchmarkResult],
    runtimes: &[String],
    analysis: &Analysis,
) {
    let owned: Vec<BenchmarkResult> = benches.iter().map(|b| (*b).clone()).collect();
    let cols = columns(&owned, runtimes);
    let _ = write!(s, "\n| {suite} | metric |");
    for c in &cols {
        let _ = write!(s, " {c} |");
    }
    s.push_str("\n|---|---|");
    s.push_str(&"---:|".repeat(cols.len()));
    s.push('\n');
    for b in benches {
        let label = b
            .name
            .split_once('.')
            .map_or(b.name.as_str(), |(_, rest)| rest);
        for (mi, metric) in b.metrics.iter().enumerate() {
            let best = analysis.best(&b.name, mi);
            let _ = write!(s, "| {label} | {} [{}] |", metric.key, metric.unit);
            for col in &cols {
                let found = b.cells.iter().enumerate().find(|(_, c)| &c.runtime == col);
                let text = match found {
                    Some((ci, cell)) => cell_text(
                        cell,
                        mi,
                        best == Some(ci),
                        analysis.comparison(&b.name, mi, &cell.runtime),
                    ),
                    None => String::new(),
                };
                let _ = write!(s, " {text} |");
            }
            s.push('\n');
        }
    }
}

fn cell_text(cell: &Cell, metric: usize, is_best: bool, cmp: Option<&Comparison>) -> String {
    let sum = match (
        cell.status,
        cell.summaries.get(metric).and_then(Option::as_ref),
    ) {
        (CellStatus::Failed, _) => return "failed".into(),
        (CellStatus::Ok, Some(sum)) if sum.median.is_finite() => sum,
        _ => return "–".into(),
    };
    let mut t = num(sum.median);
    if is_best {
        t = format!("**{t}**");
    }
    if let Some(c) = cmp {
        t = format!("{t} ({})", ratio_text(c));
    }
    if !cell.failures.is_empty() {
        t = format!(
            "{t} ({} of {} failed)",
            cell.failures.len(),
            cell.failures.len() + sum.n
        );
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_of_selected_suites() {
        let r = super::super::tests::sample_results();
        let md = render(&r, &["operations".to_string()], None);
        assert!(md.contains("| operations | metric | runc | crun |"));
        assert!(
            md.contains("| container.create | time [ms] | 41.0 | 25.0 (×0.61 [0.57–0.65] ≈) |"),
            "{md}"
        );
        assert!(
            md.contains("| container.kill | time [ms] | 5.50 | failed |"),
            "{md}"
        );
        assert!(!md.contains("cpu.primes"), "performance not selected");
        assert!(md.starts_with("assay 0.1.0 on 6.18"));
        let perf = render(&r, &["performance".to_string()], None);
        assert!(
            perf.contains("| performance | metric | host | runc | crun |"),
            "{perf}"
        );
        assert!(
            perf.contains("| cpu.primes | time [events/s] | 400 | 391 (×0.98"),
            "{perf}"
        );
        // Ten clearly separated runs: bold, and no ≈.
        let mut r = r;
        let runc: Vec<f64> = (0..10).map(|i| 40.0 + f64::from(i) * 0.1).collect();
        let crun: Vec<f64> = (0..10).map(|i| 25.0 + f64::from(i) * 0.1).collect();
        r.benchmarks[0].cells = vec![
            super::super::tests::cell("runc", &runc),
            super::super::tests::cell("crun", &crun),
        ];
        r.benchmarks[0].cells[1]
            .failures
            .push(crate::results::SampleFailure {
                run: 4,
                error: "boom".into(),
                stderr: None,
            });
        let md = render(&r, &["operations".to_string()], None);
        assert!(md.contains("| **25.4** (×0.63 ["), "{md}");
        assert!(md.contains("(1 of 11 failed)"), "{md}");
        assert!(!md.contains("Noisy machine"), "a quiet run");
        r.noise.reference = vec![[0.0, 2.0], [9.0, 5.0]];
        let md = render(&r, &["operations".to_string()], None);
        assert!(
            md.contains("Noisy machine: the host's reference workload drifted"),
            "{md}"
        );
    }
}
