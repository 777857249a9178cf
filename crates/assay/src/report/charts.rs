//! The charts that answer a suite's own question: how time per container grows with N
//! (scalability), whether a CPU cap was enforced and followed (limits), and whether the
//! machine stayed the same during the run (the timeline: every sample over time, with the
//! host's load and its reference workload beside it).

use std::collections::BTreeMap;

use crate::results::{BenchmarkResult, CellStatus, Results};
use crate::stats::percentile;

use super::fmt::colour;
use super::lines::{
    line_chart, line_chart_sized, runtime_lines, Axes, ByRuntime, LineSeries, Style,
};
use super::svg::Series;

fn series(name: &str) -> Series {
    Series {
        name: name.to_string(),
        colour: colour(name),
    }
}

/// The charts of `suite` beyond its bars and strips.
pub fn suite_charts(s: &mut String, suite: &str, benches: &[&BenchmarkResult]) {
    let charts = match suite {
        "scalability" => scalability(benches),
        "limits" => limits(benches),
        _ => Vec::new(),
    };
    if charts.is_empty() {
        return;
    }
    s.push_str("<div class=\"charts\">");
    charts.iter().for_each(|c| s.push_str(c));
    s.push_str("</div>");
}

/// `scalability.MODE.nN` -> (MODE, N).
fn mode_and_n(name: &str) -> Option<(&str, u32)> {
    let mut parts = name.split('.');
    let (_, mode, n) = (parts.next()?, parts.next()?, parts.next()?);
    Some((mode, n.strip_prefix('n')?.parse().ok()?))
}

/// Time per container against N, a line per runtime with p10–p90 bars, one chart per mode
/// (sequential, concurrent, CRI).
fn scalability(benches: &[&BenchmarkResult]) -> Vec<String> {
    // mode -> runtime -> points
    let mut modes: BTreeMap<String, ByRuntime> = BTreeMap::new();
    for b in benches {
        let Some((mode, n)) = mode_and_n(&b.name) else {
            continue;
        };
        let Some(m) = b.metrics.iter().position(|m| m.key.starts_with("per_")) else {
            continue;
        };
        for c in b.cells.iter().filter(|c| c.status == CellStatus::Ok) {
            if let Some(Some(sum)) = c.summaries.get(m) {
                modes
                    .entry(mode.to_string())
                    .or_default()
                    .entry(c.runtime.clone())
                    .or_default()
                    .push((f64::from(n), sum.median, sum.p10, sum.p90));
            }
        }
    }
    modes
        .into_iter()
        .filter(|(_, rts)| rts.values().any(|p| p.len() > 1))
        .map(|(mode, rts)| {
            let lines = runtime_lines(rts, Style::Line);
            let axes = Axes {
                x_label: "containers started, then deleted (N)",
                y_label: "ms per container (median, p10–p90)",
                x_max: None,
                y_max: None,
                x_names: None,
            };
            line_chart(
                &format!("{mode}: time per container against N"),
                &axes,
                &lines,
            )
        })
        .collect()
}

/// The CPU cap asked for and the CPU the container got, second by second (the median over
/// the runs of each runtime); and every such second as a point of achieved against
/// requested, where the diagonal means "cap enforced and followed".
fn limits(benches: &[&BenchmarkResult]) -> Vec<String> {
    let mut out = Vec::new();
    let mut scatter = ByRuntime::new();
    let mut top: f64 = 100.0;
    for b in benches {
        let mut lines = Vec::new();
        let mut target: Option<Vec<(f64, f64, f64, f64)>> = None;
        for c in b.cells.iter().filter(|c| c.status == CellStatus::Ok) {
            let traces: Vec<&Vec<[f64; 3]>> = c
                .samples
                .iter()
                .map(|s| &s.trace)
                .filter(|t| !t.is_empty())
                .collect();
            let Some(longest) = traces.iter().map(|t| t.len()).max() else {
                continue;
            };
            let mut points = Vec::new();
            for k in 0..longest {
                let mut got: Vec<f64> = traces
                    .iter()
                    .filter_map(|t| t.get(k).map(|p| p[2]))
                    .collect();
                got.sort_by(f64::total_cmp);
                let second = (k + 1) as f64;
                points.push((second, percentile(&got, 50.0), got[0], got[got.len() - 1]));
            }
            if target.is_none() {
                target = Some(
                    traces[0]
                        .iter()
                        .enumerate()
                        .map(|(k, p)| ((k + 1) as f64, p[1], p[1], p[1]))
                        .collect(),
                );
            }
            for t in &traces {
                for p in t.iter() {
                    top = top.max(p[1]).max(p[2]);
                    scatter
                        .entry(c.runtime.clone())
                        .or_default()
                        .push((p[1], p[2], p[2], p[2]));
                }
            }
            lines.push(LineSeries {
                series: series(&c.runtime),
                style: Style::Line,
                points,
            });
        }
        if let Some(t) = target {
            lines.push(LineSeries {
                series: Series {
                    name: "cap asked for".into(),
                    colour: "#222222",
                },
                style: Style::Dashed,
                points: t,
            });
            let axes = Axes {
                x_label: "seconds since start",
                y_label: "CPU, % of one core",
                x_max: None,
                y_max: Some(top),
                x_names: None,
            };
            out.push(line_chart(
                &format!("{}: CPU over time", b.name),
                &axes,
                &lines,
            ));
        }
    }
    if !scatter.is_empty() {
        let mut lines = runtime_lines(scatter, Style::Points);
        lines.push(LineSeries {
            series: Series {
                name: "achieved = requested".into(),
                colour: "#222222",
            },
            style: Style::Dashed,
            points: vec![(0.0, 0.0, 0.0, 0.0), (top, top, top, top)],
        });
        let axes = Axes {
            x_label: "CPU cap requested, % of one core",
            y_label: "CPU achieved, % of one core",
            x_max: Some(top),
            y_max: Some(top),
            x_names: None,
        };
        out.push(line_chart(
            "achieved against requested, every second of every limit",
            &axes,
            &lines,
        ));
    }
    out
}

