//! Dispatch by architecture and number, ordering of rules, actions, jumps, flags, bytes.

use super::*;
use crate::filter::flags;
use crate::ret;

const X86_64: Arch = Arch::ScmpArchX86_64;

#[test]
fn every_action_returns_its_kernel_value() {
    let cases = [
        ("SCMP_ACT_KILL", None, ret::KILL_THREAD),
        ("SCMP_ACT_KILL_THREAD", None, ret::KILL_THREAD),
        ("SCMP_ACT_KILL_PROCESS", None, ret::KILL_PROCESS),
        ("SCMP_ACT_TRAP", None, ret::TRAP),
        ("SCMP_ACT_ERRNO", None, errno(libc::EPERM)),
        ("SCMP_ACT_ERRNO", Some(libc::EXDEV), errno(libc::EXDEV)),
        ("SCMP_ACT_TRACE", None, ret::TRACE | 1),
        ("SCMP_ACT_TRACE", Some(77), ret::TRACE | 77),
        ("SCMP_ACT_LOG", None, ret::LOG),
        ("SCMP_ACT_NOTIFY", None, ret::USER_NOTIF),
        ("SCMP_ACT_ALLOW", None, ALLOW),
    ];
    for (action, errno_ret, want) in cases {
        let mut rule = json!({"names": ["getcwd"], "action": action});
        if let Some(e) = errno_ret {
            rule["errnoRet"] = json!(e);
        }
        let f = build(json!({
            "defaultAction": "SCMP_ACT_KILL_PROCESS",
            "listenerPath": "/run/agent.sock",
            "syscalls": [rule, {"names": ["uname"], "action": "SCMP_ACT_ALLOW"}]
        }));
        assert_eq!(
            verdict(&f, X86_64, "getcwd", [0; 6]),
            want,
            "{action} {errno_ret:?}"
        );
        assert_eq!(verdict(&f, X86_64, "uname", [0; 6]), ALLOW, "{action}");
        assert_eq!(
            verdict(&f, X86_64, "getpid", [0; 6]),
            ret::KILL_PROCESS,
            "{action}"
        );
        assert_eq!(f.uses_notify(), action == "SCMP_ACT_NOTIFY");
    }
}

#[test]
fn default_action_and_errno() {
    let f = build(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 38,
        "syscalls": [{"names": ["write"], "action": "SCMP_ACT_ALLOW"}]}),
    );
    assert_eq!(verdict(&f, X86_64, "read", [0; 6]), errno(38));
    assert_eq!(verdict(&f, X86_64, "write", [0; 6]), ALLOW);
    let f = build(json!({"defaultAction": "SCMP_ACT_ERRNO"}));
    assert_eq!(verdict(&f, X86_64, "read", [0; 6]), errno(libc::EPERM));
}

/// Semantics as runc and crun get them from libseccomp (each checked against it by
/// tests/seccomp-ref): conditional rules for one call are tried in config order, the
/// conditions of one rule ANDed.
#[test]
fn conditional_rules_for_one_call_are_tried_in_order_and_args_are_anded() {
    let f = build(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
        {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 6,
         "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]}
    ]}));
    let v = |a0, a1| verdict(&f, X86_64, "ioctl", [a0, a1, 0, 0, 0, 0]);
    assert_eq!(v(1, 2), errno(5));
    assert_eq!(v(0, 2), errno(6));
    assert_eq!(v(1, 3), ALLOW);
}

/// A rule without conditions decides its call alone, before or after conditional ones
/// (libseccomp drops the conditional ones; the first unconditional rule wins). Found
/// against libseccomp: kapsel used to try the conditional rules before it first.
#[test]
fn an_unconditional_rule_decides_its_call_alone() {
    let cond = json!({"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
        "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]});
    let plain = |e: u32| json!({"names": ["ioctl"], "action": "SCMP_ACT_ERRNO", "errnoRet": e});
    for rules in [
        json!([cond, plain(7), plain(8)]),
        json!([plain(7), cond, plain(8)]),
    ] {
        let f = build(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}));
        for a0 in [0, 1, 2] {
            assert_eq!(
                verdict(&f, X86_64, "ioctl", [a0, 0, 0, 0, 0, 0]),
                errno(7),
                "{rules}"
            );
        }
    }
}

