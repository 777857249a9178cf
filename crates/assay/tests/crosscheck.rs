//! assay's numbers against hyperfine's on a small matrix: the same verbs, the same
//! command lines, alternating rounds; the medians must agree within the noise.

mod common;

use common::*;

#[test]
fn assay_and_hyperfine_agree_on_runc() {
    let runc = match runc_ready() {
        Ok(r) => r,
        Err(why) => return skip("assay_and_hyperfine_agree_on_runc", &why),
    };
    if which("hyperfine").is_none() {
        return skip(
            "assay_and_hyperfine_agree_on_runc",
            "hyperfine is not installed (apt-get install hyperfine; scripts/deps.sh)",
        );
    }
    let rt = format!("runc={}", runc.display());
    let out = assay(&["crosscheck", "--runtime", &rt, "--runs", "12"]);
    let table = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    for verb in ["--version", "create", "state", "run"] {
        let row = table
            .lines()
            .find(|l| l.starts_with(&format!("| runc | {verb} |")))
            .unwrap_or_else(|| panic!("no row for {verb}: {table}\n{err}"));
        assert!(
            row.ends_with("| yes |"),
            "assay and hyperfine disagree: {row}\n{table}"
        );
    }
    assert!(out.status.success(), "{table}\n{err}");
}
