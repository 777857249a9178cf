//! Hooks of every kind: when they run, the state JSON on their stdin, their args and env,
//! the timeout, and what their failure does (fatal before start, a warning after).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kapsel_integration::{ctx, Bundle, Ctx};
use serde_json::{json, Value};

const SECS5: Duration = Duration::from_secs(5);
const HOOK_SCRIPT: &str = "#!/bin/sh\n\
    kind=$1\n\
    cat > \"$OUT_DIR/$kind.json\"\n\
    echo \"$*\" > \"$OUT_DIR/$kind.args\"\n\
    env > \"$OUT_DIR/$kind.env\"\n\
    readlink /proc/self/ns/mnt > \"$OUT_DIR/$kind.mntns\"\n\
    echo \"$kind\" >> \"$OUT_DIR/order\"\n";

/// The hooks' output dir on the host (also bound at /out in the container) and the recorder.
fn recorder(t: &Ctx) -> (PathBuf, PathBuf) {
    let out = t.work().join("hooks-out");
    std::fs::create_dir_all(&out).expect("mkdir hooks-out");
    let script = t.work().join("hook.sh");
    std::fs::write(&script, HOOK_SCRIPT).expect("write hook script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    (out, script)
}

/// A runtime-namespace hook that records its stdin, args and env under `kind`.
fn recording_hook(script: &Path, out: &Path, kind: &str) -> Value {
    json!({
        "path": script,
        "args": ["hook.sh", kind, "second-arg"],
        "env": [format!("OUT_DIR={}", out.display()), "HOOK_VAR=hook-value"],
    })
}

fn failing_hook(code: u8) -> Value {
    json!({"path": "/bin/sh", "args": ["sh", "-c", format!("exit {code}")]})
}

fn read_json(path: &Path) -> Value {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read `{}`: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "hook stdin in `{}` is not JSON ({e}): {text}",
            path.display()
        )
    })
}

