//! A run is never lost and never fails silently: output paths are checked before the first
//! sample, an unknown suite is an error, strict mode fails on failed cells, Ctrl-C writes
//! the results so far, and a second Ctrl-C prints commands that really clean up.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;

#[test]
fn an_unwritable_output_fails_before_the_first_sample() {
    let started = Instant::now();
    let out = assay(&[
        "run",
        "--runtime",
        "t=/bin/true",
        "-o",
        "/nonexistent/dir/x.json",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("output: folder `/nonexistent/dir` does not exist"),
        "{err}"
    );
    assert!(!err.contains("samples"), "nothing ran: {err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let out = assay(&[
        "run",
        "--runtime",
        "t=/bin/true",
        "--html",
        "/nonexistent/r.html",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--html: folder `/nonexistent`"));
}

#[test]
fn an_unknown_suite_among_good_ones_is_an_error() {
    let out = assay(&[
        "run",
        "--runtime",
        "t=/bin/true",
        "--suite",
        "operations",
        "--suite",
        "scalabilty",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`scalabilty` matches no benchmark"), "{err}");
}

#[test]
fn strict_mode_exits_1_and_keeps_the_results() {
    if let Err(why) = runc_ready() {
        return skip("strict_mode_exits_1_and_keeps_the_results", &why);
    }
    let dir = TempDir::new("strict");
    let json = dir.0.join("r.json");
    let out = assay(&[
        "run",
        "--runtime",
        "broken=/bin/false",
        "--suite",
        "operations.runtime.version",
        "--runs",
        "2",
        "--strict",
        "-o",
        json.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("strict mode"), "{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let cell = &r["benchmarks"][0]["cells"][0];
    assert_eq!(cell["status"], "failed");
    assert!(cell["failures"].as_array().unwrap().len() >= 2, "{cell}");
    // The same run with CI set and no flag is strict too.
    let out = Command::new(ASSAY)
        .args(["run", "--runtime", "broken=/bin/false", "--suite"])
        .args(["operations.runtime.version", "--runs", "1", "-o"])
        .arg(&json)
        .env("CI", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// Starts `assay run` with stderr in a file; returns the child and the file.
fn spawn_run(dir: &std::path::Path, args: &[&str]) -> (std::process::Child, std::path::PathBuf) {
    let log = dir.join("stderr.txt");
    let child = Command::new(ASSAY)
        .arg("run")
        .args(args)
        .env_remove("CI")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    (child, log)
}

/// Sends SIGINT `times` times, 100 ms apart; checks the exit code 130; returns stderr.
fn interrupt(child: &mut std::process::Child, log: &std::path::Path, times: usize) -> String {
    for i in 0..times {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(100));
        }
        kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    }
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::fs::File::open(log)
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    err
}

fn wait_for(what: &str, within: Duration, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ctrl_c_writes_the_results_so_far() {
    let runc = match runc_ready() {
        Ok(r) => r,
        Err(why) => return skip("ctrl_c_writes_the_results_so_far", &why),
    };
    let dir = TempDir::new("ctrlc");
    let json = dir.0.join("r.json");
    let rt = format!("runc={}", runc.display());
    let (mut child, log) = spawn_run(
        &dir.0,
        &[
            "--runtime",
            &rt,
            "--suite",
            "operations.runtime.version",
            "--suite",
            "operations.container.lifecycle",
            "--runs",
            "200",
            "--warmup",
            "0",
            "--spacing-ms",
            "0",
            "-o",
            json.to_str().unwrap(),
        ],
    );
    // The first benchmark is saved as soon as it is done.
    wait_for("the first saved benchmark", Duration::from_secs(60), || {
        std::fs::read_to_string(&json).is_ok_and(|t| t.contains("operations.runtime.version"))
    });
    let err = interrupt(&mut child, &log, 1);
    assert!(
        err.contains("the 2 benchmarks finished are in")
            || err.contains("the 1 benchmarks finished are in"),
        "{err}"
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(r["complete"], false);
    let lifecycle = r["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "operations.container.lifecycle");
    if let Some(b) = lifecycle {
        let n = b["cells"][0]["samples"].as_array().unwrap().len();
        assert!(n < 200, "stopped early, kept the {n} samples taken");
    }
}

#[test]
fn a_second_ctrl_c_prints_commands_that_clean_up() {
    let runc = match runc_ready() {
        Ok(r) => r,
        Err(why) => return skip("a_second_ctrl_c_prints_commands_that_clean_up", &why),
    };
    let dir = TempDir::new("ctrlc2");
    let work = dir.0.join("work");
    let cfg = dir.0.join("a.yaml");
    std::fs::write(
        &cfg,
        format!(
            "runtimes:\n  - name: runc\n    path: {}\nsuites: [scalability.sequential.n40]\n\
             scales: [40]\nruns: 3\nwarmup: 0\nwork_dir: {}\n",
            runc.display(),
            work.display()
        ),
    )
    .unwrap();
    let json = dir.0.join("r.json");
    let (mut child, log) = spawn_run(
        &dir.0,
        &["-c", cfg.to_str().unwrap(), "-o", json.to_str().unwrap()],
    );
    let state = work.join("state/runc");
    // Wait until a few containers exist, then stop twice.
    wait_for("containers", Duration::from_secs(60), || {
        std::fs::read_dir(&state).is_ok_and(|d| d.count() >= 3)
    });
    let err = interrupt(&mut child, &log, 2);
    let commands: Vec<&str> = err
        .split("as root, run:\n")
        .nth(1)
        .unwrap_or_else(|| panic!("no clean-up commands: {err}"))
        .lines()
        .collect();
    assert!(
        commands.iter().any(|c| c.contains("delete --force")),
        "{err}"
    );
    assert!(commands.iter().any(|c| c.contains("rm -rf")), "{err}");
    // The container processes this run left (runc keeps their pid in its state).
    let left: Vec<i32> = std::fs::read_dir(&state)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_to_string(e.path().join("state.json")).ok())
                .filter_map(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .filter_map(|v| v["init_process_pid"].as_i64())
                .map(|p| p as i32)
                .collect()
        })
        .unwrap_or_default();
    assert!(!left.is_empty(), "no container process to clean up: {err}");
    for c in &commands {
        let out = Command::new("sh").args(["-c", c]).output().unwrap();
        assert!(
            out.status.success(),
            "`{c}`: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(!work.exists(), "the work folder is gone");
    // Other tests of the machine may run their own `sleep`s: only this run's count.
    for pid in left {
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            !s.rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .starts_with('Z')
        });
        assert!(!alive, "container process {pid} left");
    }
}
