//! The lifecycle seen from the host: state JSON at each step, list, pid file, kill forms,
//! delete, run and its variants, and that nothing is left afterwards.

use std::time::Duration;

use kapsel_integration::leftovers::Footprint;
use kapsel_integration::logfmt::is_rfc3339;
use kapsel_integration::{ctx, procfs};
use nix::sys::wait::WaitStatus;
use serde_json::json;

const SECS5: Duration = Duration::from_secs(5);

// req: rt-scope-operations, rt-ops-supported, rt-state-fields, rt-create-status-created, rt-start-status-running, rt-kill-stopped-status, rt-delete-removes-resources
// spec: annotations
#[test]
fn state_json_through_created_running_stopped_deleted() {
    let Some(mut t) = ctx!("state_json_through_created_running_stopped_deleted") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b.set(
        "/annotations",
        json!({"org.kapsel.test": "yes", "other": "1"}),
    );
    let id = t.id("state");
    t.create(&b, &id).ok();

    let created = t.state_ok(&id);
    assert_eq!(created["status"], "created", "{created}");
    assert_eq!(created["id"], id.as_str());
    assert!(
        created["ociVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{created}"
    );
    let pid = created["pid"].as_i64().expect("numeric pid") as i32;
    assert!(
        pid > 0 && procfs::is_alive(pid),
        "created pid {pid} not alive"
    );
    let pid_file = std::fs::read_to_string(t.pid_file(&id)).expect("pid file");
    assert_eq!(
        pid_file.trim().parse::<i32>().ok(),
        Some(pid),
        "--pid-file vs state pid"
    );
    assert_eq!(
        created["bundle"],
        b.dir.to_str().expect("utf-8 path"),
        "{created}"
    );
    assert_eq!(
        created["rootfs"],
        b.rootfs().to_str().expect("utf-8 path"),
        "{created}"
    );
    assert!(
        created["created"].as_str().is_some_and(is_rfc3339),
        "created time: {created}"
    );
    // runc leaves owner empty for root-owned containers; the field must be there.
    assert!(
        created["owner"]
            .as_str()
            .is_some_and(|o| o.is_empty() || o == "root"),
        "{created}"
    );
    assert_eq!(
        created["annotations"],
        json!({"org.kapsel.test": "yes", "other": "1"})
    );
    assert_eq!(
        procfs::ppid(pid),
        Some(std::process::id() as i32),
        "create must exit and leave the init to the caller (a subreaper)"
    );
    let footprint = Footprint::of(pid);
    for kind in ["mnt", "pid", "uts", "ipc", "net"] {
        assert!(
            footprint.namespaces.iter().any(|(k, _)| k == kind),
            "no new {kind} ns: {footprint:?}"
        );
    }

    t.cmd(&["start", &id]).ok();
    let running = t.state_ok(&id);
    assert_eq!(running["status"], "running", "{running}");
    assert_eq!(running["pid"].as_i64(), Some(pid as i64));

    t.cmd(&["kill", &id, "KILL"]).ok();
    let stopped = t.wait_status(&id, "stopped", SECS5);
    assert_eq!(
        stopped["pid"], 0,
        "a stopped container reports pid 0: {stopped}"
    );
    assert_eq!(stopped["created"], created["created"]);

    t.cmd(&["delete", &id]).ok();
    t.cmd(&["state", &id])
        .failed()
        .err_mentions("does not exist");
    t.assert_no_leftovers(&id, &b, Some(&footprint));
}

// req: rt-lifecycle-no-program-at-create, rt-create-args-not-before-start
#[test]
fn create_does_not_run_the_process_until_start() {
    let Some(mut t) = ctx!("create_does_not_run_the_process_until_start") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("echo started");
    let id = t.id("gate");
    t.create(&b, &id).ok();
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        t.container_stdout(&id),
        "",
        "the user process ran before start"
    );
    // The container process exists but has not executed the program.
    let pid = t.state_ok(&id)["pid"].as_i64().expect("pid");
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&cmdline).starts_with("sh\0-c\0echo started"),
        "the container process runs the program before start: {cmdline:?}"
    );
    assert_eq!(t.state_ok(&id)["status"], "created");
    t.cmd(&["start", &id]).ok();
    t.wait_for_file(&t.stdout_path(&id), "started", SECS5);
    t.wait_status(&id, "stopped", SECS5);
    t.cmd(&["delete", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
}

// req: rt-kill-stopped-status
#[test]
fn state_sees_a_process_that_exited_on_its_own() {
    let Some(mut t) = ctx!("state_sees_a_process_that_exited_on_its_own") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("exit 3");
    let id = t.id("self-exit");
    let pid = t.create_and_start(&b, &id);
    let stopped = t.wait_status(&id, "stopped", SECS5);
    assert_eq!(stopped["pid"], 0, "{stopped}");
    assert!(
        matches!(procfs::reap(pid, SECS5), Some(WaitStatus::Exited(_, 3))),
        "the caller (a subreaper) reaps the container init with its exit status"
    );
    t.cmd(&["delete", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn list_shows_containers_as_table_json_and_quiet() {
    let Some(mut t) = ctx!("list_shows_containers_as_table_json_and_quiet") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let (a, c) = (t.id("list-a"), t.id("list-b"));
    t.create(&b, &a).ok();
    t.create_and_start(&b, &c);

    let quiet = t.cmd(&["list", "-q"]);
    quiet.ok();
    let mut ids: Vec<&str> = quiet.stdout.lines().collect();
    ids.sort();
    assert_eq!(ids, [a.as_str(), c.as_str()], "{}", quiet.describe());

    let table = t.cmd(&["list"]);
    table.ok();
    let header = table.stdout.lines().next().unwrap_or("");
    assert!(
        header.starts_with("ID") && header.contains("STATUS"),
        "{}",
        table.describe()
    );
    let row = |id: &str| {
        table
            .stdout
            .lines()
            .find(|l| l.starts_with(id))
            .map(str::to_string)
    };
    assert!(
        row(&a).is_some_and(|r| r.contains("created")),
        "{}",
        table.describe()
    );
    assert!(
        row(&c).is_some_and(|r| r.contains("running")),
        "{}",
        table.describe()
    );

    let json = t.cmd(&["list", "--format", "json"]);
    json.ok();
    let list: serde_json::Value = serde_json::from_str(&json.stdout).expect("list json");
    let entries = list.as_array().expect("a JSON array");
    assert_eq!(entries.len(), 2, "{list}");
    for entry in entries {
        let want = if entry["id"] == a.as_str() {
            "created"
        } else {
            "running"
        };
        assert_eq!(entry["status"], want, "{entry}");
        assert!(entry["pid"].as_i64().is_some_and(|p| p > 0), "{entry}");
        assert_eq!(entry["bundle"], b.dir.to_str().expect("utf-8"), "{entry}");
    }
    t.cmd(&["delete", "--force", &a]).ok();
    t.cmd(&["delete", "--force", &c]).ok();
    let empty = t.cmd(&["list", "-q"]);
    empty.ok();
    assert_eq!(empty.stdout.trim(), "", "{}", empty.describe());
}

/// A container whose init traps USR1, HUP and TERM with distinct exit codes.
const TRAPS: &str = "trap 'exit 10' USR1; trap 'exit 11' HUP; trap 'exit 12' TERM; \
                     echo ready; while :; do sleep 10 & wait $!; done";

// req: rt-kill-sends-signal
#[test]
fn kill_accepts_names_with_and_without_sig_and_numbers() {
    let Some(mut t) = ctx!("kill_accepts_names_with_and_without_sig_and_numbers") else {
        return;
    };
    let mut b = t.bundle();
    b.sh(TRAPS);
    for (signal, code) in [
        (Some("USR1"), 10),
        (Some("SIGHUP"), 11),
        (Some("15"), 12),
        (None, 12),
    ] {
        let id = t.id("kill");
        let pid = t.create_and_start(&b, &id);
        t.wait_for_file(&t.stdout_path(&id), "ready", SECS5);
        let mut args = vec!["kill", id.as_str()];
        args.extend(signal);
        t.cmd(&args).ok();
        let status = procfs::reap(pid, SECS5);
        assert!(
            matches!(status, Some(WaitStatus::Exited(_, c)) if c == code),
            "kill {signal:?}: container ended with {status:?}, wanted exit {code}"
        );
        t.wait_status(&id, "stopped", SECS5);
        t.cmd(&["delete", &id]).ok();
    }
}

#[test]
fn kill_all_reaches_every_process() {
    let Some(mut t) = ctx!("kill_all_reaches_every_process") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("sleep 1000 & sleep 1000 & echo ready; wait");
    let id = t.id("killall");
    t.create_and_start(&b, &id);
    t.wait_for_file(&t.stdout_path(&id), "ready", SECS5);
    let footprint = t.footprint(&id);
    t.cmd(&["kill", "--all", &id, "KILL"]).ok();
    t.wait_status(&id, "stopped", SECS5);
    t.cmd(&["delete", &id]).ok();
    t.assert_no_leftovers(&id, &b, Some(&footprint));
}

#[test]
fn delete_force_removes_a_running_container() {
    let Some(mut t) = ctx!("delete_force_removes_a_running_container") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("sleep 1000 & sleep 1000");
    let id = t.id("force");
    let pid = t.create_and_start(&b, &id);
    let footprint = t.footprint(&id);
    t.cmd(&["delete", "--force", &id]).ok();
    assert!(
        !procfs::is_alive(pid),
        "delete --force returned before the init died"
    );
    t.assert_no_leftovers(&id, &b, Some(&footprint));
}

#[test]
fn delete_force_removes_a_created_container() {
    let Some(mut t) = ctx!("delete_force_removes_a_created_container") else {
        return;
    };
    let b = t.bundle();
    let id = t.id("force-created");
    t.create(&b, &id).ok();
    let footprint = t.footprint(&id);
    t.cmd(&["delete", "-f", &id]).ok();
    t.assert_no_leftovers(&id, &b, Some(&footprint));
}

// req: rt-lifecycle-delete-destroys, rt-delete-removes-resources
#[test]
fn kill_9_from_the_host_then_delete_leaves_nothing() {
    let Some(mut t) = ctx!("kill_9_from_the_host_then_delete_leaves_nothing") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("kill9");
    let pid = t.create_and_start(&b, &id);
    let footprint = t.footprint(&id);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .expect("kill -9 the container init");
    t.wait_status(&id, "stopped", SECS5);
    t.cmd(&["delete", &id]).ok();
    t.assert_no_leftovers(&id, &b, Some(&footprint));
}

#[test]
fn run_returns_the_exit_status_and_deletes() {
    let Some(mut t) = ctx!("run_returns_the_exit_status_and_deletes") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("echo out; exit 42");
    let id = t.id("run");
    let out = t.run(&b, &id);
    assert_eq!(out.code, Some(42), "{}", out.describe());
    assert_eq!(out.stdout, "out\n");
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn run_observes_a_process_that_exits_at_once() {
    let Some(mut t) = ctx!("run_observes_a_process_that_exits_at_once") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["true"]);
    for _ in 0..5 {
        let id = t.id("run-fast");
        let out = t.run(&b, &id);
        assert_eq!(out.code, Some(0), "{}", out.describe());
        t.assert_no_leftovers(&id, &b, None);
    }
}

#[test]
fn run_detach_returns_while_the_container_runs() {
    let Some(mut t) = ctx!("run_detach_returns_while_the_container_runs") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("detach");
    let pid_file = t.pid_file(&id);
    let pid_arg = pid_file.to_str().expect("utf-8").to_string();
    let out = t.run_with(&b, &id, &["--detach", "--pid-file", &pid_arg]);
    out.ok();
    let pid = t.track_pid_file(&id).expect("run -d wrote the pid file");
    let state = t.state_ok(&id);
    assert_eq!(state["status"], "running", "{state}");
    assert_eq!(state["pid"].as_i64(), Some(pid as i64));
    let footprint = Footprint::of(pid);
    t.cmd(&["kill", &id, "9"]).ok();
    t.wait_status(&id, "stopped", SECS5);
    t.cmd(&["delete", &id]).ok();
    t.assert_no_leftovers(&id, &b, Some(&footprint));
}

#[test]
fn run_keep_leaves_a_stopped_container() {
    let Some(mut t) = ctx!("run_keep_leaves_a_stopped_container") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("exit 7");
    let id = t.id("keep");
    let out = t.run_with(&b, &id, &["--keep"]);
    assert_eq!(out.code, Some(7), "{}", out.describe());
    let state = t.state_ok(&id);
    assert_eq!(state["status"], "stopped", "{state}");
    t.cmd(&["delete", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn create_accepts_flags_after_the_id() {
    let Some(mut t) = ctx!("create_accepts_flags_after_the_id") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["true"]);
    let id = t.id("late-flags");
    t.write_bundle(&b, &id);
    let pid_file = t.pid_file(&id);
    t.rt()
        .args(["create", id.as_str(), "--bundle"])
        .args([&b.dir])
        .arg("--pid-file")
        .arg(&pid_file)
        .stdout_to(&t.stdout_path(&id))
        .run()
        .ok();
    t.track_pid_file(&id).expect("pid file written");
    assert_eq!(t.state_ok(&id)["bundle"], b.dir.to_str().expect("utf-8"));
    t.cmd(&["delete", "--force", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn version_names_the_runtime_spec() {
    let Some(t) = ctx!("version_names_the_runtime_spec") else {
        return;
    };
    let out = t.cmd(&["--version"]);
    out.ok();
    let spec = out.stdout.lines().find(|l| l.starts_with("spec:"));
    assert!(
        spec.is_some_and(|l| l.trim_start_matches("spec:").trim().starts_with("1.")),
        "--version should print a `spec: 1.x` line: {}",
        out.describe()
    );
}

#[test]
fn spec_writes_a_default_config() {
    let Some(t) = ctx!("spec_writes_a_default_config") else {
        return;
    };
    let dir = t.work().join("spec");
    std::fs::create_dir(&dir).expect("mkdir");
    t.rt().args(["spec", "--bundle"]).arg(&dir).run().ok();
    let text = std::fs::read_to_string(dir.join("config.json")).expect("config.json written");
    let config: serde_json::Value = serde_json::from_str(&text).expect("config.json is JSON");
    assert!(
        config["ociVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("1.")),
        "{config}"
    );
    assert_eq!(config["root"]["path"], "rootfs");
    assert!(config["process"]["args"]
        .as_array()
        .is_some_and(|a| !a.is_empty()));
    let kinds: Vec<&str> = config["linux"]["namespaces"]
        .as_array()
        .map(|l| l.iter().filter_map(|n| n["type"].as_str()).collect())
        .unwrap_or_default();
    for kind in ["pid", "mount", "network", "ipc", "uts"] {
        assert!(
            kinds.contains(&kind),
            "default spec lacks {kind} namespace: {kinds:?}"
        );
    }
}

#[test]
fn concurrent_creates_never_clash() {
    let Some(mut t) = ctx!("concurrent_creates_never_clash") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let ids: Vec<String> = (0..4).map(|i| t.id(&format!("par{i}"))).collect();
    // One bundle for all; under the systemd driver one each, as the harness writes each
    // container's unit name into its config.
    let bundles: Vec<_> = ids
        .iter()
        .map(|_| {
            if t.systemd_driver() {
                t.bundle()
            } else {
                b.clone()
            }
        })
        .map(|mut b| {
            b.args(&["sleep", "1000"]);
            b
        })
        .collect();
    let cmds: Vec<_> = ids
        .iter()
        .zip(&bundles)
        .map(|(id, b)| t.create_cmd(b, id, t.rt()).arg(id))
        .collect();
    let outs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = cmds.into_iter().map(|c| s.spawn(move || c.run())).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("create thread"))
            .collect()
    });
    for (id, out) in ids.iter().zip(&outs) {
        out.ok();
        t.track_pid_file(id).expect("pid file");
    }
    let list = t.cmd(&["list", "-q"]);
    let mut listed: Vec<&str> = list.stdout.lines().collect();
    listed.sort();
    assert_eq!(listed, ids.iter().map(String::as_str).collect::<Vec<_>>());
    for (id, b) in ids.iter().zip(&bundles) {
        assert_eq!(t.state_ok(id)["status"], "created");
        t.cmd(&["delete", "--force", id]).ok();
        t.assert_no_leftovers(id, b, None);
    }
}

#[test]
fn concurrent_creates_of_one_id_succeed_once() {
    let Some(mut t) = ctx!("concurrent_creates_of_one_id_succeed_once") else {
        return;
    };
    if t.kapsel_only("1.1.5 races here: a losing create can remove the winner's state") {
        return;
    }
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("race");
    t.write_bundle(&b, &id);
    // Separate pid files, so the loser cannot overwrite the winner's.
    let cmds: Vec<_> = (0..4)
        .map(|i| {
            t.rt()
                .args(["create", "--bundle"])
                .arg(&b.dir)
                .arg("--pid-file")
                .arg(t.work().join(format!("race-{i}.pid")))
                .stdout_to(&t.stdout_path(&id))
                .arg(&id)
        })
        .collect();
    let outs: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = cmds.into_iter().map(|c| s.spawn(move || c.run())).collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("create thread"))
            .collect()
    });
    let winners: Vec<usize> = (0..4).filter(|i| outs[*i].success()).collect();
    assert_eq!(winners.len(), 1, "exactly one create wins: {outs:#?}");
    let pid: i32 = std::fs::read_to_string(t.work().join(format!("race-{}.pid", winners[0])))
        .expect("winner's pid file")
        .trim()
        .parse()
        .expect("pid");
    t.track_pid(pid);
    for out in outs.iter().filter(|o| !o.success()) {
        out.err_mentions("exists");
    }
    let state = t.state_ok(&id);
    assert_eq!(state["status"], "created", "{state}");
    assert_eq!(state["pid"].as_i64(), Some(pid as i64));
    t.cmd(&["delete", "--force", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn spec_rootless_maps_the_user() {
    let Some(t) = ctx!("spec_rootless_maps_the_user") else {
        return;
    };
    let dir = t.work().join("spec-rootless");
    std::fs::create_dir(&dir).expect("mkdir");
    t.rt()
        .args(["spec", "--rootless", "--bundle"])
        .arg(&dir)
        .run()
        .ok();
    let text = std::fs::read_to_string(dir.join("config.json")).expect("config.json written");
    let config: serde_json::Value = serde_json::from_str(&text).expect("config.json is JSON");
    let namespaces = config["linux"]["namespaces"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        namespaces.iter().any(|n| n["type"] == "user"),
        "no user namespace: {config}"
    );
    for key in ["uidMappings", "gidMappings"] {
        assert!(
            config["linux"][key]
                .as_array()
                .is_some_and(|m| !m.is_empty()),
            "no {key}: {config}"
        );
    }
}

#[test]
fn help_lists_the_commands() {
    let Some(t) = ctx!("help_lists_the_commands") else {
        return;
    };
    let out = t.cmd(&["--help"]);
    out.ok();
    for command in [
        "create", "start", "state", "kill", "delete", "list", "run", "spec",
    ] {
        assert!(
            out.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(command)),
            "--help does not list `{command}`: {}",
            out.describe()
        );
    }
}

#[test]
fn works_with_the_minimal_env_callers_give() {
    let Some(mut t) = ctx!("works_with_the_minimal_env_callers_give") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("bare-env");
    t.create(&b, &id).ok();
    let footprint = t.footprint(&id);
    // podman: start gets PATH and an empty XDG_RUNTIME_DIR; kill, delete and state get no PATH.
    let bare = |args: &[&str], path: bool| {
        let cmd = t.rt().clear_env().env("XDG_RUNTIME_DIR", "");
        let cmd = if path {
            cmd.env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        } else {
            cmd
        };
        cmd.args(args).run()
    };
    bare(&["start", &id], true).ok();
    assert_eq!(t.state_ok(&id)["status"], "running");
    bare(&["state", &id], false).ok();
    bare(&["kill", &id, "9"], false).ok();
    t.wait_status(&id, "stopped", SECS5);
    bare(&["delete", "--force", &id], false).ok();
    t.assert_no_leftovers(&id, &b, Some(&footprint));
}
