//! Concurrency: many containers through their whole life in parallel, and many commands on
//! the same id at once. Every container ends deleted with nothing left, `list` and `state`
//! always print whole JSON, exactly one command wins each transition and the others fail
//! with a clear error. `KAPSEL_STRESS=N` runs N rounds (scripts/stress.sh).

use std::path::PathBuf;
use std::time::Duration;

use kapsel_integration::command::Cmd;
use kapsel_integration::leftovers::Footprint;
use kapsel_integration::race::{all_at_once, rounds, Watcher};
use kapsel_integration::{ctx, Ctx};
use serde_json::Value;

const CONTAINERS: usize = 50;
const RACERS: usize = 8;
const STATUSES: [&str; 5] = ["creating", "created", "running", "paused", "stopped"];

/// Makes `RUNTIME --root ROOT` commands from any thread.
fn commands(t: &Ctx) -> impl Fn() -> Cmd + Clone + Send + 'static {
    let (program, work, root) = (
        t.rt.path.clone(),
        t.work().to_path_buf(),
        t.root().to_path_buf(),
    );
    move || Cmd::new(&program, &work).arg("--root").arg(&root)
}

/// `list --format json` must always succeed with an array of known ids in known states.
fn list_is_consistent(rt: &impl Fn() -> Cmd, ids: &[String]) -> Vec<String> {
    let out = rt().args(["list", "--format", "json"]).run();
    if !out.success() {
        return vec![format!("list failed: {}", out.describe())];
    }
    let text = out.stdout.trim();
    // runc prints `null` for an empty list.
    let parsed: Value = match serde_json::from_str(if text.is_empty() { "null" } else { text }) {
        Ok(v) => v,
        Err(e) => return vec![format!("list printed torn JSON ({e}): {text}")],
    };
    let mut problems = Vec::new();
    for c in parsed.as_array().into_iter().flatten() {
        let id = c["id"].as_str().unwrap_or_default();
        if !ids.iter().any(|i| i == id) {
            problems.push(format!("list shows an unknown id: {c}"));
        }
        if !STATUSES.contains(&c["status"].as_str().unwrap_or_default()) {
            problems.push(format!("list shows a bad status: {c}"));
        }
    }
    problems
}

/// One container's whole life; returns its footprint once it ran.
fn lifecycle(rt: impl Fn() -> Cmd, bundle: PathBuf, id: &str) -> Result<Footprint, String> {
    let step = |args: &[&str]| {
        let out = rt().args(args).timeout(Duration::from_secs(60)).run();
        out.success()
            .then_some(out.clone())
            .ok_or_else(|| out.describe())
    };
    step(&[
        "create",
        "--bundle",
        bundle.to_str().unwrap_or_default(),
        id,
    ])?;
    step(&["start", id])?;
    let state: Value = serde_json::from_str(&step(&["state", id])?.stdout)
        .map_err(|e| format!("{id}: state is not JSON: {e}"))?;
    let pid = state["pid"].as_i64().unwrap_or(0) as i32;
    if state["status"] != "running" || pid <= 0 {
        return Err(format!("{id}: not running after start: {state}"));
    }
    let fp = Footprint::of(pid);
    let exec = step(&["exec", id, "sh", "-c", "echo exec-$((6*7))"])?;
    if exec.stdout.trim() != "exec-42" {
        return Err(format!("{id}: exec printed {:?}", exec.stdout));
    }
    step(&["delete", "--force", id])?;
    Ok(fp)
}

#[test]
fn fifty_containers_live_and_die_in_parallel_leaving_nothing() {
    let Some(mut t) = ctx!("fifty_containers_live_and_die_in_parallel_leaving_nothing") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b.write();
    for round in 0..rounds() {
        let ids: Vec<String> = (0..CONTAINERS)
            .map(|i| t.id(&format!("par{round}-{i}")))
            .collect();
        let rt = commands(&t);
        let lister = {
            let (rt, ids) = (rt.clone(), ids.clone());
            Watcher::start(move || list_is_consistent(&rt, &ids))
        };
        let results: Vec<Result<Footprint, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = ids
                .iter()
                .map(|id| {
                    let (rt, dir) = (rt.clone(), b.dir.clone());
                    s.spawn(move || lifecycle(rt, dir, id))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("lifecycle thread"))
                .collect()
        });
        let (lists, problems) = lister.finish();
        assert!(lists > 0, "the lister never ran");
        assert!(
            problems.is_empty(),
            "list during the run:\n{}",
            problems.join("\n")
        );
        let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
        assert!(
            failed.is_empty(),
            "{} of {CONTAINERS} failed:\n{}",
            failed.len(),
            failed
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
        let list = t.cmd(&["list", "-q"]);
        assert_eq!(list.ok().stdout.trim(), "", "list after every delete");
        for (id, fp) in ids.iter().zip(results) {
            t.assert_no_leftovers(id, &b, fp.ok().as_ref());
        }
    }
}

