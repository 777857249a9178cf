//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub const ASSAY: &str = env!("CARGO_BIN_EXE_assay");

/// Prints the skip; with `KAPSEL_TEST_STRICT=1` (as CI runs) a skip is a failure.
pub fn skip(name: &str, why: &str) {
    if std::env::var("KAPSEL_TEST_STRICT").is_ok_and(|v| v == "1") {
        panic!("SKIP {name}: {why} (KAPSEL_TEST_STRICT=1 makes skips fail)");
    }
    println!("SKIP {name}: {why}");
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

pub fn which(p: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(p))
        .find(|p| p.is_file())
}

/// kapsel's release binary: `ASSAY_KAPSEL`, else the workspace's target/release/kapsel.
pub fn kapsel() -> Option<PathBuf> {
    let p = std::env::var_os("ASSAY_KAPSEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/release/kapsel")
        });
    p.is_file().then_some(p)
}

pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!("assay-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn assay(args: &[&str]) -> std::process::Output {
    Command::new(ASSAY)
        .args(args)
        .env_remove("CI")
        .output()
        .expect("run assay")
}

/// Root, runc and busybox-static, or the reason the test cannot run.
pub fn runc_ready() -> Result<PathBuf, String> {
    if !is_root() {
        return Err("needs root".into());
    }
    if !Path::new("/bin/busybox").is_file() {
        return Err("busybox-static is not installed".into());
    }
    which("runc").ok_or_else(|| "runc is not installed (apt-get install runc)".into())
}

/// Headless Chromium as the tests run it (as root: no sandbox; no network of its own).
pub fn chromium_flags(profile: &Path) -> Vec<String> {
    [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([format!("--user-data-dir={}", profile.display())])
    .collect()
}
