//! Crash safety: kapsel SIGKILLed at every step of `create` (through its `KAPSEL_FAULT` crash
//! points) leaves nothing that `delete --force` or the next `create` of the same id cannot
//! remove; a container process killed at any moment is reported stopped and deleted cleanly.

use std::time::Duration;

use kapsel_integration::faults::{cgroup_dirs_of, cgroup_procs_of, POINTS};
use kapsel_integration::leftovers::Footprint;
use kapsel_integration::race::rounds;
use kapsel_integration::{ctx, procfs, Ctx};

const SECS5: Duration = Duration::from_secs(5);

/// Creates, starts and checks a container under `id` that must work like any other.
fn works_again(t: &mut Ctx, id: &str) {
    let mut b = t.bundle();
    b.args(&["sh", "-c", "echo alive-again; sleep 1000"]);
    let pid = t.create_and_start(&b, id);
    t.wait_for_file(&t.stdout_path(id), "alive-again", SECS5);
    let fp = Footprint::of(pid);
    t.cmd(&["delete", "--force", id]).ok();
    t.assert_no_leftovers(id, &b, Some(&fp));
}

#[test]
fn create_killed_at_each_step_then_delete_force_removes_everything() {
    let Some(mut t) = ctx!("create_killed_at_each_step_then_delete_force_removes_everything")
    else {
        return;
    };
    if t.kapsel_only("has no crash points") {
        return;
    }
    for (step, point) in (0..rounds()).flat_map(|_| POINTS.iter().enumerate()) {
        let id = t.id(&format!("crash{step}"));
        let mut b = t.bundle();
        b.args(&["sleep", "1000"]);
        let out = t.create_killed_at(&b, &id, point);
        assert_eq!(
            out.code,
            None,
            "{point}: create must die by SIGKILL: {}",
            out.describe()
        );
        // The reservation record outlives its create: the id is taken, and stopped.
        let state = t.state_ok(&id);
        assert_eq!(state["status"], "stopped", "{point}: {state}");
        assert_eq!(state["pid"], 0, "{point}: {state}");
        let list = t.cmd(&["list", "-q"]);
        assert!(
            list.stdout.lines().any(|l| l == id),
            "{point}: {}",
            list.describe()
        );
        if step >= 1 {
            assert!(
                !cgroup_dirs_of(&id).is_empty(),
                "{point}: the cgroup was made"
            );
        }
        let waiting = cgroup_procs_of(&id);
        if *point == "before-ready" {
            assert!(
                !waiting.is_empty(),
                "{point}: the init waits at the gate in its cgroup"
            );
        }
        t.cmd(&["delete", "--force", &id]).ok();
        for pid in waiting {
            procfs::reap(pid, SECS5);
            assert!(
                !procfs::is_alive(pid),
                "{point}: process {pid} survived delete"
            );
        }
        t.assert_no_leftovers(&id, &b, None);
        works_again(&mut t, &id);
    }
}

#[test]
fn create_of_an_id_whose_create_died_reclaims_it() {
    let Some(mut t) = ctx!("create_of_an_id_whose_create_died_reclaims_it") else {
        return;
    };
    if t.kapsel_only("has no crash points") {
        return;
    }
    for point in ["after-cgroup", "before-ready"] {
        let id = t.id("reclaim");
        let mut b = t.bundle();
        b.args(&["sleep", "1000"]);
        assert_eq!(t.create_killed_at(&b, &id, point).code, None);
        let orphans = cgroup_procs_of(&id);
        works_again(&mut t, &id);
        for pid in orphans {
            procfs::reap(pid, SECS5);
            assert!(
                !procfs::is_alive(pid),
                "{point}: the dead create's init {pid} lives"
            );
        }
    }
}

