//! Conformance: the operations of runtime-spec runtime.md (state, create, start, kill, delete)
//! at their edges — a missing id, the wrong status, config.json edited after create, and what
//! delete must keep. `// req:` markers name the requirements in docs/conformance.md.

use std::time::Duration;

use kapsel_integration::{ctx, Bundle, Ctx};
use serde_json::json;

const SECS5: Duration = Duration::from_secs(5);

/// The state root holds no entry: a failed operation created nothing.
#[track_caller]
fn root_is_empty(t: &Ctx) {
    let left: Vec<_> = std::fs::read_dir(t.root())
        .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "state root holds {left:?}");
}

// req: rt-state-needs-id, rt-create-needs-id, rt-start-needs-id, rt-kill-needs-id, rt-delete-needs-id
#[test]
fn operations_without_an_id_fail() {
    let Some(t) = ctx!("operations_without_an_id_fail") else {
        return;
    };
    let b = t.bundle();
    b.write();
    let bundle = b.dir.to_string_lossy().into_owned();
    for args in [
        vec!["state"],
        vec!["start"],
        vec!["kill"],
        vec!["delete"],
        vec!["create", "--bundle", &bundle],
    ] {
        t.cmd(&args).failed();
    }
    root_is_empty(&t);
}

// req: rt-start-not-created
#[test]
fn start_of_a_stopped_container_fails_and_runs_nothing() {
    let Some(mut t) = ctx!("start_of_a_stopped_container_fails_and_runs_nothing") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("echo ran");
    let id = t.id("stopped");
    t.create_and_start(&b, &id);
    t.wait_status(&id, "stopped", SECS5);
    t.cmd(&["start", &id]).failed();
    assert_eq!(t.state_ok(&id)["status"], "stopped");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(t.container_stdout(&id), "ran\n", "the program ran twice");
}

// req: rt-kill-sends-signal, rt-kill-stopped-status
#[test]
fn kill_of_a_created_container_reaches_its_process() {
    let Some(mut t) = ctx!("kill_of_a_created_container_reaches_its_process") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("created");
    t.create(&b, &id).ok();
    let pid = t.state_ok(&id)["pid"].as_i64().expect("pid") as i32;
    t.cmd(&["kill", &id, "KILL"]).ok();
    t.wait_status(&id, "stopped", SECS5);
    assert!(
        kapsel_integration::procfs::reap(pid, SECS5).is_some()
            || !kapsel_integration::procfs::is_alive(pid),
        "the container process {pid} survived SIGKILL"
    );
    t.cmd(&["kill", &id, "KILL"]).failed();
    assert_eq!(t.state_ok(&id)["status"], "stopped");
}

// req: rt-lifecycle-config-frozen
#[test]
fn config_json_edits_after_create_change_nothing() {
    let Some(mut t) = ctx!("config_json_edits_after_create_change_nothing") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/hostname", json!("before"));
    b.sh("hostname; echo \"$MARK\"");
    b.set("/process/env", json!(["PATH=/bin", "MARK=first"]));
    let id = t.id("frozen");
    t.create(&b, &id).ok();
    let mut edited = b.clone();
    edited.set("/hostname", json!("after"));
    edited.set("/process/env", json!(["PATH=/bin", "MARK=second"]));
    edited.sh("echo edited");
    edited.write();
    t.cmd(&["start", &id]).ok();
    t.wait_status(&id, "stopped", SECS5);
    assert_eq!(t.container_stdout(&id), "before\nfirst\n");
}

// req: rt-start-no-process
#[test]
fn a_config_without_process_cannot_be_started() {
    let Some(mut t) = ctx!("a_config_without_process_cannot_be_started") else {
        return;
    };
    let mut b = t.bundle();
    b.remove("/process");
    let id = t.id("noproc");
    let created = t.create(&b, &id);
    if created.success() {
        t.cmd(&["start", &id]).failed();
        assert_ne!(t.state_ok(&id)["status"], "running");
    } else {
        root_is_empty(&t);
    }
}

