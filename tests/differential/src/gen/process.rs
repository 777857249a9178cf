//! The process: capability sets (with names the kernel may lack), rlimits, user and groups
//! (with duplicate additionalGids), umask, env, cwd, terminal, oomScoreAdj,
//! noNewPrivileges, and the probe's own arguments, which ask it for the facts the config
//! makes interesting (each sysctl, device, masked path, mount destination, denied call).

use serde_json::{json, Value};

use super::{array, at, has_ns, seccomp, strings, Sources};
use crate::rng::Rng;
use kapsel_integration::probe::CAPS;

/// The capabilities docker and podman give a container.
const DEFAULT_CAPS: [&str; 14] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// Five capability sets drawn from a pool, some missing, ambient within inheritable and
/// permitted most of the time.
pub fn capabilities(r: &mut Rng, config: &mut Value, _: &Sources) {
    let mut pool: Vec<&str> = if r.chance(50) {
        r.subset(&DEFAULT_CAPS, 80)
    } else {
        r.subset(&CAPS, 30)
    };
    if r.chance(8) {
        pool.push(*r.pick(&["CAP_BOGUS", "CAP_SYS_EVERYTHING"]));
    }
    let caps = at(config, "/process/capabilities");
    let set = |r: &mut Rng, pct| json!(r.subset(&pool, pct));
    let mut sets = serde_json::Map::new();
    sets.insert("bounding".into(), json!(pool));
    sets.insert("effective".into(), set(r, 85));
    sets.insert("permitted".into(), set(r, 95));
    if r.chance(40) {
        let inheritable: Vec<&str> = r.subset(&pool, 40);
        let ambient: Vec<&str> = if r.chance(85) {
            r.subset(&inheritable, 60)
        } else {
            r.subset(&pool, 20)
        };
        sets.insert("inheritable".into(), json!(inheritable));
        sets.insert("ambient".into(), json!(ambient));
    }
    for name in [
        "bounding",
        "effective",
        "permitted",
        "inheritable",
        "ambient",
    ] {
        if r.chance(8) {
            sets.remove(name);
        }
    }
    *caps = Value::Object(sets);
}

const RLIMITS: [&str; 16] = [
    "RLIMIT_AS",
    "RLIMIT_CORE",
    "RLIMIT_CPU",
    "RLIMIT_DATA",
    "RLIMIT_FSIZE",
    "RLIMIT_LOCKS",
    "RLIMIT_MEMLOCK",
    "RLIMIT_MSGQUEUE",
    "RLIMIT_NICE",
    "RLIMIT_NOFILE",
    "RLIMIT_NPROC",
    "RLIMIT_RSS",
    "RLIMIT_RTPRIO",
    "RLIMIT_RTTIME",
    "RLIMIT_SIGPENDING",
    "RLIMIT_STACK",
];

/// One to four rlimits with soft <= hard; values a caller would use, unlimited included.
pub fn rlimits(r: &mut Rng, config: &mut Value, _: &Sources) {
    let list = array(config, "/process/rlimits");
    if r.chance(30) {
        list.clear();
    }
    for _ in 0..r.range(1, 4) {
        let kind = *r.pick(&RLIMITS);
        // Values within this kind of host's hard limits (a limit above the hard one needs
        // CAP_SYS_RESOURCE, which the harness may lack: see edge.rs for that case).
        let values: &[u64] = match kind {
            "RLIMIT_AS" | "RLIMIT_DATA" | "RLIMIT_STACK" | "RLIMIT_RSS" => {
                &[1 << 26, 1 << 30, u64::MAX]
            }
            "RLIMIT_NOFILE" => &[64, 1024, 4096],
            "RLIMIT_CPU" | "RLIMIT_RTTIME" => &[10, 1000, u64::MAX],
            "RLIMIT_NICE" | "RLIMIT_RTPRIO" => &[0],
            "RLIMIT_MEMLOCK" => &[0, 65_536, 1 << 20],
            "RLIMIT_SIGPENDING" | "RLIMIT_NPROC" | "RLIMIT_MSGQUEUE" => &[64, 4096, 65_536],
            _ => &[0, 64, 4096, 65_536, u64::MAX],
        };
        let a = *r.pick(values);
        let b = *r.pick(values);
        list.retain(|l| l["type"] != kind);
        list.push(json!({ "type": kind, "soft": a.min(b), "hard": a.max(b) }));
    }
}

