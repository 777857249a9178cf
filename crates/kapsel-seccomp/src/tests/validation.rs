//! Bad input: each a one-line error naming the field.

use super::*;

fn parse_err(v: serde_json::Value) -> String {
    crate::parse(&v).unwrap_err().to_string()
}

fn compile_err(v: serde_json::Value) -> String {
    compile(&config(v)).unwrap_err().to_string()
}

#[test]
fn unknown_action() {
    assert_eq!(
        parse_err(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_MAYBE"}]})),
        "linux.seccomp.syscalls[0].action: unknown action `SCMP_ACT_MAYBE`"
    );
    assert_eq!(
        parse_err(json!({"defaultAction": "ALLOW"})),
        "linux.seccomp.defaultAction: unknown action `ALLOW`"
    );
    assert_eq!(parse_err(json!({})), "linux.seccomp.defaultAction: missing");
}

#[test]
fn bad_architecture() {
    assert_eq!(
        parse_err(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"]})),
        "linux.seccomp.architectures[1]: unknown architecture `SCMP_ARCH_VAX`"
    );
    assert_eq!(
        compile_err(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_LOONGARCH64"]})),
        "linux.seccomp.architectures[0]: architecture `SCMP_ARCH_LOONGARCH64` has no syscall table in kapsel"
    );
}

#[test]
fn bad_operator_and_argument() {
    let rule = |arg: serde_json::Value| {
        json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["write"], "action": "SCMP_ACT_ERRNO", "args": [arg]}]})
    };
    assert_eq!(
        parse_err(rule(
            json!({"index": 0, "value": 1, "op": "SCMP_CMP_ABOUT"})
        )),
        "linux.seccomp.syscalls[1].args[0].op: unknown operator `SCMP_CMP_ABOUT`"
    );
    assert_eq!(
        parse_err(rule(json!({"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}))),
        "linux.seccomp.syscalls[1].args[0].index: 6 is out of range 0..=5"
    );
    assert_eq!(
        parse_err(rule(json!({"index": -1, "value": 1, "op": "SCMP_CMP_EQ"}))),
        "linux.seccomp.syscalls[1].args[0].index: expected an unsigned integer, found -1"
    );
    assert_eq!(
        parse_err(rule(json!({"index": 0, "op": "SCMP_CMP_EQ"}))),
        "linux.seccomp.syscalls[1].args[0].value: missing"
    );
    // A config built in code, past the JSON checks, is refused by compile too.
    let mut cfg = config(rule(json!({"index": 0, "value": 1, "op": "SCMP_CMP_EQ"})));
    let mut calls = cfg.syscalls().clone().unwrap();
    let arg = oci_spec::runtime::LinuxSeccompArgBuilder::default()
        .index(9usize)
        .value(1u64)
        .op(oci_spec::runtime::LinuxSeccompOperator::ScmpCmpEq)
        .build()
        .unwrap();
    calls[1].set_args(Some(vec![arg]));
    cfg.set_syscalls(Some(calls));
    assert_eq!(
        compile(&cfg).unwrap_err().to_string(),
        "linux.seccomp.syscalls[1].args[0].index: 9 is out of range: a system call has arguments 0 to 5"
    );
}

#[test]
fn bad_flag_and_types() {
    assert_eq!(
        parse_err(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_FAST"]})
        ),
        "linux.seccomp.flags[0]: unknown flag `SECCOMP_FILTER_FLAG_FAST`"
    );
    assert_eq!(
        parse_err(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": {"names": []}})),
        "linux.seccomp.syscalls: expected an array, found an object"
    );
    assert_eq!(
        parse_err(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": [3], "action": "SCMP_ACT_ALLOW"}]})
        ),
        "linux.seccomp.syscalls[0].names[0]: expected a string, found a number"
    );
}

#[test]
fn errno_must_be_a_real_errno_and_trace_data_fit_in_sixteen_bits() {
    // libseccomp refuses ERRNO above MAX_ERRNO, so runc and crun fail on it (found against
    // libseccomp: kapsel took 5000 and the kernel would have returned -4095).
    assert_eq!(
        compile_err(json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000})),
        "linux.seccomp.defaultErrnoRet: errno 70000 is above 4095, the largest errno a call returns"
    );
    assert_eq!(
        compile_err(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 4096}]})),
        "linux.seccomp.syscalls[0].errnoRet: errno 4096 is above 4095, the largest errno a call returns"
    );
    compile(&config(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 4095},
                     {"names": ["write"], "action": "SCMP_ACT_TRACE", "errnoRet": 65535}]})))
    .expect("4095 and a 16-bit trace message compile");
    assert_eq!(
        compile_err(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": "SCMP_ACT_TRACE", "errnoRet": 65536}]})),
        "linux.seccomp.syscalls[0].errnoRet: errno 65536 does not fit in the 16 bits seccomp returns"
    );
}

#[test]
fn errno_only_with_errno_and_trace() {
    assert_eq!(
        compile_err(json!({"defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": 5})),
        "linux.seccomp.defaultErrnoRet: SCMP_ACT_ALLOW returns no errno: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one"
    );
    for action in [
        "SCMP_ACT_KILL",
        "SCMP_ACT_KILL_PROCESS",
        "SCMP_ACT_TRAP",
        "SCMP_ACT_LOG",
        "SCMP_ACT_ALLOW",
    ] {
        assert_eq!(
            compile_err(json!({"defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["read"], "action": action, "errnoRet": 1}]})),
            format!("linux.seccomp.syscalls[0].errnoRet: {action} returns no errno: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one")
        );
    }
    for action in ["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"] {
        let cfg = config(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["read"], "action": action, "errnoRet": 1}]}));
        assert!(compile(&cfg).is_ok(), "{action}");
    }
}

#[test]
fn notify_needs_an_absolute_listener_and_cannot_be_the_default() {
    assert_eq!(
        compile_err(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})),
        "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath"
    );
    assert_eq!(
        compile_err(json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/run/a.sock"})),
        "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"
    );
    assert_eq!(
        compile_err(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "run/a.sock",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})
        ),
        "linux.seccomp.listenerPath: `run/a.sock` is not an absolute path"
    );
}

#[test]
fn listener_path_must_be_an_existing_socket() {
    let missing = std::path::Path::new("/nonexistent/kapsel-seccomp/agent.sock");
    assert_eq!(
        crate::check_listener(missing).unwrap_err().to_string(),
        "linux.seccomp.listenerPath `/nonexistent/kapsel-seccomp/agent.sock`: stat: No such file or directory (ENOENT)"
    );
    assert_eq!(
        crate::check_listener(std::path::Path::new("/dev/null"))
            .unwrap_err()
            .to_string(),
        "linux.seccomp.listenerPath `/dev/null`: stat: not a unix socket"
    );
}

#[test]
fn send_to_a_dead_agent_names_the_path_and_errno() {
    use std::os::fd::AsFd;
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("agent.sock");
    drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
    let fd = std::fs::File::open("/dev/null").unwrap();
    let state = crate::process_state(1, None, crate::State::default());
    let refused = crate::send_notify_fd(&socket, fd.as_fd(), &state)
        .unwrap_err()
        .to_string();
    let missing = crate::send_notify_fd(&dir.path().join("none"), fd.as_fd(), &state)
        .unwrap_err()
        .to_string();
    let shown = socket.display();
    assert_eq!(
        refused,
        format!("linux.seccomp.listenerPath `{shown}`: connect: Connection refused (ECONNREFUSED)")
    );
    assert!(
        missing.ends_with("none`: connect: No such file or directory (ENOENT)"),
        "{missing}"
    );
}
