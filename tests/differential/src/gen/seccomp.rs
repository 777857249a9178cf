//! seccomp profiles, with and without noNewPrivileges: deny lists over a default of ALLOW
//! (or LOG) whose rules deny with ERRNO (with and without errnoRet), KILL, KILL_PROCESS,
//! KILL_THREAD, TRAP or TRACE, sometimes only for some argument values; the default
//! profile docker and podman apply (an allow list with a default of ERRNO), sometimes with
//! an extra denial; and profiles that deny a call the runtime itself makes between loading
//! the filter and the user's execve. Never NOTIFY (it needs a listener).

use serde_json::{json, Value};

use super::Sources;
use crate::rng::Rng;

/// System calls the probe can try (probe.c `try_call`) without needing them itself.
pub const TRY: [&str; 17] = [
    "getpriority",
    "sched_yield",
    "personality",
    "flock",
    "sysinfo",
    "times",
    "getitimer",
    "syncfs",
    "close_range",
    "setns",
    "unshare",
    "getcpu",
    "ioprio_get",
    "process_mrelease",
    "fchmodat2",
    "mincore",
    "getsid",
];

/// Calls a runtime may make after loading the filter, before the user's execve (without
/// noNewPrivileges the filter is loaded before capabilities and ids change).
const RUNTIME_PATH: [&str; 18] = [
    "close_range",
    "capset",
    "capget",
    "prctl",
    "setgroups",
    "setresuid",
    "setresgid",
    "execve",
    "fchdir",
    "chdir",
    "fcntl",
    "dup3",
    "openat2",
    "umask",
    "sigaltstack",
    "readlinkat",
    "getdents64",
    "keyctl",
];

const DENY: [&str; 7] = [
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_LOG",
];

/// Sets `linux.seccomp` and `process.noNewPrivileges`.
pub fn vary(r: &mut Rng, config: &mut Value, sources: &Sources) {
    let mut profile = if r.chance(35) && sources.default_seccomp.is_object() {
        allow_list(r, &sources.default_seccomp)
    } else {
        deny_list(r)
    };
    match r.below(10) {
        0..=3 => {}
        4..=7 => {
            profile["architectures"] = json!(["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"])
        }
        8 => profile["architectures"] = json!(["SCMP_ARCH_X86_64"]),
        _ => profile["architectures"] = json!(["SCMP_ARCH_AARCH64"]),
    }
    if r.chance(15) {
        profile["flags"] = json!([*r.pick(&[
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
            "SECCOMP_FILTER_FLAG_TSYNC",
        ])]);
    }
    config["linux"]["seccomp"] = profile;
    config["process"]["noNewPrivileges"] = json!(r.chance(50));
}

fn deny_list(r: &mut Rng) -> Value {
    let default = if r.chance(85) {
        "SCMP_ACT_ALLOW"
    } else {
        "SCMP_ACT_LOG"
    };
    let rules: Vec<Value> = (0..r.range(1, 4)).map(|_| rule(r)).collect();
    json!({ "defaultAction": default, "syscalls": rules })
}

fn rule(r: &mut Rng) -> Value {
    let pool: &[&str] = if r.chance(35) { &RUNTIME_PATH } else { &TRY };
    let mut names = vec![*r.pick(pool)];
    if r.chance(30) {
        names.push(*r.pick(&TRY));
    }
    names.dedup();
    let action = if pool == RUNTIME_PATH {
        "SCMP_ACT_ERRNO"
    } else {
        *r.pick(&DENY)
    };
    let mut rule = json!({ "names": names, "action": action });
    if action == "SCMP_ACT_ERRNO" && r.chance(50) {
        rule["errnoRet"] = json!(*r.pick(&[1u32, 13, 38, 95]));
    }
    if r.chance(20) {
        // The probe calls getpriority(0, 0), personality(0xffffffff), flock(-1, 1) and
        // ioprio_get(1, 0): conditions on the first argument that match or not.
        let op = *r.pick(&[
            "SCMP_CMP_EQ",
            "SCMP_CMP_NE",
            "SCMP_CMP_LT",
            "SCMP_CMP_LE",
            "SCMP_CMP_GT",
            "SCMP_CMP_GE",
            "SCMP_CMP_MASKED_EQ",
        ]);
        let mut arg = json!({ "index": 0, "value": r.below(3), "op": op });
        if op == "SCMP_CMP_MASKED_EQ" {
            arg["valueTwo"] = json!(r.below(2));
        }
        rule["names"] = json!([*r.pick(&["getpriority", "personality", "flock", "ioprio_get"])]);
        rule["args"] = json!([arg]);
    }
    rule
}

fn allow_list(r: &mut Rng, default: &Value) -> Value {
    let mut profile = default.clone();
    match r.below(3) {
        0 => {}
        1 => profile["defaultErrnoRet"] = json!(38),
        _ => profile["defaultErrnoRet"] = json!(1),
    }
    if r.chance(50) {
        if let Some(rules) = profile["syscalls"].as_array_mut() {
            rules.push(json!({ "names": [*r.pick(&TRY)], "action": "SCMP_ACT_ERRNO" }));
        }
    }
    profile
}
