//! `assay index DIR`: an index page of every results file in a folder, rebuilt from the
//! folder's contents each time, so it persists across runs; missing or stale reports are
//! rendered on the way.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::report::{self, digest};
use crate::results::Results;

/// Writes `dir/index.html` and returns its path.
pub fn write(dir: &Path) -> Result<PathBuf, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("read folder `{}`: {e}", dir.display()))?;
    let mut runs: Vec<(PathBuf, Results)> = Vec::new();
    let mut skipped = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        match Results::load(&path) {
            Ok(r) => runs.push((path, r)),
            Err(e) => skipped.push(e),
        }
    }
    runs.sort_by(|a, b| b.1.started_unix.cmp(&a.1.started_unix).then(a.0.cmp(&b.0)));
    for (path, results) in &runs {
        let html = path.with_extension("html");
        if is_stale(&html, path) {
            let page = report::render(std::slice::from_ref(results), &[file_name(path)], None);
            std::fs::write(&html, page).map_err(|e| format!("write `{}`: {e}", html.display()))?;
        }
    }
    let index = dir.join("index.html");
    std::fs::write(&index, page(&runs, &skipped))
        .map_err(|e| format!("write `{}`: {e}", index.display()))?;
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

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The index page itself.
pub fn page(runs: &[(PathBuf, Results)], skipped: &[String]) -> String {
    let mut s = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>assay results</title><style>\
         body{font:14px/1.45 system-ui,\"DejaVu Sans\",sans-serif;margin:24px auto;max-width:1100px;padding:0 16px}\
         table{border-collapse:collapse;width:100%}th,td{border:1px solid #dfe3e8;padding:4px 8px;text-align:left;vertical-align:top}\
         th{background:#f4f6f8}small{color:#6b7682}</style></head><body><h1>assay results</h1>",
    );
    let _ = write!(
        s,
        "<p><small>{} result files, newest first</small></p>",
        runs.len()
    );
    s.push_str("<table><tr><th>started</th><th>runtimes</th><th>machine</th><th>benchmarks</th><th>lifecycle medians</th><th>files</th></tr>");
    for (path, r) in runs {
        let name = file_name(path);
        let html = file_name(&path.with_extension("html"));
        let runtimes: Vec<String> = r
            .runtimes
            .iter()
            .map(|rt| format!("{} <small>{}</small>", esc(&rt.name), esc(&rt.version)))
            .collect();
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{} <small>{} · {} cores · load {:.2}</small></td><td>{} × {} runs</td><td>{}</td>\
             <td><a href=\"{}\">report</a> · <a href=\"{}\">json</a></td></tr>",
            esc(&r.started),
            runtimes.join("<br>"),
            esc(&r.machine.hostname),
            esc(&r.machine.kernel),
            r.machine.cores,
            r.machine.load[0],
            r.benchmarks.len(),
            r.config.runs,
            esc(&digest(r)),
            esc(&html),
            esc(&name)
        );
    }
    s.push_str("</table>");
    for e in skipped {
        let _ = write!(s, "<p><small>not a results file: {}</small></p>", esc(e));
    }
    s.push_str("</body></html>\n");
    s
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
        let index = write(&dir).unwrap();
        let text = std::fs::read_to_string(&index).unwrap();
        let has_a = dir.join("a.html").exists();
        let has_b = dir.join("b.html").exists();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(has_a && has_b, "reports rendered next to the results");
        assert!(text.contains("2 result files"));
        let (b_at, a_at) = (text.find("b.json").unwrap(), text.find("a.json").unwrap());
        assert!(b_at < a_at, "newest first");
        assert!(text.contains("not a results file"));
    }
}
