//! The wasm handler's test module: tests/integration/wasm/wprobe.rs compiled by rustc
//! for `wasm32-wasip1` once per source text into the target tmp dir (and reused), and
//! whether the runtime under test has a wasm handler at all.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Ctx;

pub const SOURCE: &str = include_str!("../wasm/wprobe.rs");

/// Builds `wprobe.rs` for `target` (`wasm32-wasip1`, or a host target for the native twin)
/// into `<tmp>/wasm/`, or returns what an earlier run left there.
pub fn build(tmp: &Path, target: Option<&str>) -> Result<PathBuf, String> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    SOURCE.hash(&mut hasher);
    target.hash(&mut hasher);
    let dir = tmp.join("wasm");
    let ext = if target == Some("wasm32-wasip1") {
        ".wasm"
    } else {
        ""
    };
    let out = dir.join(format!("wprobe-{:016x}{ext}", hasher.finish()));
    if out.is_file() {
        return Ok(out);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir `{}`: {e}", dir.display()))?;
    // Tests of one binary build at the same time on threads of one process: each its own
    // source and output (rustc's intermediate files are named after the output).
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let me = format!("{}-{n}", std::process::id());
    let src = dir.join(format!("wprobe-{me}.rs"));
    let part = dir.join(format!("wprobe-{me}.part{ext}"));
    std::fs::write(&src, SOURCE).map_err(|e| format!("write `{}`: {e}", src.display()))?;
    let mut cmd = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()));
    cmd.args([
        "--edition",
        "2021",
        "-C",
        "opt-level=2",
        "-C",
        "strip=debuginfo",
    ]);
    match target {
        Some(t) => cmd.args(["--target", t]),
        None => cmd.args(["-C", "target-feature=+crt-static"]),
    };
    let res = cmd.arg("-o").arg(&part).arg(&src).output();
    let _ = std::fs::remove_file(&src);
    let res = res.map_err(|e| format!("run rustc: {e}"))?;
    if !res.status.success() {
        let _ = std::fs::remove_file(&part);
        return Err(format!(
            "rustc --target {} failed (rustup target add wasm32-wasip1): {}",
            target.unwrap_or("host"),
            String::from_utf8_lossy(&res.stderr).trim()
        ));
    }
    std::fs::rename(&part, &out).map_err(|e| format!("rename to `{}`: {e}", out.display()))?;
    Ok(out)
}

/// The module, or a SKIP when it cannot be built or the runtime has no wasm handler
/// (`features`: kapsel's `org.kapsel.wasm`, crun's `run.oci.crun.wasm`). The handler is
/// an opt-in feature: `KAPSEL_WASM_RUNTIME` names a kapsel built with it (scripts/test.sh
/// builds one), which the test then runs instead of `KAPSEL_TEST_RUNTIME`.
pub fn module(t: &mut Ctx) -> Option<PathBuf> {
    if let Some(rt) = std::env::var_os("KAPSEL_WASM_RUNTIME").filter(|_| t.rt.is_kapsel) {
        t.rt.path = PathBuf::from(rt);
    }
    let out = t.cmd(&["features"]);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
    let ann = &doc["annotations"];
    if ann["org.kapsel.wasm"] != "true" && ann["run.oci.crun.wasm"] != "true" {
        t.skip(&format!(
            "{} has no wasm handler (build kapsel with --features wasm)",
            t.rt.name()
        ));
        return None;
    }
    match build(t.tmp(), Some("wasm32-wasip1")) {
        Ok(p) => Some(p),
        Err(e) => {
            t.skip(&e);
            None
        }
    }
}