/// Every sample over the run (each divided by the median of its cell, so benchmarks of
/// any size share the axis), and beside it the 1-minute load and the host's reference
/// workload: a drift or a busy spell shows as a band of points away from 1.
pub fn timeline(s: &mut String, r: &Results) {
    let mut by_runtime = ByRuntime::new();
    let mut load: Vec<(f64, f64, f64, f64)> = Vec::new();
    for b in &r.benchmarks {
        for c in b.cells.iter().filter(|c| c.status == CellStatus::Ok) {
            let Some(Some(sum)) = c.summaries.first() else {
                continue;
            };
            for smp in &c.samples {
                load.push((smp.at_s, smp.load1, smp.load1, smp.load1));
                if let Some(v) = smp.values.first().filter(|v| v.is_finite()) {
                    if sum.median > 0.0 {
                        let q = v / sum.median;
                        by_runtime
                            .entry(c.runtime.clone())
                            .or_default()
                            .push((smp.at_s, q, q, q));
                    }
                }
            }
        }
    }
    if load.len() < 2 {
        return;
    }
    load.sort_by(|a, b| a.0.total_cmp(&b.0));
    let end = load.last().map_or(1.0, |p| p.0);
    let y_top = by_runtime
        .values()
        .flatten()
        .map(|p| p.1)
        .fold(2.0_f64, f64::max)
        .min(4.0);
    let points = runtime_lines(by_runtime, Style::Points);
    let axes = Axes {
        x_label: "seconds since the start of the run",
        y_label: "sample ÷ median of its cell",
        x_max: Some(end),
        y_max: Some(y_top),
        x_names: None,
    };
    s.push_str("<h3>the run over time</h3><p class=\"hint\">Left: every sample, divided by the median of its benchmark and runtime (1 = typical; above 4 is drawn at 4). Right: the 1-minute load of the machine (the dashed line is its number of cores) and the host's reference workload, timed at the start and after every benchmark: on a quiet machine both stay flat.</p><div class=\"charts\">");
    s.push_str(&line_chart_sized(
        "samples over time",
        &axes,
        &points,
        540.0,
        260.0,
    ));
    let cores = r.machine.cores as f64;
    let mut beside = vec![
        LineSeries {
            series: Series {
                name: "load1".into(),
                colour: "#6b7682",
            },
            style: Style::Line,
            points: load,
        },
        LineSeries {
            series: Series {
                name: "cores".into(),
                colour: "#222222",
            },
            style: Style::Dashed,
            points: vec![(0.0, cores, cores, cores), (end, cores, cores, cores)],
        },
    ];
    let axes = Axes {
        x_label: "seconds since the start of the run",
        y_label: "1-minute load",
        x_max: Some(end),
        y_max: None,
        x_names: None,
    };
    s.push_str(&line_chart_sized("host load", &axes, &beside, 300.0, 260.0));
    if r.noise.reference.len() > 1 {
        beside.clear();
        beside.push(LineSeries {
            series: Series {
                name: "reference workload".into(),
                colour: "#6b7682",
            },
            style: Style::Line,
            points: r
                .noise
                .reference
                .iter()
                .map(|p| (p[0], p[1], p[1], p[1]))
                .collect(),
        });
        let axes = Axes {
            x_label: "seconds since the start of the run",
            y_label: "ms",
            // The reference spans the whole run, also when the report shows a few benchmarks.
            x_max: r.noise.reference.last().map(|p| p[0].max(end)),
            y_max: None,
            x_names: None,
        };
        s.push_str(&line_chart_sized(
            "host reference",
            &axes,
            &beside,
            300.0,
            260.0,
        ));
    }
    s.push_str("</div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalability_modes_and_counts() {
        assert_eq!(
            mode_and_n("scalability.concurrent.n50"),
            Some(("concurrent", 50))
        );
        assert_eq!(mode_and_n("scalability.cri.n5"), Some(("cri", 5)));
        assert_eq!(mode_and_n("operations.container.create"), None);
    }
}
