//! `--log FILE --log-format json`: every line is `{"level","msg","time"}` with an RFC 3339
//! time, and a failure writes exactly one error line (containerd and podman parse it).

use std::path::Path;

use kapsel_integration::logfmt::parse_json_line;
use kapsel_integration::{ctx, Ctx, Output};

fn log_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

#[track_caller]
fn all_json(path: &Path, after: &Output) {
    for line in log_lines(path) {
        if let Err(e) = parse_json_line(&line) {
            panic!("{e}\nafter: {}", after.describe());
        }
    }
}

fn logged(t: &Ctx, log: &Path, args: &[&str]) -> Output {
    t.rt()
        .arg("--log")
        .arg(log)
        .args(["--log-format", "json"])
        .args(args)
        .run()
}

#[test]
fn json_log_lines_parse_through_a_lifecycle() {
    let Some(mut t) = ctx!("json_log_lines_parse_through_a_lifecycle") else {
        return;
    };
    let log = t.work().join("log.json");
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("log");
    let create = t
        .create_cmd(
            &b,
            &id,
            t.rt().arg("--log").arg(&log).args(["--log-format", "json"]),
        )
        .arg(&id);
    let out = create.run();
    out.ok();
    t.track_pid_file(&id);
    all_json(&log, &out);
    for args in [
        vec!["start", &id],
        vec!["state", &id],
        vec!["kill", &id, "KILL"],
    ] {
        let out = logged(&t, &log, &args);
        out.ok();
        all_json(&log, &out);
    }
    t.wait_status(&id, "stopped", std::time::Duration::from_secs(5));
    let out = logged(&t, &log, &["delete", &id]);
    out.ok();
    all_json(&log, &out);
    assert!(
        log_lines(&log)
            .iter()
            .all(|l| !l.contains("\"level\":\"error\"")),
        "a successful lifecycle logged an error: {:?}",
        log_lines(&log)
    );
}

#[test]
fn debug_lines_are_json_too() {
    let Some(mut t) = ctx!("debug_lines_are_json_too") else {
        return;
    };
    let log = t.work().join("debug.json");
    let mut b = t.bundle();
    b.args(&["true"]);
    let id = t.id("debug");
    b.write();
    let out = t
        .rt()
        .args(["--debug", "--log"])
        .arg(&log)
        .args(["--log-format", "json", "run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .run();
    out.ok();
    all_json(&log, &out);
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn a_failure_writes_exactly_one_error_line() {
    let Some(mut t) = ctx!("a_failure_writes_exactly_one_error_line") else {
        return;
    };
    let id = t.id("nolog");
    for (n, form) in [["--log-format", "json"], ["--log-format=json", ""]]
        .iter()
        .enumerate()
    {
        let log = t.work().join(format!("fail-{n}.json"));
        let out = t
            .rt()
            .arg("--log")
            .arg(&log)
            .args(form.iter().filter(|a| !a.is_empty()))
            .args(["delete", &id])
            .run();
        out.failed().err_mentions("does not exist");
        assert!(
            !out.last_stderr_line().contains("level="),
            "stderr holds the bare message: {}",
            out.describe()
        );
        let lines = log_lines(&log);
        assert_eq!(lines.len(), 1, "exactly one log line: {lines:?}");
        let entry = parse_json_line(&lines[0]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(entry["level"], "error");
        assert!(
            entry["msg"]
                .as_str()
                .is_some_and(|m| m.contains("does not exist")),
            "{entry}"
        );
    }
}

#[test]
fn a_failed_create_writes_exactly_one_error_line() {
    let Some(mut t) = ctx!("a_failed_create_writes_exactly_one_error_line") else {
        return;
    };
    let log = t.work().join("create.json");
    let mut b = t.bundle();
    b.args(&["/nonexistent"]);
    let id = t.id("logcreate");
    let out = t
        .create_cmd(
            &b,
            &id,
            t.rt().arg("--log").arg(&log).args(["--log-format", "json"]),
        )
        .arg(&id)
        .run();
    out.failed();
    let lines = log_lines(&log);
    assert_eq!(
        lines.len(),
        1,
        "podman parses the whole file as one object: {lines:?}"
    );
    let entry = parse_json_line(&lines[0]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(entry["level"], "error");
    assert!(
        entry["msg"]
            .as_str()
            .is_some_and(|m| m.contains("no such file or directory")),
        "{entry}"
    );
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn caller_global_flags_are_accepted() {
    let Some(t) = ctx!("caller_global_flags_are_accepted") else {
        return;
    };
    // podman passes --systemd-cgroup with its systemd manager; --debug via --runtime-flag.
    for flags in [
        vec!["--debug"],
        vec!["--systemd-cgroup"],
        vec!["--log-format", "text"],
    ] {
        let out = t.rt().args(flags).arg("list").run();
        assert!(out.success(), "{}", out.describe());
    }
}
