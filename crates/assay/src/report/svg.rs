//! Inline SVG charts: bars against the reference and strip plots of raw samples; line and
//! point charts are in `lines`. Every chart carries a `g.axis` per axis and a `g.legend`,
//! which the browser test checks.

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

pub(super) fn open_svg(s: &mut String, class: &str, w: f64, h: f64, title: &str) {
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="{class}" width="{w}" height="{h}" viewBox="0 0 {w} {h}" role="img" aria-label="{}">"#,
        esc(title)
    );
}

/// The anchor of tick label `k` of `n` on an x axis: the last one ends at its tick, so a
/// long number stays inside the chart.
pub(super) fn tick_anchor(k: usize, n: usize) -> &'static str {
    if k + 1 == n && n > 1 {
        "end"
    } else {
        "middle"
    }
}

/// Ticks from 0 to a nice maximum at or above `max`: (ticks, top).
pub(super) fn ticks(max: f64) -> (Vec<f64>, f64) {
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

pub(super) fn legend(s: &mut String, series: &[Series], x0: f64, y: f64) {
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
    for (k, t) in tks.iter().enumerate() {
        let _ = write!(
            s,
            r#"<path d="M{0:.1} {top}V{axis_y}" class="grid"/><text x="{0:.1}" y="{1}" class="tick" text-anchor="{2}">{3}</text>"#,
            x(*t),
            axis_y + 12.0,
            tick_anchor(k, tks.len()),
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

/// A series for the charts' tests.
#[cfg(test)]
pub(super) fn series(n: &str) -> Series {
    Series {
        name: n.into(),
        colour: "#123456",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
