//! Bad input: each case exits non-zero with one clear stderr line and leaves nothing behind.
//! Every runtime must use runc's phrases where callers match on them (`does not exist`,
//! `not running`, `no such file or directory`); kapsel's line must also name the container id
//! and the offending field or path (`container <ID>: <verb>: <what failed>: <why>`).

use std::time::Duration;

use kapsel_integration::{ctx, Bundle, Ctx, Output};
use serde_json::json;

/// Asserts a clean rejection: non-zero exit, one stderr line holding `phrase` (any runtime)
/// and, for kapsel, each of `names`; the first name is the container id, which kapsel's
/// line starts with (`container <ID>: <verb>: ...`).
#[track_caller]
fn rejected(t: &Ctx, out: &Output, phrase: Option<&str>, names: &[&str]) {
    out.failed();
    assert_eq!(
        out.stderr_lines().len(),
        1,
        "want exactly one stderr line: {}",
        out.describe()
    );
    if let Some(phrase) = phrase {
        out.err_mentions(phrase);
    }
    if t.rt.is_kapsel {
        if let Some(id) = names.first() {
            let prefix = format!("container {id}: ");
            assert!(
                out.last_stderr_line().starts_with(&prefix),
                "kapsel's error should start with `{prefix}`: {}",
                out.describe()
            );
        }
        for name in names {
            assert!(
                out.last_stderr_line().contains(name),
                "kapsel's error should name `{name}`: {}",
                out.describe()
            );
        }
    }
}

/// `create --bundle B ID` without rewriting config.json.
fn create_raw(t: &Ctx, b: &Bundle, id: &str) -> Output {
    t.rt()
        .args(["create", "--bundle"])
        .arg(&b.dir)
        .arg(id)
        .run()
}

// req: rt-lifecycle-create-error
#[test]
fn missing_bundle() {
    let Some(mut t) = ctx!("missing_bundle") else {
        return;
    };
    let b = Bundle {
        dir: t.work().join("no-such-bundle"),
        config: json!({}),
    };
    let id = t.id("nobundle");
    let out = create_raw(&t, &b, &id);
    let path = b.dir.to_str().expect("utf-8").to_string();
    rejected(&t, &out, Some("no such file or directory"), &[&id, &path]);
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn malformed_config_json() {
    let Some(mut t) = ctx!("malformed_config_json") else {
        return;
    };
    let b = t.bundle();
    std::fs::write(b.dir.join("config.json"), "{\"ociVersion\": ").expect("write");
    let id = t.id("badjson");
    let out = create_raw(&t, &b, &id);
    rejected(&t, &out, None, &[&id, "config.json"]);
    t.assert_no_leftovers(&id, &b, None);
}

// req: cfg-ociversion-semver
// spec: ociVersion
#[test]
fn unknown_oci_version_major() {
    let Some(mut t) = ctx!("unknown_oci_version_major") else {
        return;
    };
    if t.kapsel_only("1.1 does not check the ociVersion major") {
        return;
    }
    // An unsupported major version, and values that are not SemVer at all.
    for version in ["2.0.0", "1.0", "1", "1.x.0", "1.0.0-"] {
        let mut b = t.bundle();
        b.set("/ociVersion", json!(version));
        let id = t.id("ociv");
        let out = t.create(&b, &id);
        rejected(&t, &out, None, &[&id, "ociVersion", version]);
        t.assert_no_leftovers(&id, &b, None);
    }
}

// req: rt-lifecycle-create-error, rt-create-cannot-apply-error
// spec: mounts.type
#[test]
fn bad_mount_type() {
    let Some(mut t) = ctx!("bad_mount_type") else {
        return;
    };
    let mut b = t.bundle();
    let index = b.push_mount(json!({"destination": "/x", "type": "nosuchfs", "source": "none"}));
    let id = t.id("badmount");
    let out = t.create(&b, &id);
    rejected(&t, &out, None, &[&id, &format!("mounts[{index}]")]);
    t.assert_no_leftovers(&id, &b, None);
}

// req: cfg-process-args-required
// spec: process.args
#[test]
fn missing_process_args() {
    let Some(mut t) = ctx!("missing_process_args") else {
        return;
    };
    // Missing, and present without the one entry that is required.
    for args in [None, Some(json!([]))] {
        let mut b = t.bundle();
        match args {
            Some(list) => b.set("/process/args", list),
            None => b.remove("/process/args"),
        };
        let id = t.id("noargs");
        let out = t.create(&b, &id);
        rejected(&t, &out, Some("args"), &[&id, "process.args"]);
        t.assert_no_leftovers(&id, &b, None);
    }
}

#[test]
fn missing_executable() {
    let Some(mut t) = ctx!("missing_executable") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["/nonexistent"]);
    let id = t.id("noexe");
    let out = t.create(&b, &id);
    // podman and docker turn exactly this wording into exit code 127.
    rejected(
        &t,
        &out,
        Some("no such file or directory"),
        &[&id, "/nonexistent"],
    );
    t.assert_no_leftovers(&id, &b, None);
}

