//! assay's numbers against hyperfine's on a small matrix: the same verbs, the same
//! command lines, alternating rounds; the medians must agree within the noise (a wider
//! tolerance than the command's default: CI shares its machine).

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
    // The CI machine is shared: a tolerance of 50% or 2 ms still catches what this check is
    // for (a wrapper or a set-up step inside assay's timed part doubles a number).
    let out = assay(&[
        "crosscheck",
        "--runtime",
        &rt,
        "--runs",
        "16",
        "--tolerance",
        "50",
        "--floor-ms",
        "2",
    ]);
    let table = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    let row = |verb: &str| -> Vec<String> {
        table
            .lines()
            .find(|l| l.starts_with(&format!("| runc | {verb} |")))
            .unwrap_or_else(|| panic!("no row for {verb}: {table}\n{err}"))
            .split('|')
            .map(|c| c.trim().to_string())
            .collect()
    };
    for verb in ["--version", "create", "state"] {
        let cells = row(verb);
        assert_eq!(
            cells[7], "yes",
            "assay and hyperfine disagree on {verb}: {table}"
        );
    }
    // `run` (a container's whole life) is the noisiest verb on a busy machine: its two
    // medians must at least be within a factor of two.
    let cells = row("run");
    let median = |c: &str| -> f64 { c.split_whitespace().next().unwrap().parse().unwrap() };
    let (a, h) = (median(&cells[3]), median(&cells[4]));
    assert!(
        a / h < 2.0 && h / a < 2.0,
        "run: assay {a} ms, hyperfine {h} ms: {table}"
    );
}
