//! Defects the differential harness found (docs/differences.md, "Found by the harness and
//! fixed since"; configs in tests/differential/findings/): each checked here from inside
//! the container and against what runc and crun do on the same config.

use std::time::Duration;

use kapsel_integration::console::create_with_terminal;
use kapsel_integration::{ctx, Bundle, Ctx};
use serde_json::{json, Value};

/// Replaces a file of the bundle's hard-linked rootfs without touching the shared base.
fn replace_rootfs_file(b: &Bundle, path: &str, text: &str) {
    let file = b.rootfs().join(path);
    let _ = std::fs::remove_file(&file);
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("write {}: {e}", file.display()));
}

fn env(list: &[&str]) -> Value {
    json!(list)
}

#[test]
fn env_keeps_one_entry_per_name_with_the_last_value_in_the_first_place() {
    let Some(mut t) = ctx!("env_keeps_one_entry_per_name_with_the_last_value_in_the_first_place")
    else {
        return;
    };
    let mut b = t.bundle();
    b.set(
        "/process/env",
        env(&[
            "PATH=/usr/bin:/bin",
            "TERM=xterm",
            "A=1",
            "TERM=dumb",
            "HOME=/root",
        ]),
    );
    // The environment execve got, in its order (a shell's `env` sorts its own copy).
    let out = t.sh_output(
        &mut b,
        "tr '\\0' '\\n' </proc/1/environ | grep -E '^(TERM|A|HOME)='",
    );
    assert_eq!(out, "TERM=dumb\nA=1\nHOME=/root\n");
}

#[test]
fn an_env_entry_without_equals_fails_create_and_leaves_nothing() {
    let Some(mut t) = ctx!("an_env_entry_without_equals_fails_create_and_leaves_nothing") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/process/env", env(&["PATH=/usr/bin:/bin", "NOEQUALS"]));
    let id = t.id("noeq");
    let out = t.create(&b, &id);
    out.failed();
    if t.checks_kapsel_only("the message") {
        assert_eq!(out.stderr_lines().len(), 1, "{}", out.describe());
        assert!(
            out.stderr.contains("process.env[1]") && out.stderr.contains("NOEQUALS"),
            "{}",
            out.describe()
        );
    }
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn home_comes_from_the_containers_passwd_when_env_has_none() {
    let Some(mut t) = ctx!("home_comes_from_the_containers_passwd_when_env_has_none") else {
        return;
    };
    let mut b = t.bundle();
    replace_rootfs_file(
        &b,
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\nkt:x:1234:1234::/home/kt:/bin/sh\n",
    );
    b.set("/process/env", env(&["PATH=/usr/bin:/bin"]));
    b.set("/process/user", json!({"uid": 1234, "gid": 1234}));
    assert_eq!(t.sh_output(&mut b, "echo \"$HOME\""), "/home/kt\n");
    // A user without an entry gets `/`.
    let mut b = t.bundle();
    b.set("/process/env", env(&["PATH=/usr/bin:/bin"]));
    b.set("/process/user", json!({"uid": 4321, "gid": 4321}));
    assert_eq!(t.sh_output(&mut b, "echo \"$HOME\""), "/\n");
    // One given in the config stays.
    let mut b = t.bundle();
    b.set("/process/env", env(&["PATH=/usr/bin:/bin", "HOME=/given"]));
    assert_eq!(t.sh_output(&mut b, "echo \"$HOME\""), "/given\n");
}

#[test]
fn dev_ptmx_links_to_pts_even_without_a_devpts_mount() {
    let Some(mut t) = ctx!("dev_ptmx_links_to_pts_even_without_a_devpts_mount") else {
        return;
    };
    let mut b = t.bundle();
    let mounts: Vec<Value> = b.config["mounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m["destination"] != "/dev/pts")
        .collect();
    b.set("/mounts", Value::Array(mounts));
    assert_eq!(t.sh_output(&mut b, "readlink /dev/ptmx"), "pts/ptmx\n");
}

#[test]
fn two_devices_with_one_path_make_the_first() {
    let Some(mut t) = ctx!("two_devices_with_one_path_make_the_first") else {
        return;
    };
    let mut b = t.bundle();
    b.set(
        "/linux/devices",
        json!([
            {"path": "/dev/dup", "type": "c", "major": 1, "minor": 3},
            {"path": "/dev/dup", "type": "c", "major": 1, "minor": 5}
        ]),
    );
    assert_eq!(t.sh_output(&mut b, "stat -c '%t:%T' /dev/dup"), "1:3\n");
}

#[test]
fn the_terminal_belongs_to_the_processs_user() {
    let Some(mut t) = ctx!("the_terminal_belongs_to_the_processs_user") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/process/terminal", json!(true));
    b.set("/process/user", json!({"uid": 1000, "gid": 1000}));
    b.sh("stat -c 'owner=%u:%g mode=%a' \"$(tty)\"; echo reopen >\"$(tty)\" && echo reopened");
    let id = t.id("ttyown");
    let (_sock_dir, received) = create_with_terminal(&mut t, &b, &id);
    t.cmd(&["start", &id]).ok();
    let output = received
        .output_within(Duration::from_secs(10))
        .replace('\r', "");
    // devpts gives the pty the group `tty` (5 with gid=5) or the creator's: only the
    // owner is the runtime's to set.
    assert!(output.contains("owner=1000:"), "tty output: {output:?}");
    assert!(output.contains("reopened"), "tty output: {output:?}");
    t.wait_status(&id, "stopped", Duration::from_secs(5));
    t.cmd(&["delete", &id]).ok();
}

/// The mounts under /sys/fs/cgroup in the container: (mount point, per-mount options).
fn cgroup_hierarchy_mounts(t: &mut Ctx, b: &mut Bundle) -> Vec<(String, String)> {
    let out = t.sh_output(b, "cat /proc/self/mountinfo");
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let fstype = l.split(" - ").nth(1)?.split(' ').next()?;
            (f.get(4)?.starts_with("/sys/fs/cgroup/") && fstype.starts_with("cgroup"))
                .then(|| (f[4].to_string(), f[5].to_string()))
        })
        .collect()
}

