//! A tiny real matrix: runc (and kapsel when its release binary exists, and a runtime that
//! always fails), 3 runs, checked through the results JSON, the HTML report rendered by
//! headless Chromium, and the index page. Needs root; prints SKIP otherwise.

use std::path::Path;

mod common;

use common::*;

#[test]
fn tiny_matrix_writes_json_html_and_index() {
    if !is_root() {
        return skip("tiny_matrix_writes_json_html_and_index", "needs root");
    }
    let Some(runc) = which("runc") else {
        return skip(
            "tiny_matrix_writes_json_html_and_index",
            "runc is not installed (apt-get install runc)",
        );
    };
    if !Path::new("/bin/busybox").is_file() {
        return skip(
            "tiny_matrix_writes_json_html_and_index",
            "busybox-static is not installed",
        );
    }
    let dir = TempDir::new("matrix");
    let work = dir.0.join("work");
    let mut runtimes = format!(
        "  - name: runc\n    path: {}\n  - name: broken\n    path: /bin/false\n",
        runc.display()
    );
    let crun = which("crun").filter(|_| which("unshare").is_some());
    match &crun {
        Some(crun) => runtimes.push_str(&format!(
            "  - name: crun\n    path: {}\n    wrapper: hide-unified\n",
            crun.display()
        )),
        None => skip(
            "crun in the matrix",
            "crun or unshare is not installed (apt-get install crun)",
        ),
    }
    let kapsel = kapsel();
    match &kapsel {
        Some(k) => runtimes.push_str(&format!("  - name: kapsel\n    path: {}\n", k.display())),
        None => skip(
            "kapsel in the matrix",
            "no target/release/kapsel (set ASSAY_KAPSEL or build it)",
        ),
    }
    let config = format!(
        "runtimes:\n{runtimes}suites: [operations.runtime.version, operations.container.create, \
         operations.container.lifecycle, 'scalability.*', footprint.binary.size]\n\
         runs: 3\nwarmup: 1\nscales: [2]\nspacing_ms: 5\nwork_dir: {}\n",
        work.display()
    );
    let results_dir = dir.0.join("results");
    std::fs::create_dir_all(&results_dir).unwrap();
    let json = results_dir.join("run.json");
    let html = dir.0.join("report.html");
    let (results, stderr) = run_config(&dir.0, &config, &json, &["--html", html.to_str().unwrap()]);
    assert!(
        stderr.contains("(estimate)"),
        "an estimate up front: {stderr}"
    );
    assert!(
        stderr.contains("assay summary"),
        "a summary at the end: {stderr}"
    );
    assert!(stderr.contains("ETA"), "progress shown: {stderr}");
    assert!(!work.exists(), "work folder removed");

    assert!(results["machine"]["kernel"]
        .as_str()
        .is_some_and(|k| !k.is_empty()));
    assert!(results["machine"]["cores"].as_u64().unwrap() >= 1);
    assert_eq!(results["config"]["runs"], 3);
    let versions: Vec<&str> = results["runtimes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert!(versions[0].starts_with("runc version"), "{versions:?}");
    let names: Vec<&str> = results["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "operations.runtime.version",
            "operations.container.create",
            "operations.container.lifecycle",
            "scalability.sequential.n2",
            "scalability.concurrent.n2",
            "footprint.binary.size"
        ]
    );
    for bench in &names {
        let c = cell(&results, bench, "runc");
        assert_eq!(c["status"], "ok", "runc {bench}: {c}");
        let samples = c["samples"].as_array().unwrap();
        assert_eq!(samples.len(), 3, "3 timed runs, the warm-up left out");
        assert!(samples.iter().all(|s| s["load1"].as_f64().is_some()));
        let s = &c["summaries"][0];
        let (min, med, max) = (
            s["min"].as_f64().unwrap(),
            s["median"].as_f64().unwrap(),
            s["max"].as_f64().unwrap(),
        );
        assert!(min > 0.0 && min <= med && med <= max, "{bench}: {s}");
        assert_eq!(s["n"], 3);
    }
    let lifecycle = cell(&results, "operations.container.lifecycle", "runc")["summaries"][0]
        ["median"]
        .as_f64()
        .unwrap();
    let create = cell(&results, "operations.container.create", "runc")["summaries"][0]["median"]
        .as_f64()
        .unwrap();
    assert!(
        lifecycle > create,
        "create+start+delete ({lifecycle} ms) outlasts create ({create} ms)"
    );
    let scale = &cell(&results, "scalability.sequential.n2", "runc")["summaries"];
    let (total, per) = (
        scale[0]["median"].as_f64().unwrap(),
        scale[1]["median"].as_f64().unwrap(),
    );
    assert!(
        (total / 2.0 - per).abs() < total * 0.5,
        "per-container is about total/2: {total} {per}"
    );

    // The always-failing runtime fails its cells with the error, and the matrix went on.
    let broken = cell(&results, "operations.container.create", "broken");
    assert_eq!(broken["status"], "failed");
    assert!(
        broken["error"].as_str().unwrap().contains("exit status 1"),
        "{broken}"
    );
    if crun.is_some() {
        let wrapped = cell(&results, "operations.container.lifecycle", "crun");
        assert_eq!(
            wrapped["status"], "ok",
            "crun through the hide-unified wrapper: {wrapped}"
        );
    }
    if kapsel.is_some() {
        for bench in &names {
            let c = cell(&results, bench, "kapsel");
            assert!(
                c["status"] == "ok" || c["error"].as_str().is_some_and(|e| !e.is_empty()),
                "kapsel {bench}: {c}"
            );
        }
    }

    let page = std::fs::read_to_string(&html).unwrap();
    for needle in [
        "runc version",
        "operations.container.lifecycle",
        "scalability.concurrent.n2",
        "class=\"lead\"",
        "class=\"failed\"",
        "<svg",
    ] {
        assert!(page.contains(needle), "report lacks {needle}");
    }
    if check_in_chromium(&html, &dir.0, 3) {
        let png = dir.0.join("report.png");
        screenshot(&html, &png, 1200, 1600, &dir.0.join("shot-profile"));
        // A blank page compresses to a few KiB; tables, text and charts do not.
        let size = std::fs::metadata(&png).unwrap().len();
        assert!(size > 40_000, "screenshot has content: {size} bytes");
    }

    let out = assay(&["index", results_dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = std::fs::read_to_string(results_dir.join("index.html")).unwrap();
    assert!(index.contains("run.html") && index.contains("1 result files"));
    assert!(results_dir.join("run.html").is_file());
    let leftovers: Vec<_> = std::fs::read_dir("/sys/fs/cgroup/memory")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("assay-measure-")
        })
        .collect();
    assert!(
        leftovers.is_empty(),
        "measuring cgroups left: {leftovers:?}"
    );
}

#[test]
fn bad_config_names_the_key_on_one_line() {
    let dir = TempDir::new("badcfg");
    let cfg = dir.0.join("bad.yaml");
    std::fs::write(
        &cfg,
        "runtimes:\n  - name: runc\n    path: /usr/sbin/runc\nruns: 3\nwarmups: 2\n",
    )
    .unwrap();
    let out = assay(&["run", "-c", cfg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("warmups") && err.contains("bad.yaml"), "{err}");

    std::fs::write(
        &cfg,
        "runtimes:\n  - name: x\n    path: /nonexistent/runtime\n",
    )
    .unwrap();
    let out = assay(&["run", "-c", cfg.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("runtimes[0].path") && err.contains("/nonexistent/runtime"),
        "{err}"
    );
}

#[test]
fn list_names_every_suite() {
    let out = assay(&["list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for suite in [
        "operations",
        "scalability",
        "performance",
        "limits",
        "footprint",
    ] {
        assert!(text.lines().any(|l| l == suite), "{suite} missing: {text}");
    }
    assert!(text.contains("operations.container.lifecycle"));
    assert!(text.contains("scalability.concurrent.n50"));
}
