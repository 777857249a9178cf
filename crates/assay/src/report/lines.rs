//! Line and point charts on numeric axes from 0: scalability against N, CPU over time,
//! achieved against requested, values over a run, trends across runs.

use std::fmt::Write;

use super::fmt::{esc, num, tick};
use super::svg::{legend, open_svg, tick_anchor, ticks, Series};

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
            for (k, t) in xt.iter().enumerate() {
                let _ = write!(
                    s,
                    r#"<path d="M{0:.1} {top}V{1:.1}" class="grid"/><text x="{0:.1}" y="{2:.1}" class="tick" text-anchor="{3}">{4}</text>"#,
                    x(*t),
                    top + ph,
                    top + ph + 12.0,
                    tick_anchor(k, xt.len()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::svg::series;

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