/// A rule whose only conditions are masked with zero (in the bits the ABI passes) is
/// unconditional there, as libseccomp makes it: on x32 the mask 1 << 32 is zero.
#[test]
fn a_rule_whose_conditions_always_hold_is_unconditional() {
    let f = build(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32"], "syscalls": [
        {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 82,
         "args": [{"index": 2, "value": 0x1_0000_0000u64, "op": "SCMP_CMP_MASKED_EQ"}]},
        {"names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3}
    ]}));
    assert_eq!(
        verdict(&f, Arch::ScmpArchX32, "write", [0, 0, 7, 0, 0, 0]),
        errno(82)
    );
    assert_eq!(verdict(&f, X86_64, "write", [0, 0, 7, 0, 0, 0]), errno(3));
}

/// Two conditions on one argument in one rule are ORed: runc and crun add each as a rule
/// of its own (libseccomp refuses them in one). Found against libseccomp: kapsel ANDed
/// them, so `a0 == 1, a0 == 2` never matched.
#[test]
fn conditions_on_one_argument_are_ored() {
    let f = build(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["read"], "action": "SCMP_ACT_ERRNO", "errnoRet": 9,
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"},
                  {"index": 0, "value": 2, "op": "SCMP_CMP_EQ"},
                  {"index": 1, "value": 3, "op": "SCMP_CMP_EQ"}]}
    ]}));
    let v = |a0, a1| verdict(&f, X86_64, "read", [a0, a1, 0, 0, 0, 0]);
    assert_eq!(v(1, 0), errno(9));
    assert_eq!(v(2, 0), errno(9));
    assert_eq!(v(0, 3), errno(9));
    assert_eq!(v(0, 0), ALLOW);
}

/// A rule whose action is the default one is left out (runc and crun skip it), so it
/// does not shadow a later conditional rule; its names still count for ENOSYS. Found
/// against libseccomp.
#[test]
fn a_rule_with_the_default_action_is_left_out() {
    let f = build(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["ioctl"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]},
        {"names": ["ioctl"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 1, "value": 2, "op": "SCMP_CMP_EQ"}]},
        {"names": ["mseal"], "action": "SCMP_ACT_ERRNO"}
    ]}));
    assert_eq!(verdict(&f, X86_64, "ioctl", [1, 2, 0, 0, 0, 0]), ALLOW);
    assert_eq!(
        verdict(&f, X86_64, "ioctl", [1, 0, 0, 0, 0, 0]),
        errno(libc::EPERM)
    );
    assert_eq!(verdict(&f, X86_64, "mseal", [0; 6]), errno(libc::EPERM));
    assert_eq!(verdict_nr(&f, X86_64, 463, [0; 6]), errno(libc::ENOSYS));
}

#[test]
#[cfg(feature = "foreign-arches")]
fn unknown_names_are_skipped_per_architecture() {
    let f = build(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"],
        "syscalls": [{"names": ["no_such_call", "mkdir", "mkdirat"], "action": "SCMP_ACT_ALLOW"}]}));
    assert_eq!(verdict(&f, X86_64, "mkdir", [0; 6]), ALLOW);
    assert_eq!(verdict(&f, X86_64, "mkdirat", [0; 6]), ALLOW);
    assert_eq!(verdict(&f, Arch::ScmpArchAarch64, "mkdirat", [0; 6]), ALLOW);
    // aarch64 has no mkdir: x86_64's number 83 is fdatasync there, beyond the
    // profile's last aarch64 call (mkdirat, 34), so it gets ENOSYS, not ALLOW.
    assert_eq!(
        verdict_nr(&f, Arch::ScmpArchAarch64, 83, [0; 6]),
        errno(libc::ENOSYS)
    );
    assert_eq!(verdict_nr(&f, Arch::ScmpArchAarch64, 33, [0; 6]), errno(1));
}

