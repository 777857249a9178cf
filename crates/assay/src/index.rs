//! `assay index DIR [MORE...]`: an index page of every results file in the folders (and
//! their subfolders, one level: a folder per machine is natural), rebuilt from their
//! contents each time, so it keeps every past run; missing or stale reports are rendered
//! on the way. Runs from several machines are merged: a machines table with each one's
//! description, the fleet's medians side by side, and a trend chart per metric and machine
//! across its runs.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::report::fleet::{self, machine_key};
use crate::report::lines::{line_chart_sized, runtime_lines, Axes, ByRuntime, Style};
use crate::report::{self, digest};
use crate::results::{CellStatus, Results};

fn json_files(dir: &Path, depth: u32, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(Error::io("read folder", dir))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() && depth > 0 {
            json_files(&path, depth - 1, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Writes `dirs[0]/index.html` over the results files of every folder; returns its path.
pub fn write(dirs: &[PathBuf]) -> Result<PathBuf, Error> {
    let home = dirs
        .first()
        .ok_or_else(|| Error::config("index", "no folder given"))?;
    let mut files = Vec::new();
    for dir in dirs {
        json_files(dir, 1, &mut files)?;
    }
    let mut runs: Vec<(PathBuf, Results)> = Vec::new();
    let mut skipped = Vec::new();
    for path in files {
        match Results::load(&path) {
            Ok(r) => runs.push((path, r)),
            Err(e) => skipped.push(e.to_string()),
        }
    }
    runs.sort_by(|a, b| b.1.started_unix.cmp(&a.1.started_unix).then(a.0.cmp(&b.0)));
    for (path, results) in &runs {
        let html = path.with_extension("html");
        if is_stale(&html, path) {
            let page = report::render(std::slice::from_ref(results), &[file_name(path)], None);
            std::fs::write(&html, page).map_err(Error::io("write", &html))?;
        }
    }
    let index = home.join("index.html");
    std::fs::write(&index, page(home, &runs, &skipped)).map_err(Error::io("write", &index))?;
    Ok(index)
}

fn is_stale(html: &Path, json: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(html), modified(json)) {
        (Some(h), Some(j)) => h < j,
        _ => true,
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A link to `target` from a page in `home`: relative below it, absolute elsewhere.
fn link(home: &Path, target: &Path) -> String {
    target
        .strip_prefix(home)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| format!("file://{}", target.display()))
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The index page itself.
pub fn page(home: &Path, runs: &[(PathBuf, Results)], skipped: &[String]) -> String {
    let mut s = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>assay results</title><style>{}\
         .runs td,.runs th{{text-align:left;vertical-align:top}}</style></head><body><h1>assay results</h1>",
        report::STYLE
    );
    let machines: Vec<String> = {
        let mut m: Vec<String> = runs.iter().map(|(_, r)| machine_key(r)).collect();
        m.sort();
        m.dedup();
        m
    };
    let _ = write!(
        s,
        "<p class=\"sub\">{} result files from {} machine(s), newest first</p>",
        runs.len(),
        machines.len()
    );
    let all: Vec<&Results> = runs.iter().map(|(_, r)| r).collect();
    s.push_str(&fleet::render(&all));
    s.push_str("<h2>runs</h2><table class=\"summary runs\"><tr><th>started</th><th>runtimes</th><th>machine</th><th>benchmarks</th><th>lifecycle medians</th><th>files</th></tr>");
    for (path, r) in runs {
        let runtimes: Vec<String> = r
            .runtimes
            .iter()
            .map(|rt| format!("{} <small>{}</small>", esc(&rt.name), esc(&rt.version)))
            .collect();
        let partial = if r.complete {
            ""
        } else {
            " <small>(partial)</small>"
        };
        let _ = write!(
            s,
            "<tr><td>{}{partial}</td><td>{}</td><td>{} <small>{} · {} cores · load {:.2}{}</small></td><td>{} × {} runs</td><td>{}</td>\
             <td><a href=\"{}\">report</a> · <a href=\"{}\">json</a></td></tr>",
            esc(&r.started),
            runtimes.join("<br>"),
            esc(&r.machine.hostname),
            esc(&r.machine.kernel),
            r.machine.cores,
            r.machine.load[0],
            if r.machine.description.is_empty() {
                String::new()
            } else {
                format!(" · {}", esc(&r.machine.description))
            },
            r.benchmarks.len(),
            r.config.runs,
            esc(&digest(r)),
            esc(&link(home, &path.with_extension("html"))),
            esc(&link(home, path))
        );
    }
    s.push_str("</table>");
    for e in skipped {
        let _ = write!(s, "<p><small>not a results file: {}</small></p>", esc(e));
    }
    for machine in &machines {
        let mine: Vec<&Results> = all
            .iter()
            .copied()
            .filter(|r| &machine_key(r) == machine)
            .collect();
        trends(&mut s, machine, &mine);
    }
    s.push_str("</body></html>\n");
    s
}

/// A chart per benchmark metric that appears in at least two runs of a machine: the
/// median of each runtime, run after run (oldest on the left).
fn trends(s: &mut String, machine: &str, runs: &[&Results]) {
    let mut runs: Vec<&Results> = runs.to_vec();
    runs.sort_by_key(|r| r.started_unix);
    if runs.len() < 2 {
        return;
    }
    let names: Vec<String> = runs
        .iter()
        .map(|r| r.started.get(5..16).unwrap_or(&r.started).replace('T', " "))
        .collect();
    // (benchmark, metric index, label) -> runtime -> points
    type Key = (String, usize, String);
    let mut metrics: BTreeMap<Key, ByRuntime> = BTreeMap::new();
    for (i, r) in runs.iter().enumerate() {
        for b in &r.benchmarks {
            for (m, metric) in b.metrics.iter().enumerate() {
                for c in b.cells.iter().filter(|c| c.status == CellStatus::Ok) {
                    if let Some(Some(sum)) = c.summaries.get(m) {
                        if sum.median.is_finite() {
                            metrics
                                .entry((
                                    b.name.clone(),
                                    m,
                                    format!("{} [{}]", metric.key, metric.unit),
                                ))
                                .or_default()
                                .entry(c.runtime.clone())
                                .or_default()
                                .push((i as f64, sum.median, sum.p10, sum.p90));
                        }
                    }
                }
            }
        }
    }
    let charts: Vec<String> = metrics
        .into_iter()
        .filter(|(_, rts)| rts.values().any(|p| p.len() > 1))
        .map(|((bench, _, label), rts)| {
            let lines = runtime_lines(rts, Style::Line);
            let axes = Axes {
                x_label: "run",
                y_label: &label,
                x_max: Some((names.len() - 1) as f64),
                y_max: None,
                x_names: Some(&names),
            };
            line_chart_sized(&bench, &axes, &lines, 360.0, 230.0)
        })
        .collect();
    if charts.is_empty() {
        return;
    }
    let _ = write!(
        s,
        "<h2>trends on {}</h2><p class=\"hint\">The median of each runtime in each run, oldest on the left; bars: p10–p90.</p><div class=\"charts\">",
        esc(machine)
    );
    charts.iter().for_each(|c| s.push_str(c));
    s.push_str("</div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_lists_runs_and_renders_reports() {
        let dir = std::env::temp_dir().join(format!("assay-index-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut older = crate::report::sample_for_tests();
        older.started_unix -= 100;
        older.started = "2025-12-31T23:58:20Z".into();
        older.save(&dir.join("a.json")).unwrap();
        crate::report::sample_for_tests()
            .save(&dir.join("b.json"))
            .unwrap();
        std::fs::write(dir.join("junk.json"), "{}").unwrap();
        let index = write(std::slice::from_ref(&dir)).unwrap();
        let text = std::fs::read_to_string(&index).unwrap();
        let has_a = dir.join("a.html").exists();
        let has_b = dir.join("b.html").exists();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(has_a && has_b, "reports rendered next to the results");
        assert!(text.contains("2 result files from 1 machine(s)"));
        assert!(
            text.contains("trends on box"),
            "two runs of one machine: trends"
        );
        assert!(text.contains("<svg"), "trend charts");
        let (b_at, a_at) = (text.find("b.json").unwrap(), text.find("a.json").unwrap());
        assert!(b_at < a_at, "newest first");
        assert!(text.contains("not a results file"));
    }
}
