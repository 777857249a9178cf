//! Running cases: each config under every runtime, the differences against runc, each
//! explained by the allow-list or not, printed with the seed and the config so that any
//! difference can be reproduced (`differential --case SEED`), and counted for the summary.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;

use serde_json::{json, Value};

use crate::allow::{AllowList, Context, Kind};
use crate::compare::{compare, Against, Difference};
use crate::facts::{self, Facts};
use crate::gen::{self, Case, Sources};
use crate::lifecycle;
use crate::runtimes::Runtime;
use crate::world::{tree, World};
use kapsel_integration::scratch::detach_mounts_under;

static NEXT: AtomicU64 = AtomicU64::new(0);

/// What every case needs.
#[derive(Debug)]
pub struct Env {
    /// kapsel, runc and (optionally) crun, in that order.
    pub runtimes: Vec<Runtime>,
    /// Base configs.
    pub sources: Sources,
    /// The busybox rootfs each run hard-links.
    pub rootfs: PathBuf,
    /// The compiled probe.
    pub probe: PathBuf,
    /// Where runs make their dirs.
    pub work: PathBuf,
    /// The allow-list.
    pub allow: AllowList,
    /// Print every fact of every run with the notes (`--facts`).
    pub show_facts: bool,
}

/// A difference and the rule that explains it, if any.
#[derive(Debug, Clone)]
pub struct Judged {
    /// The difference.
    pub diff: Difference,
    /// (rule name, allowed or open).
    pub rule: Option<(String, Kind)>,
}

/// One case's result.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case.
    pub case: Case,
    /// Its differences.
    pub diffs: Vec<Judged>,
    /// Steps that failed, per runtime, with the runtime's message (shown, not compared).
    pub notes: Vec<String>,
    /// A problem of the harness itself (the run could not be set up).
    pub error: Option<String>,
    /// Why crun was the reference, when it was.
    pub crun_reference: Option<String>,
}

