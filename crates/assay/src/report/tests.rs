use super::*;
use crate::config::Config;
use crate::machine::Machine;
use crate::results::{Better, Cell, MetricDef, RuntimeInfo, Sample};

pub fn cell(rt: &str, values: &[f64]) -> Cell {
    let mut c = Cell::new(rt);
    c.samples = values
        .iter()
        .map(|v| Sample {
            values: vec![*v],
            load1: 0.5,
            at_s: 1.0,
            steal_pct: None,
            trace: Vec::new(),
        })
        .collect();
    c.summarise(1);
    c
}

fn bench(name: &str, unit: &str, better: Better, cells: Vec<Cell>) -> BenchmarkResult {
    BenchmarkResult {
        name: name.into(),
        description: format!("about {name}"),
        metrics: vec![MetricDef {
            key: "time".into(),
            unit: unit.into(),
            better,
        }],
        cells,
    }
}

pub fn sample_results() -> Results {
    let mut failed = Cell::new("crun");
    failed.status = CellStatus::Failed;
    failed.error = Some("`crun kill`: exit status 1".into());
    failed.stderr = Some("error: <boom> & more".into());
    let rt = |n: &str| RuntimeInfo {
        name: n.into(),
        path: format!("/usr/bin/{n}"),
        args: vec![],
        wrapper: vec![],
        version: format!("{n} version 1"),
    };
    Results {
        assay_version: "0.1.0".into(),
        started: "2026-01-01T00:00:00Z".into(),
        finished: "2026-01-01T00:01:00Z".into(),
        started_unix: 1_767_225_600,
        machine: Machine {
            hostname: "box".into(),
            kernel: "6.18".into(),
            cores: 2,
            ..Machine::default()
        },
        config: Config::default(),
        baseline: "runc".into(),
        runtimes: vec![rt("runc"), rt("crun")],
        orphans_reaped: 3,
        seed: Some(42),
        complete: true,
        noise: crate::results::Noise::default(),
        benchmarks: vec![
            bench(
                "operations.container.create",
                "ms",
                Better::Lower,
                vec![
                    cell("runc", &[40.0, 42.0, 41.0]),
                    cell("crun", &[25.0, 26.0, 24.0]),
                ],
            ),
            bench(
                "operations.container.kill",
                "ms",
                Better::Lower,
                vec![cell("runc", &[5.0, 6.0, 5.5]), failed],
            ),
            bench(
                "performance.cpu.primes",
                "events/s",
                Better::Higher,
                vec![
                    cell("host", &[400.0, 400.0]),
                    cell("runc", &[390.0, 392.0]),
                    cell("crun", &[398.0, 396.0]),
                ],
            ),
        ],
    }
}

/// The table row of a benchmark in a rendered page.
fn row_of<'h>(html: &'h str, bench: &str) -> &'h str {
    html.split(&format!("{bench}</td>"))
        .nth(1)
        .unwrap()
        .split("</tr>")
        .next()
        .unwrap()
}

#[test]
fn page_is_self_contained() {
    let html = render(&[sample_results()], &["r.json".into()], None);
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    for forbidden in [
        "<script",
        "<link",
        "src=\"http",
        "href=\"http",
        "@import",
        "url(",
    ] {
        assert!(!html.contains(forbidden), "{forbidden} in the page");
    }
    assert!(html.contains("<svg"), "charts inline");
}

#[test]
fn best_cell_is_highlighted() {
    let three = render(&[sample_results()], &["r.json".into()], None);
    let row = row_of(&three, "operations.container.create");
    assert!(
        row.contains(r#"class="lead""#) && !row.contains(r#"class="best""#),
        "3 runs: the lead is outlined, not called best: {row}"
    );
    let mut r = sample_results();
    let runc: Vec<f64> = (0..10).map(|i| 40.0 + f64::from(i) * 0.2).collect();
    let crun: Vec<f64> = (0..10).map(|i| 24.0 + f64::from(i) * 0.2).collect();
    r.benchmarks[0].cells = vec![cell("runc", &runc), cell("crun", &crun)];
    let html = render(&[r], &["r.json".into()], None);
    // crun's create median (25) beats runc's (41) in 10 runs each; for cpu, crun 397 beats
    // runc 391.
    let create_row = row_of(&html, "operations.container.create");
    assert!(create_row.contains(r#"class="best""#), "{create_row}");
    let best_cell = create_row.split(r#"class="best""#).nth(1).unwrap();
    assert!(best_cell.contains(">24.9 <small>"), "{best_cell}");
    assert!(
        create_row.contains("×0.61 ["),
        "24.9/40.9 against the runc baseline: {create_row}"
    );
    let cpu_row = row_of(&html, "performance.cpu.primes");
    assert!(
        cpu_row.contains("×0.99 [0.99–0.99] ≈ host"),
        "ratio to the host: {cpu_row}"
    );
    assert_eq!(cpu_row.matches(r#"class="best""#).count(), 0, "2 runs each");
}

#[test]
fn failures_show_their_stderr_escaped() {
    let html = render(&[sample_results()], &["r.json".into()], None);
    assert!(html.contains(r#"class="failed""#));
    assert!(html.contains("error: &lt;boom&gt; &amp; more"));
    assert!(!html.contains("<boom>"));
}

#[test]
fn baseline_override_changes_ratios() {
    let html = render(&[sample_results()], &["r.json".into()], Some("crun"));
    let create_row = row_of(&html, "operations.container.create");
    assert!(
        create_row.contains("×1.64"),
        "41/25 against crun: {create_row}"
    );
}

#[test]
fn several_files_get_a_table_of_contents() {
    let r = sample_results();
    let html = render(&[r.clone(), r], &["a.json".into(), "b.json".into()], None);
    assert!(html.contains("href=\"#run1\""));
    assert_eq!(html.matches("<section").count(), 2);
}

#[test]
fn digest_lists_lifecycle_medians() {
    let mut r = sample_results();
    assert_eq!(digest(&r), "");
    r.benchmarks[0].name = "operations.container.lifecycle".into();
    assert_eq!(digest(&r), "runc 41.0 ms, crun 25.0 ms");
}

#[test]
fn ratios_say_when_the_difference_is_not_significant() {
    let html = render(&[sample_results()], &["r.json".into()], None);
    assert!(
        html.contains("×0.61 [0.57–0.65] ≈"),
        "3 runs each are not significant in a family of tests"
    );
    let mut r = sample_results();
    let runc: Vec<f64> = (0..10).map(|i| 40.0 + f64::from(i) * 0.1).collect();
    let crun: Vec<f64> = (0..10).map(|i| 25.0 + f64::from(i) * 0.1).collect();
    r.benchmarks[0].cells = vec![cell("runc", &runc), cell("crun", &crun)];
    let html = render(&[r], &["r.json".into()], None);
    let row = row_of(&html, "operations.container.create");
    assert!(
        row.contains("×0.63 [") && !row.contains("≈"),
        "10 separated runs are significant: {row}"
    );
}

#[test]
fn a_row_every_runtime_skipped_is_left_out() {
    let mut r = sample_results();
    let mut skipped = Cell::new("runc");
    skipped.status = CellStatus::Skipped;
    r.benchmarks.push(bench(
        "operations.runtime.wrapper",
        "ms",
        Better::Lower,
        vec![skipped],
    ));
    let html = render(&[r.clone()], &["r.json".into()], None);
    assert!(!html.contains("operations.runtime.wrapper"));
    let md = markdown::render(&r, &[], None);
    assert!(!md.contains("runtime.wrapper"), "{md}");
}
