//! Markdown tables of chosen suites, for a README: medians with the ratio to the baseline,
//! the best of each row in bold.

use std::fmt::Write;

use crate::glob;
use crate::results::{CellStatus, Results};
use crate::stats::ratio;

use super::fmt::{num, times};
use super::table::best;

/// The tables of the benchmarks selected by `patterns` (all when empty).
pub fn render(r: &Results, patterns: &[String], baseline: Option<&str>) -> String {
    let baseline = baseline.unwrap_or(&r.baseline);
    let names: Vec<&str> = r.runtimes.iter().map(|rt| rt.name.as_str()).collect();
    let m = &r.machine;
    let mut s = format!(
        "assay {} on {} ({}, {} × {}), {} runs + {} warm-up, {} cache, started {}; median (×ratio to {baseline}), best in bold.\n\n",
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
    let _ = writeln!(s, "Runtimes: {}.\n", versions.join("; "));
    let benches: Vec<_> = r
        .benchmarks
        .iter()
        .filter(|b| glob::selected(patterns, &b.name))
        .collect();
    let mut suite = "";
    for b in benches {
        if b.suite() != suite {
            suite = b.suite();
            let _ = write!(s, "\n| {suite} | metric |");
            for n in &names {
                let _ = write!(s, " {n} |");
            }
            s.push_str("\n|---|---|");
            s.push_str(&"---:|".repeat(names.len()));
            s.push('\n');
        }
        for (mi, metric) in b.metrics.iter().enumerate() {
            let best = best(b, mi);
            let reference = b
                .cells
                .iter()
                .find(|c| c.runtime == baseline)
                .and_then(|c| c.summaries.get(mi)?.as_ref().map(|s| s.median));
            let label = b
                .name
                .split_once('.')
                .map_or(b.name.as_str(), |(_, rest)| rest);
            let _ = write!(s, "| {label} | {} [{}] |", metric.key, metric.unit);
            for n in &names {
                let Some((ci, cell)) = b.cells.iter().enumerate().find(|(_, c)| c.runtime == *n)
                else {
                    s.push_str(" |");
                    continue;
                };
                let text = match (cell.status, cell.summaries.get(mi).and_then(Option::as_ref)) {
                    (CellStatus::Failed, _) => "failed".to_string(),
                    (CellStatus::Skipped, _) => "–".to_string(),
                    (CellStatus::Ok, Some(sum)) => {
                        let mut t = num(sum.median);
                        if best == Some(ci) {
                            t = format!("**{t}**");
                        }
                        if *n != baseline {
                            if let Some(x) = reference.and_then(|rf| ratio(sum.median, rf)) {
                                t = format!("{t} ({})", times(x));
                            }
                        }
                        t
                    }
                    (CellStatus::Ok, None) => "–".to_string(),
                };
                let _ = write!(s, " {text} |");
            }
            s.push('\n');
        }
    }
    s
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
            md.contains("| container.create | time [ms] | 41.0 | **25.0** (×0.61) |"),
            "{md}"
        );
        assert!(
            md.contains("| container.kill | time [ms] | 5.50 | failed |"),
            "{md}"
        );
        assert!(!md.contains("cpu.primes"), "performance not selected");
        assert!(md.starts_with("assay 0.1.0 on 6.18"));
    }
}
