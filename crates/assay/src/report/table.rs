//! The summary table: a row per benchmark metric, a column per runtime, the best median of
//! each row highlighted, ratios against the baseline (or the host for performance).

use std::fmt::Write;

use crate::results::{BenchmarkResult, Cell, CellStatus};

use super::analysis::{Analysis, Comparison};
use super::fmt::{esc, num, ratio_text};

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

/// The ratio to the reference's median with its 95% interval, marked `≈` when the two
/// sample sets do not differ significantly (exact rank-sum test, Holm-adjusted).
fn relative(cell: &Cell, c: &Comparison) -> String {
    let p_text = match (c.p, c.p_adj) {
        (Some(p), Some(adj)) => format!("p={p:.4}, Holm-adjusted {adj:.4}"),
        _ => "no test".to_string(),
    };
    let host = if c.reference == "host" { " host" } else { "" };
    format!(
        r#"<span class="ratio" title="{} vs {}: {p_text}">{}{host}</span>"#,
        esc(&cell.runtime),
        esc(&c.reference),
        ratio_text(c)
    )
}

pub fn render(
    benches: &[BenchmarkResult],
    runtimes: &[String],
    baseline: &str,
    analysis: &Analysis,
) -> String {
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
            let best = analysis.best(&b.name, m);
            let lead = analysis.leader(&b.name, m).map(|l| l.cell);
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
                let cmp = analysis.comparison(&b.name, m, &cell.runtime);
                let mark = if best == Some(i) {
                    "best"
                } else if lead == Some(i) {
                    "lead"
                } else {
                    ""
                };
                s.push_str(&cell_html(cell, m, mark, cmp));
            }
            s.push_str("</tr>");
        }
    }
    s.push_str("</tbody></table>");
    s
}

fn cell_html(cell: &Cell, m: usize, mark: &str, cmp: Option<&Comparison>) -> String {
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
    let failed = if cell.failures.is_empty() {
        String::new()
    } else {
        let runs: Vec<String> = cell
            .failures
            .iter()
            .map(|f| format!("{}: {}", f.run, f.error))
            .collect();
        format!(
            "; {} failed runs ({})",
            cell.failures.len(),
            runs.join("; ")
        )
    };
    let title = format!(
        "n={} mean {} min {} max {} p10 {} p90 {}; mean 1-min load {:.2}{failed}",
        sum.n,
        num(sum.mean),
        num(sum.min),
        num(sum.max),
        num(sum.p10),
        num(sum.p90),
        mean_load
    );
    let net_note = match cell.net_of_ms.get(m) {
        Some(d) if *d > 0.0 => format!(
            r#"<span class="ratio" title="the runtime's per-call wrapper floor, times the calls in the timed part, is subtracted">net of {} ms wrapper</span>"#,
            num(*d)
        ),
        _ => String::new(),
    };
    let failed_note = if cell.failures.is_empty() {
        String::new()
    } else {
        format!(
            r#"<span class="ratio failures">{} of {} runs failed</span>"#,
            cell.failures.len(),
            cell.failures.len() + sum.n
        )
    };
    let rel = cmp.map_or_else(String::new, |c| relative(cell, c));
    let class = if mark.is_empty() {
        String::new()
    } else {
        format!(r#" class="{mark}""#)
    };
    format!(
        r#"<td{class} title="{}">{} <small>±{}</small>{rel}{net_note}{failed_note}</td>"#,
        esc(&title),
        num(sum.median),
        num(sum.stddev)
    )
}
