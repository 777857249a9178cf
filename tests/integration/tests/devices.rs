//! /dev: the default devices with their numbers, the standard symlinks, a private devpts, and
//! `linux.devices` entries of every type (c, b, p, u) with numbers, mode and owner.

use kapsel_integration::ctx;
use serde_json::json;

/// `stat` line per path: name, type, major and minor (hex), mode, uid, gid.
const STAT: &str = "stat -c '%n|%F|%t|%T|%a|%u|%g'";

fn stat_of<'a>(out: &'a str, path: &str) -> Vec<&'a str> {
    out.lines()
        .find(|l| l.starts_with(&format!("{path}|")))
        .map(|l| l.split('|').collect())
        .unwrap_or_else(|| panic!("no stat line for {path}:\n{out}"))
}

// req: lnx-default-devices
#[test]
fn default_devices_have_the_right_numbers() {
    let Some(mut t) = ctx!("default_devices_have_the_right_numbers") else {
        return;
    };
    let mut b = t.bundle();
    let devices = [
        ("/dev/null", "1", "3"),
        ("/dev/zero", "1", "5"),
        ("/dev/full", "1", "7"),
        ("/dev/random", "1", "8"),
        ("/dev/urandom", "1", "9"),
        ("/dev/tty", "5", "0"),
    ];
    let paths: Vec<&str> = devices.iter().map(|d| d.0).collect();
    let script = format!(
        "{STAT} {}; echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; \
         echo x 2>/dev/null > /dev/full || echo full-refused",
        paths.join(" ")
    );
    let out = t.sh_output(&mut b, &script);
    for (path, major, minor) in devices {
        let s = stat_of(&out, path);
        assert_eq!(s[1], "character special file", "{path}: {s:?}");
        assert_eq!((s[2], s[3]), (major, minor), "{path} numbers");
        assert_eq!(s[4], "666", "{path} mode");
    }
    assert!(out.contains("null-ok\n4\nfull-refused\n"), "{out}");
}

// req: lnx-default-devices
#[test]
fn dev_symlinks_and_private_devpts() {
    let Some(mut t) = ctx!("dev_symlinks_and_private_devpts") else {
        return;
    };
    let mut b = t.bundle();
    let links = [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
        ("ptmx", "pts/ptmx"),
    ];
    let script: String = links
        .iter()
        .map(|(name, _)| format!("echo {name}=$(readlink /dev/{name});"))
        .collect::<String>()
        + "grep -E ' /dev(/pts)? ' /proc/self/mountinfo";
    let out = t.sh_output(&mut b, &script);
    for (name, target) in links {
        assert!(
            out.contains(&format!("{name}={target}\n")),
            "/dev/{name} should link to {target}:\n{out}"
        );
    }
    if t.checks_kapsel_only("/dev/core -> /proc/kcore (runc 1.1 does not create it)") {
        let core = t.sh_output(&mut b, "readlink /dev/core");
        assert_eq!(core, "/proc/kcore\n");
    }
    let mounts = kapsel_integration::mountinfo::parse(&out);
    let dev = mounts
        .iter()
        .find(|m| m.mount_point.as_os_str() == "/dev")
        .expect("a /dev mount");
    assert_eq!(
        dev.fstype, "tmpfs",
        "/dev is the runtime's tmpfs, not the host's"
    );
    let pts = mounts
        .iter()
        .find(|m| m.mount_point.as_os_str() == "/dev/pts")
        .expect("a /dev/pts mount");
    assert_eq!(pts.fstype, "devpts");
}

// req: lnx-devices-available
// spec: linux.devices
#[test]
fn linux_devices_are_created_with_mode_and_owner() {
    let Some(mut t) = ctx!("linux_devices_are_created_with_mode_and_owner") else {
        return;
    };
    let mut b = t.bundle();
    b.set(
        "/linux/devices",
        json!([
            {"path": "/dev/kt-null", "type": "c", "major": 1, "minor": 3, "fileMode": 0o640, "uid": 1000, "gid": 1001},
            {"path": "/dev/kt-loop", "type": "b", "major": 7, "minor": 200, "fileMode": 0o600, "uid": 0, "gid": 0},
            {"path": "/dev/sub/kt-fifo", "type": "p", "fileMode": 0o604, "uid": 1000, "gid": 1000},
            {"path": "/dev/kt-unbuffered", "type": "u", "major": 1, "minor": 5, "fileMode": 0o620, "uid": 1000, "gid": 5}
        ]),
    );
    // Written by its owner: the default capability set has no CAP_DAC_OVERRIDE.
    b.set("/process/user", json!({"uid": 1000, "gid": 1000}));
    let out = t.sh_output(
        &mut b,
        &format!("{STAT} /dev/kt-null /dev/kt-loop /dev/sub/kt-fifo /dev/kt-unbuffered; echo x > /dev/kt-null && echo write-ok"),
    );
    assert_eq!(
        stat_of(&out, "/dev/kt-null")[1..],
        ["character special file", "1", "3", "640", "1000", "1001"]
    );
    assert_eq!(
        stat_of(&out, "/dev/kt-loop")[1..],
        ["block special file", "7", "c8", "600", "0", "0"]
    );
    assert_eq!(stat_of(&out, "/dev/sub/kt-fifo")[1..4], ["fifo", "0", "0"]);
    assert_eq!(
        stat_of(&out, "/dev/sub/kt-fifo")[4..],
        ["604", "1000", "1000"]
    );
    // `u` (unbuffered) is a character device to mknod(1), and so in the container.
    assert_eq!(
        stat_of(&out, "/dev/kt-unbuffered")[1..],
        ["character special file", "1", "5", "620", "1000", "5"]
    );
    assert!(
        out.ends_with("write-ok\n"),
        "the listed device is usable: {out}"
    );
}
