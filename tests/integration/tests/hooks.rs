//! Hooks of every kind: when they run, the state JSON on their stdin, their args and env,
//! the timeout, and what their failure does (fatal before start, a warning after).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kapsel_integration::{ctx, Bundle, Ctx};
use serde_json::{json, Value};

const SECS5: Duration = Duration::from_secs(5);
/// Records, under the label in $1: its stdin (the state), args, env, namespaces, the
/// command line of the container process named in the state, and its place in `order`.
const HOOK_SCRIPT: &str = "#!/bin/sh\n\
    label=$1\n\
    cat > \"$OUT_DIR/$label.json\"\n\
    echo \"$*\" > \"$OUT_DIR/$label.args\"\n\
    env > \"$OUT_DIR/$label.env\"\n\
    for ns in mnt uts ipc net pid; do echo \"$ns $(readlink /proc/self/ns/$ns)\"; done > \"$OUT_DIR/$label.ns\"\n\
    pid=$(sed -n 's/.*\"pid\":\\([0-9][0-9]*\\).*/\\1/p' \"$OUT_DIR/$label.json\")\n\
    if [ -n \"$pid\" ] && [ \"$pid\" != 0 ]; then tr '\\0' ' ' < /proc/$pid/cmdline > \"$OUT_DIR/$label.cmdline\"; fi\n\
    echo \"$label\" >> \"$OUT_DIR/order\"\n";
/// The same inside the container (startContainer), where /out is the output dir and the
/// container process is pid 1; it takes its time, so a runtime that does not wait for it
/// before the program and the poststart hooks is caught.
const CONTAINER_HOOK_SCRIPT: &str = "#!/bin/sh\n\
    label=$1\n\
    cat > /out/$label.json\n\
    echo \"$*\" > /out/$label.args\n\
    env > /out/$label.env\n\
    for ns in mnt uts ipc net pid; do echo \"$ns $(readlink /proc/self/ns/$ns)\"; done > /out/$label.ns\n\
    tr '\\0' ' ' < /proc/1/cmdline > /out/$label.cmdline\n\
    sleep 0.3\n\
    echo \"$label\" >> /out/order\n";
/// Where CONTAINER_HOOK_SCRIPT lies in the rootfs: a startContainer path resolves in the
/// container, so nothing may exist at this path on the host.
const CONTAINER_HOOK: &str = "/kapsel-it-start-hook.sh";
const KINDS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// The hooks' output dir on the host (also bound at /out in the container) and the recorder.
fn recorder(t: &Ctx) -> (PathBuf, PathBuf) {
    let out = t.work().join("hooks-out");
    std::fs::create_dir_all(&out).expect("mkdir hooks-out");
    let script = t.work().join("hook.sh");
    write_script(&script, HOOK_SCRIPT);
    (out, script)
}

fn write_script(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write `{}`: {e}", path.display()));
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
}

