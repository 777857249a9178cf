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

/// The kept results, and the same again as a second machine in a folder of its own: the
/// index merges both folders, with the machines and fleet tables and trends per machine.
#[test]
fn the_index_of_two_machines_renders_cleanly_in_a_browser() {
    let dir = TempDir::new("render-index");
    let other = dir.0.join("other-machine");
    std::fs::create_dir_all(&other).unwrap();
    // A machine is its hostname, cpu, cores and kernel: the kept files may span kernels.
    let mut kept: Vec<String> = Vec::new();
    for f in results_files() {
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        let m = &r["machine"];
        let key = format!(
            "{} {} {} {}",
            m["hostname"], m["cpu"], m["cores"], m["kernel"]
        );
        if !kept.contains(&key) {
            kept.push(key);
        }
    }
    for f in results_files() {
        std::fs::copy(&f, dir.0.join(f.file_name().unwrap())).unwrap();
        let mut r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        r["machine"]["hostname"] = "other".into();
        r["machine"]["description"] = "a second machine for the test".into();
        std::fs::write(other.join(f.file_name().unwrap()), r.to_string()).unwrap();
    }
    let out = assay(&["index", dir.0.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = dir.0.join("index.html");
    let page = std::fs::read_to_string(&index).unwrap();
    let machines = format!("from {} machine(s)", 2 * kept.len());
    assert!(page.contains(&machines), "both folders merged: {machines}");
    assert!(
        page.contains("a second machine for the test"),
        "its description"
    );
    assert!(page.contains("the fleet: medians"), "the fleet table");
    assert!(
        other.join("latest.html").is_file(),
        "reports rendered in the subfolder"
    );
    check_in_chromium(&index, &dir.0, 2);
}
