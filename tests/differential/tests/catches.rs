//! The harness must not pass vacuously: a runtime made to differ from runc is caught, the
//! difference disappears once the allow-list explains it, and runc compared with itself shows
//! no difference at all (what differs per run is normalised, not reported).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use kapsel_differential::allow::AllowList;
use kapsel_differential::batch::{run_batch, Verbosity};
use kapsel_differential::gen::{generate, Sources};
use kapsel_differential::runtimes::Runtime;
use kapsel_differential::{prepare, rng, Env};

/// How many configs each check runs.
const SEEDS: u64 = 4;

fn runc() -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|d| d.join("runc"))
        .find(|p| p.is_file());
    if found.is_none() {
        kapsel_integration::context::skip("differential", "runc is not installed");
    }
    found
}

/// runc behind a wrapper that adds `TAMPERED=1` to the process's env at create (python's
/// json keeps 64-bit integers exact, jq would not).
fn tampered_runc(dir: &Path, runc: &Path) -> PathBuf {
    let path = dir.join("tampered-runc");
    let script = format!(
        "#!/bin/sh\n\
         if [ \"$3\" = create ]; then\n\
           b=\"$5\"\n\
           python3 -c 'import json,sys; p=sys.argv[1]; c=json.load(open(p)); c[\"process\"].setdefault(\"env\", []).append(\"TAMPERED=1\"); json.dump(c, open(p, \"w\"))' \"$b/config.json\"\n\
         fi\n\
         exec {} \"$@\"\n",
        runc.display()
    );
    std::fs::write(&path, script).expect("write the wrapper");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn make_env(name: &str, first: PathBuf, runc: &Path, allow: &str) -> Option<Env> {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("differential-{name}"));
    let rt = |name: &str, path: PathBuf| Runtime {
        name: name.into(),
        path,
        hide_unified: false,
    };
    let runtimes = vec![rt("kapsel", first), rt("runc", runc.to_path_buf())];
    match prepare(
        &work,
        runtimes,
        Sources::fixed(),
        AllowList::parse(allow).expect("allow-list"),
    ) {
        Ok(env) => Some(env),
        Err(reason) => {
            kapsel_integration::context::skip(name, &reason);
            None
        }
    }
}

/// The first seeds whose configs vary only parts runc 1.1.5 handles (no feature it lacks,
/// no edge case): configs every runtime runs, so the tampered env shows in each.
fn seeds() -> Vec<u64> {
    const PLAIN: [&str; 7] = [
        "runc-spec",
        "crun-spec",
        "kapsel-spec",
        "uts",
        "paths",
        "rlimits",
        "user",
    ];
    let sources = Sources::fixed();
    (0..)
        .map(|i| rng::case_seed(0x5eed, i))
        .filter(|s| {
            let case = generate(*s, &sources);
            case.origin.split('+').all(|part| PLAIN.contains(&part))
        })
        .take(SEEDS as usize)
        .collect()
}

#[test]
fn a_runtime_that_differs_is_caught_and_an_explained_difference_is_not() {
    let Some(runc) = runc() else { return };
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("differential-wrapper");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let tampered = tampered_runc(&dir, &runc);
    let Some(env) = make_env("caught", tampered.clone(), &runc, "") else {
        return;
    };
    let quiet = Verbosity { all: false };
    let summary = run_batch(&env, &seeds(), 1, quiet, None);
    let env_diffs: usize = summary
        .groups
        .iter()
        .filter(|((key, kapsel, _, _), _)| key == "probe.env" && kapsel.contains("TAMPERED=1"))
        .map(|(_, seeds)| seeds.len())
        .sum();
    assert_eq!(
        env_diffs as u64,
        SEEDS,
        "the tampered env went unnoticed in some configs: {} {:#?}",
        summary.line(),
        summary.groups
    );
    assert!(summary.unexplained() >= env_diffs, "{}", summary.line());
    let rule = "```allowed\ntampered\t*probe.env\t*TAMPERED=1*\t*\t*\n```\n";
    let Some(env) = make_env("explained", tampered, &runc, rule) else {
        return;
    };
    let summary = run_batch(&env, &seeds(), 1, quiet, None);
    assert!(
        summary.allowed >= 1,
        "the rule matched nothing: {}",
        summary.line()
    );
    assert_eq!(
        (summary.allowed, summary.unexplained()),
        (summary.differences, 0),
        "an explained difference still counts as new: {:?}",
        summary.groups
    );
}

#[test]
fn runc_against_itself_shows_no_difference() {
    let Some(runc) = runc() else { return };
    let Some(env) = make_env("itself", runc.clone(), &runc, "") else {
        return;
    };
    let summary = run_batch(&env, &seeds(), 1, Verbosity { all: true }, None);
    assert_eq!(summary.errors, 0, "{}", summary.line());
    assert_eq!(
        summary.differences, 0,
        "per-run noise reported: {:#?}",
        summary.groups
    );
    assert_eq!(summary.configs as u64, SEEDS);
}
