//! The summary printed on the terminal at the end of a run: a row per benchmark metric,
//! a column per runtime, medians with their ratio and 95% interval, and the noise warnings.

use std::fmt::Write;

use crate::results::{BenchmarkResult, CellStatus, Results};

use super::analysis::Analysis;
use super::fmt::{num, ratio_text};
use super::noise;

pub fn render(r: &Results) -> String {
    let benches: Vec<&BenchmarkResult> = r.benchmarks.iter().collect();
    let analysis = Analysis::of(&benches, &r.baseline);
    let mut cols: Vec<String> = Vec::new();
    for b in &benches {
        for c in &b.cells {
            if !cols.contains(&c.runtime) {
                cols.push(c.runtime.clone());
            }
        }
    }
    let mut rows: Vec<Vec<String>> = vec![{
        let mut h = vec!["benchmark".to_string(), "metric".to_string()];
        h.extend(cols.iter().cloned());
        h
    }];
    for b in &benches {
        for (m, metric) in b.metrics.iter().enumerate() {
            let best = analysis.best(&b.name, m);
            let mut row = vec![b.name.clone(), format!("{} [{}]", metric.key, metric.unit)];
            for col in &cols {
                let found = b.cells.iter().enumerate().find(|(_, c)| &c.runtime == col);
                let text = match found {
                    None => String::new(),
                    Some((_, c)) if c.status == CellStatus::Failed => "failed".into(),
                    Some((_, c)) if c.status == CellStatus::Skipped => "skipped".into(),
                    Some((i, c)) => match c.summaries.get(m).and_then(Option::as_ref) {
                        Some(s) if s.median.is_finite() => {
                            let mut t = num(s.median);
                            if best == Some(i) {
                                t.push('*');
                            }
                            if let Some(cmp) = analysis.comparison(&b.name, m, &c.runtime) {
                                t = format!("{t} {}", ratio_text(cmp));
                            }
                            if !c.failures.is_empty() {
                                let _ = write!(t, " ({} failed)", c.failures.len());
                            }
                            t
                        }
                        _ => "–".into(),
                    },
                };
                row.push(text);
            }
            rows.push(row);
        }
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut s = format!(
        "\nassay summary: median, ×ratio to {} [95% interval], ≈ not significant, * best \
         (significantly)\n",
        r.baseline
    );
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(t, w)| format!("{t:<w$}"))
            .collect();
        let _ = writeln!(s, "  {}", line.join("  ").trim_end());
    }
    for w in noise::warnings(r) {
        let _ = writeln!(s, "assay: noise: {w}");
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_row_per_metric_with_ratios() {
        let r = crate::report::tests::sample_results();
        let text = super::render(&r);
        assert!(text.contains("operations.container.create"), "{text}");
        assert!(text.contains("×0.61 ["), "{text}");
        assert!(text.contains("failed"), "{text}");
    }
}