/// A runtime-namespace hook that records its stdin, args and env under `label`.
fn recording_hook(script: &Path, out: &Path, label: &str) -> Value {
    json!({
        "path": script,
        "args": ["hook.sh", label, "second-arg"],
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

/// The labels in `order`, one per hook that ran.
fn order_of(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("order"))
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
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
    assert!(
        !Path::new(CONTAINER_HOOK).exists(),
        "{CONTAINER_HOOK} exists on the host"
    );
    write_script(
        &b.rootfs().join(CONTAINER_HOOK.trim_start_matches('/')),
        CONTAINER_HOOK_SCRIPT,
    );
    // Two hooks of each kind, to see the listed order kept within a kind.
    for kind in KINDS {
        for label in [kind.to_string(), format!("{kind}.2")] {
            let hook = if kind == "startContainer" {
                json!({"path": CONTAINER_HOOK, "args": ["startc.sh", label, "second-arg"],
                       "env": ["HOOK_VAR=hook-value"]})
            } else {
                recording_hook(&script, &out, &label)
            };
            b.hook(kind, hook);
        }
    }
    let id = t.id("hooks");
    let create = t
        .create_cmd(&b, &id, t.rt())
        .env("KAPSEL_ITEST_OUTER", "1")
        .arg(&id);
    create.run().ok();
    t.track_pid_file(&id).expect("pid file");
    let footprint = t.footprint(&id);
    let container_ns = |link: &str| {
        footprint
            .namespaces
            .iter()
            .find_map(|(kind, ns)| (kind == link).then(|| ns.clone()))
            .unwrap_or_else(|| panic!("the container has no {link} namespace of its own"))
    };
    let host_ns = |link: &str| {
        kapsel_integration::procfs::link(std::process::id() as i32, &format!("ns/{link}"))
            .map(|l| l.to_string_lossy().into_owned())
            .expect("host ns")
    };
    let before_start = order_of(&out);
    for label in [
        "prestart",
        "prestart.2",
        "createRuntime",
        "createRuntime.2",
        "createContainer",
        "createContainer.2",
    ] {
        assert!(
            before_start.iter().any(|l| l == label),
            "{label} did not run during create: {before_start:?}"
        );
    }
    assert!(
        !before_start.iter().any(|l| l.starts_with("startContainer")),
        "startContainer ran during create: {before_start:?}"
    );
    if t.checks_kapsel_only("poststart waits for start (runc 1.1 runs it during create)") {
        assert!(
            !before_start.iter().any(|l| l.starts_with("poststart")),
            "poststart ran during create: {before_start:?}"
        );
    }

    t.rt()
        .env("KAPSEL_ITEST_OUTER", "1")
        .args(["start", id.as_str()])
        .run()
        .ok();
    // Before start returns: startContainer before the program, poststart after it.
    let after_start = order_of(&out);
    for label in [
        "startContainer",
        "startContainer.2",
        "poststart",
        "poststart.2",
    ] {
        assert!(
            after_start.iter().any(|l| l == label),
            "{label} had not run when start returned: {after_start:?}"
        );
    }
    t.cmd(&["kill", &id, "KILL"]).ok();
    t.wait_status(&id, "stopped", SECS5);
    t.rt()
        .env("KAPSEL_ITEST_OUTER", "1")
        .args(["delete", id.as_str()])
        .run()
        .ok();

    let order = order_of(&out);
    let pos = |label: &str| {
        order
            .iter()
            .position(|l| l == label)
            .unwrap_or_else(|| panic!("{label} never ran: {order:?}"))
    };
    for kind in KINDS {
        assert!(
            pos(kind) < pos(&format!("{kind}.2")),
            "{kind} hooks out of their listed order: {order:?}"
        );
    }
    assert!(pos("prestart.2") < pos("createRuntime"), "{order:?}");
    assert!(pos("createRuntime.2") < pos("createContainer"), "{order:?}");
    assert!(
        pos("createContainer.2") < pos("startContainer"),
        "{order:?}"
    );
    if t.checks_kapsel_only("poststart after startContainer (runc 1.1 runs it during create)") {
        assert!(pos("startContainer.2") < pos("poststart"), "{order:?}");
    }
    assert!(
        pos("startContainer.2") < pos("poststop") && pos("poststart.2") < pos("poststop"),
        "{order:?}"
    );
    assert_eq!(order.len(), 12, "each hook runs once: {order:?}");

    for kind in KINDS {
        for label in [kind.to_string(), format!("{kind}.2")] {
            let read = |what: &str| {
                std::fs::read_to_string(out.join(format!("{label}.{what}")))
                    .unwrap_or_else(|e| panic!("{label}.{what}: {e}"))
            };
            let state = read_json(&out.join(format!("{label}.json")));
            assert_eq!(state["id"], id.as_str(), "{label} stdin: {state}");
            assert!(state["ociVersion"].is_string(), "{label} stdin: {state}");
            assert!(state["status"].is_string(), "{label} stdin: {state}");
            assert_eq!(
                state["bundle"],
                b.dir.to_str().expect("utf-8"),
                "{label} stdin: {state}"
            );
            if kind != "poststop" {
                assert!(
                    state["pid"].as_i64().is_some_and(|p| p > 0),
                    "{label} stdin: {state}"
                );
            }
            // Every namespace of the container, or every one of the runtime.
            let in_container = matches!(kind, "createContainer" | "startContainer");
            for line in read("ns").lines() {
                let (link, ns) = line.split_once(' ').expect("`link ns` line");
                let want = if in_container {
                    container_ns(link)
                } else {
                    host_ns(link)
                };
                assert_eq!(
                    ns,
                    want,
                    "{label} ran in the wrong {link} namespace (in the container's: {in_container})"
                );
            }
            // The user's program runs only after the start-phase hooks, before poststart.
            let program = "sleep 1000 ";
            if kind == "poststart" {
                if t.checks_kapsel_only(
                    "poststart sees the program (runc 1.1 runs it during create)",
                ) {
                    assert_eq!(read("cmdline"), program, "{label} ran before the program");
                }
            } else if kind != "poststop" {
                assert_ne!(
                    read("cmdline"),
                    program,
                    "{label} ran after the program started"
                );
            }
            let args = read("args");
            assert!(
                args.trim_end().ends_with("second-arg"),
                "{label} args: {args:?}"
            );
            let env = read("env");
            assert!(
                env.lines().any(|l| l == "HOOK_VAR=hook-value"),
                "{label} env: {env}"
            );
            assert!(
                !env.contains("KAPSEL_ITEST_OUTER"),
                "{label} got the runtime's env: {env}"
            );
        }
    }
    t.assert_no_leftovers(&id, &b, Some(&footprint));
}

// req: rt-hooks-prestart, rt-hooks-createruntime, rt-hooks-createcontainer, rt-errors-leave-nothing
#[test]
fn failing_hooks_before_start_fail_create_and_leave_nothing() {
    let Some(mut t) = ctx!("failing_hooks_before_start_fail_create_and_leave_nothing") else {
        return;
    };
    let (out, script) = recorder(&t);
    // The runtime-spec: the runtime generates an error, stops the container and goes on
    // with its destruction, so the hooks after the failing one do not run and the
    // poststop hooks do.
    for kind in ["prestart", "createRuntime", "createContainer"] {
        let _ = std::fs::remove_file(out.join("order"));
        let mut b = t.bundle();
        b.args(&["sleep", "1000"]);
        b.hook(kind, recording_hook(&script, &out, "before"));
        b.hook(kind, failing_hook(3));
        b.hook(kind, recording_hook(&script, &out, "after"));
        b.hook("poststop", recording_hook(&script, &out, "poststop"));
        let id = t.id("hookfail");
        let created = t.create(&b, &id);
        assert!(
            !created.success(),
            "a failing {kind} hook must fail create: {}",
            created.describe()
        );
        t.assert_no_leftovers(&id, &b, None);
        assert_eq!(
            order_of(&out),
            ["before", "poststop"],
            "{kind}: the hook before the failing one, then poststop: {}",
            created.describe()
        );
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
    let (out, script) = recorder(&t);
    let mut b = t.bundle();
    b.sh("echo user-process-ran");
    b.hook("startContainer", failing_hook(5));
    b.hook("poststart", recording_hook(&script, &out, "poststart"));
    b.hook("poststop", recording_hook(&script, &out, "poststop"));
    let id = t.id("startfail");
    t.create(&b, &id).ok();
    let _ = std::fs::remove_file(out.join("order"));
    let start = t.cmd(&["start", &id]);
    if t.checks_kapsel_only(
        "start fails (runc 1.1.5 returns 0 whatever the init does after the gate)",
    ) {
        assert!(
            !start.success(),
            "a failing startContainer hook must fail start: {}",
            start.describe()
        );
        assert!(
            start.stderr.contains("hooks.startContainer[0]"),
            "the error names the hook: {}",
            start.describe()
        );
        // The program never ran, so neither do the hooks that follow it.
        assert_eq!(order_of(&out), Vec::<String>::new(), "{}", start.describe());
    }
    t.wait_status(&id, "stopped", SECS5);
    assert!(
        !t.container_stdout(&id).contains("user-process-ran"),
        "the user process ran: {}",
        start.describe()
    );
    t.cmd(&["delete", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
    assert!(
        order_of(&out).iter().any(|l| l == "poststop"),
        "delete ran no poststop hook: {:?}",
        order_of(&out)
    );
}