// req: rt-hooks-prestart, rt-hooks-createruntime, rt-hooks-createcontainer, rt-hooks-startcontainer, rt-hooks-poststart, rt-hooks-poststop, cfg-hooks-order, cfg-hooks-state-stdin, cfg-hooks-namespaces
// spec: hooks.prestart, hooks.createRuntime, hooks.createContainer, hooks.startContainer, hooks.poststart, hooks.poststop
#[test]
fn every_hook_kind_runs_in_order_with_state_args_and_env() {
    let Some(mut t) = ctx!("every_hook_kind_runs_in_order_with_state_args_and_env") else {
        return;
    };
    let (out, script) = recorder(&t);
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b.push_mount(
        json!({"destination": "/out", "type": "bind", "source": out, "options": ["rbind", "rw"]}),
    );
    for kind in [
        "prestart",
        "createRuntime",
        "createContainer",
        "poststart",
        "poststop",
    ] {
        b.hook(kind, recording_hook(&script, &out, kind));
    }
    // startContainer resolves its path in the container: busybox's sh, writing through /out.
    b.hook(
        "startContainer",
        json!({
            "path": "/bin/sh",
            "args": ["sh", "-c", "cat > /out/startContainer.json; echo \"$*\" > /out/startContainer.args; \
                      env > /out/startContainer.env; readlink /proc/self/ns/mnt > /out/startContainer.mntns; \
                      echo startContainer >> /out/order", "sh", "second-arg"],
            "env": ["HOOK_VAR=hook-value"],
        }),
    );
    let id = t.id("hooks");
    let create = t
        .create_cmd(&b, &id, t.rt())
        .env("KAPSEL_ITEST_OUTER", "1")
        .arg(&id);
    create.run().ok();
    t.track_pid_file(&id).expect("pid file");
    let container_mnt = t
        .footprint(&id)
        .namespaces
        .into_iter()
        .find_map(|(kind, ns)| (kind == "mnt").then_some(ns))
        .expect("the container has its own mount namespace");
    let host_mnt = kapsel_integration::procfs::link(std::process::id() as i32, "ns/mnt")
        .map(|l| l.to_string_lossy().into_owned())
        .expect("host mnt ns");
    let order = || std::fs::read_to_string(out.join("order")).unwrap_or_default();
    let before_start = order();
    for kind in ["prestart", "createRuntime", "createContainer"] {
        assert!(
            before_start.lines().any(|l| l == kind),
            "{kind} did not run during create: {before_start:?}"
        );
    }
    assert!(
        !before_start.contains("startContainer"),
        "startContainer ran during create: {before_start:?}"
    );
    if t.checks_kapsel_only("poststart waits for start (runc 1.1 runs it during create)") {
        assert!(
            !before_start.contains("poststart"),
            "poststart ran during create: {before_start:?}"
        );
    }

    t.rt()
        .env("KAPSEL_ITEST_OUTER", "1")
        .args(["start", id.as_str()])
        .run()
        .ok();
    t.wait_for_file(&out.join("order"), "poststart", SECS5);
    t.wait_for_file(&out.join("order"), "startContainer", SECS5);
    t.cmd(&["kill", &id, "KILL"]).ok();
    t.wait_status(&id, "stopped", SECS5);
    t.rt()
        .env("KAPSEL_ITEST_OUTER", "1")
        .args(["delete", id.as_str()])
        .run()
        .ok();

    let order = order();
    let pos = |kind: &str| {
        order
            .lines()
            .position(|l| l == kind)
            .unwrap_or_else(|| panic!("{kind} never ran: {order:?}"))
    };
    assert!(pos("prestart") < pos("createContainer"), "{order:?}");
    assert!(pos("createRuntime") < pos("createContainer"), "{order:?}");
    assert!(pos("createContainer") < pos("startContainer"), "{order:?}");
    assert!(
        pos("startContainer") < pos("poststop") && pos("poststart") < pos("poststop"),
        "{order:?}"
    );
    assert_eq!(order.lines().count(), 6, "each hook runs once: {order:?}");

    for kind in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        let state = read_json(&out.join(format!("{kind}.json")));
        assert_eq!(state["id"], id.as_str(), "{kind} stdin: {state}");
        assert!(state["ociVersion"].is_string(), "{kind} stdin: {state}");
        assert!(state["status"].is_string(), "{kind} stdin: {state}");
        assert_eq!(
            state["bundle"],
            b.dir.to_str().expect("utf-8"),
            "{kind} stdin: {state}"
        );
        if kind != "poststop" {
            assert!(
                state["pid"].as_i64().is_some_and(|p| p > 0),
                "{kind} stdin: {state}"
            );
        }
        let mntns = std::fs::read_to_string(out.join(format!("{kind}.mntns"))).expect("mntns");
        let want = if kind.ends_with("Container") {
            &container_mnt
        } else {
            &host_mnt
        };
        assert_eq!(
            mntns.trim(),
            want,
            "{kind} ran in the wrong mount namespace"
        );
        let args = std::fs::read_to_string(out.join(format!("{kind}.args"))).expect("args");
        assert!(
            args.trim_end().ends_with("second-arg"),
            "{kind} args: {args:?}"
        );
        let env = std::fs::read_to_string(out.join(format!("{kind}.env"))).expect("env");
        assert!(
            env.lines().any(|l| l == "HOOK_VAR=hook-value"),
            "{kind} env: {env}"
        );
        assert!(
            !env.contains("KAPSEL_ITEST_OUTER"),
            "{kind} got the runtime's env: {env}"
        );
    }
    t.assert_no_leftovers(&id, &b, None);
}

// req: rt-hooks-prestart, rt-hooks-createruntime, rt-hooks-createcontainer, rt-errors-leave-nothing
#[test]
fn failing_hooks_before_start_fail_create_and_leave_nothing() {
    let Some(mut t) = ctx!("failing_hooks_before_start_fail_create_and_leave_nothing") else {
        return;
    };
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let mut b = t.bundle();
        b.args(&["sleep", "1000"]);
        b.hook(kind, failing_hook(3));
        let id = t.id("hookfail");
        let out = t.create(&b, &id);
        assert!(
            !out.success(),
            "a failing {kind} hook must fail create: {}",
            out.describe()
        );
        t.assert_no_leftovers(&id, &b, None);
    }
}

