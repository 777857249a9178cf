//! The HTML report: one self-contained page (inline CSS and SVG, no script, no network)
//! with machine and runtime information, a summary table, a chart per suite and the
//! distribution of every latency benchmark.

pub mod analysis;
mod fmt;
pub mod markdown;
pub mod noise;
mod svg;
mod table;
pub mod terminal;

use std::fmt::Write;

use crate::results::{BenchmarkResult, CellStatus, Results};

use fmt::{colour, esc, num};
use svg::{BarRow, Lane, Series};

const STYLE: &str = include_str!("report.css");

const SUITE_NOTES: [(&str, &str); 5] = [
    ("operations", "Each runtime verb timed on its own, the other verbs as untimed set-up and clean-up. Lower is better."),
    ("scalability", "N long-running containers started then deleted with --force; total and per-container time. Lower is better."),
    ("performance", "sysbench inside a container and on the host; the ratio to the host is the container's overhead (1.00 = none). Higher is better."),
    ("limits", "sysbench cpu under a hard cap (10% of a core) and while the cap is raised from 50% to 100% with `update`."),
    ("footprint", "What the runtime costs besides time: binary and libraries, peak RSS, CPU time, memory charged, system calls. Lower is better."),
];

/// Renders `results` (one section each, titled by `names`) as one HTML page.
pub fn render(results: &[Results], names: &[String], baseline: Option<&str>) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>assay report</title><style>{STYLE}</style></head><body><h1>assay report</h1>"
    );
    if results.len() > 1 {
        s.push_str("<nav><ol>");
        for (i, (r, n)) in results.iter().zip(names).enumerate() {
            let _ = write!(
                s,
                "<li><a href=\"#run{i}\">{}</a> — {}</li>",
                esc(n),
                esc(&r.started)
            );
        }
        s.push_str("</ol></nav>");
    }
    for (i, (r, n)) in results.iter().zip(names).enumerate() {
        section(&mut s, i, r, n, baseline.unwrap_or(&r.baseline));
    }
    let _ = writeln!(
        s,
        "<footer>rendered by assay {}</footer></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    s
}

fn section(s: &mut String, i: usize, r: &Results, name: &str, baseline: &str) {
    let names: Vec<String> = r.runtimes.iter().map(|rt| rt.name.clone()).collect();
    let _ = write!(
        s,
        "<section id=\"run{i}\"><h2>{}</h2><p class=\"sub\">{} → {} · {} · baseline <b>{}</b></p>",
        esc(&names.join(" vs ")),
        esc(&r.started),
        esc(&r.finished),
        esc(name),
        esc(baseline)
    );
    if !r.complete {
        s.push_str("<p class=\"banner\">Partial results: the run was interrupted, or is still going; only the benchmarks finished are shown.</p>");
    }
    let warnings = noise::warnings(r);
    if !warnings.is_empty() {
        let _ = write!(
            s,
            "<div class=\"banner noise\"><b>Noisy machine</b>: {}. Read small differences with care.</div>",
            esc(&warnings.join("; "))
        );
    }
    info(s, r);
    s.push_str("<h3>Summary</h3><p class=\"hint\">Median ± standard deviation over the runs; ×ratio against the baseline (performance: against the host) with its 95% bootstrap interval in brackets. ≈: not significantly different from that reference (exact rank-sum test, Holm-adjusted over every test on this page, p ≥ 0.05). Green: the best median of a row when it beats the runner-up significantly; outlined: best median, but not significantly. Hover a cell for n, mean, min, max, p10/p90, load and failed runs.</p>");
    let mut suites: Vec<&str> = r.benchmarks.iter().map(BenchmarkResult::suite).collect();
    suites.dedup();
    let all: Vec<&BenchmarkResult> = r.benchmarks.iter().collect();
    let analysis = analysis::Analysis::of(&all, baseline);
    for suite in &suites {
        let benches: Vec<BenchmarkResult> = r
            .benchmarks
            .iter()
            .filter(|b| b.suite() == *suite)
            .cloned()
            .collect();
        let _ = write!(s, "<h4>{}</h4>", esc(suite));
        s.push_str(&table::render(&benches, &names, baseline, &analysis));
    }
    for suite in suites {
        let benches: Vec<&BenchmarkResult> =
            r.benchmarks.iter().filter(|b| b.suite() == suite).collect();
        suite_section(s, suite, &benches, &names);
    }
    failures(s, r);
    s.push_str("</section>");
}

fn info(s: &mut String, r: &Results) {
    let m = &r.machine;
    let _ = write!(
        s,
        "<div class=\"info\"><table class=\"kv\"><caption>machine</caption>\
         <tr><th>host</th><td>{}</td></tr><tr><th>os</th><td>{}</td></tr><tr><th>kernel</th><td>{}</td></tr>\
         <tr><th>cpu</th><td>{} × {}</td></tr><tr><th>memory</th><td>{} MiB</td></tr><tr><th>cgroups</th><td>{}</td></tr>\
         <tr><th>load at start</th><td>{:.2} {:.2} {:.2}</td></tr></table>",
        esc(&m.hostname),
        esc(&m.os),
        esc(&m.kernel),
        m.cores,
        esc(&m.cpu),
        m.memory_mib,
        esc(&m.cgroups),
        m.load[0],
        m.load[1],
        m.load[2]
    );
    let c = &r.config;
    let _ = write!(
        s,
        "<table class=\"kv\"><caption>run</caption><tr><th>runs</th><td>{} (+{} warm-up), interleaved</td></tr>\
         <tr><th>cache</th><td>{:?}</td></tr><tr><th>spacing</th><td>{} ms before each sample</td></tr>\
         <tr><th>sysbench time</th><td>{} s</td></tr><tr><th>orphans reaped</th><td>{}</td></tr>\
         <tr><th>assay</th><td>{}</td></tr></table>",
        c.runs,
        c.warmup,
        c.cache,
        c.spacing_ms,
        c.seconds,
        r.orphans_reaped,
        esc(&r.assay_version)
    );
    s.push_str("<table class=\"kv runtimes\"><caption>runtimes</caption><tr><th></th><th>version</th><th>binary</th><th>wrapper / args</th></tr>");
    for (i, rt) in r.runtimes.iter().enumerate() {
        let extra = [rt.wrapper.join(" "), rt.args.join(" ")]
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        let _ = write!(
            s,
            "<tr><th><span class=\"swatch\" style=\"background:{}\"></span>{}</th><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            colour(i, &rt.name),
            esc(&rt.name),
            esc(&rt.version),
            esc(&rt.path),
            esc(&extra)
        );
    }
    s.push_str("</table></div>");
}