#[test]
#[cfg(feature = "foreign-arches")]
fn calls_from_unlisted_architectures_kill_the_process() {
    let f = build(json!({"defaultAction": "SCMP_ACT_ALLOW"}));
    assert_eq!(
        verdict(&f, Arch::ScmpArchAarch64, "read", [0; 6]),
        ret::KILL_PROCESS
    );
    assert_eq!(
        verdict(&f, Arch::ScmpArchX86, "read", [0; 6]),
        ret::KILL_PROCESS
    );
    // x32 shares x86_64's AUDIT_ARCH value; only the number's bit 30 tells it apart.
    assert_eq!(
        verdict(&f, Arch::ScmpArchX32, "read", [0; 6]),
        ret::KILL_PROCESS
    );
    assert_eq!(verdict(&f, X86_64, "read", [0; 6]), ALLOW);
    // Except number -1, which ptrace uses to skip a call: it is no x32 call and gets the
    // default action, as with libseccomp (found against it).
    let f = build(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW"}]}));
    assert_eq!(verdict_nr(&f, X86_64, u32::MAX, [0; 6]), errno(libc::EPERM));
    assert_eq!(
        verdict_nr(&f, X86_64, u32::MAX - 1, [0; 6]),
        ret::KILL_PROCESS
    );
}

#[test]
#[cfg(feature = "foreign-arches")]
fn every_supported_architecture_gets_its_own_numbers() {
    let arches = [
        Arch::ScmpArchX86_64,
        Arch::ScmpArchX86,
        Arch::ScmpArchX32,
        Arch::ScmpArchArm,
        Arch::ScmpArchAarch64,
        Arch::ScmpArchRiscv64,
        Arch::ScmpArchPpc,
        Arch::ScmpArchPpc64,
        Arch::ScmpArchPpc64le,
        Arch::ScmpArchS390,
        Arch::ScmpArchS390x,
        Arch::ScmpArchMips,
        Arch::ScmpArchMipsel,
        Arch::ScmpArchMips64,
        Arch::ScmpArchMipsel64,
        Arch::ScmpArchMips64n32,
        Arch::ScmpArchMipsel64n32,
    ];
    let names: Vec<String> = arches.iter().map(|a| a.to_string()).collect();
    let f = build(
        json!({"defaultAction": "SCMP_ACT_ERRNO", "architectures": names,
        "syscalls": [
            {"names": ["openat"], "action": "SCMP_ACT_ALLOW"},
            {"names": ["getpid"], "action": "SCMP_ACT_LOG"},
            {"names": ["kill"], "action": "SCMP_ACT_ERRNO", "errnoRet": 3,
             "args": [{"index": 1, "value": 9, "op": "SCMP_CMP_EQ"}]}
        ]}),
    );
    for a in arches {
        assert_eq!(verdict(&f, a, "openat", [0; 6]), ALLOW, "{a}");
        assert_eq!(verdict(&f, a, "getpid", [0; 6]), ret::LOG, "{a}");
        assert_eq!(verdict(&f, a, "kill", [1, 9, 0, 0, 0, 0]), errno(3), "{a}");
        assert_eq!(verdict(&f, a, "kill", [1, 15, 0, 0, 0, 0]), errno(1), "{a}");
        assert_eq!(verdict(&f, a, "close", [0; 6]), errno(1), "{a}");
    }
}

#[test]
#[cfg(feature = "foreign-arches")]
fn numbers_beyond_the_profile_get_enosys_when_the_default_blocks() {
    let f = build(json!({"defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_S390X"],
        "syscalls": [{"names": ["openat", "getpid"], "action": "SCMP_ACT_ALLOW"}]}));
    let openat = 257;
    assert_eq!(verdict_nr(&f, X86_64, openat - 1, [0; 6]), errno(1));
    assert_eq!(
        verdict_nr(&f, X86_64, openat + 1, [0; 6]),
        errno(libc::ENOSYS)
    );
    assert_eq!(
        verdict_nr(&f, X86_64, 0x3fff_ffff, [0; 6]),
        errno(libc::ENOSYS)
    );
    assert_eq!(
        verdict_nr(&f, Arch::ScmpArchX32, 0x4000_0000 + 300, [0; 6]),
        errno(libc::ENOSYS)
    );
    assert_eq!(
        verdict_nr(&f, X86_64, u32::MAX, [0; 6]),
        errno(libc::ENOSYS)
    );
    // s390x multiplexes unknown calls through number 0.
    assert_eq!(
        verdict_nr(&f, Arch::ScmpArchS390x, 0, [0; 6]),
        errno(libc::ENOSYS)
    );
    let allow_default = build(json!({"defaultAction": "SCMP_ACT_LOG",
        "syscalls": [{"names": ["openat"], "action": "SCMP_ACT_ERRNO"}]}));
    assert_eq!(verdict_nr(&allow_default, X86_64, 400, [0; 6]), ret::LOG);
}

