//! The summary table: a row per benchmark metric, a column per runtime, the best median of
//! each row highlighted, ratios against the baseline (or the host for performance).

use std::fmt::Write;

use crate::results::{BenchmarkResult, Better, Cell, CellStatus};
use crate::stats::{mann_whitney_p, ratio};

use super::fmt::{esc, num, times};

/// The columns of the table: the host first when any benchmark ran on it.
pub fn columns(benches: &[BenchmarkResult], runtimes: &[String]) -> Vec<String> {
    let host = benches
        .iter()
        .any(|b| b.cells.iter().any(|c| c.runtime == "host"));
    let mut cols = Vec::new();
    if host {
        cols.push("host".to_string());
    }
    cols.extend(runtimes.iter().cloned());
    cols
}

/// The index of the best runtime cell (never the host) for `metric`, if the metric has a
/// direction and at least two runtimes have a median.
pub fn best(bench: &BenchmarkResult, metric: usize) -> Option<usize> {
    let better = bench.metrics.get(metric)?.better;
    let medians: Vec<(usize, f64)> = bench
        .cells
        .iter()
        .enumerate()
        .filter(|(_, c)| c.runtime != "host" && c.status == CellStatus::Ok)
        .filter_map(|(i, c)| c.summaries.get(metric)?.as_ref().map(|s| (i, s.median)))
        .filter(|(_, m)| m.is_finite())
        .collect();
    if medians.len() < 2 {
        return None;
    }
    let pick = match better {
        Better::Lower => medians.iter().min_by(|a, b| a.1.total_cmp(&b.1)),
        Better::Higher => medians.iter().max_by(|a, b| a.1.total_cmp(&b.1)),
        Better::Neither => None,
    };
    pick.map(|p| p.0)
}

/// The ratio to the reference's median, marked `≈` when the two sample sets do not differ
/// significantly (Mann–Whitney U, p ≥ 0.05).
fn relative(cell: &Cell, reference: &Cell, m: usize, value: f64) -> String {
    let Some(r) = median(reference, m).and_then(|rm| ratio(value, rm)) else {
        return String::new();
    };
    let p = mann_whitney_p(&cell.values(m), &reference.values(m));
    let same = p.is_none_or(|p| p >= 0.05);
    let host = if reference.runtime == "host" {
        " host"
    } else {
        ""
    };
    let p_text = p.map_or("no test".to_string(), |p| format!("p={p:.4}"));
    format!(
        r#"<span class="ratio" title="{} vs {}: {p_text}">{}{host}{}</span>"#,
        esc(&cell.runtime),
        esc(&reference.runtime),
        times(r),
        if same { " ≈" } else { "" }
    )
}

fn median(cell: &Cell, metric: usize) -> Option<f64> {
    cell.summaries
        .get(metric)?
        .as_ref()
        .map(|s| s.median)
        .filter(|m| m.is_finite())
}

pub fn render(benches: &[BenchmarkResult], runtimes: &[String], baseline: &str) -> String {
    let cols = columns(benches, runtimes);
    let mut s = String::from(
        r#"<table class="summary"><thead><tr><th class="name">benchmark</th><th class="metric">metric</th>"#,
    );
    for c in &cols {
        let mark = if c == baseline {
            " <small>(baseline)</small>"
        } else {
            ""
        };
        let _ = write!(s, "<th>{}{mark}</th>", esc(c));
    }
    s.push_str("</tr></thead><tbody>");
    for b in benches {
        for (m, metric) in b.metrics.iter().enumerate() {
            let best = best(b, m);
            let reference = if b.cells.iter().any(|c| c.runtime == "host") {
                "host"
            } else {
                baseline
            };
            let ref_cell = b.cells.iter().find(|c| c.runtime == reference);
            let name = if m == 0 {
                format!(
                    r#"<td class="name" rowspan="{}" title="{}">{}</td>"#,
                    b.metrics.len(),
                    esc(&b.description),
                    esc(&b.name)
                )
            } else {
                String::new()
            };
            let _ = write!(
                s,
                "<tr>{name}<td class=\"metric\">{} <small>{}</small></td>",
                esc(&metric.key),
                esc(&metric.unit)
            );
            for col in &cols {
                let found = b.cells.iter().enumerate().find(|(_, c)| &c.runtime == col);
                let Some((i, cell)) = found else {
                    s.push_str(r#"<td class="na">·</td>"#);
                    continue;
                };
                s.push_str(&cell_html(cell, m, best == Some(i), reference, ref_cell));
            }
            s.push_str("</tr>");
        }
    }
    s.push_str("</tbody></table>");
    s
}

fn cell_html(
    cell: &Cell,
    m: usize,
    is_best: bool,
    reference: &str,
    ref_cell: Option<&Cell>,
) -> String {
    match cell.status {
        CellStatus::Failed => {
            let err = cell.error.as_deref().unwrap_or("failed");
            return format!(r#"<td class="failed" title="{}">failed</td>"#, esc(err));
        }
        CellStatus::Skipped => {
            let why = cell.error.as_deref().unwrap_or("skipped");
            return format!(r#"<td class="skipped" title="{}">skipped</td>"#, esc(why));
        }
        CellStatus::Ok => {}
    }
    let Some(Some(sum)) = cell.summaries.get(m) else {
        return r#"<td class="na">no data</td>"#.into();
    };
    if !sum.median.is_finite() {
        return r#"<td class="na" title="not measurable here">n/a</td>"#.into();
    }
    let loads: Vec<f64> = cell.samples.iter().map(|s| s.load1).collect();
    let mean_load = loads.iter().sum::<f64>() / loads.len().max(1) as f64;
    let title = format!(
        "n={} mean {} min {} max {} p10 {} p90 {}; mean 1-min load {:.2}",
        sum.n,
        num(sum.mean),
        num(sum.min),
        num(sum.max),
        num(sum.p10),
        num(sum.p90),
        mean_load
    );
    let rel = match ref_cell {
        Some(rc) if cell.runtime != reference => relative(cell, rc, m, sum.median),
        _ => String::new(),
    };
    let class = if is_best { r#" class="best""# } else { "" };
    format!(
        r#"<td{class} title="{}">{} <small>±{}</small>{rel}</td>"#,
        esc(&title),
        num(sum.median),
        num(sum.stddev)
    )
}
