//! A seccomp filter loaded without noNewPrivileges sees the runtime's own last calls: it is
//! loaded while the container process still holds CAP_SYS_ADMIN, so before the uid and
//! capability change, and everything kapsel does after it is filtered too. A profile that
//! denies one of those calls (most profiles written before Linux 5.9 know nothing of
//! close_range) must not break `create`: each call kapsel could make after the filter is
//! denied in turn, with EPERM and with ENOSYS, and the container must still run.
//! (runc 1.1.5 fails 12 of these: capset, capget, setgroups, setuid, setgid, close, openat,
//! write, read, getdents64, newfstatat, chdir; see docs/security.md, "After the seccomp
//! filter".)

use kapsel_integration::{ctx, Ctx};
use serde_json::json;

/// Every call kapsel's container process could make once a filter is loaded, and more
/// that a runtime commonly makes there; none is used by busybox `true` itself.
const DENIED: &[&str] = &[
    "close_range",
    "capset",
    "capget",
    "setgroups",
    "setuid",
    "setgid",
    "setresuid",
    "setresgid",
    "sched_setaffinity",
    "rt_sigaction",
    "rt_sigprocmask",
    "sendto",
    "sendmsg",
    "write",
    "read",
    "close",
    "fcntl",
    "openat",
    "getdents64",
    "newfstatat",
    "statx",
    "umask",
    "chdir",
    "fchdir",
    "setsid",
    "ioctl",
    "dup2",
    "dup3",
    "kill",
    "wait4",
];

/// A non-root user with runc's default capabilities, an affinity to set at the end, and
/// `name` denied with `errno`.
fn run_denying(t: &mut Ctx, name: &str, errno: u32) -> kapsel_integration::Output {
    let mut b = t.bundle();
    b.args(&["true"]);
    b.set("/process/noNewPrivileges", json!(false));
    b.set(
        "/process/user",
        json!({"uid": 1000, "gid": 1000, "additionalGids": [1000]}),
    );
    b.set(
        "/process/capabilities",
        json!({
            "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            "inheritable": ["CAP_KILL"],
            "ambient": ["CAP_KILL"]
        }),
    );
    b.set(
        "/linux/seccomp",
        json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": errno}]
        }),
    );
    let id = t.id(&format!("deny-{name}"));
    t.run(&b, &id)
}

// Defect: `create: close_range: Operation not permitted (EPERM)` for a profile that denies
// close_range (runc and crun run it).
#[test]
fn a_profile_denying_the_runtimes_last_calls_still_runs() {
    let Some(mut t) = ctx!("a_profile_denying_the_runtimes_last_calls_still_runs") else {
        return;
    };
    let mut failed = Vec::new();
    for name in DENIED {
        for errno in [nix::libc::EPERM as u32, nix::libc::ENOSYS as u32] {
            let out = run_denying(&mut t, name, errno);
            if !out.success() {
                failed.push(format!("{name} (errno {errno}): {}", out.describe()));
            }
        }
    }
    if !failed.is_empty() && !t.checks_kapsel_only(&format!("{} denials fail", failed.len())) {
        return;
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

// The other side: a denied execve is the one call no runtime can do without; the error
// is one line that names it.
#[test]
fn a_profile_denying_execve_fails_with_one_line() {
    let Some(mut t) = ctx!("a_profile_denying_execve_fails_with_one_line") else {
        return;
    };
    let out = run_denying(&mut t, "execve", nix::libc::EPERM as u32);
    out.failed();
    if t.checks_kapsel_only("the error names execve's errno") {
        out.err_mentions("Operation not permitted");
    }
}
