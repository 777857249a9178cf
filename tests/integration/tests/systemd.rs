//! The systemd cgroup driver (`--systemd-cgroup`, `cgroupsPath` = `slice:prefix:name`)
//! against a real systemd booted in its own namespaces (see `systemd_machine`): the
//! container's cgroup is a transient scope with `Delegate=yes` and the limits as unit
//! properties, the runtime itself is not left in it, `update` changes the properties,
//! `pause` freezes the scope, `delete` stops the unit and its cgroup is gone; bad input
//! starts no unit and leaves no state.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kapsel_integration::systemd_machine::SystemdMachine;
use kapsel_integration::{ctx, Bundle, Ctx};
use serde_json::json;

/// A booted machine, or a printed skip.
fn machine(t: &Ctx, tag: &str) -> Option<SystemdMachine> {
    if t.kapsel_only("talks to systemd over the system bus, which this test machine has not") {
        return None;
    }
    match SystemdMachine::boot(tag) {
        Ok(m) => Some(m),
        Err(why) => {
            t.skip(&why);
            None
        }
    }
}

/// `kapsel --root ROOT --systemd-cgroup ARGS` on the machine.
fn on(m: &SystemdMachine, t: &Ctx, args: &[&str]) -> kapsel_integration::Output {
    m.cmd(&t.rt.path, t.work())
        .arg("--root")
        .arg(t.root())
        .arg("--systemd-cgroup")
        .args(args)
        .run()
}

fn bundle(t: &Ctx, id: &str, args: &[&str]) -> Bundle {
    let mut b = t.bundle();
    b.args(args)
        .set(
            "/linux/cgroupsPath",
            json!(format!("machine.slice:kapsel:{id}")),
        )
        .set(
            "/linux/resources/memory",
            json!({"limit": 100 * 1024 * 1024}),
        )
        .set("/linux/resources/pids", json!({"limit": 64}));
    b.write();
    b
}

fn create(m: &SystemdMachine, t: &Ctx, b: &Bundle, id: &str) -> kapsel_integration::Output {
    on(m, t, &["create", "--bundle", b.dir.to_str().unwrap(), id])
}

#[test]
fn the_container_cgroup_is_a_delegated_scope_with_the_limits_as_properties() {
    let Some(mut t) = ctx!("systemd_scope") else {
        return;
    };
    let Some(m) = machine(&t, "scope") else {
        return;
    };
    let id = t.id("sd");
    let b = bundle(&t, &id, &["sleep", "60"]);
    create(&m, &t, &b, &id).ok();
    let unit = format!("kapsel-{id}.scope");
    let shown = m.show(
        &unit,
        &[
            "ActiveState",
            "ControlGroup",
            "Delegate",
            "MemoryMax",
            "TasksMax",
            "Slice",
        ],
        t.work(),
    );
    for want in [
        "ActiveState=active".to_string(),
        format!("ControlGroup=/machine.slice/{unit}"),
        "Delegate=yes".to_string(),
        "MemoryMax=104857600".to_string(),
        "TasksMax=64".to_string(),
        "Slice=machine.slice".to_string(),
    ] {
        assert!(shown.lines().any(|l| l == want), "want {want} in:\n{shown}");
    }
    // Only the container's process is in the scope: `create` has left it.
    let scope = m.host_dir(&format!("machine.slice/{unit}"));
    let procs = std::fs::read_to_string(scope.join("cgroup.procs")).unwrap();
    assert_eq!(procs.lines().count(), 1, "scope holds {procs:?}");

    on(&m, &t, &["start", &id]).ok();
    on(&m, &t, &["pause", &id]).ok();
    let frozen = std::fs::read_to_string(scope.join("cgroup.freeze")).unwrap();
    assert_eq!(frozen.trim(), "1", "pause freezes the scope");
    let state = on(&m, &t, &["state", &id]);
    assert!(state.ok().stdout.contains("\"paused\""), "{}", state.stdout);
    on(&m, &t, &["resume", &id]).ok();

    on(
        &m,
        &t,
        &["update", "--memory", "200M", "--pids-limit", "99", &id],
    )
    .ok();
    let shown = m.show(&unit, &["MemoryMax", "TasksMax"], t.work());
    assert!(shown.contains("MemoryMax=209715200"), "{shown}");
    assert!(shown.contains("TasksMax=99"), "{shown}");

    on(&m, &t, &["delete", "--force", &id]).ok();
    let shown = m.show(&unit, &["LoadState"], t.work());
    assert!(shown.contains("LoadState=not-found"), "unit left: {shown}");
    assert!(!scope.exists(), "`{}` left behind", scope.display());
    assert!(!t.root().join(&id).exists(), "state dir left");
}

