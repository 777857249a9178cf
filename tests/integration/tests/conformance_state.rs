//! Conformance: the state of runtime-spec runtime.md (its fields in every status, the host
//! pid, the absolute bundle path) and config.md's rules for readers (unknown properties and
//! annotation keys are ignored). `// req:` markers name the requirements in
//! docs/conformance.md.

use std::time::Duration;

use kapsel_integration::{ctx, procfs};
use serde_json::{json, Value};

const SECS5: Duration = Duration::from_secs(5);
const STATUSES: [&str; 5] = ["creating", "created", "running", "stopped", "paused"];

/// Checks the fields every state must have; returns its pid when it has one.
#[track_caller]
fn required_fields(state: &Value, id: &str, bundle: &str, status: &str) -> Option<i64> {
    let version = state["ociVersion"].as_str().unwrap_or("");
    let parts: Vec<&str> = version.split(['.', '-', '+']).collect();
    assert!(
        parts.len() >= 3 && parts[..3].iter().all(|p| p.parse::<u32>().is_ok()),
        "ociVersion is not SemVer: {state}"
    );
    assert_eq!(state["id"], id, "{state}");
    assert_eq!(state["status"], status, "{state}");
    assert!(
        STATUSES.contains(&state["status"].as_str().unwrap_or("")),
        "unknown status: {state}"
    );
    assert_eq!(state["bundle"], bundle, "bundle must be absolute: {state}");
    state["pid"].as_i64()
}

// req: rt-state-fields, rt-state-pid-host, rt-state-bundle-absolute, rt-state-status-values, rt-create-status-created, rt-start-status-running, rt-scope-operations, rt-ops-supported
#[test]
fn state_has_the_required_fields_in_every_status() {
    let Some(mut t) = ctx!("state_has_the_required_fields_in_every_status") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b.set("/annotations", json!({"org.example.conformance": "yes"}));
    b.write();
    let id = t.id("state");
    // A bundle given relative to the caller's cwd must still be reported absolute.
    let rel = b.dir.file_name().expect("bundle name").to_owned();
    let cmd = t
        .rt()
        .shell_setup(&format!(
            "cd '{}'",
            b.dir.parent().expect("parent").display()
        ))
        .args(["create", "--pid-file"])
        .arg(t.pid_file(&id))
        .arg("--bundle")
        .arg(&rel)
        .arg(&id)
        .stdout_to(&t.stdout_path(&id));
    cmd.run().ok();
    let pid_file = t.track_pid_file(&id).expect("create wrote no pid file");
    let bundle = std::fs::canonicalize(&b.dir).expect("canonical bundle");
    let bundle = bundle.to_string_lossy().into_owned();

    let created = t.state_ok(&id);
    let pid = required_fields(&created, &id, &bundle, "created").expect("created has a pid");
    assert_eq!(
        pid, pid_file as i64,
        "state pid is not the pid file's: {created}"
    );
    // The host's view: the pid exists here and lives in another pid namespace.
    assert!(
        procfs::is_alive(pid as i32),
        "pid {pid} is not a host process"
    );
    assert_ne!(
        procfs::link(pid as i32, "ns/pid"),
        procfs::link(std::process::id() as i32, "ns/pid"),
        "pid {pid} is not the container's process"
    );
    if let Some(ann) = created.get("annotations").filter(|a| !a.is_null()) {
        assert_eq!(ann["org.example.conformance"], "yes", "{created}");
    }

    t.cmd(&["start", &id]).ok();
    let running = t.state_ok(&id);
    assert_eq!(
        required_fields(&running, &id, &bundle, "running"),
        Some(pid)
    );
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&cmdline).starts_with("sleep\x001000"),
        "pid {pid} runs {cmdline:?}, not the user program"
    );

    // A value beyond the four is a state of its own: frozen, then running again.
    t.cmd(&["pause", &id]).ok();
    let paused = t.state_ok(&id);
    assert_eq!(required_fields(&paused, &id, &bundle, "paused"), Some(pid));
    let frozen = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    assert!(
        frozen
            .lines()
            .any(|l| l.starts_with("State:") && !l.contains("(running)")),
        "`paused` is not a state of its own, the process runs:\n{frozen}"
    );
    t.cmd(&["resume", &id]).ok();
    let resumed = t.state_ok(&id);
    assert_eq!(
        required_fields(&resumed, &id, &bundle, "running"),
        Some(pid)
    );

    t.cmd(&["kill", &id, "KILL"]).ok();
    let stopped = t.wait_status(&id, "stopped", SECS5);
    required_fields(&stopped, &id, &bundle, "stopped");
    t.cmd(&["delete", &id]).ok();
    t.state(&id)
        .expect_err("state of a deleted container must fail");
}

// req: cfg-extensibility-unknown, cfg-annotations-unknown-ok
// spec: annotations
#[test]
fn unknown_properties_and_annotation_keys_are_ignored() {
    let Some(mut t) = ctx!("unknown_properties_and_annotation_keys_are_ignored") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("echo ran");
    b.set("/org.example.topLevel", json!({"nested": [1, 2]}));
    b.set("/process/org.example.processField", json!(true));
    b.set("/linux/org.example.linuxField", json!("x"));
    b.set("/root/org.example.rootField", json!(1));
    // ... at every depth: entries of lists, nested objects, hooks and seccomp.
    b.set("/process/user/org.example.userField", json!([]));
    b.set(
        "/process/capabilities/org.example.capField",
        json!("CAP_NOPE"),
    );
    b.set(
        "/linux/resources/org.example.resourcesField",
        json!({"x": 1}),
    );
    b.set(
        "/linux/resources/pids",
        json!({"limit": 100, "org.example.pidsField": 2}),
    );
    for (entry, key, value) in [
        ("/mounts/0", "org.example.mountField", json!(null)),
        ("/linux/namespaces/0", "org.example.nsField", json!(false)),
    ] {
        b.config
            .pointer_mut(entry)
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("the base config has no {entry}"))
            .insert(key.to_string(), value);
    }
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100, "org.example.rlimitField": 3}]),
    );
    b.hook(
        "createRuntime",
        json!({"path": "/bin/true", "org.example.hookField": "y"}),
    );
    b.set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW", "org.example.seccompField": 1,
               "syscalls": [{"names": ["kapsel_no_such_call"], "action": "SCMP_ACT_ERRNO",
                             "org.example.ruleField": 1}]}),
    );
    b.set(
        "/annotations",
        json!({"org.example.unknown": "v", "zz.nobody.knows": "", "com.example.json": "{\"a\":1}"}),
    );
    let id = t.id("unknown");
    let out = t.run(&b, &id);
    out.ok();
    assert_eq!(out.stdout, "ran\n");
}
