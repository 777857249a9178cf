//! runc's lifecycle flags that change what a container gets: the session keyring named
//! after the container (or the caller's with `--no-new-keyring`), `run --no-subreaper`,
//! `kill` of a paused container, and `exec --ignore-paused`.

use std::time::Duration;

use kapsel_integration::{ctx, Bundle, Ctx};
use serde_json::{json, Value};

/// A bundle whose /proc/keys is readable (the default config masks it).
fn keys_visible(t: &Ctx) -> Bundle {
    let mut b = t.bundle();
    let masked: Vec<Value> = b.config["linux"]["maskedPaths"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p != "/proc/keys")
        .collect();
    b.set("/linux/maskedPaths", json!(masked));
    b.sh("cat /proc/keys");
    b
}

// spec: --no-new-keyring
#[test]
fn session_keyring_is_named_after_the_container_unless_no_new_keyring() {
    let Some(mut t) = ctx!("session_keyring_is_named_after_the_container_unless_no_new_keyring")
    else {
        return;
    };
    if !std::path::Path::new("/proc/keys").exists() {
        t.skip("no /proc/keys: the kernel has no key support");
        return;
    }
    let b = keys_visible(&t);
    let id = t.id("keyring");
    let out = t.run(&b, &id);
    out.ok();
    let own = out
        .stdout
        .lines()
        .find(|l| l.contains(" keyring ") && l.trim_end().ends_with(&format!("{id}: empty")));
    assert!(own.is_some(), "no keyring named {id}:\n{}", out.stdout);
    let id = t.id("nokeyring");
    let out = t.run_with(&b, &id, &["--no-new-keyring"]);
    out.ok();
    assert!(
        !out.stdout.contains(&id),
        "--no-new-keyring made one:\n{}",
        out.stdout
    );
}

/// Runs a container in the host's pid namespace that orphans a `sleep` and prints the
/// orphan's parent pid next to its own parent's (the `run` process).
fn orphan_parent(t: &mut Ctx, extra: &[&str]) -> (i32, i32) {
    let mut b = t.bundle();
    b.remove_namespace("pid");
    b.sh("o=$( (sleep 3 >/dev/null 2>&1 & echo $!) ); sleep 0.5; echo $PPID $(cut -d' ' -f4 /proc/$o/stat); kill $o");
    let id = t.id("reaper");
    let out = t.run_with(&b, &id, extra);
    out.ok();
    let nums: Vec<i32> = out
        .stdout
        .split_whitespace()
        .map(|n| n.parse().expect("a pid"))
        .collect();
    assert_eq!(nums.len(), 2, "{}", out.describe());
    (nums[0], nums[1])
}

// spec: --no-subreaper
#[test]
fn run_reaps_orphans_unless_no_subreaper() {
    let Some(mut t) = ctx!("run_reaps_orphans_unless_no_subreaper") else {
        return;
    };
    let (run_pid, orphan_parent_pid) = orphan_parent(&mut t, &[]);
    assert_eq!(orphan_parent_pid, run_pid, "run must adopt the orphan");
    let (run_pid, orphan_parent_pid) = orphan_parent(&mut t, &["--no-subreaper"]);
    assert_ne!(
        orphan_parent_pid, run_pid,
        "--no-subreaper adopted the orphan"
    );
    assert_eq!(
        orphan_parent_pid,
        std::process::id() as i32,
        "the orphan should reach the test (the caller's subreaper)"
    );
}

/// A running container whose init exits 3 on SIGTERM.
fn term_trapping(t: &mut Ctx, tag: &str) -> String {
    let mut b = t.bundle();
    b.sh("trap 'exit 3' TERM; echo trapping; while :; do sleep 0.1; done");
    let id = t.id(tag);
    t.create_and_start(&b, &id);
    // Until the trap is set, pid 1 of its namespace would ignore SIGTERM altogether.
    t.wait_for_file(&t.stdout_path(&id), "trapping", Duration::from_secs(5));
    id
}

// spec: kill (paused)
#[test]
fn kill_of_a_paused_container() {
    let Some(mut t) = ctx!("kill_of_a_paused_container") else {
        return;
    };
    // A catchable signal waits until the container is resumed.
    let id = term_trapping(&mut t, "pterm");
    t.cmd(&["pause", &id]).ok();
    t.cmd(&["kill", &id, "TERM"]).ok();
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(t.state_ok(&id)["status"], "paused");
    t.cmd(&["resume", &id]).ok();
    t.wait_status(&id, "stopped", Duration::from_secs(5));
    // SIGKILL ends a paused container without a resume.
    let id = term_trapping(&mut t, "pkill");
    t.cmd(&["pause", &id]).ok();
    t.cmd(&["kill", &id, "KILL"]).ok();
    t.wait_status(&id, "stopped", Duration::from_secs(5));
    t.cmd(&["delete", &id]).ok();
}

// spec: exec --ignore-paused
#[test]
fn exec_with_ignore_paused_runs_once_the_container_resumes() {
    let Some(mut t) = ctx!("exec_with_ignore_paused") else {
        return;
    };
    let id = term_trapping(&mut t, "ipaused");
    t.cmd(&["pause", &id]).ok();
    // As with runc, the exec'd process joins the frozen cgroup: it is frozen too and runs
    // when the container is resumed (without the flag exec is refused, see exec.rs).
    let out_path = t.work().join("ignore-paused.out");
    let mut exec = std::process::Command::new(&t.rt.path)
        .arg("--root")
        .arg(t.root())
        .args(["exec", "--ignore-paused", &id, "echo", "ran"])
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("create exec output"))
        .spawn()
        .expect("spawn exec --ignore-paused");
    std::thread::sleep(Duration::from_millis(500));
    let early = exec.try_wait().expect("try_wait");
    assert!(
        early.is_none(),
        "exec finished while the container was paused: {early:?}"
    );
    assert_eq!(t.state_ok(&id)["status"], "paused");
    t.cmd(&["resume", &id]).ok();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = exec.try_wait().expect("try_wait") {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "exec did not finish after resume"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exec --ignore-paused: {status}");
    assert_eq!(std::fs::read_to_string(&out_path).unwrap(), "ran\n");
    t.cmd(&["kill", &id, "KILL"]).ok();
    t.wait_status(&id, "stopped", Duration::from_secs(5));
    t.cmd(&["delete", &id]).ok();
}
