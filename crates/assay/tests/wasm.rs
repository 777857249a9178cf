//! operations.wasm.hello on real runtimes: kapsel built with the wasm handler (ASSAY_KAPSEL_WASM,
//! else KAPSEL_WASM_RUNTIME as scripts/test.sh sets it, else target/release/kapsel-wasm) runs the
//! hello world both ways; runc, and crun when its build has no `+WASM`, are skipped with the
//! reason in the results. Needs root, runc, busybox-static and rustc with wasm32-wasip1;
//! prints SKIP otherwise.

use std::path::{Path, PathBuf};

mod common;

use common::*;

const NAME: &str = "wasm_hello_row_per_runtime";

fn kapsel_wasm() -> Option<PathBuf> {
    let p = std::env::var_os("ASSAY_KAPSEL_WASM")
        .or_else(|| std::env::var_os("KAPSEL_WASM_RUNTIME"))
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/kapsel-wasm")
        });
    p.is_file().then_some(p)
}

fn wasm_target_installed() -> bool {
    std::process::Command::new("rustc")
        .args(["--print", "target-libdir", "--target", "wasm32-wasip1"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| std::fs::read_dir(String::from_utf8_lossy(&o.stdout).trim()).ok())
        .is_some_and(|mut d| {
            d.any(|e| e.is_ok_and(|e| e.file_name().to_string_lossy().starts_with("libstd-")))
        })
}

#[test]
fn wasm_hello_row_per_runtime() {
    let runc = match runc_ready() {
        Ok(r) => r,
        Err(why) => return skip(NAME, &why),
    };
    let Some(kapsel) = kapsel_wasm() else {
        return skip(
            NAME,
            "no kapsel with the wasm handler (cargo build --release -p kapsel --features wasm, copied to target/release/kapsel-wasm)",
        );
    };
    if !wasm_target_installed() {
        return skip(
            NAME,
            "rustc has no wasm32-wasip1 std (rustup target add wasm32-wasip1)",
        );
    }
    let dir = TempDir::new("wasm");
    let mut runtimes = format!(
        "  - name: kapsel-wasm\n    path: {}\n  - name: runc\n    path: {}\n",
        kapsel.display(),
        runc.display()
    );
    let crun = which("crun").filter(|_| which("unshare").is_some());
    if let Some(crun) = &crun {
        runtimes.push_str(&format!(
            "  - name: crun\n    path: {}\n    wrapper: hide-unified\n",
            crun.display()
        ));
    }
    let config = format!(
        "runtimes:\n{runtimes}suites: [operations.wasm.hello]\nruns: 2\nwarmup: 0\n\
         spacing_ms: 5\nwork_dir: {}\n",
        dir.0.join("work").display()
    );
    let (results, _) = run_config(&dir.0, &config, &dir.0.join("run.json"), &[]);
    let bench = &results["benchmarks"][0];
    assert_eq!(bench["name"], "operations.wasm.hello");
    let keys: Vec<&str> = bench["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["wasm", "native", "ratio"]);
    let cell = |rt: &str| cell(&results, "operations.wasm.hello", rt).clone();
    let k = cell("kapsel-wasm");
    assert_eq!(k["status"], "ok", "kapsel-wasm: {k}");
    for s in k["samples"].as_array().unwrap() {
        let v: Vec<f64> = s["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(v[0] > 0.0 && v[1] > 0.0, "both runs timed: {v:?}");
        assert!(
            (v[2] - v[0] / v[1]).abs() < 1e-9,
            "ratio = wasm / native: {v:?}"
        );
    }
    assert_eq!(k["samples"].as_array().unwrap().len(), 2);
    let r = cell("runc");
    assert_eq!(r["status"], "skipped", "runc: {r}");
    assert!(
        r["error"].as_str().unwrap().contains("no wasm handler"),
        "{r}"
    );
    if crun.is_some() {
        let c = cell("crun");
        // Debian's crun is built without +WASM; a build with it runs the row.
        assert!(
            c["status"] == "ok"
                || (c["status"] == "skipped"
                    && c["error"].as_str().unwrap().contains("no wasm handler")),
            "crun: {c}"
        );
        println!("crun: {}", c["error"].as_str().unwrap_or("ran the row"));
    }
}