/// Gives the bundle's `cgroup` mount `options`, runs it, and checks every hierarchy
/// mounted under /sys/fs/cgroup is nosuid, nodev and noexec.
fn assert_hierarchies_nosuid_nodev_noexec(t: &mut Ctx, b: &mut Bundle, options: &[&str]) {
    let mounts: Vec<Value> = b.config["mounts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut m| {
            if m["destination"] == "/sys/fs/cgroup" {
                m["options"] = json!(options);
            }
            m
        })
        .collect();
    b.set("/mounts", Value::Array(mounts));
    let hierarchies = cgroup_hierarchy_mounts(t, b);
    assert!(!hierarchies.is_empty(), "no cgroup hierarchy mounted");
    for (point, opts) in hierarchies {
        for flag in ["nosuid", "nodev", "noexec"] {
            assert!(
                opts.split(',').any(|o| o == flag),
                "{point} lacks {flag}: {opts}"
            );
        }
    }
}

#[test]
fn every_cgroup_hierarchy_gets_the_mounts_nosuid_nodev_noexec() {
    let Some(mut t) = ctx!("every_cgroup_hierarchy_gets_the_mounts_nosuid_nodev_noexec") else {
        return;
    };
    // Read-write, without a cgroup namespace: the container's own cgroups are bound in,
    // and a bind keeps the host's flags unless the runtime sets them.
    let mut b = t.bundle();
    b.remove_namespace("cgroup");
    assert_hierarchies_nosuid_nodev_noexec(
        &mut t,
        &mut b,
        &["nosuid", "noexec", "nodev", "relatime"],
    );
}

#[test]
fn fresh_cgroup_hierarchies_are_nosuid_nodev_noexec_whatever_the_options() {
    let Some(mut t) = ctx!("fresh_cgroup_hierarchies_are_nosuid_nodev_noexec_whatever_the_options")
    else {
        return;
    };
    // In a cgroup namespace of its own each hierarchy is a fresh mount: runc adds the
    // three flags to it though the config asks only for nosuid and noexec.
    let mut b = t.bundle();
    b.namespace("cgroup", None);
    assert_hierarchies_nosuid_nodev_noexec(&mut t, &mut b, &["nosuid", "noexec", "relatime"]);
}

#[test]
fn dev_mqueue_belongs_to_the_containers_root_in_a_user_namespace() {
    let Some(mut t) = ctx!("dev_mqueue_belongs_to_the_containers_root_in_a_user_namespace") else {
        return;
    };
    let mut b = t.bundle();
    b.namespace("user", None);
    let map = json!([{"containerID": 0, "hostID": 200000, "size": 65536}]);
    b.set("/linux/uidMappings", map.clone());
    b.set("/linux/gidMappings", map);
    // runc 1.1.5 shows the group as 65534 (docs/differences.md, mqueue-group-userns).
    let out = t.sh_output(&mut b, "stat -c '%u' /dev/mqueue");
    assert_eq!(out, "0\n");
}

#[test]
fn a_failed_exec_exits_255() {
    let Some(mut t) = ctx!("a_failed_exec_exits_255") else {
        return;
    };
    let missing = t.id("nosuch");
    let out = t.cmd(&["exec", &missing, "true"]);
    assert_eq!(out.code, Some(255), "{}", out.describe());
    let out = t.cmd(&["exec", "../bad", "true"]);
    assert_eq!(out.code, Some(255), "{}", out.describe());
}