#[test]
fn a_running_kapsel_is_not_counted_in_the_containers_scope() {
    let Some(mut t) = ctx!("systemd_run_leaves_scope") else {
        return;
    };
    let Some(m) = machine(&t, "run") else {
        return;
    };
    let id = t.id("sdrun");
    let b = bundle(&t, &id, &["sleep", "3"]);
    let mut run = Command::new("/usr/bin/nsenter")
        .args(["-t", &m.pid.to_string(), "-m", "-C", "-p", "--"])
        .arg(&t.rt.path)
        .arg("--root")
        .arg(t.root())
        .args(["--systemd-cgroup", "run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn nsenter kapsel run");
    let scope = m.host_dir(&format!("machine.slice/kapsel-{id}.scope"));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = None;
    while Instant::now() < deadline {
        let procs = std::fs::read_to_string(scope.join("cgroup.procs")).unwrap_or_default();
        let pids: Vec<&str> = procs.lines().collect();
        let comms: Vec<String> = pids
            .iter()
            .map(|p| std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default())
            .collect();
        if comms.iter().any(|c| c.trim() == "sleep") {
            seen = Some(comms);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let still_running = run.try_wait().expect("try_wait").is_none();
    let status = run.wait().expect("wait for kapsel run");
    let comms = seen.expect("the container's sleep never appeared in its scope");
    assert!(
        still_running,
        "kapsel run should still be waiting for the container"
    );
    assert_eq!(
        comms.len(),
        1,
        "the scope holds more than the container: {comms:?}"
    );
    assert!(status.success(), "kapsel run: {status}");
    let shown = m.show(&format!("kapsel-{id}.scope"), &["LoadState"], t.work());
    assert!(shown.contains("LoadState=not-found"), "unit left: {shown}");
    assert!(!t.root().join(&id).exists(), "state dir left");
}

#[test]
fn refused_units_leave_no_state_and_no_unit() {
    let Some(mut t) = ctx!("systemd_refused") else {
        return;
    };
    let Some(m) = machine(&t, "refused") else {
        return;
    };
    // A slice as the container's unit is refused before systemd is asked.
    let id = t.id("sdbad");
    let mut b = bundle(&t, &id, &["true"]);
    b.set("/linux/cgroupsPath", json!("machine.slice:kapsel:x.slice"));
    b.write();
    let out = create(&m, &t, &b, &id);
    out.failed().err_mentions("linux.cgroupsPath");
    assert!(!t.root().join(&id).exists(), "state dir left");

    // A unit systemd already has: StartTransientUnit fails, the first container is intact.
    let first = t.id("sdone");
    let b1 = bundle(&t, &first, &["sleep", "60"]);
    create(&m, &t, &b1, &first).ok();
    let second = t.id("sdtwo");
    let mut b2 = bundle(&t, &second, &["sleep", "60"]);
    b2.set(
        "/linux/cgroupsPath",
        json!(format!("machine.slice:kapsel:{first}")),
    );
    b2.write();
    let out = create(&m, &t, &b2, &second);
    out.failed().err_mentions("StartTransientUnit");
    assert_eq!(out.stderr_lines().len(), 1, "{}", out.describe());
    assert!(
        !t.root().join(&second).exists(),
        "state dir of the refused one left"
    );
    let shown = m.show(&format!("kapsel-{first}.scope"), &["ActiveState"], t.work());
    assert!(shown.contains("ActiveState=active"), "{shown}");
    on(&m, &t, &["delete", "--force", &first]).ok();
    assert!(!Path::new(&m.host_dir(&format!("machine.slice/kapsel-{first}.scope"))).exists());
}

// Limits systemd takes as properties are checked with the rest before systemd is told any
// of them: a refused `create` starts no unit, a refused `update` changes no property (the VM's
// check 51 checks the files too).
#[test]
fn refused_limits_set_no_property() {
    let Some(mut t) = ctx!("systemd_refused_limits") else {
        return;
    };
    let Some(m) = machine(&t, "limits") else {
        return;
    };
    let id = t.id("sdneg");
    let mut b = bundle(&t, &id, &["true"]);
    b.set("/linux/resources/memory", json!({"limit": -5}));
    b.write();
    create(&m, &t, &b, &id)
        .failed()
        .err_mentions("linux.resources.memory.limit");
    let shown = m.show(&format!("kapsel-{id}.scope"), &["LoadState"], t.work());
    assert!(shown.contains("LoadState=not-found"), "unit left: {shown}");

    let id = t.id("sdupd");
    let b = bundle(&t, &id, &["sleep", "60"]);
    create(&m, &t, &b, &id).ok();
    let unit = format!("kapsel-{id}.scope");
    let out = on(
        &m,
        &t,
        &[
            "update",
            "--cpu-rt-period",
            "400000",
            "--pids-limit",
            "31",
            &id,
        ],
    );
    out.failed().err_mentions("realtime");
    let shown = m.show(&unit, &["TasksMax"], t.work());
    assert!(
        shown.contains("TasksMax=64"),
        "a refused update set a property: {shown}"
    );
    on(&m, &t, &["delete", "--force", &id]).ok();
}