#[test]
fn far_jumps_go_through_trampolines() {
    // ~300 conditional rules put most targets more than 255 instructions away.
    let t = target(X86_64);
    let names: Vec<&str> = crate::tables::names()
        .filter(|n| t.abi.syscall_number(n).is_some())
        .take(300)
        .collect();
    let rules: Vec<_> = names
        .iter()
        .map(|n| {
            json!({"names": [n], "action": "SCMP_ACT_ERRNO", "errnoRet": 9,
            "args": [{"index": 2, "value": 7, "op": "SCMP_CMP_EQ"}]})
        })
        .collect();
    let f = build(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}));
    assert!(
        f.instructions().len() > 1000,
        "only {} instructions",
        f.instructions().len()
    );
    for n in &names {
        assert_eq!(verdict(&f, X86_64, n, [0, 0, 7, 0, 0, 0]), errno(9), "{n}");
        assert_eq!(verdict(&f, X86_64, n, [0, 0, 8, 0, 0, 0]), ALLOW, "{n}");
    }
}

#[test]
fn too_long_a_program_is_refused() {
    let rules: Vec<_> = (0..700)
        .map(|i| {
            json!({"names": ["ioctl"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 0, "value": i, "op": "SCMP_CMP_GT"}]})
        })
        .collect();
    let cfg = config(json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": rules}));
    let err = compile(&cfg).unwrap_err().to_string();
    assert!(err.starts_with("linux.seccomp: the filter needs"), "{err}");
    assert!(
        err.ends_with("more than the kernel's limit of 4096"),
        "{err}"
    );
}

#[test]
fn flags_are_passed_and_completed() {
    let f = build(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "flags": ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                  "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]}));
    // WAIT_KILLABLE_RECV means nothing without a listener, and the kernel refuses it alone.
    assert_eq!(f.flags(), flags::LOG | flags::SPEC_ALLOW);
    let f = build(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/a.sock",
        "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}),
    );
    assert_eq!(
        f.flags(),
        flags::TSYNC | flags::TSYNC_ESRCH | flags::NEW_LISTENER | flags::WAIT_KILLABLE_RECV
    );
    assert!(f.uses_notify());
}

#[test]
fn bytes_round_trip_and_reject_garbage() {
    let f = compile(&crate::default_profile()).unwrap();
    let bytes = f.to_bytes();
    assert_eq!(Filter::from_bytes(&bytes).unwrap(), f);
    let msg = |b: &[u8]| Filter::from_bytes(b).unwrap_err().to_string();
    assert_eq!(
        msg(b"nope"),
        "cached seccomp filter: not a kapsel seccomp filter (wrong magic)"
    );
    assert_eq!(
        msg(&bytes[..bytes.len() - 1]),
        "cached seccomp filter: instruction count does not match the length"
    );
    assert_eq!(msg(&bytes[..6]), "cached seccomp filter: truncated header");
}

/// A short profile is a row of `jeq`s (libseccomp's shape), not a binary search over every
/// gap between the numbers it names.
#[test]
fn a_short_profile_compiles_to_a_row() {
    let f = build(json!({"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [
        {"names": ["read", "write", "close"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}], "listenerPath": "/run/a.sock"}));
    // ld arch; jeq; ret KILL; ld nr; jge ENOSYS-tail; 4 x jeq; 3 x ret; the tail: 5.
    assert_eq!(f.instructions().len(), 17);
    for (name, want) in [
        ("read", ALLOW),
        ("close", ALLOW),
        ("mkdir", ret::USER_NOTIF),
        ("getpid", errno(libc::EPERM)),
        ("clone3", errno(libc::ENOSYS)),
    ] {
        assert_eq!(verdict(&f, X86_64, name, [0; 6]), want, "{name}");
    }
}