/// The facts of `config` under `rt`, and notes on failed steps.
pub fn run_one(
    env: &Env,
    rt: &Runtime,
    config: &Value,
    hostile: &[(String, String)],
) -> Result<(Facts, Vec<String>), String> {
    let seq = NEXT.fetch_add(1, Ordering::Relaxed);
    let id = format!("df{}-{seq}-{}", std::process::id(), rt.name);
    let world = World::new(&env.work, &id, rt, config, &env.rootfs, &env.probe)?;
    let rec = lifecycle::run(&world, hostile);
    let facts = facts::of(&rec, &world);
    let norm = facts::Norm::of(&world);
    let mut notes: Vec<String> = rec
        .steps
        .iter()
        .filter(|(_, s)| s.code != "0")
        .map(|(verb, s)| {
            let last = s
                .stderr
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            format!("{} {verb} exit {}: {}", rt.name, s.code, norm.apply(last))
        })
        .collect();
    for (verb, s) in &rec.steps {
        if s.took > std::time::Duration::from_secs(3) {
            notes.push(format!(
                "{} {verb} took {:.1} s",
                rt.name,
                s.took.as_secs_f64()
            ));
        }
    }
    if rec.probe.is_none() && rec.steps.get("start").is_some_and(|s| s.code == "0") {
        let last = rec
            .output
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("");
        notes.push(format!(
            "{} container printed no report; its last line: {}",
            rt.name,
            norm.apply(last)
        ));
    }
    if env.show_facts {
        notes.extend(
            facts
                .iter()
                .map(|(k, v)| format!("{} fact {k} = {v}", rt.name)),
        );
    }
    let dir = world.dir.clone();
    drop(world);
    detach_mounts_under(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    Ok((facts, notes))
}

/// Runs `case` under every runtime and judges the differences.
pub fn run_case(env: &Env, case: &Case) -> CaseResult {
    let mut all = Vec::new();
    let mut notes = Vec::new();
    for rt in &env.runtimes {
        match run_one(env, rt, &case.config, &case.hostile) {
            Ok((f, n)) => {
                all.push(f);
                notes.extend(n);
            }
            Err(e) => {
                return CaseResult {
                    case: case.clone(),
                    diffs: Vec::new(),
                    notes,
                    error: Some(format!("{}: {e}", rt.name)),
                    crun_reference: None,
                }
            }
        }
    }
    let mut context = Context {
        config: &case.config,
        origin: &case.origin,
        kapsel: &all[0],
        runc: &all[1],
        against: Against::Runc,
    };
    let crun_reference = env.allow.crun_reference(&context).filter(|_| all.len() > 2);
    if crun_reference.is_some() {
        context.against = Against::Crun;
    }
    let against = context.against;
    let diffs = compare(&all[0], &all[1], all.get(2), against)
        .into_iter()
        .map(|diff| {
            let rule = env
                .allow
                .explain(&diff, &context)
                .map(|r| (r.name.clone(), r.kind));
            Judged { diff, rule }
        })
        .collect();
    CaseResult {
        case: case.clone(),
        diffs,
        notes,
        error: None,
        crun_reference: crun_reference.map(|r| r.name.clone()),
    }
}

/// Totals of a batch.
#[derive(Debug, Default)]
pub struct Summary {
    /// Configs compared.
    pub configs: usize,
    /// Differences found.
    pub differences: usize,
    /// Of which explained as deliberate.
    pub allowed: usize,
    /// Of which known defects.
    pub open: usize,
    /// New differences a second run did not show again.
    pub unstable: usize,
    /// Cases the harness could not run.
    pub errors: usize,
    /// (key, kapsel, reference, verdict) -> seeds.
    pub groups: BTreeMap<(String, String, String, String), Vec<u64>>,
    /// How often each rule matched.
    pub rule_hits: BTreeMap<String, usize>,
}

impl Summary {
    /// Differences no rule explains, shown by both runs of their case.
    pub fn unexplained(&self) -> usize {
        self.differences - self.allowed - self.open - self.unstable
    }

    /// The one-line summary scripts/test.sh prints.
    pub fn line(&self) -> String {
        let mut extra = String::new();
        if self.unstable > 0 {
            extra.push_str(&format!(", {} unstable", self.unstable));
        }
        if self.errors > 0 {
            extra.push_str(&format!(", {} harness errors", self.errors));
        }
        format!(
            "differential: {} configs compared, {} differences, {} allowed, {} open (known defects), {} new{extra}",
            self.configs,
            self.differences,
            self.allowed,
            self.open,
            self.unexplained(),
        )
    }

    fn add(&mut self, r: &CaseResult) {
        if r.error.is_some() {
            self.errors += 1;
            return;
        }
        self.configs += 1;
        for j in &r.diffs {
            self.differences += 1;
            let rule = match &j.rule {
                Some((name, Kind::Allowed)) => {
                    self.allowed += 1;
                    format!("allowed: {name}")
                }
                Some((name, Kind::Open)) => {
                    self.open += 1;
                    format!("open: {name}")
                }
                Some((_, Kind::Unstable)) => {
                    self.unstable += 1;
                    "UNSTABLE".into()
                }
                None => "NEW".into(),
            };
            if let Some((name, Kind::Allowed | Kind::Open)) = &j.rule {
                *self.rule_hits.entry(name.clone()).or_default() += 1;
            }
            let key = (
                j.diff.key.clone(),
                j.diff.kapsel.clone(),
                j.diff.reference().to_string(),
                rule,
            );
            self.groups.entry(key).or_default().push(r.case.seed);
        }
    }
}

/// How much to print.
#[derive(Debug, Clone, Copy)]
pub struct Verbosity {
    /// Print explained differences too, and a line per case.
    pub all: bool,
}

/// Prints one case's result: every unexplained or open difference with the seed; for a new
/// one also the config and the failed steps' messages.
pub fn print_case(out: &mut impl Write, r: &CaseResult, v: Verbosity) {
    let seed = format!("{:#018x}", r.case.seed);
    if let Some(e) = &r.error {
        let _ = writeln!(out, "ERROR {seed} [{}]: {e}", r.case.origin);
        return;
    }
    let shown: Vec<&Judged> = r
        .diffs
        .iter()
        .filter(|j| v.all || !matches!(j.rule, Some((_, Kind::Allowed))))
        .collect();
    if v.all {
        let _ = writeln!(
            out,
            "CASE {seed} [{}]: {} differences",
            r.case.origin,
            r.diffs.len()
        );
    }
    for j in &shown {
        let verdict = match &j.rule {
            Some((name, Kind::Allowed)) => format!("allowed: {name}"),
            Some((name, Kind::Open)) => format!("open: {name}"),
            Some((_, Kind::Unstable)) => "UNSTABLE: not seen again in a second run".into(),
            None => "NEW".into(),
        };
        let against = match &r.crun_reference {
            Some(why) => format!("against crun ({why}), "),
            None => String::new(),
        };
        let _ = writeln!(
            out,
            "DIFF {seed} {}: kapsel `{}` runc `{}` crun `{}` ({against}{}) [{verdict}]",
            j.diff.key,
            j.diff.kapsel,
            j.diff.runc,
            j.diff.crun,
            j.diff.side()
        );
    }
    // The config of every case with a new difference (a known one is reproduced from its seed:
    // `--show SEED`), and the runtimes' messages.
    let unexplained = |j: &&Judged| !matches!(j.rule, Some((_, Kind::Allowed | Kind::Open)));
    if shown.iter().any(unexplained) || v.all {
        let _ = writeln!(out, "CONFIG {seed} [{}]: {}", r.case.origin, r.case.config);
        for n in &r.notes {
            let _ = writeln!(out, "NOTE {seed} {n}");
        }
    }
}

/// Saves a case with unexplained or open differences as `<dir>/<seed>.json`.
pub fn save_finding(dir: &Path, r: &CaseResult) -> Result<(), String> {
    let diffs: Vec<Value> = r
        .diffs
        .iter()
        .filter(|j| !matches!(j.rule, Some((_, Kind::Allowed))))
        .map(|j| json!({ "fact": j.diff.key, "kapsel": j.diff.kapsel, "runc": j.diff.runc, "crun": j.diff.crun, "against": format!("{:?}", j.diff.against).to_lowercase(),
            "rule": j.rule.as_ref().map(|(n, _)| n) }))
        .collect();
    if diffs.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("mkdir `{}`: {e}", dir.display()))?;
    let doc = json!({ "seed": format!("{:#018x}", r.case.seed), "origin": r.case.origin,
        "differences": diffs, "notes": r.notes, "config": r.case.config });
    let path = dir.join(format!("{:016x}.json", r.case.seed));
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&doc).unwrap_or_default(),
    )
    .map_err(|e| format!("write `{}`: {e}", path.display()))
}