// req: rt-state-id-unique, rt-create-id-not-unique
#[test]
fn duplicate_id_fails_and_keeps_the_first() {
    let Some(mut t) = ctx!("duplicate_id_fails_and_keeps_the_first") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("dup");
    t.create(&b, &id).ok();
    let before = t.state_ok(&id);
    let out = t.create(&b, &id);
    rejected(&t, &out, Some("exists"), &[&id]);
    let after = t.state_ok(&id);
    assert_eq!(after["status"], "created", "{after}");
    assert_eq!(after["pid"], before["pid"]);
    assert!(kapsel_integration::procfs::is_alive(
        before["pid"].as_i64().unwrap_or(0) as i32
    ));
    t.cmd(&["delete", "--force", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
}

// req: rt-create-id-not-unique
#[test]
fn invalid_ids() {
    let Some(t) = ctx!("invalid_ids") else {
        return;
    };
    let b = t.bundle();
    b.write();
    for id in ["a/b", "..", ""] {
        let out = create_raw(&t, &b, id);
        let names: &[&str] = if id.is_empty() { &[] } else { &[id] };
        rejected(&t, &out, Some("id"), names);
        let entries: Vec<_> = std::fs::read_dir(t.root())
            .map(|d| d.collect())
            .unwrap_or_default();
        assert!(
            entries.is_empty(),
            "id {id:?} left {entries:?} in the state root"
        );
    }
    let parent: Vec<_> = std::fs::read_dir(t.work())
        .expect("work")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert!(
        !parent.iter().any(|n| n == "a" || n == "b"),
        "an id escaped the state root: {parent:?}"
    );
}

// req: rt-start-not-created
#[test]
fn start_of_a_running_container() {
    let Some(mut t) = ctx!("start_of_a_running_container") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("restart");
    let pid = t.create_and_start(&b, &id);
    let out = t.cmd(&["start", &id]);
    rejected(&t, &out, Some("running"), &[&id]);
    let state = t.state_ok(&id);
    assert_eq!(state["status"], "running");
    assert_eq!(
        state["pid"], pid,
        "a refused start changed the container: {state}"
    );
    assert!(
        kapsel_integration::procfs::is_alive(pid),
        "a refused start ended the container process"
    );
}

// req: rt-delete-running
#[test]
fn delete_of_a_running_container_without_force() {
    let Some(mut t) = ctx!("delete_of_a_running_container_without_force") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("nodelete");
    t.create_and_start(&b, &id);
    let footprint = t.footprint(&id);
    let out = t.cmd(&["delete", &id]);
    rejected(&t, &out, Some("running"), &[&id]);
    assert_eq!(
        t.state_ok(&id)["status"],
        "running",
        "a refused delete must not touch it"
    );
    // Nothing of it went: its process, namespaces and cgroups are all still there.
    assert!(kapsel_integration::procfs::is_alive(footprint.pid));
    assert_eq!(
        kapsel_integration::leftovers::Footprint::of(footprint.pid).namespaces,
        footprint.namespaces
    );
    let cgroups = kapsel_integration::cgroupfs::CgroupDirs::of(footprint.pid);
    assert!(
        cgroups.all().iter().all(|d| d.is_dir()),
        "a refused delete removed cgroups: {cgroups:?}"
    );
}

// req: rt-kill-not-running
#[test]
fn kill_of_a_stopped_container() {
    let Some(mut t) = ctx!("kill_of_a_stopped_container") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["true"]);
    let id = t.id("killstopped");
    t.create_and_start(&b, &id);
    t.wait_status(&id, "stopped", Duration::from_secs(5));
    let out = t.cmd(&["kill", &id, "9"]);
    rejected(&t, &out, Some("not running"), &[&id]);
    assert_eq!(
        t.state_ok(&id)["status"],
        "stopped",
        "a refused kill changed it"
    );
    // containerd sends this after every exit and expects success (CONTRACT.md section 6).
    t.cmd(&["kill", "--all", &id, "9"]).ok();
    t.cmd(&["delete", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
}

// req: rt-state-missing, rt-start-missing, rt-delete-missing
#[test]
fn commands_on_a_missing_container() {
    let Some(mut t) = ctx!("commands_on_a_missing_container") else {
        return;
    };
    let id = t.id("missing");
    for args in [
        vec!["state", &id],
        vec!["start", &id],
        vec!["kill", &id, "9"],
        vec!["delete", &id],
    ] {
        let out = t.cmd(&args);
        rejected(&t, &out, Some("does not exist"), &[&id]);
    }
    // podman's clean-up runs this for containers that never got created.
    let out = t.cmd(&["delete", "--force", &id]);
    assert!(
        out.success(),
        "delete --force of a missing container is a no-op: {}",
        out.describe()
    );
    assert!(
        std::fs::read_dir(t.root())
            .map(|d| d.count() == 0)
            .unwrap_or(true),
        "state root touched"
    );
}

// req: cfg-valid-values-error
// spec: linux.namespaces
#[test]
fn unknown_namespace_type() {
    let Some(mut t) = ctx!("unknown_namespace_type") else {
        return;
    };
    let mut b = t.bundle();
    b.namespace("nosuchns", None);
    let index = b.config["linux"]["namespaces"]
        .as_array()
        .map_or(0, |l| l.len() - 1);
    let id = t.id("badns");
    let out = t.create(&b, &id);
    rejected(
        &t,
        &out,
        None,
        &[&id, &format!("linux.namespaces[{index}]")],
    );
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn kill_with_an_unknown_signal() {
    let Some(mut t) = ctx!("kill_with_an_unknown_signal") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("badsig");
    t.create_and_start(&b, &id);
    let out = t.cmd(&["kill", &id, "SIGNOPE"]);
    rejected(&t, &out, Some("signal"), &[&id, "SIGNOPE"]);
    assert_eq!(t.state_ok(&id)["status"], "running");
}

// Defect: a directory as the command said `is a directory`; runc says `permission denied`
// (execve's EACCES), which docker turns into exit code 126 and podman into its message.
// And `exec` of one read `container ID: exec: exec: ...`.
#[test]
fn a_directory_as_the_command_is_permission_denied_once() {
    let Some(mut t) = ctx!("a_directory_as_the_command_is_permission_denied_once") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["/tmp"]);
    let id = t.id("dircmd");
    let out = t.create(&b, &id);
    rejected(&t, &out, Some("permission denied"), &[&id, "/tmp"]);
    t.assert_no_leftovers(&id, &b, None);
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("execdir");
    t.create_and_start(&b, &id);
    let out = t.cmd(&["exec", &id, "/tmp"]);
    rejected(&t, &out, Some("permission denied"), &[&id, "/tmp"]);
    if t.checks_kapsel_only("the verb is named once") {
        assert!(!out.stderr.contains("exec: exec:"), "{}", out.describe());
    }
    t.cmd(&["delete", "--force", &id]).ok();
}

// Defect: a config of `[1,2,3]` said `[0]: invalid type: integer 1, expected a string`.
#[test]
fn a_config_that_is_not_an_object_says_so() {
    let Some(mut t) = ctx!("a_config_that_is_not_an_object_says_so") else {
        return;
    };
    let b = t.bundle();
    b.write();
    for text in ["[1,2,3]", "\"spec\"", "42", "null"] {
        if text == "null" && !t.checks_kapsel_only("runc 1.1.5 panics on a `null` config") {
            continue;
        }
        std::fs::write(b.dir.join("config.json"), text).expect("config");
        let id = t.id("notobj");
        let out = create_raw(&t, &b, &id);
        rejected(&t, &out, None, &[&id, "config.json"]);
        if t.checks_kapsel_only("says what the top level is") {
            out.err_mentions("the top level must be a JSON object");
        }
        t.assert_no_leftovers(&id, &b, None);
    }
}

// Defect: `hooks[].timeout: 0` was accepted; the runtime-spec says it must be greater than
// zero, and runc refuses.
// req: cfg-hooks-timeout
#[test]
fn a_hook_timeout_of_zero_or_less_is_refused() {
    let Some(mut t) = ctx!("a_hook_timeout_of_zero_or_less_is_refused") else {
        return;
    };
    for (kind, timeout) in [("poststart", 0), ("prestart", -1), ("createRuntime", 0)] {
        let mut b = t.bundle();
        b.hook(kind, json!({"path": "/bin/true", "timeout": timeout}));
        let id = t.id("hooktimeout");
        let out = t.create(&b, &id);
        let field = format!("hooks.{kind}[0].timeout");
        rejected(&t, &out, None, &[&id, &field]);
        t.assert_no_leftovers(&id, &b, None);
    }
}

// Defect: `linux.devices` paths outside /dev (`/etc/evil`, `/dev/../etc/evil`, or an image
// symlink under /dev that leads out) left a device node in the image's rootfs after delete.
// The runtime-spec lets a device live anywhere in the container; what create makes in the
// image itself, delete removes (only while it is still that node).
#[test]
fn device_nodes_made_in_the_image_are_removed_by_delete() {
    let Some(mut t) = ctx!("device_nodes_made_in_the_image_are_removed_by_delete") else {
        return;
    };
    for (tag, path) in [
        ("etc", "/etc/evil"),
        ("dotdot", "/dev/../etc/evil"),
        ("via-link", "/dev/sneaky/evil"),
    ] {
        let mut b = t.bundle();
        // An image link under /dev that leads to /etc (a /dev tmpfs would hide it: none here).
        if let Some(mounts) = b.config["mounts"].as_array_mut() {
            mounts.retain(|m| m["destination"] != "/dev");
        }
        let _ = std::fs::remove_file(b.rootfs().join("dev/sneaky"));
        std::fs::create_dir_all(b.rootfs().join("dev")).expect("dev");
        std::os::unix::fs::symlink("/etc", b.rootfs().join("dev/sneaky")).expect("link");
        b.set(
            "/linux/devices",
            json!([{"path": path, "type": "c", "major": 1, "minor": 3, "fileMode": 438}]),
        );
        b.args(&["sleep", "1000"]);
        let id = t.id(tag);
        t.create(&b, &id).ok();
        let evil = b.rootfs().join("etc/evil");
        assert!(
            evil.exists(),
            "{tag}: the node is not in the image while the container lives"
        );
        t.cmd(&["delete", "--force", &id]).ok();
        if evil.exists() && !t.checks_kapsel_only("runc 1.1.5 leaves the node in the image") {
            let _ = std::fs::remove_file(&evil);
            continue;
        }
        assert!(
            !evil.exists(),
            "{tag}: delete left the device node at /etc/evil in the image"
        );
        t.assert_no_leftovers(&id, &b, None);
    }
}

// Defect: duplicate additionalGids reached setgroups as given; runc removes duplicates
// (keeping the first of each), and a conformance suite checks the Groups line.
#[test]
fn duplicate_additional_gids_are_set_once() {
    let Some(mut t) = ctx!("duplicate_additional_gids_are_set_once") else {
        return;
    };
    let mut b = t.bundle();
    b.set(
        "/process/user",
        json!({"uid": 0, "gid": 0, "additionalGids": [20, 10, 20, 30, 10]}),
    );
    let out = t.sh_output(&mut b, "grep '^Groups:' /proc/self/status");
    let groups: Vec<&str> = out.split_whitespace().skip(1).collect();
    assert_eq!(groups, ["10", "20", "30"], "{out}");
}
