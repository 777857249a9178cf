//! Inline SVG charts: bars against the reference, strip plots of raw samples, and line or
//! point charts on numeric axes (scalability against N, CPU over time, achieved against
//! requested, values over a run, trends across runs). Every chart carries a `g.axis` per
//! axis and a `g.legend`, which the browser test checks.

use std::fmt::Write;

use super::fmt::{esc, num, tick};

/// A runtime as the charts draw it.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub colour: &'static str,
}

/// One benchmark row of a bar chart: per series `(median, p10, p90)` when it has one, and
/// the reference median the row is drawn against (1.0 on the axis).
pub struct BarRow {
    pub label: String,
    pub unit: String,
    pub reference: Option<f64>,
    pub values: Vec<Option<(f64, f64, f64)>>,
}

const WIDTH: f64 = 760.0;
const LABEL_W: f64 = 230.0;
const VALUE_W: f64 = 70.0;
const BAR_H: f64 = 14.0;
const GAP: f64 = 12.0;
/// Bars past this many times the reference are cut (and marked).
const MAX_RATIO: f64 = 3.0;

fn open_svg(s: &mut String, class: &str, w: f64, h: f64, title: &str) {
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="{class}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{}">"#,
        esc(title)
    );
}

/// Ticks from 0 to a nice maximum at or above `max`: (ticks, top).
fn ticks(max: f64) -> (Vec<f64>, f64) {
    let step = nice_ceiling(max.max(1e-9) / 4.0);
    let top = (max / step).ceil().max(1.0) * step;
    let n = (top / step).round() as usize;
    ((0..=n).map(|k| k as f64 * step).collect(), top)
}