// req: rt-delete-keeps-foreign, rt-lifecycle-delete-destroys
#[test]
fn delete_keeps_what_the_container_did_not_create() {
    let Some(mut t) = ctx!("delete_keeps_what_the_container_did_not_create") else {
        return;
    };
    let vol = t.work().join("volume");
    std::fs::create_dir_all(&vol).expect("mkdir volume");
    std::fs::write(vol.join("keep"), "data").expect("write volume file");
    let mut netns = std::process::Command::new("unshare");
    netns.args(["--net", "sleep", "1000"]);
    let holder = t.spawn_helper(netns);
    let ns_path = format!("/proc/{holder}/ns/net");
    // unshare needs a moment to switch namespaces before exec.
    let host_net = std::fs::read_link("/proc/self/ns/net").expect("host netns");
    let deadline = std::time::Instant::now() + SECS5;
    while std::fs::read_link(&ns_path).ok().as_ref() == Some(&host_net) {
        assert!(std::time::Instant::now() < deadline, "unshare never moved");
        std::thread::sleep(Duration::from_millis(5));
    }
    let net_before = std::fs::read_link(&ns_path).expect("helper netns");

    let mut b = t.bundle();
    b.sh("echo more > /vol/added; sleep 1000");
    b.namespace("network", Some(&ns_path));
    b.push_mount(
        json!({"destination": "/vol", "type": "bind", "source": vol, "options": ["rbind", "rw"]}),
    );
    let id = t.id("foreign");
    let pid = t.create_and_start(&b, &id);
    t.wait_for_file(&vol.join("added"), "more", SECS5);
    t.cmd(&["kill", &id, "KILL"]).ok();
    t.wait_status(&id, "stopped", SECS5);
    t.cmd(&["delete", &id]).ok();
    // The joined netns is the helper's, so only the init's death is checked, not holders.
    t.assert_no_leftovers(&id, &b, None);
    assert!(
        !kapsel_integration::procfs::is_alive(pid),
        "init {pid} survived delete"
    );
    assert_eq!(
        std::fs::read_to_string(vol.join("keep")).ok().as_deref(),
        Some("data")
    );
    assert_eq!(
        std::fs::read_link(&ns_path).ok(),
        Some(net_before),
        "the joined netns is gone"
    );
}

/// Runs `create` for a config that must be refused, and checks nothing was created.
#[track_caller]
fn refused(t: &mut Ctx, b: &Bundle, tag: &str) {
    let id = t.id(tag);
    t.create(b, &id).failed();
    t.assert_no_leftovers(&id, b, None);
    root_is_empty(t);
}

// req: cfg-root-path-exists, rt-errors-leave-nothing
// spec: root.path
#[test]
fn a_missing_root_path_is_refused() {
    let Some(mut t) = ctx!("a_missing_root_path_is_refused") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/root/path", json!("no-such-rootfs"));
    refused(&mut t, &b, "noroot");
    // A directory must be there: a file at the path is no root filesystem either.
    let mut b = t.bundle();
    std::fs::write(b.dir.join("rootfs-file"), "not a directory").expect("write rootfs-file");
    b.set("/root/path", json!("rootfs-file"));
    refused(&mut t, &b, "fileroot");
}

/// Each namespace type with the /proc/self/ns link of its kind.
const NS_LINKS: [(&str, &str); 8] = [
    ("pid", "pid"),
    ("network", "net"),
    ("mount", "mnt"),
    ("ipc", "ipc"),
    ("uts", "uts"),
    ("user", "user"),
    ("cgroup", "cgroup"),
    ("time", "time"),
];

// req: lnx-ns-path-wrong-type
// spec: linux.namespaces
#[test]
fn a_namespace_path_of_another_type_is_refused() {
    let Some(mut t) = ctx!("a_namespace_path_of_another_type_is_refused") else {
        return;
    };
    // Every type, given the namespace of the next type in the list, then a file that is no
    // namespace at all.
    for (i, (kind, _)) in NS_LINKS.iter().enumerate() {
        let other = NS_LINKS[(i + 1) % NS_LINKS.len()].1;
        for path in [
            format!("/proc/self/ns/{other}"),
            "/etc/hostname".to_string(),
        ] {
            let mut b = t.bundle();
            b.namespace(kind, Some(&path));
            refused(&mut t, &b, &format!("ns{kind}"));
        }
    }
}

// req: lnx-ns-duplicate-error
#[test]
fn a_duplicated_namespace_type_is_refused() {
    let Some(mut t) = ctx!("a_duplicated_namespace_type_is_refused") else {
        return;
    };
    // Every type twice: both new, and once new and once joined.
    for (kind, link) in NS_LINKS {
        for second in [
            json!({"type": kind}),
            json!({"type": kind, "path": format!("/proc/self/ns/{link}")}),
        ] {
            let mut b = t.bundle();
            b.namespace(kind, None);
            if let Some(list) = b
                .config
                .pointer_mut("/linux/namespaces")
                .and_then(|v| v.as_array_mut())
            {
                list.push(second);
            }
            refused(&mut t, &b, &format!("dup{kind}"));
        }
    }
}

