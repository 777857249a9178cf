//! Markdown tables of chosen suites, for a README: medians with the ratio to the baseline
//! (performance: to the host), the best of each row in bold.

use std::fmt::Write;

use crate::glob;
use crate::results::{BenchmarkResult, CellStatus, Results};
use crate::stats::{mann_whitney_p, ratio};

use super::fmt::{num, times};
use super::table::{best, columns};

/// The tables of the benchmarks selected by `patterns` (all when empty).
pub fn render(r: &Results, patterns: &[String], baseline: Option<&str>) -> String {
    let baseline = baseline.unwrap_or(&r.baseline);
    let m = &r.machine;
    let mut s = format!(
        "assay {} on {} ({}, {} × {}), {} runs + {} warm-up, {} cache, started {}; \
         median (×ratio to {baseline}; performance: to the host; ≈ not significant, Mann–Whitney p ≥ 0.05), best in bold.\n\n",
        r.assay_version,
        m.kernel,
        m.cgroups,
        m.cores,
        m.cpu,
        r.config.runs,
        r.config.warmup,
        format!("{:?}", r.config.cache).to_lowercase(),
        r.started
    );
    let versions: Vec<String> = r
        .runtimes
        .iter()
        .map(|rt| format!("{}: {}", rt.name, rt.version))
        .collect();
    let _ = writeln!(s, "Runtimes: {}.", versions.join("; "));
    let runtimes: Vec<String> = r.runtimes.iter().map(|rt| rt.name.clone()).collect();
    let selected: Vec<&BenchmarkResult> = r
        .benchmarks
        .iter()
        .filter(|b| glob::selected(patterns, &b.name))
        .collect();
    let mut suites: Vec<&str> = selected.iter().map(|b| b.suite()).collect();
    suites.dedup();
    for suite in suites {
        let benches: Vec<BenchmarkResult> = selected
            .iter()
            .filter(|b| b.suite() == suite)
            .map(|b| (*b).clone())
            .collect();
        suite_table(&mut s, suite, &benches, &runtimes, baseline);
    }
    s
}

fn suite_table(
    s: &mut String,
    suite: &str,
    benches: &[BenchmarkResult],
    runtimes: &[String],
    baseline: &str,
) {
    let cols = columns(benches, runtimes);
    let _ = write!(s, "\n| {suite} | metric |");
    for c in &cols {
        let _ = write!(s, " {c} |");
    }
    s.push_str("\n|---|---|");
    s.push_str(&"---:|".repeat(cols.len()));
    s.push('\n');
    for b in benches {
        let reference = if b.cells.iter().any(|c| c.runtime == "host") {
            "host"
        } else {
            baseline
        };
        let label = b
            .name
            .split_once('.')
            .map_or(b.name.as_str(), |(_, rest)| rest);
        for (mi, metric) in b.metrics.iter().enumerate() {
            let ref_cell = b.cells.iter().find(|c| c.runtime == reference);
            let best = best(b, mi);
            let _ = write!(s, "| {label} | {} [{}] |", metric.key, metric.unit);
            for col in &cols {
                let found = b.cells.iter().enumerate().find(|(_, c)| &c.runtime == col);
                let text = match found {
                    Some((ci, cell)) => {
                        let reference = ref_cell.filter(|_| col != reference);
                        cell_text(cell, mi, best == Some(ci), reference)
                    }
                    None => String::new(),
                };
                let _ = write!(s, " {text} |");
            }
            s.push('\n');
        }
    }
}

fn cell_text(
    cell: &crate::results::Cell,
    metric: usize,
    is_best: bool,
    reference: Option<&crate::results::Cell>,
) -> String {
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
    let Some(rc) = reference else { return t };
    let ref_median = rc
        .summaries
        .get(metric)
        .and_then(Option::as_ref)
        .map(|s| s.median);
    if let Some(x) = ref_median.and_then(|rf| ratio(sum.median, rf)) {
        // ≈: not significantly different from the reference (Mann–Whitney U, p ≥ 0.05).
        let p = mann_whitney_p(&cell.values(metric), &rc.values(metric));
        let same = if p.is_none_or(|p| p >= 0.05) {
            " ≈"
        } else {
            ""
        };
        t = format!("{t} ({}{same})", times(x));
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
            md.contains("| container.create | time [ms] | 41.0 | **25.0** (×0.61 ≈) |"),
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
        let row = "| cpu.primes | time [events/s] | 400 | 391 (×0.98 ≈) | **397** (×0.99 ≈) |";
        assert!(perf.contains(row), "{perf}");
    }
}