fn series_for(b: &BenchmarkResult, runtimes: &[String]) -> Vec<(usize, Series)> {
    b.cells
        .iter()
        .enumerate()
        .map(|(ci, c)| {
            let idx = runtimes.iter().position(|n| n == &c.runtime).unwrap_or(0);
            (
                ci,
                Series {
                    name: c.runtime.clone(),
                    colour: colour(idx, &c.runtime),
                },
            )
        })
        .collect()
}

fn suite_section(s: &mut String, suite: &str, benches: &[&BenchmarkResult], runtimes: &[String]) {
    let note = SUITE_NOTES
        .iter()
        .find(|(n, _)| *n == suite)
        .map_or("", |(_, t)| t);
    let _ = write!(
        s,
        "<h3>{}</h3><p class=\"hint\">{}</p>",
        esc(suite),
        esc(note)
    );
    // Charts need one column order; benchmarks with a host cell put it first.
    let Some(widest) = benches.iter().max_by_key(|b| b.cells.len()) else {
        return;
    };
    let series: Vec<Series> = series_for(widest, runtimes)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    let mut rows = Vec::new();
    for b in benches {
        for (m, metric) in b.metrics.iter().enumerate() {
            let values = series
                .iter()
                .map(|ser| {
                    let cell = b.cells.iter().find(|c| c.runtime == ser.name)?;
                    let sum = cell.summaries.get(m)?.as_ref()?;
                    (cell.status == CellStatus::Ok && sum.median.is_finite())
                        .then_some((sum.median, sum.p10, sum.p90))
                })
                .collect();
            let label = if b.metrics.len() > 1 {
                format!("{} · {}", short(&b.name), metric.key)
            } else {
                short(&b.name)
            };
            rows.push(BarRow {
                label,
                unit: metric.unit.clone(),
                values,
            });
        }
    }
    s.push_str("<figure>");
    s.push_str(&svg::bar_chart(suite, &rows, &series));
    s.push_str("<figcaption>Bars: medians; whiskers: p10–p90; each row on its own scale.</figcaption></figure>");
    let latency: Vec<&&BenchmarkResult> = benches
        .iter()
        .filter(|b| {
            b.metrics.first().is_some_and(|m| m.unit == "ms")
                && b.cells.iter().any(|c| c.samples.len() > 1)
        })
        .collect();
    if latency.is_empty() {
        return;
    }
    s.push_str("<h4>distributions</h4><div class=\"strips\">");
    for b in latency {
        let lanes: Vec<Lane> = series_for(b, runtimes)
            .into_iter()
            .filter(|(ci, _)| b.cells[*ci].status == CellStatus::Ok)
            .map(|(ci, series)| {
                let cell = &b.cells[ci];
                Lane {
                    series,
                    samples: cell.values(0),
                    median: cell.summaries.first().cloned().flatten().map(|x| x.median),
                }
            })
            .collect();
        if !lanes.is_empty() {
            s.push_str(&svg::strip_plot(
                &format!("{} ({})", short(&b.name), b.metrics[0].key),
                &b.metrics[0].unit,
                &lanes,
            ));
        }
    }
    s.push_str("</div>");
}

/// The name without its suite: `container.create`.
fn short(name: &str) -> String {
    name.split_once('.')
        .map_or(name, |(_, rest)| rest)
        .to_string()
}

fn failures(s: &mut String, r: &Results) {
    let failed: Vec<_> = r
        .benchmarks
        .iter()
        .flat_map(|b| {
            b.cells
                .iter()
                .filter(|c| c.status == CellStatus::Failed)
                .map(move |c| (b, c))
        })
        .collect();
    if failed.is_empty() {
        return;
    }
    s.push_str("<h3>failures</h3>");
    for (b, c) in failed {
        let _ = write!(
            s,
            "<details class=\"failure\"><summary><b>{}</b> · {}: {}</summary><pre>{}</pre></details>",
            esc(&c.runtime),
            esc(&b.name),
            esc(c.error.as_deref().unwrap_or("")),
            esc(c.stderr.as_deref().unwrap_or("(no stderr)"))
        );
    }
}

/// A one-line digest for the index page: runtimes and the lifecycle medians when present.
pub fn digest(r: &Results) -> String {
    let Some(b) = r
        .benchmarks
        .iter()
        .find(|b| b.name == "operations.container.lifecycle")
    else {
        return String::new();
    };
    b.cells
        .iter()
        .filter_map(|c| {
            Some(format!(
                "{} {} ms",
                c.runtime,
                num(c.summaries.first()?.as_ref()?.median)
            ))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;

/// A small results value for the tests of other modules.
#[cfg(test)]
pub fn sample_for_tests() -> Results {
    tests::sample_results()
}
