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

/// `assay run` of the YAML `config` (written to DIR/assay.yaml) with `-o json --no-strict`
/// and `extra` flags; asserts it succeeded. The results and assay's stderr.
pub fn run_config(
    dir: &Path,
    config: &str,
    json: &Path,
    extra: &[&str],
) -> (serde_json::Value, String) {
    let cfg = dir.join("assay.yaml");
    std::fs::write(&cfg, config).unwrap();
    let mut args = vec![
        "run",
        "-c",
        cfg.to_str().unwrap(),
        "-o",
        json.to_str().unwrap(),
    ];
    args.extend(extra);
    args.push("--no-strict");
    let out = assay(&args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "assay run failed: {stderr}");
    let results = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    (results, stderr)
}

/// The cell of `runtime` in the benchmark `bench` of a results file.
pub fn cell<'a>(
    results: &'a serde_json::Value,
    bench: &str,
    runtime: &str,
) -> &'a serde_json::Value {
    let b = results["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == bench)
        .unwrap_or_else(|| panic!("no {bench}"));
    b["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["runtime"] == runtime)
        .unwrap_or_else(|| panic!("no {runtime} in {bench}"))
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

/// What the browser test injects into a copy of a report: after the page has loaded it
/// checks every chart for its axes and legend, every text inside its chart, the page and
/// its tables for overflow, and writes the findings (and any script error) into the DOM.
const CHECKER: &str = r#"<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message)));
window.addEventListener('load', () => {
  const out = {errors: window.__errors, charts: 0, texts: 0, bad: []};
  const vw = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > vw + 1)
    out.bad.push('the page scrolls sideways: ' + document.documentElement.scrollWidth + ' > ' + vw);
  document.querySelectorAll('svg.chart').forEach(svg => {
    out.charts++;
    const name = svg.getAttribute('aria-label');
    if (!svg.querySelector('g.axis')) out.bad.push(name + ': no axis');
    if (!svg.querySelector('g.legend')) out.bad.push(name + ': no legend');
    if (svg.getBoundingClientRect().right > vw + 1) out.bad.push(name + ': wider than the page');
    const box = svg.getBoundingClientRect();
    svg.querySelectorAll('text').forEach(t => {
      out.texts++;
      // Client rectangles include transforms (a rotated axis label).
      const b = t.getBoundingClientRect();
      if (b.width > 0 && (b.left < box.left - 1 || b.top < box.top - 1 || b.right > box.right + 1 || b.bottom > box.bottom + 1))
        out.bad.push(name + ': text cut off: ' + t.textContent);
    });
  });
  document.querySelectorAll('table').forEach(t => {
    // A wide table in a scrolling box scrolls there; the box must fit the page.
    const box = t.closest('.scroll') || t;
    if (box.getBoundingClientRect().right > vw + 1)
      out.bad.push('a table is wider than the page: ' + t.textContent.slice(0, 60));
  });
  const pre = document.createElement('pre');
  pre.id = 'assay-check';
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"#;

/// Renders `html` in headless Chromium at 1280 px and asserts on the rendered page: no
/// script error, at least `min_charts` charts, each with its axes and legend, no text cut
/// off and nothing wider than the window. Returns false (after a SKIP) without Chromium.
pub fn check_in_chromium(html: &Path, dir: &Path, min_charts: usize) -> bool {
    let Some(chromium) = which("chromium").or_else(|| which("chromium-browser")) else {
        skip(
            "check_in_chromium",
            "chromium is not installed (apt-get install chromium; scripts/deps.sh)",
        );
        return false;
    };
    let page = std::fs::read_to_string(html).unwrap();
    assert!(!page.contains("<script"), "the report itself has no script");
    let checked = dir.join("checked.html");
    std::fs::write(
        &checked,
        page.replace("</body>", &format!("{CHECKER}</body>")),
    )
    .unwrap();
    let profile = dir.join("chromium-profile");
    let out = Command::new("timeout")
        .arg("120")
        .arg(&chromium)
        .args(chromium_flags(&profile))
        .args([
            "--window-size=1280,2000",
            "--virtual-time-budget=5000",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg("--dump-dom")
        .arg(format!("file://{}", checked.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&out.stdout);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        !log.contains("Uncaught"),
        "a script error in the console: {log}"
    );
    let json = dom
        .split("<pre id=\"assay-check\">")
        .nth(1)
        .and_then(|t| t.split("</pre>").next())
        .unwrap_or_else(|| panic!("the checker did not run: {}", &dom[..dom.len().min(400)]));
    let json = json
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["errors"], serde_json::json!([]), "script errors");
    assert!(
        v["charts"].as_u64().unwrap() >= min_charts as u64,
        "at least {min_charts} charts: {v}"
    );
    assert!(v["texts"].as_u64().unwrap() > 0);
    assert_eq!(v["bad"], serde_json::json!([]), "rendered page problems");
    true
}

/// A full-page screenshot of `html`, `width` px wide.
pub fn screenshot(html: &Path, png: &Path, width: u32, height: u32, profile: &Path) {
    let chromium = which("chromium")
        .or_else(|| which("chromium-browser"))
        .unwrap();
    let out = Command::new("timeout")
        .arg("120")
        .arg(&chromium)
        .args(chromium_flags(profile))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    let bytes = std::fs::read(png)
        .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&out.stderr)));
    assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
}
