//! The HTML report: one self-contained page (inline CSS and SVG, no script, no network)
//! with machine and runtime information, a summary table, a chart per suite and the
//! distribution of every latency benchmark.

pub mod analysis;
mod charts;
pub mod fleet;
pub mod fmt;
pub mod lines;
pub mod markdown;
pub mod noise;
pub mod svg;
mod table;
pub mod terminal;

use std::fmt::Write;

use crate::results::{BenchmarkResult, CellStatus, Results};

use fmt::{colour, esc, num};
use svg::{BarRow, Lane, Series};

pub const STYLE: &str = include_str!("report.css");

const SUITE_NOTES: [(&str, &str); 5] = [
    ("operations", "Each runtime verb timed on its own, the other verbs as untimed set-up and clean-up. Lower is better."),
    ("scalability", "N long-running containers started then deleted with --force; total and per-container time. Lower is better."),
    ("performance", "sysbench inside a container and on the host; the ratio to the host is the container's overhead (1.00 = none). Higher is better."),
    ("limits", "sysbench cpu under a hard cap (10% of a core) and while the cap is raised from 50% to 100% with `update`."),
    ("footprint", "What the runtime costs besides time: binary and libraries, peak RSS, CPU time, memory charged, system calls. Lower is better."),
];

/// Renders `results` (one section each, titled by `names`) as one HTML page.
pub fn render(results: &[Results], names: &[String], baseline: Option<&str>) -> String {
    render_with(results, names, baseline, true)
}

/// [`render`], with the summary tables or without (charts only).
pub fn render_with(
    results: &[Results],
    names: &[String],
    baseline: Option<&str>,
    tables: bool,
) -> String {
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
    let all: Vec<&Results> = results.iter().collect();
    s.push_str(&fleet::render(&all));
    // A row every runtime skipped (the wrapper floor without a per-call wrapper) says
    // nothing: neither a table row nor a bar.
    let results: Vec<Results> = results
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.benchmarks
                .retain(|b| b.cells.iter().any(|c| c.status != CellStatus::Skipped));
            r
        })
        .collect();
    for (i, (r, n)) in results.iter().zip(names).enumerate() {
        section(&mut s, i, r, n, baseline.unwrap_or(&r.baseline), tables);
    }
    let _ = writeln!(
        s,
        "<footer>rendered by assay {}</footer></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    s
}

fn section(s: &mut String, i: usize, r: &Results, name: &str, baseline: &str, tables: bool) {
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
    if tables {
        summary(s, r, &names, baseline);
    }
    let mut suites: Vec<&str> = r.benchmarks.iter().map(BenchmarkResult::suite).collect();
    suites.dedup();
    for suite in suites {
        let benches: Vec<&BenchmarkResult> =
            r.benchmarks.iter().filter(|b| b.suite() == suite).collect();
        let _ = write!(s, "<a id=\"run{i}-{}\"></a>", esc(suite));
        suite_section(s, suite, &benches, &names, baseline);
    }
    let _ = write!(s, "<a id=\"run{i}-timeline\"></a>");
    charts::timeline(s, r);
    failures(s, r);
    s.push_str("</section>");
}

/// The summary tables of every suite, one family of tests for the whole results file.
fn summary(s: &mut String, r: &Results, names: &[String], baseline: &str) {
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
        s.push_str(&table::render(&benches, names, baseline, &analysis));
    }
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
    for rt in &r.runtimes {
        let extra = [rt.wrapper.join(" "), rt.args.join(" ")]
            .into_iter()
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        let _ = write!(
            s,
            "<tr><th><span class=\"swatch\" style=\"background:{}\"></span>{}</th><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
            colour(&rt.name),
            esc(&rt.name),
            esc(&rt.version),
            esc(&rt.path),
            esc(&extra)
        );
    }
    s.push_str("</table></div>");
}

fn series_of(name: &str) -> Series {
    Series {
        name: name.to_string(),
        colour: colour(name),
    }
}

fn suite_section(
    s: &mut String,
    suite: &str,
    benches: &[&BenchmarkResult],
    runtimes: &[String],
    baseline: &str,
) {
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
    // Charts need one column order: the table's (the host first where it ran).
    let owned: Vec<BenchmarkResult> = benches.iter().map(|b| (*b).clone()).collect();
    let series: Vec<Series> = table::columns(&owned, runtimes)
        .iter()
        .filter(|c| {
            benches
                .iter()
                .any(|b| b.cells.iter().any(|x| &x.runtime == *c))
        })
        .map(|c| series_of(c))
        .collect();
    let mut rows = Vec::new();
    for b in benches {
        let reference = analysis::reference_of(b, baseline);
        for (m, metric) in b.metrics.iter().enumerate() {
            let median_of = |name: &str| {
                let cell = b.cells.iter().find(|c| c.runtime == name)?;
                let sum = cell.summaries.get(m)?.as_ref()?;
                (cell.status == CellStatus::Ok && sum.median.is_finite())
                    .then_some((sum.median, sum.p10, sum.p90))
            };
            let values: Vec<_> = series.iter().map(|ser| median_of(&ser.name)).collect();
            let fallback = values
                .iter()
                .flatten()
                .map(|v| v.0)
                .fold(f64::NAN, f64::min);
            let label = if b.metrics.len() > 1 {
                format!("{} · {}", short(&b.name), metric.key)
            } else {
                short(&b.name)
            };
            rows.push(BarRow {
                label,
                unit: metric.unit.clone(),
                reference: median_of(reference).map(|v| v.0).or(Some(fallback)),
                values,
            });
        }
    }
    // The chart that answers the suite's own question first, then the bars.
    charts::suite_charts(s, suite, benches);
    let reference = if suite == "performance" {
        "the host"
    } else {
        baseline
    };
    s.push_str("<figure>");
    s.push_str(&svg::bar_chart(suite, &rows, &series));
    let _ = write!(
        s,
        "<figcaption>Bars: medians on one axis, × the median of {} (1 = the same); the label at a bar's end is the median itself; whiskers: p10–p90; » : cut at ×3.</figcaption></figure>",
        esc(reference)
    );
    let strips: Vec<String> = benches
        .iter()
        .flat_map(|b| (0..b.metrics.len()).map(move |m| (b, m)))
        // A benchmark's first metric, and every throughput-like one (not a time).
        .filter(|(b, m)| *m == 0 || b.metrics[*m].unit != "ms")
        .filter(|(b, m)| b.cells.iter().any(|c| c.values(*m).len() > 1))
        .filter_map(|(b, m)| {
            let lanes: Vec<Lane> = b
                .cells
                .iter()
                .filter(|c| c.status == CellStatus::Ok)
                .map(|c| Lane {
                    series: series_of(&c.runtime),
                    samples: c.values(m),
                    median: c.summaries.get(m).cloned().flatten().map(|x| x.median),
                })
                .collect();
            (!lanes.is_empty()).then(|| {
                svg::strip_plot(
                    &format!("{} ({})", short(&b.name), b.metrics[m].key),
                    &b.metrics[m].unit,
                    &lanes,
                )
            })
        })
        .collect();
    if !strips.is_empty() {
        s.push_str("<h4>every sample</h4><div class=\"strips\">");
        strips.iter().for_each(|x| s.push_str(x));
        s.push_str("</div>");
    }
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
