//! Mounts: default mounts dropped or re-optioned, and new tmpfs, bind (directory and file,
//! recursive or not), devpts, mqueue, sysfs and cgroup mounts with every option family runc
//! documents — read-only and recursive read-only, nosuid/nodev/noexec and their recursive
//! forms, the atime family, nosymfollow, propagation, filesystem data (mode, size, uid) —
//! at existing, missing and nested destinations, a file bound over a /proc entry as lxcfs
//! does, and idmapped binds.

use serde_json::{json, Value};

use super::{array, Sources};
use crate::rng::Rng;

/// The propagation values of mount options and rootfsPropagation.
pub(super) const PROPAGATION: [&str; 8] = [
    "private",
    "rprivate",
    "slave",
    "rslave",
    "shared",
    "rshared",
    "unbindable",
    "runbindable",
];
const ATIME: [&str; 4] = ["noatime", "relatime", "strictatime", "nodiratime"];
const DROPPABLE: [&str; 5] = [
    "/dev/mqueue",
    "/sys/fs/cgroup",
    "/dev/shm",
    "/dev/pts",
    "/sys",
];

/// Drops or re-options some default mounts and adds one to four new ones.
pub fn vary(r: &mut Rng, config: &mut Value, _: &Sources) {
    let mounts = array(config, "/mounts");
    if r.chance(25) {
        let drop = r.subset(&DROPPABLE, 40);
        mounts.retain(|m| !drop.iter().any(|d| m["destination"] == *d));
    }
    if r.chance(25) {
        for m in mounts.iter_mut() {
            if r.chance(30) {
                reoption(r, m);
            }
        }
    }
    for _ in 0..r.range(1, 4) {
        let m = match r.below(100) {
            0..=29 => tmpfs(r),
            30..=59 => bind_dir(r),
            60..=74 => bind_file(r),
            75..=81 => special(r),
            82..=87 => nested(r, mounts),
            88..=93 => under_proc(r),
            _ => idmapped(r),
        };
        mounts.push(m);
    }
}

fn tmpfs(r: &mut Rng) -> Value {
    let dest = *r.pick(&[
        "/tmp",
        "/mnt/tmpfs",
        "/run/a/b",
        "/var/cache",
        "/home/user/t",
    ]);
    let mut options = r.subset(&["nosuid", "nodev", "noexec"], 50);
    if r.chance(30) {
        options.push(*r.pick(&["ro", "rw"]));
    }
    if r.chance(30) {
        options.push(*r.pick(&ATIME));
    }
    if r.chance(40) {
        options.push(*r.pick(&["mode=0700", "mode=1777", "mode=755"]));
    }
    if r.chance(40) {
        options.push(*r.pick(&["size=1m", "size=65536k", "size=10%"]));
    }
    if r.chance(15) {
        options.extend(["uid=1000", "gid=1000"]);
    }
    if r.chance(10) {
        options.push("nosymfollow");
    }
    json!({ "destination": dest, "type": "tmpfs", "source": "tmpfs", "options": options })
}

fn bind_options(r: &mut Rng) -> Vec<&'static str> {
    let mut options = vec![*r.pick(&["bind", "rbind"])];
    options.extend(r.subset(&["ro", "nosuid", "nodev", "noexec"], 30));
    if r.chance(15) {
        options.push(*r.pick(&ATIME));
    }
    if r.chance(35) {
        options.push(*r.pick(&PROPAGATION));
    }
    if r.chance(10) {
        options.push(*r.pick(&["rro", "rnosuid", "rnodev", "rnoexec", "rrelatime"]));
    }
    options
}

fn bind(r: &mut Rng, source: &str, dest: &str) -> Value {
    let options = bind_options(r);
    let mut m = json!({ "destination": dest, "source": source, "options": options });
    match r.below(10) {
        0..=4 => m["type"] = json!("bind"),
        5..=6 => m["type"] = json!("none"),
        _ => {}
    }
    m
}

fn bind_dir(r: &mut Rng) -> Value {
    let source = *r.pick(&["@BUNDLE@/host/d-data", "@BUNDLE@/host/d-other"]);
    let dest = *r.pick(&["/mnt/bind", "/data", "/tmp/bind", "/srv/x/y", "/home/user"]);
    bind(r, source, dest)
}

