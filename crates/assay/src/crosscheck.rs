//! `assay crosscheck`: the same runtime verbs timed by assay and by hyperfine, side by
//! side, so assay's clock and its set-up can be checked against a tool people already
//! trust. assay runs its own benchmarks (`--version`, `create`, `state`, `run`);
//! hyperfine times the same command lines in the same mount namespace, on bundles built
//! the same way: `--version`; `state` of one running container; `create` with a
//! `delete --force` of the previous container in its untimed `--prepare`; `run` of `true`.
//! assay's idle spacing before each sample is hyperfine's `--prepare 'sleep ...'`. The two
//! sides take turns in rounds. Medians agree within the tolerance, or the command says
//! which verb does not (exit 1).

use std::path::Path;
use std::time::Duration;

use crate::bundle::Bundles;
use crate::config::Config;
use crate::error::Error;
use crate::exec::Exec;
use crate::mountns;
use crate::progress;
use crate::results::CellStatus;
use crate::runner;
use crate::runtime::{which, Runtime};
use crate::spec::ProcessPlan;
use crate::stats::{percentile, Rng};

/// The verbs compared: (assay benchmark, label).
pub const VERBS: [(&str, &str); 4] = [
    ("operations.runtime.version", "--version"),
    ("operations.container.create", "create"),
    ("operations.container.state", "state"),
    ("operations.container.run", "run"),
];

/// One verb of one runtime, timed both ways (ms).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub runtime: String,
    pub verb: String,
    pub assay: Option<(f64, f64, f64)>,
    pub hyperfine: Option<(f64, f64, f64)>,
    /// Rank-sum p-value of the two sample sets (exact).
    pub p: Option<f64>,
}

impl Row {
    /// Whether they agree within the noise: medians within `pct` % of the larger or within
    /// `floor_ms`, or no significant difference between the two sample sets (p ≥ 0.05).
    pub fn agrees(&self, pct: f64, floor_ms: f64) -> Option<bool> {
        let (a, h) = (self.assay?.0, self.hyperfine?.0);
        let diff = (a - h).abs();
        let close = diff <= floor_ms || diff <= a.max(h) * pct / 100.0;
        Some(close || self.p.is_some_and(|p| p >= crate::stats::ALPHA))
    }
}

/// Median and a 95% bootstrap interval of the median, in ms.
fn median_ci(values: &[f64]) -> Option<(f64, f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = percentile(&sorted, 50.0);
    let mut rng = Rng::new(crate::stats::seed_of("crosscheck"));
    let mut meds: Vec<f64> = (0..1000)
        .map(|_| {
            let mut r: Vec<f64> = (0..values.len())
                .map(|_| values[rng.below(values.len())])
                .collect();
            r.sort_by(f64::total_cmp);
            percentile(&r, 50.0)
        })
        .collect();
    meds.sort_by(f64::total_cmp);
    Some((median, percentile(&meds, 2.5), percentile(&meds, 97.5)))
}

/// hyperfine's times (s) from its `--export-json` file, in ms.
pub fn hyperfine_times(json: &str) -> Option<Vec<f64>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    let times = v["results"][0]["times"].as_array()?;
    Some(
        times
            .iter()
            .filter_map(|t| t.as_f64())
            .map(|t| t * 1000.0)
            .collect(),
    )
}

/// The two sides take turns this many times, so a machine that changes during the check
/// (other builds starting or ending) affects both alike.
const ROUNDS: u32 = 4;

type Samples = std::collections::BTreeMap<(String, String), Vec<f64>>;

