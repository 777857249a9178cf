//! The process restrictions of the runtime-spec, checked from inside the container: the five
//! capability sets, noNewPrivileges, rlimits, oomScoreAdj, scheduler, ioPriority, personality,
//! sysctl, LSM labels without an LSM, seccomp (every action, errnoRet, defaultErrnoRet,
//! argument operators, unknown names, flags, NOTIFY with a listener), the default profile,
//! maskedPaths and readonlyPaths; and bad seccomp input refused cleanly.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use kapsel_integration::probe::cap_mask;
use kapsel_integration::seccomp_agent::Agent;
use kapsel_integration::{attack, ctx, Bundle, Ctx};
use serde_json::{json, Value};

/// The names of a capability set of the config (`process.capabilities.<set>`).
fn config_caps<'a>(config: &'a Value, set: &str) -> Vec<&'a str> {
    config["process"]["capabilities"][set]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A `Key:` line of a /proc/<pid>/status text, whitespace-normalised.
fn status_field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// A tmpfs at /tmp: the default configs have a read-only root.
fn writable_tmp(b: &mut Bundle) {
    b.push_mount(
        json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                        "options": ["mode=1777", "size=16m"]}),
    );
}

fn set_caps(b: &mut Bundle, sets: [(&str, &[&str]); 5]) {
    for (set, names) in sets {
        b.set(&format!("/process/capabilities/{set}"), json!(names));
    }
}

#[test]
fn default_config_status_lines_match_the_config_exactly() {
    let Some(mut t) = ctx!("default_config_status_lines_match_the_config_exactly") else {
        return;
    };
    let mut b = t.bundle();
    let config = b.config.clone();
    let out = t.sh_output(&mut b, "cat /proc/self/status");
    // The runtimes' default configs grant the same names in every set but inheritable and
    // ambient; root's execve then keeps exactly those.
    for (key, set) in [
        ("CapBnd", "bounding"),
        ("CapEff", "effective"),
        ("CapPrm", "permitted"),
        ("CapInh", "inheritable"),
    ] {
        assert_eq!(
            status_field(&out, key),
            cap_mask(&config_caps(&config, set)),
            "{key}: {out}"
        );
    }
    let nnp = config["process"]["noNewPrivileges"] == json!(true);
    assert_eq!(
        status_field(&out, "NoNewPrivs"),
        if nnp { "1" } else { "0" },
        "{out}"
    );
    assert_eq!(
        status_field(&out, "Seccomp"),
        "0",
        "no linux.seccomp, no filter: {out}"
    );
}

// req: cfg-caps-sets
// spec: process.capabilities
#[test]
fn capabilities_for_root_are_set_exactly() {
    let Some(mut t) = ctx!("capabilities_for_root_are_set_exactly") else {
        return;
    };
    let mut b = t.bundle();
    let granted: &[&str] = &[
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_SETUID",
    ];
    set_caps(
        &mut b,
        [
            ("bounding", granted),
            ("effective", granted),
            ("permitted", granted),
            ("inheritable", &[]),
            ("ambient", &[]),
        ],
    );
    let out = t.sh_output(&mut b, "cat /proc/self/status");
    for key in ["CapBnd", "CapEff", "CapPrm"] {
        assert_eq!(status_field(&out, key), cap_mask(granted), "{key}: {out}");
    }
    assert_eq!(status_field(&out, "CapInh"), cap_mask(&[]), "{out}");
    assert_eq!(status_field(&out, "CapAmb"), cap_mask(&[]), "{out}");
}