fn bind_file(r: &mut Rng) -> Value {
    let dest = *r.pick(&[
        "/etc/hostname",
        "/mnt/file",
        "/etc/motd",
        "/etc/resolv.conf",
    ]);
    bind(r, "@BUNDLE@/host/f-file", dest)
}

fn special(r: &mut Rng) -> Value {
    match r.below(4) {
        0 => json!({ "destination": "/dev/pts", "type": "devpts", "source": "devpts",
            "options": r.subset(&["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"], 70) }),
        1 => json!({ "destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
            "options": r.subset(&["nosuid", "noexec", "nodev"], 60) }),
        2 => json!({ "destination": "/sys", "type": "sysfs", "source": "sysfs",
            "options": r.subset(&["nosuid", "noexec", "nodev", "ro"], 60) }),
        _ => json!({ "destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
            "options": r.subset(&["nosuid", "noexec", "nodev", "relatime", "ro", "rprivate"], 60) }),
    }
}

/// A mount inside an earlier one (a tmpfs or bind in a bind).
fn nested(r: &mut Rng, mounts: &[Value]) -> Value {
    let outer = mounts
        .iter()
        .rev()
        .find(|m| m["source"].as_str().is_some_and(|s| s.contains("/host/d-")))
        .and_then(|m| m["destination"].as_str())
        .unwrap_or("/mnt/outer")
        .to_string();
    let dest = format!("{outer}/inner");
    if r.chance(50) {
        json!({ "destination": dest, "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"] })
    } else {
        bind(r, "@BUNDLE@/host/d-other", &dest)
    }
}

/// A file over a /proc entry as lxcfs does (runc allows a short list), or a directory under
/// /proc (refused by runc: a config could redirect the runtime's own /proc writes).
fn under_proc(r: &mut Rng) -> Value {
    if r.chance(60) {
        let dest = *r.pick(&["/proc/uptime", "/proc/meminfo", "/proc/loadavg"]);
        json!({ "destination": dest, "type": "bind", "source": "@BUNDLE@/host/f-proc", "options": ["bind", "ro"] })
    } else {
        let dest = *r.pick(&["/proc/sys/net", "/proc/acpi", "/proc/scsi"]);
        json!({ "destination": dest, "type": "bind", "source": "@BUNDLE@/host/d-data", "options": ["rbind"] })
    }
}

fn idmapped(r: &mut Rng) -> Value {
    let mut m = bind(r, "@BUNDLE@/host/d-data", "/mnt/idmapped");
    let opt = *r.pick(&["idmap", "ridmap"]);
    if let Some(options) = m["options"].as_array_mut() {
        options.push(json!(opt));
    }
    m["uidMappings"] = json!([{ "containerID": 0, "hostID": 100_000, "size": 65_536 }]);
    m["gidMappings"] = json!([{ "containerID": 0, "hostID": 100_000, "size": 65_536 }]);
    m
}

/// New options for a default mount, keeping its kind.
fn reoption(r: &mut Rng, m: &mut Value) {
    let kind = m["type"].as_str().unwrap_or("").to_string();
    let options: Vec<&str> = match kind.as_str() {
        "proc" => r.subset(&["nosuid", "noexec", "nodev"], 50),
        "sysfs" => r.subset(&["nosuid", "noexec", "nodev", "ro"], 50),
        // Not nodev on /dev: its device nodes would be unusable (runc and crun then fail to
        // reopen /dev/null for the process, kapsel does not reopen it).
        "tmpfs" if m["destination"] == "/dev" => {
            let mut o = r.subset(&["nosuid", "noexec", "strictatime"], 50);
            o.push(*r.pick(&["mode=755", "size=65536k", "size=2m"]));
            o
        }
        "tmpfs" => {
            let mut o = r.subset(&["nosuid", "noexec", "nodev", "strictatime"], 50);
            o.push(*r.pick(&["mode=755", "mode=1777", "size=65536k", "size=2m"]));
            o
        }
        "cgroup" => r.subset(&["nosuid", "noexec", "nodev", "relatime", "ro"], 50),
        "bind" => bind_options(r),
        _ => return,
    };
    m["options"] = json!(options);
}