/// Runs both sides in alternating rounds and returns a row per runtime and verb.
pub fn run(config: &Config) -> Result<Vec<Row>, Error> {
    let hyperfine = which("hyperfine").ok_or(Error::NotInstalled {
        program: "hyperfine",
        package: "hyperfine",
    })?;
    let mut config = config.clone();
    config.suites = VERBS.iter().map(|(b, _)| b.to_string()).collect();
    let total = config.runs;
    config.runs = total.div_ceil(ROUNDS).max(1);
    let work = std::env::temp_dir().join(format!("assay-crosscheck-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(Error::io("create", &work))?;
    crate::leftovers::dir(&work);
    let (mut ours, mut theirs) = (Samples::new(), Samples::new());
    let outcome = (|| {
        for round in 1..=ROUNDS {
            progress::status(&format!(
                "assay crosscheck: round {round} of {ROUNDS}: assay"
            ));
            let results = runner::run(&config, &mut |_| {})?;
            for (bench, verb) in VERBS {
                for rt in &config.runtimes {
                    let values = results
                        .benchmarks
                        .iter()
                        .find(|b| b.name == bench)
                        .and_then(|b| b.cells.iter().find(|c| c.runtime == rt.name))
                        .filter(|c| c.status == CellStatus::Ok)
                        .map(|c| c.values(0))
                        .unwrap_or_default();
                    ours.entry((rt.name.clone(), verb.to_string()))
                        .or_default()
                        .extend(values);
                }
            }
            progress::status(&format!(
                "assay crosscheck: round {round} of {ROUNDS}: hyperfine"
            ));
            hyperfine_side(&config, &hyperfine, &work, &mut theirs)?;
        }
        Ok::<(), Error>(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    crate::leftovers::dir_gone(&work);
    outcome?;
    let mut rows = Vec::new();
    for rt in &config.runtimes {
        for (_, verb) in VERBS {
            let key = (rt.name.clone(), verb.to_string());
            let (a, h) = (ours.get(&key), theirs.get(&key));
            rows.push(Row {
                runtime: rt.name.clone(),
                verb: verb.to_string(),
                assay: a.and_then(|v| median_ci(v)),
                hyperfine: h.and_then(|v| median_ci(v)),
                p: a.zip(h).and_then(|(a, h)| crate::stats::rank_sum_p(a, h)),
            });
        }
    }
    Ok(rows)
}

/// hyperfine on the same command lines, in the runtime's mount namespace, with assay's
/// idle spacing as an untimed `--prepare sleep`; adds its times to `out`.
fn hyperfine_side(
    config: &Config,
    hyperfine: &Path,
    work: &Path,
    out: &mut Samples,
) -> Result<(), Error> {
    let _ = std::fs::remove_dir_all(work.join("bundles"));
    let exec = Exec::new(work.join("scratch"))?.with_time_limit(Duration::from_secs(600));
    let bundles = Bundles::prepare(&config.bundle, work, &exec)?;
    let plan = |args: &[&str]| ProcessPlan {
        args: args.iter().map(|s| s.to_string()).collect(),
        ..ProcessPlan::default()
    };
    let sleeper = bundles
        .for_plan(&plan(&["sleep", "100000"]))?
        .display()
        .to_string();
    let truth = bundles.for_plan(&plan(&["true"]))?.display().to_string();
    let spacing = format!("sleep {:.3}", config.spacing_ms as f64 / 1000.0);
    let tag = std::process::id();
    for rc in &config.runtimes {
        let rt = Runtime::new(rc, &work.join("state"));
        mountns::enter(rt.view())?;
        let ids = [0, 1, 2].map(|i| format!("assay-xc-{tag}-{i}"));
        let kill = |id: &str| {
            let _ = exec.run(&rt.argv(&["delete", "--force", id]));
        };
        let time = |name: &str, argv: Vec<String>, before: Option<Vec<String>>| {
            let json = work.join(format!("{}-{name}.json", rt.name));
            let mut prepare = before.map_or(String::new(), |b| {
                format!("{} >/dev/null 2>&1; ", shell_words::join(&b))
            });
            prepare.push_str(&spacing);
            let cmd = vec![
                hyperfine.display().to_string(),
                "-N".into(),
                "--style".into(),
                "none".into(),
                "--runs".into(),
                config.runs.to_string(),
                "--warmup".into(),
                config.warmup.to_string(),
                "--export-json".into(),
                json.display().to_string(),
                "--prepare".into(),
                shell_words::join(["sh", "-c", &prepare]),
                shell_words::join(&argv),
            ];
            exec.run(&cmd)?;
            let text = std::fs::read_to_string(&json).map_err(Error::io("read", &json))?;
            hyperfine_times(&text).ok_or_else(|| Error::Parse {
                op: "parse hyperfine's",
                path: json.clone(),
                source: "no results[0].times array".into(),
            })
        };
        let mut measured: Vec<(&str, Result<Vec<f64>, Error>)> = Vec::new();
        measured.push(("--version", time("version", rt.version_argv(), None)));
        // create: each timed create follows the untimed delete of the one before.
        let id = ids[0].as_str();
        let create = rt.argv(&["create", "--bundle", sleeper.as_str(), id]);
        let delete = rt.argv(&["delete", "--force", id]);
        measured.push(("create", time("create", create, Some(delete))));
        kill(id);
        // state: of one running container.
        let id = ids[1].as_str();
        let state = exec
            .run(&rt.argv(&["create", "--bundle", sleeper.as_str(), id]))
            .and_then(|_| exec.run(&rt.argv(&["start", id])))
            .map_err(Error::from)
            .and_then(|_| time("state", rt.argv(&["state", id]), None));
        kill(id);
        measured.push(("state", state));
        let id = ids[2].as_str();
        let run = rt.argv(&["run", "--bundle", truth.as_str(), id]);
        measured.push(("run", time("run", run, None)));
        kill(id);
        for (verb, times) in measured {
            match times {
                Ok(t) => out
                    .entry((rt.name.clone(), verb.to_string()))
                    .or_default()
                    .extend(t),
                Err(e) => progress::status(&format!(
                    "assay crosscheck: hyperfine {} {verb}: {e}",
                    rt.name
                )),
            }
        }
    }
    mountns::enter(mountns::View::Host)?;
    Ok(())
}

/// The comparison as a Markdown table.
pub fn table(rows: &[Row], runs: u32, spacing_ms: u64, pct: f64, floor_ms: f64) -> String {
    let f = |v: Option<(f64, f64, f64)>| {
        v.map_or("–".to_string(), |(m, lo, hi)| {
            format!("{m:.2} [{lo:.2}–{hi:.2}]")
        })
    };
    let mut s = String::from(
        "| runtime | verb | assay median [95% CI], ms | hyperfine median [95% CI], ms | difference | p | agree |\n|---|---|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        let diff = match (r.assay, r.hyperfine) {
            (Some(a), Some(h)) => format!("{:+.1}%", (a.0 - h.0) / h.0 * 100.0),
            _ => "–".into(),
        };
        let ok = match r.agrees(pct, floor_ms) {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "–",
        };
        let p = r.p.map_or("–".to_string(), |p| format!("{p:.3}"));
        s.push_str(&format!(
            "| {} | {} | {} | {} | {diff} | {p} | {ok} |\n",
            r.runtime,
            r.verb,
            f(r.assay),
            f(r.hyperfine)
        ));
    }
    s.push_str(&format!(
        "\n{runs} runs each way in {ROUNDS} alternating rounds, {spacing_ms} ms idle before each \
         (hyperfine: `--prepare 'sleep'`), hyperfine -N (no shell); medians with 95% bootstrap \
         intervals; p: exact rank-sum test of the two sample sets. They agree when the medians \
         are within {pct:.0}% or {floor_ms} ms, or the difference is not significant (p ≥ 0.05).\n"
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyperfine_json_and_agreement() {
        let json = r#"{"results":[{"command":"x","mean":0.002,"times":[0.001,0.002,0.003]}]}"#;
        assert_eq!(hyperfine_times(json), Some(vec![1.0, 2.0, 3.0]));
        assert_eq!(hyperfine_times("{}"), None);
        let row = |a: f64, h: f64, p: f64| Row {
            runtime: "runc".into(),
            verb: "state".into(),
            assay: Some((a, a, a)),
            hyperfine: Some((h, h, h)),
            p: Some(p),
        };
        assert_eq!(row(10.0, 11.0, 0.001).agrees(25.0, 0.5), Some(true));
        assert_eq!(row(10.0, 20.0, 0.001).agrees(25.0, 0.5), Some(false));
        assert_eq!(
            row(10.0, 20.0, 0.3).agrees(25.0, 0.5),
            Some(true),
            "within the noise"
        );
        assert_eq!(
            row(1.0, 1.8, 0.001).agrees(25.0, 1.0),
            Some(true),
            "within the floor"
        );
        let t = table(&[row(10.0, 11.0, 0.5)], 10, 20, 25.0, 1.0);
        assert!(
            t.contains("| runc | state | 10.00 [10.00–10.00] | 11.00 [11.00–11.00] | -9.1% | 0.500 | yes |"),
            "{t}"
        );
    }
}