/// uid, gid, additionalGids (duplicates included) and umask.
pub fn user(r: &mut Rng, config: &mut Value, _: &Sources) {
    let user = at(config, "/process/user");
    user["uid"] = json!(*r.pick(&[0u32, 0, 1000, 65_534, 4242]));
    user["gid"] = json!(*r.pick(&[0u32, 1000, 100, 65_534]));
    match r.below(10) {
        0..=2 => {
            if let Some(u) = user.as_object_mut() {
                u.remove("additionalGids");
            }
        }
        3 => user["additionalGids"] = json!([]),
        _ => {
            let gids: Vec<u32> = (0..r.range(1, 4))
                .map(|_| *r.pick(&[0u32, 5, 10, 100, 1000, 65_534]))
                .collect();
            user["additionalGids"] = json!(gids);
        }
    }
    if r.chance(40) {
        user["umask"] = json!(*r.pick(&[0u32, 2, 18, 63]));
    }
}

/// env, cwd, terminal, oomScoreAdj and noNewPrivileges.
pub fn environment(r: &mut Rng, config: &mut Value, _: &Sources) {
    let env = array(config, "/process/env");
    if r.chance(15) {
        env.retain(|e| !e.as_str().is_some_and(|s| s.starts_with("PATH=")));
    }
    for extra in r.subset(
        &[
            "EMPTY=",
            "DUP=1",
            "DUP=2",
            "A=b=c",
            "HOME=/tmp",
            "TERM=dumb",
        ],
        20,
    ) {
        env.push(json!(extra));
    }
    if r.chance(30) {
        config["process"]["cwd"] =
            json!(*r.pick(&["/", "/tmp", "/home/user", "/root", "/nonexistent/dir",]));
    }
    if r.chance(12) {
        config["process"]["terminal"] = json!(true);
    }
    if r.chance(25) {
        config["process"]["oomScoreAdj"] = json!(*r.pick(&[0i32, 100, 1000, -100, -1000]));
    }
    if r.chance(30) {
        config["process"]["noNewPrivileges"] = json!(r.chance(50));
    }
}

/// `process.args`: the probe, asked for what this config makes worth looking at.
pub fn probe_args(r: &mut Rng, config: &mut Value) {
    let mut args: Vec<String> = ["/probe", "token:@ID@", "fds", "dev", "net"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(sysctl) = config["linux"]["sysctl"].as_object() {
        args.extend(sysctl.keys().map(|k| format!("sysctl:{k}")));
    }
    for d in config["linux"]["devices"].as_array().into_iter().flatten() {
        if let Some(p) = d["path"].as_str() {
            args.push(format!("stat:{p}"));
        }
    }
    for p in strings(&config["linux"]["maskedPaths"]) {
        args.push(format!("stat:{p}"));
        args.push(format!("read:{p}"));
    }
    for p in strings(&config["linux"]["readonlyPaths"]) {
        args.push(format!("stat:{p}"));
    }
    for m in config["mounts"].as_array().into_iter().flatten() {
        if let Some(d) = m["destination"].as_str() {
            if !args.iter().any(|a| a == &format!("stat:{d}")) {
                args.push(format!("stat:{d}"));
            }
        }
    }
    let mut tries: Vec<&str> = Vec::new();
    for rule in config["linux"]["seccomp"]["syscalls"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for name in strings(&rule["names"]) {
            if let Some(t) = seccomp::TRY.iter().find(|t| **t == name) {
                tries.push(t);
            }
        }
    }
    if config["linux"]["seccomp"].is_object() {
        tries.extend([*r.pick(&seccomp::TRY), "fchmodat2", "close_range"]);
    }
    tries.sort_unstable();
    tries.dedup();
    args.extend(tries.iter().map(|t| format!("try:{t}")));
    if has_ns(config, "time") {
        args.push("read:/proc/self/timens_offsets".into());
    }
    args.push("read:/proc/self/oom_score_adj".into());
    if r.chance(20) {
        args.push("linger:60".into());
    }
    args.push("wait:term".into());
    let mut seen = std::collections::BTreeSet::new();
    args.retain(|a| seen.insert(a.clone()));
    config["process"]["args"] = json!(args);
}