/// Runs `case`, and once more when it shows a new difference: a new difference the second
/// run does not show again (same fact, same values) is marked unstable, not new — a busy
/// host can make a runtime miss a deadline once.
pub fn confirmed(env: &Env, case: &Case) -> CaseResult {
    let mut r = run_case(env, case);
    if r.error.is_some() || r.diffs.iter().all(|j| j.rule.is_some()) {
        return r;
    }
    let again = run_case(env, case);
    for j in r.diffs.iter_mut().filter(|j| j.rule.is_none()) {
        if !again.diffs.iter().any(|k| k.diff == j.diff) {
            j.rule = Some(("unstable".into(), Kind::Unstable));
        }
    }
    r
}

/// Runs every seed on `jobs` threads, printing each case as it finishes.
pub fn run_batch(
    env: &Env,
    seeds: &[u64],
    jobs: usize,
    v: Verbosity,
    findings: Option<&Path>,
) -> Summary {
    let next = AtomicUsize::new(0);
    let summary = Mutex::new(Summary::default());
    let before = tree(&env.rootfs);
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(seed) = seeds.get(i) else {
                    break;
                };
                let case = gen::generate(*seed, &env.sources);
                let r = confirmed(env, &case);
                let mut sum = summary.lock().unwrap_or_else(|e| e.into_inner());
                sum.add(&r);
                print_case(&mut std::io::stdout().lock(), &r, v);
                if let Some(dir) = findings {
                    if let Err(e) = save_finding(dir, &r) {
                        eprintln!("differential: {e}");
                    }
                }
            });
        }
    });
    let mut sum = summary.into_inner().unwrap_or_else(|e| e.into_inner());
    if tree(&env.rootfs) != before {
        eprintln!(
            "differential: a run changed the shared base rootfs `{}` through a hard link",
            env.rootfs.display()
        );
        sum.errors += 1;
    }
    sum
}
