//! Inline SVG charts: grouped bars with p10–p90 whiskers, and strip plots of raw samples.

use std::fmt::Write;

use super::fmt::{esc, num, tick};

/// One benchmark row of a bar chart: per runtime, `(median, p10, p90)` when it has one.
pub struct BarRow {
    pub label: String,
    pub unit: String,
    pub values: Vec<Option<(f64, f64, f64)>>,
}

/// A runtime as the charts draw it.
pub struct Series {
    pub name: String,
    pub colour: &'static str,
}

const WIDTH: f64 = 760.0;
const LABEL_W: f64 = 250.0;
const VALUE_W: f64 = 90.0;
const BAR_H: f64 = 14.0;
const GAP: f64 = 12.0;

/// Horizontal grouped bars; every row has its own scale (its units and ranges differ), so
/// bars compare runtimes within a row, and the printed value gives the magnitude.
pub fn bar_chart(title: &str, rows: &[BarRow], series: &[Series]) -> String {
    let group_h = BAR_H * series.len() as f64 + GAP;
    let legend_h = 24.0;
    let height = legend_h + group_h * rows.len() as f64 + 8.0;
    let plot_w = WIDTH - LABEL_W - VALUE_W;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{}">"#,
        esc(title)
    );
    legend(&mut s, series, LABEL_W, 14.0);
    for (r, row) in rows.iter().enumerate() {
        let y0 = legend_h + group_h * r as f64;
        let max = row
            .values
            .iter()
            .flatten()
            .map(|v| v.2.max(v.0))
            .fold(0.0_f64, f64::max);
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
            let scale = |x: f64| {
                if max > 0.0 {
                    (x / max).clamp(0.0, 1.0) * plot_w
                } else {
                    0.0
                }
            };
            let w = scale(median).max(1.0);
            let _ = write!(
                s,
                r#"<rect x="{LABEL_W}" y="{}" width="{w:.1}" height="{}" fill="{}"><title>{}: {} {}</title></rect>"#,
                y + 1.0,
                BAR_H - 2.0,
                ser.colour,
                esc(&ser.name),
                num(median),
                esc(&row.unit)
            );
            let (a, b) = (LABEL_W + scale(p10), LABEL_W + scale(p90));
            let cy = y + BAR_H / 2.0;
            let _ = write!(
                s,
                r#"<path d="M{a:.1} {cy:.1}H{b:.1}M{a:.1} {:.1}V{:.1}M{b:.1} {:.1}V{:.1}" class="whisker"/>"#,
                cy - 3.0,
                cy + 3.0,
                cy - 3.0,
                cy + 3.0
            );
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" class="value">{}</text>"#,
                LABEL_W + w.max(scale(p90)) + 4.0,
                y + BAR_H - 3.0,
                num(median)
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn legend(s: &mut String, series: &[Series], x0: f64, y: f64) {
    let mut x = x0;
    for ser in series {
        let _ = write!(
            s,
            r#"<rect x="{x}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{y}" class="legend">{}</text>"#,
            y - 9.0,
            ser.colour,
            x + 14.0,
            esc(&ser.name)
        );
        x += 24.0 + 7.5 * ser.name.chars().count() as f64;
    }
}

/// One lane of a strip plot: a runtime's raw samples and its median.
pub struct Lane {
    pub series: Series,
    pub samples: Vec<f64>,
    pub median: Option<f64>,
}

const STRIP_W: f64 = 360.0;
const LANE_H: f64 = 18.0;
const STRIP_LABEL: f64 = 70.0;

/// The samples of one benchmark, a lane per runtime on a shared axis from 0.
pub fn strip_plot(title: &str, unit: &str, lanes: &[Lane]) -> String {
    let max = lanes
        .iter()
        .flat_map(|l| l.samples.iter().copied())
        .fold(0.0_f64, f64::max);
    let max = nice_ceiling(max);
    let top = 20.0;
    let height = top + LANE_H * lanes.len() as f64 + 22.0;
    let plot_w = STRIP_W - STRIP_LABEL - 12.0;
    let x = |v: f64| STRIP_LABEL + if max > 0.0 { v / max * plot_w } else { 0.0 };
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="strip" width="{STRIP_W}" height="{height}" viewBox="0 0 {STRIP_W} {height}" role="img" aria-label="{}"><text x="4" y="13" class="striptitle">{}</text>"#,
        esc(title),
        esc(title)
    );
    let axis_y = top + LANE_H * lanes.len() as f64;
    for k in 0..=4 {
        let v = max * f64::from(k) / 4.0;
        let _ = write!(
            s,
            r#"<path d="M{0:.1} {top}V{axis_y}" class="grid"/><text x="{0:.1}" y="{1}" class="tick" text-anchor="middle">{2}</text>"#,
            x(v),
            axis_y + 12.0,
            tick(v)
        );
    }
    let _ = write!(
        s,
        r#"<text x="{}" y="{}" class="tick" text-anchor="end">{}</text>"#,
        STRIP_W - 2.0,
        axis_y + 21.0,
        esc(unit)
    );
    for (i, lane) in lanes.iter().enumerate() {
        let cy = top + LANE_H * i as f64 + LANE_H / 2.0;
        let _ = write!(
            s,
            r#"<text x="{}" y="{:.1}" class="lanelabel" text-anchor="end">{}</text>"#,
            STRIP_LABEL - 6.0,
            cy + 4.0,
            esc(&lane.series.name)
        );
        for (k, v) in lane.samples.iter().enumerate() {
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
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(102.4), 200.0);
        assert_eq!(nice_ceiling(10.0), 10.0);
    }

    #[test]
    fn bars_scale_within_a_row() {
        let rows = [BarRow {
            label: "create".into(),
            unit: "ms".into(),
            values: vec![Some((10.0, 9.0, 11.0)), Some((5.0, 5.0, 5.0)), None],
        }];
        let svg = bar_chart("ops", &rows, &[series("a"), series("b<"), series("c")]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("b&lt;"), "names escaped");
        assert!(svg.contains("no data"));
        // The largest p90 (11) spans the plot width; the median 10 is 10/11 of it.
        let plot_w = WIDTH - LABEL_W - VALUE_W;
        assert!(
            svg.contains(&format!(r#"width="{:.1}""#, 10.0 / 11.0 * plot_w)),
            "{svg}"
        );
        assert!(svg.contains(&format!(r#"width="{:.1}""#, 5.0 / 11.0 * plot_w)));
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
        assert!(svg.contains(">5<"), "axis ends at a nice 5: {svg}");
    }
}