// req: cfg-hooks-timeout
// spec: hooks.prestart
#[test]
fn hook_timeout_fails_create_and_leaves_nothing() {
    let Some(mut t) = ctx!("hook_timeout_fails_create_and_leaves_nothing") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b.hook(
        "prestart",
        json!({"path": "/bin/sleep", "args": ["sleep", "37"], "timeout": 1}),
    );
    let id = t.id("hooktimeout");
    let started = Instant::now();
    let out = t.create(&b, &id);
    assert!(
        !out.success(),
        "a hook past its timeout must fail create: {}",
        out.describe()
    );
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "create took {:?}",
        started.elapsed()
    );
    t.assert_no_leftovers(&id, &b, None);
    let stray = kapsel_integration::procfs::pids().into_iter().find(|pid| {
        std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c == b"sleep\x0037\x00")
    });
    assert_eq!(stray, None, "the timed-out hook is still running");
}

/// A created container whose hooks of `kind` are one that fails, then one that records
/// (the runtime-spec: a failing poststart or poststop hook is a warning, and the remaining
/// hooks MUST still run). Returns the bundle, the id and the recorder's output dir.
fn running_with_failing(t: &mut Ctx, kind: &str) -> (Bundle, String, PathBuf) {
    let (out, script) = recorder(t);
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b.hook(kind, failing_hook(4));
    b.hook(kind, recording_hook(&script, &out, kind));
    let id = t.id("warn");
    t.create(&b, &id).ok();
    (b, id, out)
}

/// The second hook of `kind` ran after the first failed, and the failure was a warning.
#[track_caller]
fn second_hook_ran(t: &Ctx, out: &Path, kind: &str, verb: &kapsel_integration::Output) {
    let order = std::fs::read_to_string(out.join("order")).unwrap_or_default();
    let ran = order.lines().any(|l| l == kind);
    if !ran && !t.checks_kapsel_only("runc 1.1.5 skips the hooks after a failing poststop hook") {
        return;
    }
    assert!(
        ran,
        "the {kind} hook after the failing one did not run: {}",
        verb.describe()
    );
    if t.checks_kapsel_only("the failure is logged as a warning naming the hook") {
        assert!(
            verb.stderr.contains(&format!("hooks.{kind}[0]")),
            "no warning naming hooks.{kind}[0]: {}",
            verb.describe()
        );
    }
}

// req: rt-hooks-poststart
#[test]
fn failing_poststart_only_warns() {
    let Some(mut t) = ctx!("failing_poststart_only_warns") else {
        return;
    };
    if t.kapsel_only("1.1 runs poststart during create and fails create when it fails") {
        return;
    }
    let (b, id, out) = running_with_failing(&mut t, "poststart");
    let start = t.cmd(&["start", &id]);
    start.ok();
    assert_eq!(t.state_ok(&id)["status"], "running");
    second_hook_ran(&t, &out, "poststart", &start);
    t.cmd(&["delete", "--force", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
}

// req: rt-hooks-poststop
#[test]
fn failing_poststop_only_warns() {
    let Some(mut t) = ctx!("failing_poststop_only_warns") else {
        return;
    };
    let (b, id, out) = running_with_failing(&mut t, "poststop");
    t.cmd(&["start", &id]).ok();
    t.cmd(&["kill", &id, "KILL"]).ok();
    t.wait_status(&id, "stopped", SECS5);
    let delete = t.cmd(&["delete", &id]);
    delete.ok();
    second_hook_ran(&t, &out, "poststop", &delete);
    t.assert_no_leftovers(&id, &b, None);
}

// req: rt-hooks-startcontainer
#[test]
fn failing_start_container_hook_fails_start() {
    let Some(mut t) = ctx!("failing_start_container_hook_fails_start") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("echo user-process-ran");
    b.hook("startContainer", failing_hook(5));
    let id = t.id("startfail");
    t.create(&b, &id).ok();
    let start = t.cmd(&["start", &id]);
    t.wait_status(&id, "stopped", SECS5);
    assert!(
        !t.container_stdout(&id).contains("user-process-ran"),
        "the user process ran: {}",
        start.describe()
    );
    t.cmd(&["delete", "--force", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
}