/// `state` read at the same time as the racing commands: whole JSON or a clean error, and
/// the state file itself always parses.
fn state_is_whole(rt: &impl Fn() -> Cmd, id: &str, file: &std::path::Path) -> Vec<String> {
    let mut problems = Vec::new();
    let out = rt().args(["state", id]).run();
    if out.success() {
        if let Err(e) = serde_json::from_str::<Value>(&out.stdout) {
            problems.push(format!("torn state output ({e}): {}", out.stdout));
        }
    } else if !["does not exist", "still being created"]
        .iter()
        .any(|w| out.last_stderr_line().contains(w))
    {
        problems.push(format!("state failed unclearly: {}", out.describe()));
    }
    if let Ok(bytes) = std::fs::read(file) {
        if let Err(e) = serde_json::from_slice::<Value>(&bytes) {
            problems.push(format!("torn state file ({e})"));
        }
    }
    problems
}

/// Exactly one output succeeded; every other one failed naming `why`.
#[track_caller]
fn one_wins(what: &str, outs: &[kapsel_integration::Output], why: &[&str]) {
    let won = outs.iter().filter(|o| o.success()).count();
    assert_eq!(
        won,
        1,
        "{what}: {won} of {} won:\n{}",
        outs.len(),
        outs.iter()
            .map(|o| o.describe())
            .collect::<Vec<_>>()
            .join("\n")
    );
    for o in outs.iter().filter(|o| !o.success()) {
        let last = o.last_stderr_line();
        assert!(
            o.code == Some(1) && why.iter().any(|w| last.contains(w)),
            "{what}: a loser must fail clearly ({why:?}): {}",
            o.describe()
        );
    }
}

#[test]
fn racing_commands_on_one_id_each_transition_has_one_winner() {
    let Some(mut t) = ctx!("racing_commands_on_one_id_each_transition_has_one_winner") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b.write();
    let rt = commands(&t);
    for round in 0..rounds() {
        let id = t.id(&format!("race{round}"));
        let watcher = {
            let (rt, id) = (rt.clone(), id.clone());
            let file = t.root().join(&id).join("state.json");
            Watcher::start(move || state_is_whole(&rt, &id, &file))
        };
        let dir = b.dir.to_str().expect("utf-8 bundle path").to_string();
        let creates = all_at_once(
            (0..RACERS)
                .map(|_| rt().args(["create", "--bundle", &dir, &id]))
                .collect(),
        );
        one_wins("create", &creates, &["exists"]);
        let pid = t.state_ok(&id)["pid"].as_i64().expect("pid") as i32;
        t.track_pid(pid);
        let starts = all_at_once((0..RACERS).map(|_| rt().args(["start", &id])).collect());
        one_wins(
            "start",
            &starts,
            &["cannot start", "not running", "not created"],
        );
        assert_eq!(t.state_ok(&id)["status"], "running");
        let kills = all_at_once(
            (0..RACERS)
                .map(|_| rt().args(["kill", &id, "KILL"]))
                .collect(),
        );
        assert!(kills.iter().any(|k| k.success()), "no kill won");
        kapsel_integration::procfs::reap(pid, Duration::from_secs(5));
        t.wait_status(&id, "stopped", Duration::from_secs(5));
        let deletes = all_at_once((0..RACERS).map(|_| rt().args(["delete", &id])).collect());
        one_wins("delete", &deletes, &["does not exist"]);
        let (reads, problems) = watcher.finish();
        assert!(reads > 0, "the state watcher never ran");
        assert!(
            problems.is_empty(),
            "while racing:\n{}",
            problems.join("\n")
        );
        t.assert_no_leftovers(&id, &b, None);
    }
}