#[test]
fn a_create_in_progress_is_creating_and_keeps_its_id() {
    let Some(mut t) = ctx!("a_create_in_progress_is_creating_and_keeps_its_id") else {
        return;
    };
    if t.kapsel_only("reports `creating` from its reservation record") {
        return;
    }
    let id = t.id("slow");
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let gate = t.work().join("hook-may-finish");
    let entered = t.work().join("hook-entered");
    let script = format!(
        // Bounded, so a failing test never leaves a create waiting on its hook.
        "touch {}; i=0; while [ ! -e {} ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done",
        entered.display(),
        gate.display()
    );
    b.hook(
        "createRuntime",
        serde_json::json!({"path": "/bin/sh", "args": ["sh", "-c", script]}),
    );
    b.write();
    let create = {
        let cmd = t.create_cmd(&b, &id, t.rt()).arg(&id);
        std::thread::spawn(move || cmd.run())
    };
    let deadline = std::time::Instant::now() + SECS5;
    while !entered.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    // Look while the hook holds create, then let it finish before judging, so a failed
    // assertion never leaves create blocked.
    let state = t.state(&id);
    let list = t.cmd(&["list", "--format", "json"]);
    let other = t.bundle();
    let second = t.create(&other, &id);
    std::fs::write(&gate, "").expect("open the hook's gate");
    let state = state.unwrap_or_else(|out| panic!("state while creating: {}", out.describe()));
    assert_eq!(state["status"], "creating", "{state}");
    assert_eq!(state["pid"], 0, "{state}");
    assert!(list.stdout.contains("\"creating\""), "{}", list.describe());
    second.failed().err_mentions("exists");
    create.join().expect("create thread").ok();
    t.track_pid_file(&id);
    assert_eq!(t.state_ok(&id)["status"], "created");
    t.cmd(&["delete", "--force", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn container_killed_in_any_state_is_stopped_and_deletes_cleanly() {
    let Some(mut t) = ctx!("container_killed_in_any_state_is_stopped_and_deletes_cleanly") else {
        return;
    };
    for phase in ["created", "running", "paused"] {
        let id = t.id(phase);
        let mut b = t.bundle();
        b.args(&["sleep", "1000"]);
        t.create(&b, &id).ok();
        if phase != "created" {
            t.cmd(&["start", &id]).ok();
        }
        if phase == "paused" {
            t.cmd(&["pause", &id]).ok();
        }
        let fp = t.footprint(&id);
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(fp.pid),
            nix::sys::signal::Signal::SIGKILL,
        )
        .expect("kill the container's init");
        if phase == "paused" {
            // A frozen task dies only once thawed; state must still not say running.
            t.cmd(&["resume", &id]);
        }
        procfs::reap(fp.pid, SECS5);
        t.wait_status(&id, "stopped", SECS5);
        t.cmd(&["delete", &id]).ok();
        t.assert_no_leftovers(&id, &b, Some(&fp));
    }
}

/// A panic in the container process right after clone3 (panic=abort: abort(3)) ends only
/// that process, also when it shares the runtime's pid namespace, where a thread id
/// cached by the C library before the clone would name the runtime itself: create fails
/// with an exit code (not a signal) and leaves nothing. With RUST_BACKTRACE=1 the panic
/// first walks the unwind tables, which must not crash the static binary either.
#[test]
fn a_panicking_container_process_takes_down_only_itself() {
    let Some(mut t) = ctx!("a_panicking_container_process_takes_down_only_itself") else {
        return;
    };
    if t.kapsel_only("has no crash points") {
        return;
    }
    for (own_pid_ns, backtrace) in [(false, "0"), (false, "1"), (true, "0"), (true, "1")] {
        let id = t.id(&format!("panic-{own_pid_ns}-{backtrace}"));
        let mut b = t.bundle();
        b.args(&["true"]);
        if !own_pid_ns {
            b.remove_namespace("pid");
        }
        let env = [("RUST_BACKTRACE", backtrace)];
        let out = t.create_with_fault(&b, &id, "child-panic", &env);
        let what = format!("own pid namespace {own_pid_ns}, RUST_BACKTRACE={backtrace}");
        assert!(
            matches!(out.code, Some(c) if c != 0),
            "{what}: create must fail with an exit code: {}",
            out.describe()
        );
        // std prints its closing note after the backtrace walk, right before abort(3).
        assert!(
            out.stderr.contains("KAPSEL_FAULT=child-panic") && out.stderr.contains("note: "),
            "{what}: the whole panic message reaches the container's stderr: {}",
            out.describe()
        );
        t.assert_no_leftovers(&id, &b, None);
        works_again(&mut t, &id);
    }
}