/// Horizontal grouped bars on one shared axis, "× the reference median" (the baseline, or
/// the host), so rows of different units compare; the label at the end of each bar gives
/// the value itself, whiskers span p10–p90.
pub fn bar_chart(title: &str, rows: &[BarRow], series: &[Series]) -> String {
    let group_h = BAR_H * series.len() as f64 + GAP;
    let (top, legend_h) = (30.0, 24.0);
    let plot_h = group_h * rows.len() as f64;
    let height = legend_h + top + plot_h + 8.0;
    let plot_w = WIDTH - LABEL_W - VALUE_W;
    let ratio = |row: &BarRow, v: f64| -> f64 {
        match row.reference {
            Some(r) if r > 0.0 => v / r,
            _ => 1.0,
        }
    };
    let widest = rows
        .iter()
        .flat_map(|r| {
            r.values
                .iter()
                .flatten()
                .map(move |v| ratio(r, v.2.max(v.0)))
        })
        .fold(1.0_f64, f64::max)
        .min(MAX_RATIO);
    let (tks, axis_max) = ticks(widest);
    let x = |q: f64| LABEL_W + (q / axis_max).clamp(0.0, 1.0) * plot_w;
    let mut s = String::new();
    open_svg(&mut s, "chart bars", WIDTH, height, title);
    legend(&mut s, series, LABEL_W, 14.0);
    let y_axis = legend_h + top - 6.0;
    s.push_str(r#"<g class="axis x">"#);
    for t in &tks {
        let _ = write!(
            s,
            r#"<path d="M{0:.1} {y_axis}V{1:.1}" class="{2}"/><text x="{0:.1}" y="{3:.1}" class="tick" text-anchor="middle">×{4}</text>"#,
            x(*t),
            legend_h + top + plot_h,
            if (*t - 1.0).abs() < 1e-9 {
                "refline"
            } else {
                "grid"
            },
            y_axis - 4.0,
            tick(*t)
        );
    }
    s.push_str("</g>");
    s.push_str(r#"<g class="axis y">"#);
    for (r, row) in rows.iter().enumerate() {
        let y0 = legend_h + top + group_h * r as f64;
        let _ = write!(
            s,
            r#"<text x="{}" y="{}" class="rowlabel" text-anchor="end">{}</text><text x="{}" y="{}" class="unit" text-anchor="end">{}</text>"#,
            LABEL_W - 8.0,
            y0 + group_h / 2.0 - 4.0,
            esc(&row.label),
            LABEL_W - 8.0,
            y0 + group_h / 2.0 + 9.0,
            esc(&row.unit)
        );
    }
    let _ = write!(
        s,
        r#"<path d="M{LABEL_W} {y_axis}V{:.1}" class="axisline"/></g>"#,
        legend_h + top + plot_h
    );
    for (r, row) in rows.iter().enumerate() {
        let y0 = legend_h + top + group_h * r as f64;
        for (i, (v, ser)) in row.values.iter().zip(series).enumerate() {
            let y = y0 + BAR_H * i as f64;
            let Some((median, p10, p90)) = *v else {
                let _ = write!(
                    s,
                    r#"<text x="{}" y="{}" class="missing">no data</text>"#,
                    LABEL_W + 4.0,
                    y + BAR_H - 3.0
                );
                continue;
            };
            let end = x(ratio(row, median)).max(LABEL_W + 1.0);
            let cut = ratio(row, median) > axis_max;
            let _ = write!(
                s,
                r#"<rect x="{LABEL_W}" y="{}" width="{:.1}" height="{}" fill="{}"><title>{}: {} {} (×{:.2})</title></rect>"#,
                y + 1.0,
                end - LABEL_W,
                BAR_H - 2.0,
                ser.colour,
                esc(&ser.name),
                num(median),
                esc(&row.unit),
                ratio(row, median)
            );
            let (a, b) = (x(ratio(row, p10)), x(ratio(row, p90)));
            let cy = y + BAR_H / 2.0;
            let _ = write!(
                s,
                r#"<path d="M{a:.1} {cy:.1}H{b:.1}M{a:.1} {:.1}V{:.1}M{b:.1} {:.1}V{:.1}" class="whisker"/>"#,
                cy - 3.0,
                cy + 3.0,
                cy - 3.0,
                cy + 3.0
            );
            let label = if cut {
                format!("{} »", num(median))
            } else {
                num(median)
            };
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" class="value">{}</text>"#,
                end + 4.0,
                y + BAR_H - 3.0,
                label
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn legend(s: &mut String, series: &[Series], x0: f64, y: f64) {
    s.push_str(r#"<g class="legend">"#);
    let mut x = x0;
    for ser in series {
        let _ = write!(
            s,
            r#"<rect x="{x}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{y}" class="legendtext">{}</text>"#,
            y - 9.0,
            ser.colour,
            x + 14.0,
            esc(&ser.name)
        );
        x += 24.0 + 7.0 * ser.name.chars().count() as f64;
    }
    s.push_str("</g>");
}

/// One lane of a strip plot: a runtime's raw samples and its median.
pub struct Lane {
    pub series: Series,
    pub samples: Vec<f64>,
    pub median: Option<f64>,
}

const STRIP_W: f64 = 360.0;
const LANE_H: f64 = 18.0;
const STRIP_LABEL: f64 = 80.0;

/// The samples of one benchmark, a lane per runtime on a shared axis from 0; the lane
/// labels are the legend.
pub fn strip_plot(title: &str, unit: &str, lanes: &[Lane]) -> String {
    let max = lanes
        .iter()
        .flat_map(|l| l.samples.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let (tks, max) = ticks(max);
    let top = 20.0;
    let height = top + LANE_H * lanes.len() as f64 + 24.0;
    let plot_w = STRIP_W - STRIP_LABEL - 16.0;
    let x = |v: f64| STRIP_LABEL + if max > 0.0 { v / max * plot_w } else { 0.0 };
    let mut s = String::new();
    open_svg(&mut s, "chart strip", STRIP_W, height, title);
    let _ = write!(
        s,
        r#"<text x="4" y="13" class="striptitle">{}</text>"#,
        esc(title)
    );
    let axis_y = top + LANE_H * lanes.len() as f64;
    s.push_str(r#"<g class="axis x">"#);
    for t in &tks {
        let _ = write!(
            s,
            r#"<path d="M{0:.1} {top}V{axis_y}" class="grid"/><text x="{0:.1}" y="{1}" class="tick" text-anchor="middle">{2}</text>"#,
            x(*t),
            axis_y + 12.0,
            tick(*t)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" class="tick" text-anchor="end">{}</text></g>"#,
        STRIP_W - 4.0,
        axis_y + 22.0,
        esc(unit)
    );
    s.push_str(r#"<g class="axis y legend">"#);
    for (i, lane) in lanes.iter().enumerate() {
        let cy = top + LANE_H * i as f64 + LANE_H / 2.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{:.1}" class="lanelabel" text-anchor="end" fill="{}">{}</text>"#,
            STRIP_LABEL - 6.0,
            cy + 4.0,
            lane.series.colour,
            esc(&lane.series.name)
        );
    }
    s.push_str("</g>");
    for (i, lane) in lanes.iter().enumerate() {
        let cy = top + LANE_H * i as f64 + LANE_H / 2.0;
        for (k, v) in lane
            .samples
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
        {
            // A small deterministic vertical jitter keeps equal values apart.
            let jitter = ((k * 7) % 9) as f64 - 4.0;
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="2.6" fill="{}" fill-opacity="0.55"><title>{}</title></circle>"#,
                x(*v),
                cy + jitter,
                lane.series.colour,
                num(*v)
            );
        }
        if let Some(m) = lane.median {
            let _ = write!(
                s,
                r#"<path d="M{0:.1} {1:.1}V{2:.1}" class="median"/>"#,
                x(m),
                cy - 7.0,
                cy + 7.0
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// How a line chart draws a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    /// Points joined by a line, with error bars where a point has them.
    Line,
    /// Points only.
    Points,
    /// A dashed line without points (a target, a reference).
    Dashed,
}

/// A point of a line chart: `(x, y, low, high)` (low = high = y for no bar).
pub type Point = (f64, f64, f64, f64);

/// Points per runtime name, before they become series.
pub type ByRuntime = std::collections::BTreeMap<String, Vec<Point>>;

/// A series of a line chart.
pub struct LineSeries {
    pub series: Series,
    pub style: Style,
    pub points: Vec<Point>,
}

/// A series per runtime in its fixed colour, points in x order.
pub fn runtime_lines(by: ByRuntime, style: Style) -> Vec<LineSeries> {
    by.into_iter()
        .map(|(rt, mut points)| {
            points.sort_by(|a, b| a.0.total_cmp(&b.0));
            LineSeries {
                series: Series {
                    colour: super::fmt::colour(&rt),
                    name: rt,
                },
                style,
                points,
            }
        })
        .collect()
}

/// The axes of a line chart.
pub struct Axes<'a> {
    pub x_label: &'a str,
    pub y_label: &'a str,
    /// Fixed upper ends (else from the data).
    pub x_max: Option<f64>,
    pub y_max: Option<f64>,
    /// Label the x ticks with these texts instead of numbers (e.g. dates of runs).
    pub x_names: Option<&'a [String]>,
}

const LINE_W: f64 = 420.0;
const LINE_H: f64 = 250.0;

/// A line or point chart on numeric axes from 0, with its legend above.
pub fn line_chart(title: &str, axes: &Axes, lines: &[LineSeries]) -> String {
    line_chart_sized(title, axes, lines, LINE_W, LINE_H)
}

pub fn line_chart_sized(
    title: &str,
    axes: &Axes,
    lines: &[LineSeries],
    width: f64,
    height: f64,
) -> String {
    let (left, right, top, bottom) = (52.0, 14.0, 44.0, 36.0);
    let pts = || lines.iter().flat_map(|l| l.points.iter());
    let x_data = pts()
        .map(|p| p.0)
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let y_data = pts()
        .map(|p| p.3.max(p.1))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let (xt, x_max) = ticks(axes.x_max.unwrap_or(x_data));
    let (yt, y_max) = ticks(axes.y_max.unwrap_or(y_data));
    let (pw, ph) = (width - left - right, height - top - bottom);
    let x = |v: f64| left + (v / x_max).clamp(0.0, 1.0) * pw;
    let y = |v: f64| top + ph - (v / y_max).clamp(0.0, 1.0) * ph;
    let mut s = String::new();
    open_svg(&mut s, "chart lines", width, height, title);
    let _ = write!(
        s,
        r#"<text x="4" y="13" class="striptitle">{}</text>"#,
        esc(title)
    );
    let series: Vec<Series> = lines.iter().map(|l| l.series.clone()).collect();
    legend(&mut s, &series, left, 32.0);
    s.push_str(r#"<g class="axis x">"#);
    match axes.x_names {
        Some(names) => {
            // At most five names, the first and last kept inside the chart.
            let last = names.len().saturating_sub(1);
            let step = names.len().div_ceil(5).max(1);
            for (i, n) in names.iter().enumerate() {
                if i % step != 0 && i != last {
                    continue;
                }
                let anchor = match i {
                    0 => "start",
                    i if i == last => "end",
                    _ => "middle",
                };
                let _ = write!(
                    s,
                    r#"<path d="M{0:.1} {top}V{1:.1}" class="grid"/><text x="{0:.1}" y="{2:.1}" class="tick" text-anchor="{anchor}">{3}</text>"#,
                    x(i as f64),
                    top + ph,
                    top + ph + 12.0,
                    esc(n)
                );
            }
        }
        None => {
            for t in &xt {
                let _ = write!(
                    s,
                    r#"<path d="M{0:.1} {top}V{1:.1}" class="grid"/><text x="{0:.1}" y="{2:.1}" class="tick" text-anchor="middle">{3}</text>"#,
                    x(*t),
                    top + ph,
                    top + ph + 12.0,
                    tick(*t)
                );
            }
        }
    }
    let _ = write!(
        s,
        r#"<path d="M{left} {0:.1}H{1:.1}" class="axisline"/><text x="{2:.1}" y="{3:.1}" class="axislabel" text-anchor="middle">{4}</text></g>"#,
        top + ph,
        left + pw,
        left + pw / 2.0,
        height - 4.0,
        esc(axes.x_label)
    );
    s.push_str(r#"<g class="axis y">"#);
    for t in &yt {
        let _ = write!(
            s,
            r#"<path d="M{left} {0:.1}H{1:.1}" class="grid"/><text x="{2:.1}" y="{3:.1}" class="tick" text-anchor="end">{4}</text>"#,
            y(*t),
            left + pw,
            left - 4.0,
            y(*t) + 3.0,
            tick(*t)
        );
    }
    let _ = write!(
        s,
        r#"<path d="M{left} {top}V{0:.1}" class="axisline"/><text x="12" y="{1:.1}" class="axislabel" text-anchor="middle" transform="rotate(-90 12 {1:.1})">{2}</text></g>"#,
        top + ph,
        top + ph / 2.0,
        esc(axes.y_label)
    );
    for l in lines {
        let c = l.series.colour;
        let finite: Vec<&(f64, f64, f64, f64)> = l
            .points
            .iter()
            .filter(|p| p.0.is_finite() && p.1.is_finite())
            .collect();
        if l.style != Style::Points && finite.len() > 1 {
            let d: Vec<String> = finite
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    format!(
                        "{}{:.1} {:.1}",
                        if i == 0 { "M" } else { "L" },
                        x(p.0),
                        y(p.1)
                    )
                })
                .collect();
            let dash = if l.style == Style::Dashed {
                r#" stroke-dasharray="5 4""#
            } else {
                ""
            };
            let _ = write!(
                s,
                r#"<path d="{}" fill="none" stroke="{c}" stroke-width="1.8"{dash}/>"#,
                d.join("")
            );
        }
        if l.style == Style::Dashed {
            continue;
        }
        for p in finite {
            if p.3 > p.2 {
                let _ = write!(
                    s,
                    r#"<path d="M{0:.1} {1:.1}V{2:.1}" stroke="{c}" stroke-width="1"/>"#,
                    x(p.0),
                    y(p.2),
                    y(p.3)
                );
            }
            let _ = write!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{c}" fill-opacity="0.8"><title>{}: {} at {}</title></circle>"#,
                x(p.0),
                y(p.1),
                esc(&l.series.name),
                num(p.1),
                num(p.0)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// The smallest 1, 2 or 5 times a power of ten at or above `v`.
pub fn nice_ceiling(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|c| *c >= v * 0.999_999)
        .unwrap_or(10.0 * p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(n: &str) -> Series {
        Series {
            name: n.into(),
            colour: "#123456",
        }
    }

    #[test]
    fn nice_ceilings_and_ticks() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(102.4), 200.0);
        assert_eq!(nice_ceiling(10.0), 10.0);
        let (t, top) = ticks(2.3);
        assert_eq!((t.len(), top), (4, 3.0));
        let (t, top) = ticks(1.1);
        assert_eq!(t, [0.0, 0.5, 1.0, 1.5]);
        assert_eq!(top, 1.5);
    }

    #[test]
    fn bars_share_an_axis_against_the_reference_with_labels_at_the_bar_end() {
        let rows = [BarRow {
            label: "create".into(),
            unit: "ms".into(),
            reference: Some(10.0),
            values: vec![Some((10.0, 9.0, 11.0)), Some((5.0, 5.0, 5.0)), None],
        }];
        let svg = bar_chart("ops", &rows, &[series("a"), series("b<"), series("c")]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("b&lt;"), "names escaped");
        assert!(svg.contains("no data"));
        assert!(svg.contains(r#"class="axis x""#) && svg.contains(r#"class="legend""#));
        assert!(svg.contains(">×1<"), "the reference tick: {svg}");
        // The axis ends at ×1.5 (ticks of 0.5 above the widest whisker, 1.1).
        let plot_w = WIDTH - LABEL_W - VALUE_W;
        let half = 0.5 / 1.5 * plot_w;
        assert!(svg.contains(&format!(r#"width="{half:.1}""#)), "{svg}");
        // The label of the 5 ms bar sits right after the bar's end, not at a whisker.
        assert!(
            svg.contains(&format!(r#"<text x="{:.1}""#, LABEL_W + half + 4.0)),
            "{svg}"
        );
    }

    #[test]
    fn strip_has_a_dot_per_sample() {
        let lanes = [
            Lane {
                series: series("a"),
                samples: vec![1.0, 2.0, 3.0],
                median: Some(2.0),
            },
            Lane {
                series: series("b"),
                samples: vec![4.0],
                median: Some(4.0),
            },
        ];
        let svg = strip_plot("create", "ms", &lanes);
        assert_eq!(svg.matches("<circle").count(), 4);
        assert_eq!(svg.matches(r#"class="median""#).count(), 2);
        assert!(svg.contains(">4<"), "axis ends at a nice 4: {svg}");
    }

    #[test]
    fn line_charts_have_axes_legend_and_points() {
        let lines = [
            LineSeries {
                series: series("a"),
                style: Style::Line,
                points: vec![(5.0, 20.0, 18.0, 22.0), (10.0, 21.0, 21.0, 21.0)],
            },
            LineSeries {
                series: series("target"),
                style: Style::Dashed,
                points: vec![(0.0, 0.0, 0.0, 0.0), (10.0, 10.0, 10.0, 10.0)],
            },
        ];
        let axes = Axes {
            x_label: "containers",
            y_label: "ms per container",
            x_max: None,
            y_max: None,
            x_names: None,
        };
        let svg = line_chart("scale", &axes, &lines);
        assert_eq!(
            svg.matches("<circle").count(),
            2,
            "no points on a dashed series"
        );
        assert!(svg.contains("stroke-dasharray"));
        assert!(svg.contains(r#"class="axis x""#) && svg.contains(r#"class="axis y""#));
        assert!(svg.contains("ms per container") && svg.contains(r#"class="legend""#));
    }
}