// req: cfg-caps-sets
// spec: process.capabilities
#[test]
fn capabilities_of_a_user_survive_the_uid_change_through_the_ambient_set() {
    let Some(mut t) = ctx!("capabilities_of_a_user_survive_the_uid_change_through_the_ambient_set")
    else {
        return;
    };
    let mut b = t.bundle();
    let bounding: &[&str] = &[
        "CAP_AUDIT_WRITE",
        "CAP_CHOWN",
        "CAP_KILL",
        "CAP_NET_BIND_SERVICE",
        "CAP_SETUID",
    ];
    let kept: &[&str] = &["CAP_KILL", "CAP_NET_BIND_SERVICE"];
    set_caps(
        &mut b,
        [
            ("bounding", bounding),
            (
                "effective",
                &["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            ),
            (
                "permitted",
                &["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
            ),
            ("inheritable", kept),
            ("ambient", kept),
        ],
    );
    b.set("/process/user", json!({"uid": 1000, "gid": 1000}));
    let out = t.sh_output(&mut b, "cat /proc/self/status");
    assert_eq!(status_field(&out, "Uid"), "1000 1000 1000 1000", "{out}");
    assert_eq!(status_field(&out, "CapBnd"), cap_mask(bounding), "{out}");
    // A non-root execve keeps exactly the ambient set as permitted and effective.
    for key in ["CapAmb", "CapInh", "CapPrm", "CapEff"] {
        assert_eq!(status_field(&out, key), cap_mask(kept), "{key}: {out}");
    }
}

// req: cfg-caps-unmappable
#[test]
fn unknown_capability_names_are_warned_about_and_skipped() {
    let Some(mut t) = ctx!("unknown_capability_names_are_warned_about_and_skipped") else {
        return;
    };
    let mut b = t.bundle();
    let known: &[&str] = &["CAP_CHOWN", "CAP_KILL"];
    let listed: &[&str] = &["CAP_CHOWN", "CAP_KAPSEL_NO_SUCH_CAP", "CAP_KILL"];
    set_caps(
        &mut b,
        [
            ("bounding", listed),
            ("effective", listed),
            ("permitted", listed),
            ("inheritable", &[]),
            ("ambient", &[]),
        ],
    );
    b.sh("grep -E '^Cap(Bnd|Eff|Prm):' /proc/self/status");
    let id = t.id("unknowncap");
    let out = t.run(&b, &id);
    out.ok();
    for key in ["CapBnd", "CapEff", "CapPrm"] {
        assert_eq!(
            status_field(&out.stdout, key),
            cap_mask(known),
            "{key}: {}",
            out.describe()
        );
    }
    if t.checks_kapsel_only("a warning naming the unknown capability") {
        assert!(
            out.stderr.contains("CAP_KAPSEL_NO_SUCH_CAP"),
            "the warning should name the skipped capability: {}",
            out.describe()
        );
    }
}

// req: cfg-caps-unmappable
// A capability the runtime does not hold itself (a caller that dropped it from its bounding
// set, as a restricted environment does) cannot be granted: runtime-spec 1.2 wants a
// warning, and the container running without it.
#[test]
fn capabilities_the_runtime_lacks_are_warned_about_and_left_out() {
    let Some(mut t) = ctx!("capabilities_the_runtime_lacks_are_warned_about_and_left_out") else {
        return;
    };
    if t.kapsel_only("1.1.5 fails create (`unable to apply caps: operation not permitted`)") {
        return;
    }
    let mut b = t.bundle();
    let listed: &[&str] = &["CAP_CHOWN", "CAP_KILL", "CAP_SYS_TIME"];
    let held: &[&str] = &["CAP_CHOWN", "CAP_KILL"];
    set_caps(
        &mut b,
        [
            ("bounding", listed),
            ("effective", listed),
            ("permitted", listed),
            ("inheritable", listed),
            ("ambient", listed),
        ],
    );
    b.sh("grep -E '^Cap(Bnd|Eff|Prm|Inh|Amb):' /proc/self/status");
    b.write();
    let id = t.id("lackedcap");
    let out = t
        .rt()
        .shell_setup("exec setpriv --bounding-set -sys_time --inh-caps -all -- \"$@\"")
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .run();
    out.ok();
    for key in ["CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"] {
        assert_eq!(
            status_field(&out.stdout, key),
            cap_mask(held),
            "{key}: {}",
            out.describe()
        );
    }
    assert!(
        out.stderr.contains("CAP_SYS_TIME") && out.stderr.contains("warn"),
        "a warning should name the capability left out: {}",
        out.describe()
    );
}

// req: cfg-nnp
// spec: process.noNewPrivileges
#[test]
fn no_new_privileges_is_set_exactly_when_asked() {
    let Some(mut t) = ctx!("no_new_privileges_is_set_exactly_when_asked") else {
        return;
    };
    for (value, want) in [(true, "1"), (false, "0")] {
        let mut b = t.bundle();
        b.set("/process/noNewPrivileges", json!(value));
        let out = t.sh_output(&mut b, "grep NoNewPrivs /proc/self/status");
        assert_eq!(
            status_field(&out, "NoNewPrivs"),
            want,
            "noNewPrivileges {value}"
        );
    }
}

/// Each RLIMIT_* name with its row in /proc/self/limits.
const RLIMITS: [(&str, &str); 16] = [
    ("RLIMIT_CPU", "Max cpu time"),
    ("RLIMIT_FSIZE", "Max file size"),
    ("RLIMIT_DATA", "Max data size"),
    ("RLIMIT_STACK", "Max stack size"),
    ("RLIMIT_CORE", "Max core file size"),
    ("RLIMIT_RSS", "Max resident set"),
    ("RLIMIT_NPROC", "Max processes"),
    ("RLIMIT_NOFILE", "Max open files"),
    ("RLIMIT_MEMLOCK", "Max locked memory"),
    ("RLIMIT_AS", "Max address space"),
    ("RLIMIT_LOCKS", "Max file locks"),
    ("RLIMIT_SIGPENDING", "Max pending signals"),
    ("RLIMIT_MSGQUEUE", "Max msgqueue size"),
    ("RLIMIT_NICE", "Max nice priority"),
    ("RLIMIT_RTPRIO", "Max realtime priority"),
    ("RLIMIT_RTTIME", "Max realtime timeout"),
];

/// (soft, hard) of a /proc/<pid>/limits row; "unlimited" is u64::MAX.
fn limits_row(text: &str, row: &str) -> Option<(u64, u64)> {
    let rest = text.lines().find_map(|l| l.strip_prefix(row))?;
    let mut fields = rest.split_whitespace().map(|v| match v {
        "unlimited" => Some(u64::MAX),
        n => n.parse().ok(),
    });
    Some((fields.next()??, fields.next()??))
}

// req: cfg-rlimits-match
// spec: process.rlimits
#[test]
fn every_rlimit_is_set() {
    let Some(mut t) = ctx!("every_rlimit_is_set") else {
        return;
    };
    // Without CAP_SYS_RESOURCE no hard limit can rise: ask for at most the host's.
    let host = std::fs::read_to_string("/proc/self/limits").expect("read /proc/self/limits");
    let mut wanted = Vec::new();
    for (i, (name, row)) in RLIMITS.iter().enumerate() {
        let (_, host_hard) = limits_row(&host, row).unwrap_or_else(|| panic!("no `{row}` row"));
        let hard = host_hard.min((1 << 30) - i as u64);
        let soft = hard / 2;
        wanted.push(json!({"type": name, "hard": hard, "soft": soft}));
    }
    let mut b = t.bundle();
    b.set("/process/rlimits", json!(wanted));
    let out = t.sh_output(&mut b, "cat /proc/self/limits");
    for (want, (name, row)) in wanted.iter().zip(RLIMITS) {
        let got = limits_row(&out, row).unwrap_or_else(|| panic!("no `{row}` row: {out}"));
        let expected = (
            want["soft"].as_u64().expect("soft"),
            want["hard"].as_u64().expect("hard"),
        );
        assert_eq!(got, expected, "{name} (soft, hard):\n{out}");
    }
}

// req: cfg-oom-set
// spec: process.oomScoreAdj
#[test]
fn oom_score_adj_is_set() {
    let Some(mut t) = ctx!("oom_score_adj_is_set") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/process/oomScoreAdj", json!(345));
    assert_eq!(t.sh_output(&mut b, "cat /proc/self/oom_score_adj"), "345\n");
}

// spec: process.scheduler, process.ioPriority, linux.personality
#[test]
fn scheduler_io_priority_and_personality_are_applied() {
    let Some(mut t) = ctx!("scheduler_io_priority_and_personality_are_applied") else {
        return;
    };
    if t.kapsel_only("1.1 has no process.scheduler, process.ioPriority or linux.personality") {
        return;
    }
    let mut b = t.bundle();
    b.set(
        "/process/scheduler",
        json!({"policy": "SCHED_BATCH", "nice": 7}),
    );
    b.set(
        "/process/ioPriority",
        json!({"class": "IOPRIO_CLASS_BE", "priority": 6}),
    );
    b.set("/linux/personality", json!({"domain": "LINUX32"}));
    let out = t.sh_output(&mut b, "cat /proc/self/stat; echo; ionice -p $$; uname -m");
    let stat = out.lines().next().unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // Fields 19 (nice) and 41 (policy; SCHED_BATCH is 3), counted from 1 with pid and comm.
    assert_eq!(fields.get(16), Some(&"7"), "nice: {out}");
    assert_eq!(fields.get(38), Some(&"3"), "policy: {out}");
    assert!(out.contains("best-effort: prio 6"), "ionice: {out}");
    assert!(
        out.trim_end().ends_with("i686"),
        "LINUX32 personality: {out}"
    );
}

// spec: linux.sysctl
#[test]
fn namespaced_sysctls_apply_inside_only() {
    let Some(mut t) = ctx!("namespaced_sysctls_apply_inside_only") else {
        return;
    };
    let host_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("host");
    let host_msgmax = std::fs::read_to_string("/proc/sys/kernel/msgmax").expect("host");
    let mut b = t.bundle();
    let forward = if host_forward.trim() == "1" { "0" } else { "1" };
    b.set(
        "/linux/sysctl",
        json!({"net.ipv4.ip_forward": forward, "kernel.msgmax": "12345"}),
    );
    let out = t.sh_output(
        &mut b,
        "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/msgmax",
    );
    assert_eq!(out, format!("{forward}\n12345\n"));
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").expect("host"),
        host_forward,
        "the host's net.ipv4.ip_forward changed"
    );
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/msgmax").expect("host"),
        host_msgmax,
        "the host's kernel.msgmax changed"
    );
}

/// Asserts a clean refusal of `create`: non-zero exit, for kapsel one stderr line naming each
/// of `names`, and nothing left behind.
#[track_caller]
fn refused(t: &mut Ctx, b: &Bundle, tag: &str, names: &[&str]) {
    let id = t.id(tag);
    let out = t.create(b, &id);
    out.failed();
    if t.rt.is_kapsel {
        assert_eq!(out.stderr_lines().len(), 1, "one line: {}", out.describe());
        for name in names {
            assert!(
                out.last_stderr_line().contains(name),
                "the error should name `{name}`: {}",
                out.describe()
            );
        }
    }
    t.assert_no_leftovers(&id, b, None);
}

// spec: linux.sysctl
#[test]
fn host_wide_sysctls_are_refused() {
    let Some(mut t) = ctx!("host_wide_sysctls_are_refused") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/linux/sysctl", json!({"vm.swappiness": "10"}));
    let before = std::fs::read_to_string("/proc/sys/vm/swappiness").expect("host");
    refused(&mut t, &b, "sysctl", &["linux.sysctl", "vm.swappiness"]);
    assert_eq!(
        std::fs::read_to_string("/proc/sys/vm/swappiness").expect("host"),
        before
    );
}

// spec: process.apparmorProfile, process.selinuxLabel
#[test]
fn lsm_labels_are_refused_when_the_lsm_is_absent() {
    let Some(mut t) = ctx!("lsm_labels_are_refused_when_the_lsm_is_absent") else {
        return;
    };
    let apparmor = Path::new("/sys/module/apparmor/parameters/enabled");
    if std::fs::read_to_string(apparmor).is_ok_and(|s| s.trim() == "Y") {
        t.skip("AppArmor is enabled on this host");
        return;
    }
    let mut b = t.bundle();
    b.set("/process/apparmorProfile", json!("kapsel-test-profile"));
    refused(&mut t, &b, "apparmor", &["apparmor"]);
    if Path::new("/sys/fs/selinux/enforce").exists() {
        t.skip("SELinux is enabled on this host");
        return;
    }
    if t.checks_kapsel_only("selinuxLabel without SELinux is refused") {
        let mut b = t.bundle();
        b.set(
            "/process/selinuxLabel",
            json!("system_u:system_r:container_t:s0"),
        );
        refused(&mut t, &b, "selinux", &["selinux"]);
    }
}

/// A seccomp config for the usual architectures with `default` and `rules`.
fn seccomp(default: &str, rules: Value) -> Value {
    json!({
        "defaultAction": default,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                          "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
        "syscalls": rules
    })
}

/// `mkdir` (and `mkdirat`) with `action`, everything else allowed.
fn mkdir_rule(action: &str) -> Value {
    json!([{"names": ["mkdir", "mkdirat"], "action": action}])
}

/// Runs `mkdir /tmp/probe; echo rc=$?` (stderr folded in) under `seccomp`.
fn mkdir_under(t: &mut Ctx, seccomp: Value) -> String {
    let mut b = t.bundle();
    writable_tmp(&mut b);
    b.set("/linux/seccomp", seccomp);
    t.sh_output(
        &mut b,
        "mkdir /tmp/probe 2>&1; echo rc=$?; [ -d /tmp/probe ] && echo made; true",
    )
}

// req: lnx-seccomp-errno
// spec: linux.seccomp
#[test]
fn seccomp_actions_do_what_they_say() {
    let Some(mut t) = ctx!("seccomp_actions_do_what_they_say") else {
        return;
    };
    // (action, errnoRet, what the shell prints): 159 is 128 + SIGSYS.
    let cases: [(&str, Option<u32>, &[&str]); 8] = [
        ("SCMP_ACT_ERRNO", Some(13), &["Permission denied", "rc=1"]),
        ("SCMP_ACT_ERRNO", None, &["Operation not permitted", "rc=1"]),
        ("SCMP_ACT_KILL_PROCESS", None, &["rc=159"]),
        ("SCMP_ACT_KILL_THREAD", None, &["rc=159"]),
        ("SCMP_ACT_KILL", None, &["rc=159"]),
        ("SCMP_ACT_TRAP", None, &["rc=159"]),
        (
            "SCMP_ACT_TRACE",
            None,
            &["Function not implemented", "rc=1"],
        ),
        ("SCMP_ACT_LOG", None, &["rc=0", "made"]),
    ];
    for (action, errno, want) in cases {
        let mut rules = mkdir_rule(action);
        if let Some(e) = errno {
            rules[0]["errnoRet"] = json!(e);
        }
        let out = mkdir_under(&mut t, seccomp("SCMP_ACT_ALLOW", rules));
        for w in want {
            assert!(
                out.contains(w),
                "{action} errnoRet {errno:?}: want `{w}` in:\n{out}"
            );
        }
        if action != "SCMP_ACT_LOG" {
            assert!(!out.contains("made"), "{action} let mkdir through:\n{out}");
        }
    }
}

#[test]
fn seccomp_kill_thread_spares_the_process_and_kill_process_does_not() {
    let Some(mut t) = ctx!("seccomp_kill_thread_spares_the_process_and_kill_process_does_not")
    else {
        return;
    };
    // SCMP_ACT_KILL is libseccomp's old name for SCMP_ACT_KILL_THREAD.
    for (action, survives) in [
        ("SCMP_ACT_KILL_THREAD", true),
        ("SCMP_ACT_KILL", true),
        ("SCMP_ACT_KILL_PROCESS", false),
    ] {
        let mut b = t.bundle();
        if let Err(reason) = attack::install(Path::new(env!("CARGO_TARGET_TMPDIR")), &b.rootfs()) {
            t.skip(&reason);
            return;
        }
        writable_tmp(&mut b);
        b.set(
            "/linux/seccomp",
            seccomp("SCMP_ACT_ALLOW", mkdir_rule(action)),
        );
        let out = t.sh_output(
            &mut b,
            "/attack thread-mkdir:/tmp/probe; echo rc=$?; [ -d /tmp/probe ] && echo made; true",
        );
        assert!(!out.contains("made"), "{action} let mkdir through:\n{out}");
        let want = if survives {
            "thread-mkdir:/tmp/probe: process survived\nrc=0\n"
        } else {
            "rc=159\n"
        };
        assert_eq!(out, want, "{action}");
    }
}

#[test]
fn seccomp_unknown_syscall_names_are_skipped_and_flags_accepted() {
    let Some(mut t) = ctx!("seccomp_unknown_syscall_names_are_skipped_and_flags_accepted") else {
        return;
    };
    let mut profile = seccomp(
        "SCMP_ACT_ALLOW",
        json!([{"names": ["kapsel_no_such_syscall", "mkdir", "mkdirat"],
                "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]),
    );
    if t.checks_kapsel_only("seccomp flags (1.1 refuses them)") {
        profile["flags"] = json!([
            "SECCOMP_FILTER_FLAG_TSYNC",
            "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
        ]);
    }
    let out = mkdir_under(&mut t, profile);
    assert!(
        out.contains("Permission denied") && out.contains("rc=1"),
        "the known names of the rule still apply:\n{out}"
    );
}

/// Whether an argument comparison holds, per libseccomp (MASKED_EQ: arg & value == valueTwo).
fn compares(op: &str, arg: u64, value: u64, value_two: u64) -> bool {
    match op {
        "SCMP_CMP_EQ" => arg == value,
        "SCMP_CMP_NE" => arg != value,
        "SCMP_CMP_LT" => arg < value,
        "SCMP_CMP_LE" => arg <= value,
        "SCMP_CMP_GT" => arg > value,
        "SCMP_CMP_GE" => arg >= value,
        "SCMP_CMP_MASKED_EQ" => arg & value == value_two,
        other => panic!("no such operator `{other}`"),
    }
}

// spec: linux.seccomp
#[test]
fn seccomp_argument_operators() {
    let Some(mut t) = ctx!("seccomp_argument_operators") else {
        return;
    };
    // busybox chmod calls chmod(2) (mode is argument 1) or fchmodat(2) (argument 2).
    let modes = [0o600u64, 0o644, 0o700, 0o755];
    for (op, value, value_two) in [
        ("SCMP_CMP_EQ", 0o700, 0),
        ("SCMP_CMP_NE", 0o700, 0),
        ("SCMP_CMP_LT", 0o700, 0),
        ("SCMP_CMP_LE", 0o700, 0),
        ("SCMP_CMP_GT", 0o700, 0),
        ("SCMP_CMP_GE", 0o700, 0),
        ("SCMP_CMP_MASKED_EQ", 0o077, 0),
        ("SCMP_CMP_MASKED_EQ", 0o007, 0o004),
    ] {
        let rule = |name: &str, index: u32| {
            json!({"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                   "args": [{"index": index, "value": value, "valueTwo": value_two, "op": op}]})
        };
        let mut b = t.bundle();
        writable_tmp(&mut b);
        b.set(
            "/linux/seccomp",
            seccomp(
                "SCMP_ACT_ALLOW",
                json!([rule("chmod", 1), rule("fchmodat", 2), rule("fchmodat2", 2)]),
            ),
        );
        let out = t.sh_output(
            &mut b,
            "touch /tmp/f; for m in 600 644 700 755; do \
               chmod $m /tmp/f 2>/dev/null && echo \"$m allowed\" || echo \"$m denied\"; done",
        );
        for mode in modes {
            let denied = compares(op, mode, value, value_two);
            let want = format!("{mode:o} {}", if denied { "denied" } else { "allowed" });
            assert!(
                out.lines().any(|l| l == want),
                "{op} value {value:o} valueTwo {value_two:o}: want `{want}`:\n{out}"
            );
        }
    }
}

// req: lnx-seccomp-errno
// spec: linux.seccomp
#[test]
fn seccomp_default_errno_ret_applies_to_unlisted_syscalls() {
    let Some(mut t) = ctx!("seccomp_default_errno_ret_applies_to_unlisted_syscalls") else {
        return;
    };
    // ENOSYS when given, EPERM when not.
    for (errno_ret, text) in [
        (Some(38), "Function not implemented"),
        (None, "Operation not permitted"),
    ] {
        let mut profile = default_profile();
        match errno_ret {
            Some(e) => profile["defaultErrnoRet"] = json!(e),
            None => {
                profile.as_object_mut().map(|p| p.remove("defaultErrnoRet"));
            }
        }
        let mut b = t.bundle();
        b.set("/linux/seccomp", profile);
        let out = t.sh_output(&mut b, "unshare -m true 2>&1; echo rc=$?");
        assert!(
            out.contains(text) && out.contains("rc=1"),
            "unshare is not in the profile, so it gets defaultErrnoRet {errno_ret:?}:\n{out}"
        );
    }
}

/// The default seccomp profile shipped with kapsel (crates/kapsel-seccomp/profiles).
fn default_profile() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/kapsel-seccomp/profiles/default.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read `{}`: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse `{}`: {e}", path.display()))
}

#[test]
fn spec_seccomp_emits_the_shipped_default_profile() {
    let Some(t) = ctx!("spec_seccomp_emits_the_shipped_default_profile") else {
        return;
    };
    if t.kapsel_only("has no `spec --seccomp`") {
        return;
    }
    let dir = t.work().join("spec");
    std::fs::create_dir_all(&dir).expect("mkdir spec dir");
    t.rt()
        .args(["spec", "--seccomp", "--bundle"])
        .arg(&dir)
        .run()
        .ok();
    let text = std::fs::read_to_string(dir.join("config.json")).expect("read config.json");
    let config: Value = serde_json::from_str(&text).expect("config.json is JSON");
    assert_eq!(config["linux"]["seccomp"], default_profile());
    std::fs::remove_file(dir.join("config.json")).expect("rm config.json");
    t.rt().args(["spec", "--bundle"]).arg(&dir).run().ok();
    let text = std::fs::read_to_string(dir.join("config.json")).expect("read config.json");
    let config: Value = serde_json::from_str(&text).expect("config.json is JSON");
    assert!(
        config["linux"].get("seccomp").is_none(),
        "plain `spec` adds no profile"
    );
}

#[test]
fn spec_seccomp_config_runs_with_exactly_its_restrictions() {
    let Some(mut t) = ctx!("spec_seccomp_config_runs_with_exactly_its_restrictions") else {
        return;
    };
    if t.kapsel_only("has no `spec --seccomp`") {
        return;
    }
    let mut b = t.bundle();
    std::fs::remove_file(b.dir.join("config.json")).ok();
    t.rt()
        .args(["spec", "--seccomp", "--bundle"])
        .arg(&b.dir)
        .run()
        .ok();
    let text = std::fs::read_to_string(b.dir.join("config.json")).expect("read config.json");
    b.config = serde_json::from_str(&text).expect("config.json is JSON");
    b.set("/process/terminal", json!(false));
    let config = b.config.clone();
    let out = t.sh_output(
        &mut b,
        "cat /proc/self/status; ls / >/dev/null && ps >/dev/null && echo tools-ok",
    );
    for (key, set) in [
        ("CapBnd", "bounding"),
        ("CapEff", "effective"),
        ("CapPrm", "permitted"),
        ("CapInh", "inheritable"),
    ] {
        let want = cap_mask(&config_caps(&config, set));
        assert_eq!(status_field(&out, key), want, "{key}: {out}");
    }
    assert_eq!(status_field(&out, "NoNewPrivs"), "1", "{out}");
    assert_eq!(status_field(&out, "Seccomp"), "2", "{out}");
    assert!(out.contains("tools-ok"), "{out}");
}

#[test]
fn common_workloads_run_under_the_default_profile() {
    let Some(mut t) = ctx!("common_workloads_run_under_the_default_profile") else {
        return;
    };
    let mut b = t.bundle();
    writable_tmp(&mut b);
    b.set("/linux/seccomp", default_profile());
    let script = "set -e; cd /tmp; \
        grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; \
        seq 1 500 | sort -rn | head -1; \
        echo hello | sed s/hello/world/ | tr a-z A-Z; \
        awk 'BEGIN { print 6 * 7 }'; \
        mkdir -p d/e && echo data >d/e/f && ln -s e/f d/l && cat d/l; \
        tar czf a.tgz d && tar tzf a.tgz | wc -l; \
        gzip -c /etc/passwd | gunzip | md5sum >/dev/null && echo gzip-ok; \
        find / -xdev -name passwd -type f | head -1; \
        sleep 0.01 & wait $! && echo bg-ok; \
        ps | grep -c ps >/dev/null && echo ps-ok; \
        mkfifo p && (echo through-fifo >p &) && cat p; \
        dd if=/dev/zero of=z bs=1k count=64 2>/dev/null && wc -c <z; \
        id -u; date +%Y >/dev/null && echo date-ok; \
        timeout 1 true && echo timeout-ok; \
        kill -0 $$ && echo kill-ok; \
        chmod 600 d/e/f && stat -c %a d/e/f; \
        echo done";
    let out = t.sh_output(&mut b, script);
    let want = "Seccomp:\t2\n";
    assert!(out.contains(want), "no filter:\n{out}");
    for line in [
        "500",
        "WORLD",
        "42",
        "data",
        "4",
        "gzip-ok",
        "/etc/passwd",
        "bg-ok",
        "ps-ok",
        "through-fifo",
        "65536",
        "0",
        "date-ok",
        "timeout-ok",
        "kill-ok",
        "600",
        "done",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing `{line}` from the workload's output:\n{out}"
        );
    }
}

// spec: linux.maskedPaths, linux.readonlyPaths
#[test]
fn masked_and_readonly_paths() {
    let Some(mut t) = ctx!("masked_and_readonly_paths") else {
        return;
    };
    let mut b = t.bundle();
    let rootfs = b.rootfs();
    std::fs::write(rootfs.join("etc/secret-file"), "secret\n").expect("write secret file");
    for dir in ["opt/secret-dir", "opt/ro-dir"] {
        std::fs::create_dir_all(rootfs.join(dir)).expect("mkdir");
        std::fs::write(rootfs.join(dir).join("data"), "data\n").expect("write data");
    }
    b.set(
        "/linux/maskedPaths",
        json!([
            "/etc/secret-file",
            "/opt/secret-dir",
            "/kapsel-no-such-path"
        ]),
    );
    b.set(
        "/linux/readonlyPaths",
        json!(["/opt/ro-dir", "/kapsel-no-such-path"]),
    );
    let out = t.sh_output(
        &mut b,
        "echo \"file=[$(cat /etc/secret-file)] $(stat -c %F:%t:%T /etc/secret-file)\"; \
         echo \"dir=[$(ls -A /opt/secret-dir)]\"; \
         touch /opt/secret-dir/x 2>/dev/null && echo masked-dir-writable; \
         echo \"ro=[$(cat /opt/ro-dir/data)]\"; \
         touch /opt/ro-dir/x 2>/dev/null && echo ro-dir-writable; true",
    );
    assert!(
        out.contains("file=[] character special file:1:3"),
        "a masked file is /dev/null:\n{out}"
    );
    assert!(out.contains("dir=[]"), "a masked dir is empty:\n{out}");
    assert!(
        out.contains("ro=[data]"),
        "a read-only dir stays readable:\n{out}"
    );
    assert!(
        !out.contains("writable"),
        "masked or read-only paths were writable:\n{out}"
    );
}

// req: lnx-seccomp-listener
// spec: linux.seccomp
#[test]
fn seccomp_notify_hands_the_fd_and_state_to_the_listener() {
    let Some(mut t) = ctx!("seccomp_notify_hands_the_fd_and_state_to_the_listener") else {
        return;
    };
    let hold = Duration::from_millis(300);
    let agent = Agent::listen(1, hold);
    let mut profile = seccomp("SCMP_ACT_ALLOW", mkdir_rule("SCMP_ACT_NOTIFY"));
    profile["listenerPath"] = json!(agent.path);
    profile["listenerMetadata"] = json!("kapsel-test-metadata");
    if t.checks_kapsel_only("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV") {
        profile["flags"] = json!(["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"]);
    }
    let mut b = t.bundle();
    writable_tmp(&mut b);
    b.set("/linux/seccomp", profile);
    b.sh("mkdir /tmp/probe 2>&1; echo rc=$?");
    let id = t.id("notify");
    let started = Instant::now();
    let pid = t.create_and_start(&b, &id);
    t.wait_status(&id, "stopped", Duration::from_secs(10));
    let handoffs = agent.finish();
    let (state, fd_kind) = (&handoffs[0].state, handoffs[0].fds.join(","));
    let out = t.container_stdout(&id);
    assert!(
        out.contains("Function not implemented") && out.contains("rc=1"),
        "mkdir should wait for the agent, then fail with ENOSYS when it closes: {out}"
    );
    assert!(
        started.elapsed() >= hold,
        "mkdir did not wait for the agent"
    );
    assert_eq!(fd_kind, "anon_inode:seccomp notify", "the descriptor sent");
    assert!(
        handoffs[0].closed_after_one,
        "the connection carried more than one state or stayed open: {}",
        handoffs[0].state
    );
    let state: Value = serde_json::from_str(state)
        .unwrap_or_else(|e| panic!("the agent got no JSON ({e}): {state}"));
    assert_eq!(state["fds"], json!(["seccompFd"]), "{state}");
    assert_eq!(state["pid"], json!(pid), "{state}");
    assert_eq!(state["metadata"], json!("kapsel-test-metadata"), "{state}");
    assert_eq!(state["state"]["id"], json!(id), "{state}");
    assert_eq!(state["state"]["pid"], json!(pid), "{state}");
    assert_eq!(
        state["state"]["bundle"].as_str().map(Path::new),
        Some(b.dir.as_path()),
        "{state}"
    );
    assert!(state["ociVersion"].is_string(), "{state}");
    t.cmd(&["delete", &id]).ok();
}

#[test]
fn seccomp_notify_hands_an_exec_d_process_its_own_fd() {
    let Some(mut t) = ctx!("seccomp_notify_hands_an_exec_d_process_its_own_fd") else {
        return;
    };
    // One connection for the init at create, one for the exec'd process.
    let hold = Duration::from_millis(300);
    let agent = Agent::listen(2, hold);
    let mut profile = seccomp("SCMP_ACT_ALLOW", mkdir_rule("SCMP_ACT_NOTIFY"));
    profile["listenerPath"] = json!(agent.path);
    profile["listenerMetadata"] = json!("exec-metadata");
    let mut b = t.bundle();
    writable_tmp(&mut b);
    b.set("/linux/seccomp", profile);
    b.args(&["sleep", "1000"]);
    let id = t.id("notifyexec");
    let init = t.create_and_start(&b, &id);
    let started = Instant::now();
    let out = t
        .rt()
        .args(["exec", &id, "sh", "-c", "mkdir /tmp/probe 2>&1; echo rc=$?"])
        .run();
    let handoffs = agent.finish();
    out.ok();
    assert!(
        out.stdout.contains("Function not implemented") && out.stdout.contains("rc=1"),
        "the exec'd mkdir waits for the agent, then fails with ENOSYS: {}",
        out.describe()
    );
    assert!(
        started.elapsed() >= hold,
        "mkdir did not wait for the agent"
    );
    let state: Value = serde_json::from_str(&handoffs[1].state)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", handoffs[1].state));
    assert_eq!(handoffs[1].fds, ["anon_inode:seccomp notify"], "{state}");
    assert_eq!(state["metadata"], json!("exec-metadata"), "{state}");
    assert_eq!(state["state"]["id"], json!(id), "{state}");
    assert_eq!(
        state["state"]["pid"],
        json!(init),
        "the container's pid: {state}"
    );
    let pid = state["pid"].as_i64().unwrap_or_default();
    assert!(
        pid > 0 && pid != i64::from(init),
        "`pid` names the exec'd process, not the init: {state}"
    );
}

#[test]
fn seccomp_notify_does_not_catch_the_runtimes_own_syscalls() {
    let Some(mut t) = ctx!("seccomp_notify_does_not_catch_the_runtimes_own_syscalls") else {
        return;
    };
    // umask(2) is one of the last calls a runtime makes for process.user; the container's
    // own umask is still sent to the agent (which closes at once: ENOSYS, ignored by sh).
    let agent = Agent::listen(1, Duration::ZERO);
    let mut profile = seccomp(
        "SCMP_ACT_ALLOW",
        json!([{"names": ["umask"], "action": "SCMP_ACT_NOTIFY"}]),
    );
    profile["listenerPath"] = json!(agent.path);
    let mut b = t.bundle();
    b.set("/linux/seccomp", profile);
    b.sh("umask 027; echo ran");
    b.write();
    let id = t.id("notifyown");
    let run = t
        .rt()
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .timeout(Duration::from_secs(5));
    let out = std::panic::catch_unwind(AssertUnwindSafe(|| run.run())).unwrap_or_else(|panic| {
        // A runtime killed inside `create` leaves no state for `delete` to find.
        remove_cgroup_dirs(&id);
        std::panic::resume_unwind(panic)
    });
    let _ = agent.finish();
    out.ok();
    assert_eq!(out.stdout, "ran\n");
}

/// Removes the cgroup dirs named `id` under every hierarchy, waiting (bounded) for the
/// processes in them to be gone.
fn remove_cgroup_dirs(id: &str) {
    let Ok(hierarchies) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    for dir in hierarchies
        .filter_map(Result::ok)
        .map(|h| h.path().join(id))
    {
        let deadline = Instant::now() + Duration::from_secs(2);
        while dir.is_dir() && std::fs::remove_dir(&dir).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

// req: lnx-seccomp-errno, lnx-seccomp-listener, cfg-valid-values-error
#[test]
fn bad_seccomp_input_is_refused_cleanly() {
    let Some(mut t) = ctx!("bad_seccomp_input_is_refused_cleanly") else {
        return;
    };
    let rule =
        |action: &str, args: Value| json!([{"names": ["mkdir"], "action": action, "args": args}]);
    let missing = t.work().join("no-such-agent.sock");
    let mut notify = seccomp("SCMP_ACT_ALLOW", rule("SCMP_ACT_NOTIFY", json!([])));
    notify["listenerPath"] = json!(missing);
    let mut bad_arch = seccomp("SCMP_ACT_ALLOW", rule("SCMP_ACT_ERRNO", json!([])));
    bad_arch["architectures"] = json!(["SCMP_ARCH_KAPSEL_NOPE"]);
    let missing_name = missing.display().to_string();
    let cases: [(&str, Value, &[&str]); 5] = [
        (
            "action",
            seccomp("SCMP_ACT_ALLOW", rule("SCMP_ACT_KAPSEL_NOPE", json!([]))),
            &["linux.seccomp", "SCMP_ACT_KAPSEL_NOPE"],
        ),
        (
            "default",
            seccomp("SCMP_ACT_KAPSEL_NOPE", json!([])),
            &["linux.seccomp", "SCMP_ACT_KAPSEL_NOPE"],
        ),
        (
            "arch",
            bad_arch,
            &["linux.seccomp", "SCMP_ARCH_KAPSEL_NOPE"],
        ),
        (
            "op",
            seccomp(
                "SCMP_ACT_ALLOW",
                rule(
                    "SCMP_ACT_ERRNO",
                    json!([{"index": 1, "value": 1, "op": "SCMP_CMP_KAPSEL_NOPE"}]),
                ),
            ),
            &["linux.seccomp", "SCMP_CMP_KAPSEL_NOPE"],
        ),
        ("listener", notify, &["listenerPath", &missing_name]),
    ];
    for (tag, profile, names) in cases {
        let mut b = t.bundle();
        b.set("/linux/seccomp", profile);
        refused(&mut t, &b, tag, names);
    }
    // An errno for an action that returns none: the runtime-spec says print an error and fail.
    let mut kill_errno = seccomp("SCMP_ACT_ALLOW", rule("SCMP_ACT_KILL", json!([])));
    kill_errno["syscalls"][0]["errnoRet"] = json!(5);
    let mut allow_errno = seccomp("SCMP_ACT_ALLOW", json!([]));
    allow_errno["defaultErrnoRet"] = json!(5);
    for (tag, profile, field) in [
        ("errno-kill", kill_errno, "syscalls[0].errnoRet"),
        ("errno-default", allow_errno, "defaultErrnoRet"),
    ] {
        if !t.checks_kapsel_only(&format!("{tag} is refused (runc 1.1.5 ignores the errno)")) {
            continue;
        }
        let mut b = t.bundle();
        b.set("/linux/seccomp", profile);
        refused(&mut t, &b, tag, &[field, "errno"]);
    }
}