// req: cfg-rlimits-invalid-error
// spec: process.rlimits
#[test]
fn an_unknown_rlimit_type_is_refused() {
    let Some(mut t) = ctx!("an_unknown_rlimit_type_is_refused") else {
        return;
    };
    let mut b = t.bundle();
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]),
    );
    refused(&mut t, &b, "rlimit");
}

// req: cfg-rlimits-duplicate-error
#[test]
fn a_duplicated_rlimit_type_is_refused() {
    let Some(mut t) = ctx!("a_duplicated_rlimit_type_is_refused") else {
        return;
    };
    let mut b = t.bundle();
    b.set(
        "/process/rlimits",
        json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 100},
               {"type": "RLIMIT_NOFILE", "soft": 200, "hard": 200}]),
    );
    refused(&mut t, &b, "rlimitdup");
}

// req: cfg-process-cwd-absolute
// spec: process.cwd
#[test]
fn a_relative_cwd_is_refused() {
    let Some(mut t) = ctx!("a_relative_cwd_is_refused") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/process/cwd", json!("tmp"));
    refused(&mut t, &b, "cwd");
}

// req: cfg-hooks-path-absolute
// spec: hooks.prestart
#[test]
fn a_relative_hook_path_is_refused() {
    let Some(mut t) = ctx!("a_relative_hook_path_is_refused") else {
        return;
    };
    for kind in [
        "prestart",
        "createRuntime",
        "createContainer",
        "startContainer",
        "poststart",
        "poststop",
    ] {
        // runc 1.1.5 checks no hook path: it fails only the kinds it runs during create.
        if !matches!(kind, "prestart" | "createRuntime" | "poststart")
            && !t.checks_kapsel_only(&format!("a relative {kind} path is refused"))
        {
            continue;
        }
        let mut b = t.bundle();
        b.hook(kind, json!({"path": "bin/true"}));
        let id = t.id(kind);
        let out = t.create(&b, &id);
        out.failed();
        if t.rt.is_kapsel {
            out.create_refused(&id, &[&format!("hooks.{kind}[0].path"), "absolute"]);
        }
        t.assert_no_leftovers(&id, &b, None);
        root_is_empty(&t);
    }
}

// req: lnx-intelrdt-no-resctrl-error
#[test]
fn intel_rdt_without_resctrl_is_refused() {
    let Some(mut t) = ctx!("intel_rdt_without_resctrl_is_refused") else {
        return;
    };
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    if mounts.contains(" - resctrl ") {
        t.skip("resctrl is mounted on this machine; the requirement is about its absence");
        return;
    }
    let mut b = t.bundle();
    b.set("/linux/intelRdt", json!({"closID": "kapsel-conformance"}));
    refused(&mut t, &b, "rdt");
}

// req: lnx-devices-mismatch-error
#[test]
fn a_device_path_holding_another_file_is_refused() {
    let Some(mut t) = ctx!("a_device_path_holding_another_file_is_refused") else {
        return;
    };
    use nix::sys::stat::{makedev, mknod, stat, Mode, SFlag};
    // Each entry asks for /dev/null's numbers (c 1:3) where the image's /dev (no tmpfs over
    // it here) already holds something else: a plain file, another character device, a
    // block device with the same numbers, a fifo.
    let cases: [(&str, Option<(SFlag, u64)>); 4] = [
        ("plain", None),
        ("other-numbers", Some((SFlag::S_IFCHR, makedev(1, 5)))),
        ("block", Some((SFlag::S_IFBLK, makedev(1, 3)))),
        ("fifo", Some((SFlag::S_IFIFO, 0))),
    ];
    for (tag, existing) in cases {
        let mut b = t.bundle();
        if let Some(mounts) = b.config["mounts"].as_array_mut() {
            mounts.retain(|m| m["destination"] != "/dev");
        }
        let path = b.rootfs().join("dev").join(format!("kt-{tag}"));
        match existing {
            None => std::fs::write(&path, "plain").expect("write the image's file"),
            Some((kind, dev)) => mknod(&path, kind, Mode::from_bits_truncate(0o600), dev)
                .expect("mknod in the image"),
        }
        let before = stat(&path).expect("stat the image's file");
        b.set(
            "/linux/devices",
            json!([{"path": format!("/dev/kt-{tag}"), "type": "c", "major": 1, "minor": 3,
                    "fileMode": 438}]),
        );
        refused(&mut t, &b, tag);
        let after = stat(&path).expect("the image's file is gone");
        assert_eq!(
            (after.st_mode, after.st_rdev, after.st_ino),
            (before.st_mode, before.st_rdev, before.st_ino),
            "{tag}: the image's file was replaced"
        );
    }
}
