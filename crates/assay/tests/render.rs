//! The reports of the results kept in the repository, rendered by headless Chromium and
//! checked on the rendered page: no script error, every chart with its axes and legend,
//! no text cut off, nothing wider than the window. Needs no root, only Chromium.
//! `ASSAY_RESULTS_DIR` points it at another folder of results files.

mod common;

use std::path::PathBuf;

use common::*;

fn results_files() -> Vec<PathBuf> {
    let dir = std::env::var_os("ASSAY_RESULTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("results"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_kept_results_render_cleanly_in_a_browser() {
    let files = results_files();
    assert!(!files.is_empty(), "no results files");
    let dir = TempDir::new("render");
    let html = dir.0.join("report.html");
    let mut args = vec!["report".to_string()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.extend(["-o".to_string(), html.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = assay(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_in_chromium(&html, &dir.0, files.len());
}

#[test]
fn the_index_of_the_kept_results_renders_cleanly_in_a_browser() {
    let dir = TempDir::new("render-index");
    for f in results_files() {
        std::fs::copy(&f, dir.0.join(f.file_name().unwrap())).unwrap();
    }
    let out = assay(&["index", dir.0.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_in_chromium(&dir.0.join("index.html"), &dir.0, 0);
}
