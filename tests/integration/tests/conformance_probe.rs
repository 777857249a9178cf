//! Conformance seen from inside: the probe (probe/probe.c) runs as the container process and
//! reports what it got, which must be exactly what config.json asked for (runtime-spec
//! config.md process/user/hostname, config-linux.md default filesystems and namespaces).
//! `// req:` markers name the requirements in docs/conformance.md.

use std::os::unix::fs::MetadataExt;

use kapsel_integration::ctx;
use kapsel_integration::probe::{cap_mask, Report};
use serde_json::json;

// req: rt-start-runs-process, rt-lifecycle-create-applies-config, cfg-user-ids, cfg-rlimits-match, cfg-caps-sets, cfg-nnp, cfg-oom-set, cfg-hostname, cfg-process-env-args-cwd
// spec: process.args, process.env, process.user.uid, process.user.gid
#[test]
fn the_process_gets_exactly_its_config() {
    let Some(mut t) = ctx!("the_process_gets_exactly_its_config") else {
        return;
    };
    let Some(mut b) = t.probe_bundle(&["two words", "sysctl:kernel.hostname"]) else {
        return;
    };
    let caps = ["CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_CHOWN"];
    b.set(
        "/process/user",
        json!({"uid": 1000, "gid": 1001, "additionalGids": [10, 20]}),
    );
    b.set("/process/cwd", json!("/etc"));
    b.set(
        "/process/env",
        json!(["PATH=/bin:/usr/bin", "SPACED=a b  c", "EMPTY="]),
    );
    b.set(
        "/process/rlimits",
        json!([
            {"type": "RLIMIT_NOFILE", "soft": 123, "hard": 456},
            {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
        ]),
    );
    b.set("/process/capabilities", json!({
        "bounding": caps, "permitted": caps, "effective": caps, "inheritable": caps, "ambient": caps,
    }));
    b.set("/process/noNewPrivileges", json!(true));
    b.set("/process/oomScoreAdj", json!(321));
    b.set("/hostname", json!("probe-host"));
    let r = t.probe_run(&b);

    assert_eq!(r.status("Uid"), "1000 1000 1000 1000");
    assert_eq!(r.status("Gid"), "1001 1001 1001 1001");
    assert_eq!(r.status("Groups"), "10 20");
    assert_eq!(r.str("cwd"), "/etc");
    let mut env = r.env();
    // A runtime may add HOME when the config has none (runc does); nothing else.
    env.retain(|e| !e.starts_with("HOME="));
    assert_eq!(env, ["PATH=/bin:/usr/bin", "SPACED=a b  c", "EMPTY="]);
    assert_eq!(
        r.0["args"],
        json!(["/probe", "two words", "sysctl:kernel.hostname"])
    );
    assert_eq!(r.rlimit("RLIMIT_NOFILE"), (123, 456));
    assert_eq!(r.rlimit("RLIMIT_CORE"), (0, 4096));
    let mask = cap_mask(&caps);
    for set in ["CapBnd", "CapPrm", "CapEff", "CapInh", "CapAmb"] {
        assert_eq!(r.status(set), mask, "{set}");
    }
    assert_eq!(r.status("NoNewPrivs"), "1");
    assert_eq!(r.str("oom_score_adj"), "321");
    assert_eq!(r.str("hostname"), "probe-host");
    assert_eq!(r.sysctl("kernel.hostname"), Some("probe-host"));
    assert_eq!(
        r.0["pid"], 1,
        "the process is not the init of its own pid namespace"
    );
    assert_eq!(r.0["isatty"], json!([0, 0, 0]), "terminal is off");
}

// req: cfg-oom-unset
// spec: process.oomScoreAdj
#[test]
fn oom_score_adj_is_left_alone_when_unset() {
    let Some(mut t) = ctx!("oom_score_adj_is_left_alone_when_unset") else {
        return;
    };
    let Some(mut b) = t.probe_bundle(&[]) else {
        return;
    };
    b.remove("/process/oomScoreAdj");
    b.write();
    let id = t.id("oom");
    // The runtime inherits 234 from the shell; the container must see the same.
    let out = t
        .rt()
        .shell_setup("echo 234 > /proc/self/oom_score_adj")
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .run();
    out.ok();
    assert_eq!(Report::parse(&out.stdout).str("oom_score_adj"), "234");
}

// req: lnx-default-fs
#[test]
fn default_filesystems_are_mounted() {
    let Some(mut t) = ctx!("default_filesystems_are_mounted") else {
        return;
    };
    let Some(b) = t.probe_bundle(&[]) else {
        return;
    };
    let mounts = t.probe_run(&b).mounts();
    for (point, fstype) in [
        ("/proc", "proc"),
        ("/sys", "sysfs"),
        ("/dev/pts", "devpts"),
        ("/dev/shm", "tmpfs"),
    ] {
        let m = kapsel_integration::mountinfo::find(&mounts, point)
            .unwrap_or_else(|| panic!("no mount at {point}: {mounts:#?}"));
        assert_eq!(m.fstype, fstype, "{point}");
    }
}

// req: lnx-ns-new-when-no-path, lnx-ns-inherit-unlisted, lnx-ns-types
#[test]
fn listed_namespaces_are_new_and_unlisted_ones_inherited() {
    let Some(mut t) = ctx!("listed_namespaces_are_new_and_unlisted_ones_inherited") else {
        return;
    };
    let Some(mut b) = t.probe_bundle(&[]) else {
        return;
    };
    b.remove_namespace("network");
    b.remove_namespace("ipc");
    for kind in ["pid", "mount", "uts", "cgroup"] {
        b.namespace(kind, None);
    }
    let r = t.probe_run(&b);
    let host = |kind: &str| {
        std::fs::metadata(format!("/proc/self/ns/{kind}"))
            .map(|m| m.ino())
            .ok()
    };
    for kind in ["pid", "mnt", "uts", "cgroup"] {
        assert_ne!(r.ns(kind), host(kind), "{kind} is the host's");
    }
    for kind in ["net", "ipc", "user", "time"] {
        assert_eq!(r.ns(kind), host(kind), "{kind} is not the host's");
    }
}

// req: cfg-console-size-ignored
// spec: process.consoleSize
#[test]
fn console_size_is_ignored_without_a_terminal() {
    let Some(mut t) = ctx!("console_size_is_ignored_without_a_terminal") else {
        return;
    };
    let Some(mut b) = t.probe_bundle(&[]) else {
        return;
    };
    b.set("/process/terminal", json!(false));
    b.set("/process/consoleSize", json!({"height": 10, "width": 20}));
    let r = t.probe_run(&b);
    assert_eq!(r.0["isatty"], json!([0, 0, 0]));
}

// req: lnx-idmap-no-chown
#[test]
fn id_mappings_leave_the_rootfs_ownership_alone() {
    let Some(mut t) = ctx!("id_mappings_leave_the_rootfs_ownership_alone") else {
        return;
    };
    let Some(mut b) = t.probe_bundle(&["stat:/probe"]) else {
        return;
    };
    b.namespace("user", None);
    b.set(
        "/linux/uidMappings",
        json!([{"containerID": 0, "hostID": 240_000, "size": 1000}]),
    );
    b.set(
        "/linux/gidMappings",
        json!([{"containerID": 0, "hostID": 250_000, "size": 1000}]),
    );
    let owners = |path: &std::path::Path| {
        let m = std::fs::symlink_metadata(path).expect("stat rootfs entry");
        (m.uid(), m.gid())
    };
    let root = b.rootfs();
    let before = [
        owners(&root),
        owners(&root.join("probe")),
        owners(&root.join("bin")),
    ];
    let r = t.probe_run(&b);
    assert_eq!(r.status("Uid"), "0 0 0 0");
    let host_user = std::fs::metadata("/proc/self/ns/user")
        .map(|m| m.ino())
        .ok();
    assert_ne!(r.ns("user"), host_user, "no new user namespace");
    let after = [
        owners(&root),
        owners(&root.join("probe")),
        owners(&root.join("bin")),
    ];
    assert_eq!(before, after, "the runtime changed ownership in the rootfs");
}

// req: lnx-default-devices, lnx-devices-available
#[test]
fn default_and_configured_devices_as_the_probe_sees_them() {
    let Some(mut t) = ctx!("default_and_configured_devices_as_the_probe_sees_them") else {
        return;
    };
    let defaults = [
        ("/dev/null", 1, 3),
        ("/dev/zero", 1, 5),
        ("/dev/full", 1, 7),
        ("/dev/random", 1, 8),
        ("/dev/urandom", 1, 9),
        ("/dev/tty", 5, 0),
    ];
    let mut args: Vec<String> = defaults
        .iter()
        .map(|(p, _, _)| format!("stat:{p}"))
        .collect();
    args.extend(["stat:/dev/ptmx".into(), "stat:/dev/pts/ptmx".into()]);
    args.push("stat:/opt/kmsg-copy".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let Some(mut b) = t.probe_bundle(&args) else {
        return;
    };
    // A device outside /dev, with its own mode and owner.
    b.set(
        "/linux/devices",
        json!([{"path": "/opt/kmsg-copy", "type": "c", "major": 1, "minor": 11,
                "fileMode": 0o640, "uid": 7, "gid": 8}]),
    );
    let r = t.probe_run(&b);
    for (path, major, minor) in defaults {
        let stat = r.stat(path).unwrap_or_else(|| panic!("{path} is missing"));
        let f: Vec<&str> = stat.split(' ').collect();
        assert_eq!(
            (f[0], f[4], f[5]),
            ("c", major.to_string().as_str(), minor.to_string().as_str()),
            "{path}: {stat}"
        );
    }
    // /dev/ptmx is the container's own devpts ptmx: a symlink to pts/ptmx or a bind of it.
    let ptmx = r.stat("/dev/ptmx").expect("/dev/ptmx is missing");
    assert!(
        ptmx.starts_with('l') || ptmx.ends_with(" 5 2"),
        "/dev/ptmx: {ptmx}"
    );
    assert!(r.stat("/dev/pts/ptmx").is_some(), "no devpts ptmx");
    assert_eq!(r.stat("/opt/kmsg-copy"), Some("c 7 8 640 1 11"));
}
