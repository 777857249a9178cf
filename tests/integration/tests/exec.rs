//! `exec`: a new process in a running container joins its namespaces and cgroup, inherits
//! its process settings (env, cwd, user, capabilities, rlimits, no_new_privs, seccomp) unless
//! flags override them, waits and forwards signals (or returns at once with --detach), and is
//! refused for containers that are not running.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kapsel_integration::console::ConsoleSocket;
use kapsel_integration::scratch::Scratch;
use kapsel_integration::{ctx, procfs, Bundle, Ctx, Output};
use serde_json::json;

const NAMESPACES: [&str; 6] = ["mnt", "pid", "net", "uts", "ipc", "cgroup"];

/// A started container whose init is `sleep 1000`, after `edit` changed its config.
fn running(t: &mut Ctx, tag: &str, edit: impl FnOnce(&mut Bundle)) -> (Bundle, String, i32) {
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    edit(&mut b);
    let id = t.id(tag);
    let pid = t.create_and_start(&b, &id);
    (b, id, pid)
}

/// `RUNTIME exec FLAGS... ID ARGS...`, which must end within 10 s.
fn exec(t: &Ctx, flags: &[&str], id: &str, args: &[&str]) -> Output {
    t.rt()
        .arg("exec")
        .args(flags)
        .arg(id)
        .args(args)
        .timeout(Duration::from_secs(10))
        .run()
}

/// `exec ID sh -c script`, which must succeed; its stdout.
#[track_caller]
fn exec_sh(t: &Ctx, flags: &[&str], id: &str, script: &str) -> String {
    let out = exec(t, flags, id, &["sh", "-c", script]);
    out.ok();
    out.stdout
}

/// A `Key:` line of a /proc/<pid>/status text, whitespace-normalised.
fn status_field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Host pids whose pid namespace is the container init's (the init included).
fn processes_in_pid_ns_of(init: i32) -> Vec<i32> {
    let Some(ns) = procfs::link(init, "ns/pid") else {
        return Vec::new();
    };
    procfs::pids()
        .into_iter()
        .filter(|p| procfs::is_alive(*p) && procfs::link(*p, "ns/pid").as_ref() == Some(&ns))
        .collect()
}

/// A detached exec'd process, read from its `--pid-file`; killed and reaped when dropped.
/// The test, as the subreaper the process was orphaned to, must reap it as conmon or the
/// containerd shim would: until then the container's pid namespace cannot finish dying and
/// `delete --force` waits for the init.
struct Detached(i32);

impl Detached {
    #[track_caller]
    fn from_pid_file(path: &std::path::Path) -> Detached {
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("read pid file `{}`: {e}", path.display()));
        let pid = text
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("pid file `{}` holds {text:?}: {e}", path.display()));
        Detached(pid)
    }
}

impl Drop for Detached {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.0),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = procfs::reap(self.0, Duration::from_secs(5));
    }
}

#[test]
fn exec_joins_every_namespace_of_the_container() {
    let Some(mut t) = ctx!("exec_joins_every_namespace_of_the_container") else {
        return;
    };
    let (_, id, init) = running(&mut t, "ns", |b| {
        for kind in ["pid", "mount", "uts", "ipc", "network", "cgroup"] {
            b.namespace(kind, None);
        }
    });
    let script: String = NAMESPACES
        .iter()
        .map(|l| format!("echo {l} $(readlink /proc/self/ns/{l});"))
        .collect::<String>()
        + "echo self $$; echo init $(cat /proc/1/comm)";
    let out = exec_sh(&t, &[], &id, &script);
    for link in NAMESPACES {
        let inside = out
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{link} ")))
            .unwrap_or_default();
        let container = procfs::link(init, &format!("ns/{link}")).expect("init namespace link");
        assert_eq!(
            Some(inside),
            container.to_str(),
            "{link} namespace of the exec'd process:\n{out}"
        );
    }
    assert!(out.contains("init sleep\n"), "pid 1 is the init:\n{out}");
    assert!(
        !out.contains("self 1\n"),
        "the exec'd shell is not pid 1:\n{out}"
    );
}

#[test]
fn exec_joins_the_containers_cgroup() {
    let Some(mut t) = ctx!("exec_joins_the_containers_cgroup") else {
        return;
    };
    let (_, id, init) = running(&mut t, "cg", |_| {});
    let pid_file = t.work().join("exec.pid");
    exec(
        &t,
        &["--detach", "--pid-file", pid_file.to_str().unwrap()],
        &id,
        &["sleep", "1000"],
    )
    .ok();
    let exec_pid = Detached::from_pid_file(&pid_file);
    let pid = exec_pid.0;
    let cgroup_of = |p: i32| {
        std::fs::read_to_string(format!("/proc/{p}/cgroup"))
            .unwrap_or_else(|e| panic!("read /proc/{p}/cgroup: {e}"))
    };
    let container = cgroup_of(init);
    assert!(
        container.lines().any(|l| !l.ends_with(":/")),
        "the container init is in no cgroup of its own:\n{container}"
    );
    assert_eq!(
        cgroup_of(pid),
        container,
        "the exec'd process (host pid {pid}) is not in the container's cgroups"
    );
    drop(exec_pid);
    t.cmd(&["delete", "--force", &id]).ok();
}

#[test]
fn exec_passes_stdio_and_exits_with_the_process_status() {
    let Some(mut t) = ctx!("exec_passes_stdio_and_exits_with_the_process_status") else {
        return;
    };
    let (_, id, _) = running(&mut t, "stdio", |_| {});
    let input = t.work().join("stdin.txt");
    std::fs::write(&input, "to the exec'd process\n").expect("write stdin");
    let out = t
        .rt()
        .stdin_from(&input)
        .args(["exec", &id, "sh", "-c", "cat; echo to-stderr >&2; exit 7"])
        .timeout(Duration::from_secs(10))
        .run();
    assert_eq!(out.code, Some(7), "{}", out.describe());
    assert_eq!(out.stdout, "to the exec'd process\n");
    assert!(out.stderr.contains("to-stderr\n"), "{}", out.describe());
}

#[test]
fn exec_killed_by_a_signal_exits_128_plus_the_signal() {
    let Some(mut t) = ctx!("exec_killed_by_a_signal_exits_128_plus_the_signal") else {
        return;
    };
    let (_, id, _) = running(&mut t, "sig", |_| {});
    let out = exec(&t, &[], &id, &["sh", "-c", "kill -KILL $$"]);
    assert_eq!(out.code, Some(128 + 9), "{}", out.describe());
    let out = exec(&t, &[], &id, &["sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.code, Some(128 + 15), "{}", out.describe());
}

#[test]
fn exec_inherits_env_cwd_and_user_of_the_config() {
    let Some(mut t) = ctx!("exec_inherits_env_cwd_and_user_of_the_config") else {
        return;
    };
    let (_, id, _) = running(&mut t, "inherit", |b| {
        b.set(
            "/process/env",
            json!(["PATH=/bin:/usr/bin", "FROM_CONFIG=yes"]),
        );
        b.set("/process/cwd", json!("/home/user"));
        b.set(
            "/process/user",
            json!({"uid": 1000, "gid": 1000, "additionalGids": [10]}),
        );
    });
    let out = exec_sh(
        &t,
        &[],
        &id,
        "echo env=$FROM_CONFIG; pwd; grep -E '^(Uid|Gid|Groups):' /proc/self/status",
    );
    assert!(out.contains("env=yes\n/home/user\n"), "{out}");
    assert_eq!(status_field(&out, "Uid"), "1000 1000 1000 1000", "{out}");
    assert_eq!(status_field(&out, "Gid"), "1000 1000 1000 1000", "{out}");
    assert_eq!(status_field(&out, "Groups"), "10", "{out}");
}

#[test]
fn exec_flags_override_env_cwd_user_and_groups() {
    let Some(mut t) = ctx!("exec_flags_override_env_cwd_user_and_groups") else {
        return;
    };
    let (_, id, _) = running(&mut t, "flags", |b| {
        b.set(
            "/process/env",
            json!(["PATH=/bin:/usr/bin", "FROM_CONFIG=yes", "REPLACED=old"]),
        );
        b.set("/process/user", json!({"uid": 1000, "gid": 1000}));
    });
    let flags = [
        "-e",
        "REPLACED=new",
        "-e",
        "ADDED=1",
        "--cwd",
        "/etc",
        "-u",
        "1001:1002",
        "-g",
        "20",
        "-g",
        "30",
    ];
    let out = exec_sh(
        &t,
        &flags,
        &id,
        "env | sort | grep -E '^(FROM_CONFIG|REPLACED|ADDED)='; pwd; grep -E '^(Uid|Gid|Groups):' /proc/self/status",
    );
    assert!(
        out.starts_with("ADDED=1\nFROM_CONFIG=yes\nREPLACED=new\n/etc\n"),
        "{out}"
    );
    assert_eq!(status_field(&out, "Uid"), "1001 1001 1001 1001", "{out}");
    assert_eq!(status_field(&out, "Gid"), "1002 1002 1002 1002", "{out}");
    assert_eq!(status_field(&out, "Groups"), "20 30", "{out}");
}

#[test]
fn exec_process_file_gives_the_whole_process() {
    let Some(mut t) = ctx!("exec_process_file_gives_the_whole_process") else {
        return;
    };
    let (_, id, _) = running(&mut t, "procfile", |_| {});
    let process = json!({
        "terminal": false,
        "user": {"uid": 1000, "gid": 1000, "additionalGids": [5]},
        "args": ["sh", "-c", "echo $ONLY_HERE; pwd; id -u; id -g; id -G; exit 3"],
        "env": ["PATH=/bin:/usr/bin", "ONLY_HERE=from-process-json"],
        "cwd": "/tmp",
        "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                         "permitted": ["CAP_KILL"]},
        "noNewPrivileges": true
    });
    let file = t.work().join("process.json");
    std::fs::write(&file, process.to_string()).expect("write process.json");
    let out = exec(&t, &["--process", file.to_str().unwrap()], &id, &[]);
    assert_eq!(out.code, Some(3), "{}", out.describe());
    assert_eq!(
        out.stdout,
        "from-process-json\n/tmp\n1000\n1000\n1000 5\n",
        "{}",
        out.describe()
    );
}

#[test]
fn exec_cwd_is_resolved_inside_the_container() {
    let Some(mut t) = ctx!("exec_cwd_is_resolved_inside_the_container") else {
        return;
    };
    let (b, id, _) = running(&mut t, "cwd", |_| {});
    // A link that only makes sense inside: the host has no /itest-cwd-link and its /etc has
    // no `kapsel-bundle` hostname file.
    std::os::unix::fs::symlink("/etc", b.rootfs().join("itest-cwd-link")).expect("symlink");
    let out = exec_sh(
        &t,
        &["--cwd", "/itest-cwd-link"],
        &id,
        "pwd -P; cat hostname",
    );
    assert_eq!(out, "/etc\nkapsel-bundle\n");
}

#[test]
fn exec_gets_the_containers_capabilities_rlimits_and_no_new_privs() {
    let Some(mut t) = ctx!("exec_gets_the_containers_capabilities_rlimits_and_no_new_privs") else {
        return;
    };
    let (_, id, init) = running(&mut t, "sec", |b| {
        b.set("/process/noNewPrivileges", json!(true));
        b.set(
            "/process/rlimits",
            json!([{"type": "RLIMIT_NOFILE", "hard": 777, "soft": 555},
                   {"type": "RLIMIT_CORE", "hard": 4096, "soft": 2048}]),
        );
    });
    let host = std::fs::read_to_string(format!("/proc/{init}/status")).expect("init status");
    let out = exec_sh(&t, &[], &id, "cat /proc/self/status /proc/self/limits");
    for key in ["CapBnd", "CapEff", "CapPrm", "CapInh", "CapAmb"] {
        assert_eq!(
            status_field(&out, key),
            status_field(&host, key),
            "{key} of the exec'd process differs from the init's"
        );
    }
    assert_eq!(status_field(&out, "NoNewPrivs"), "1", "{out}");
    assert_eq!(limit(&out, "Max core file size"), "2048 4096", "{out}");
    let nofile = limit(&out, "Max open files");
    assert!(nofile.ends_with(" 777"), "hard RLIMIT_NOFILE: {out}");
    // runc 1.1.5 sometimes leaves the soft limit at the hard one (Go raises its own NOFILE).
    if t.checks_kapsel_only("the soft RLIMIT_NOFILE, which runc 1.1.5 sometimes raises") {
        assert_eq!(nofile, "555 777", "{out}");
    }
}

/// Soft and hard values of a /proc/<pid>/limits row, e.g. "Max open files" -> "555 777".
fn limit(text: &str, row: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(row))
        .map(|v| v.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// CAP_SYS_ADMIN is bit 21 of the capability masks.
fn has_sys_admin(mask_hex: &str) -> bool {
    u64::from_str_radix(mask_hex, 16).is_ok_and(|m| m & (1 << 21) != 0)
}

#[test]
fn exec_cap_flag_adds_a_capability() {
    let Some(mut t) = ctx!("exec_cap_flag_adds_a_capability") else {
        return;
    };
    let (_, id, _) = running(&mut t, "cap", |_| {});
    let plain = exec_sh(&t, &[], &id, "cat /proc/self/status");
    assert!(
        !has_sys_admin(&status_field(&plain, "CapEff")),
        "the default config grants CAP_SYS_ADMIN: {plain}"
    );
    let added = exec_sh(
        &t,
        &["--cap", "CAP_SYS_ADMIN"],
        &id,
        "cat /proc/self/status",
    );
    for key in ["CapBnd", "CapEff", "CapPrm"] {
        assert!(
            has_sys_admin(&status_field(&added, key)),
            "{key} lacks CAP_SYS_ADMIN with --cap: {added}"
        );
    }
}

#[test]
fn exec_no_new_privs_flag_sets_it_when_the_config_does_not() {
    let Some(mut t) = ctx!("exec_no_new_privs_flag_sets_it_when_the_config_does_not") else {
        return;
    };
    let (_, id, _) = running(&mut t, "nnp", |b| {
        b.set("/process/noNewPrivileges", json!(false));
    });
    let plain = exec_sh(&t, &[], &id, "grep NoNewPrivs /proc/self/status");
    assert_eq!(status_field(&plain, "NoNewPrivs"), "0", "{plain}");
    let flagged = exec_sh(
        &t,
        &["--no-new-privs"],
        &id,
        "grep NoNewPrivs /proc/self/status",
    );
    assert_eq!(status_field(&flagged, "NoNewPrivs"), "1", "{flagged}");
}

#[test]
fn exec_gets_the_containers_seccomp_filter() {
    let Some(mut t) = ctx!("exec_gets_the_containers_seccomp_filter") else {
        return;
    };
    let (_, id, _) = running(&mut t, "seccomp", |b| {
        b.push_mount(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}));
        b.set(
            "/linux/seccomp",
            json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"],
                "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                              "errnoRet": 1}]
            }),
        );
    });
    let out = exec(
        &t,
        &[],
        &id,
        &[
            "sh",
            "-c",
            "grep Seccomp: /proc/self/status; mkdir /tmp/blocked",
        ],
    );
    out.failed();
    assert_eq!(
        status_field(&out.stdout, "Seccomp"),
        "2",
        "{}",
        out.describe()
    );
    assert!(
        out.stderr.contains("Operation not permitted"),
        "mkdir should fail with EPERM from the filter: {}",
        out.describe()
    );
    let touched = exec_sh(&t, &[], &id, "touch /tmp/allowed && echo ok");
    assert_eq!(touched, "ok\n", "other syscalls are allowed");
}

#[test]
fn exec_preserve_fds_passes_extra_fds() {
    let Some(mut t) = ctx!("exec_preserve_fds_passes_extra_fds") else {
        return;
    };
    let (_, id, _) = running(&mut t, "fds", |_| {});
    let file = t.work().join("fd3");
    std::fs::write(&file, "content of fd 3\n").expect("write");
    let setup = format!("exec 3<'{}' 4</dev/null", file.display());
    let run = |extra: &[&str]| {
        t.rt()
            .shell_setup(&setup)
            .arg("exec")
            .args(extra)
            .args([
                id.as_str(),
                "sh",
                "-c",
                "cat <&3; [ -e /proc/self/fd/4 ] && echo fd4-open; true",
            ])
            .timeout(Duration::from_secs(10))
            .run()
    };
    let out = run(&["--preserve-fds", "1"]);
    out.ok();
    assert_eq!(out.stdout, "content of fd 3\n", "{}", out.describe());
    let out = run(&[]);
    assert!(
        !out.stdout.contains("content of fd 3"),
        "fd 3 leaked into the exec'd process without --preserve-fds: {}",
        out.describe()
    );
}

#[test]
fn exec_detached_returns_at_once_and_writes_the_pid_file() {
    let Some(mut t) = ctx!("exec_detached_returns_at_once_and_writes_the_pid_file") else {
        return;
    };
    let (_, id, init) = running(&mut t, "detach", |_| {});
    let pid_file = t.work().join("detached.pid");
    let started = Instant::now();
    let out = t
        .rt()
        .args(["exec", "-d", "--pid-file"])
        .arg(&pid_file)
        .args([id.as_str(), "sleep", "1000"])
        .timeout(Duration::from_secs(10))
        .run();
    out.ok();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "exec -d waited for the process"
    );
    let exec_pid = Detached::from_pid_file(&pid_file);
    let pid = exec_pid.0;
    assert!(procfs::is_alive(pid), "pid {pid} from the pid file is dead");
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default(),
        "sleep\n",
        "pid file names pid {pid}, not the exec'd sleep"
    );
    assert_eq!(
        procfs::link(pid, "ns/pid"),
        procfs::link(init, "ns/pid"),
        "the detached process is not in the container's pid namespace"
    );
    let ps = exec_sh(&t, &[], &id, "ps -o comm | grep -c sleep");
    assert_eq!(
        ps, "2\n",
        "the container sees its init and the detached sleep"
    );
    t.cmd(&["kill", "--all", &id, "KILL"]).ok();
    assert!(
        procfs::reap(pid, Duration::from_secs(5)).is_some(),
        "the detached process survived kill --all"
    );
}

#[test]
fn exec_forwards_signals_to_the_process() {
    let Some(mut t) = ctx!("exec_forwards_signals_to_the_process") else {
        return;
    };
    let (_, id, _) = running(&mut t, "fwd", |_| {});
    let stdout = t.work().join("fwd.out");
    let mut child = Command::new(&t.rt.path)
        .arg("--root")
        .arg(t.root())
        .args(["exec", &id, "sh", "-c"])
        .arg("trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).expect("create stdout file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn exec");
    t.wait_for_file(&stdout, "ready\n", Duration::from_secs(10));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("signal the runtime");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for exec") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("exec did not end after SIGTERM was sent to it");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(42), "exit status of exec after SIGTERM");
    let text = std::fs::read_to_string(&stdout).unwrap_or_default();
    assert_eq!(text, "ready\ngot-term\n");
}

#[test]
fn exec_with_a_tty_sends_the_pty_over_the_console_socket() {
    let Some(mut t) = ctx!("exec_with_a_tty_sends_the_pty_over_the_console_socket") else {
        return;
    };
    let (_, id, _) = running(&mut t, "tty", |_| {});
    // A short path: unix socket paths are limited to 108 bytes.
    let sock_dir = Scratch::new(&std::env::temp_dir(), "itest-exectty");
    let socket = ConsoleSocket::listen(sock_dir.path());
    let pid_file = t.work().join("tty.pid");
    exec(
        &t,
        &[
            "--tty",
            "--detach",
            "--console-socket",
            socket.path().to_str().unwrap(),
            "--pid-file",
            pid_file.to_str().unwrap(),
        ],
        &id,
        &[
            "sh",
            "-c",
            "tty; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo stdio-is-tty",
        ],
    )
    .ok();
    let exec_pid = Detached::from_pid_file(&pid_file);
    let received = socket.received().expect("pty master received");
    assert!(
        received.target.to_string_lossy().ends_with("ptmx"),
        "the fd sent is not a pty master: {:?}",
        received.target
    );
    let output = received.output().replace('\r', "");
    assert!(output.starts_with("/dev/pts/"), "tty output: {output:?}");
    assert!(output.contains("stdio-is-tty\n"), "tty output: {output:?}");
    drop(exec_pid);
}

/// Asserts that a refused exec printed one line and started nothing in the container.
#[track_caller]
fn assert_refused(t: &Ctx, out: &Output, init: i32, before: &[i32], mentions: &str) {
    out.failed();
    assert!(
        !out.stdout.contains("ran"),
        "the command ran: {}",
        out.describe()
    );
    if t.checks_kapsel_only("a one-line error") {
        assert_eq!(out.stderr_lines().len(), 1, "{}", out.describe());
        out.err_mentions(mentions);
    }
    if init > 0 {
        assert_eq!(
            processes_in_pid_ns_of(init),
            before,
            "a refused exec left a process in the container"
        );
    }
}

#[test]
fn exec_into_a_created_container_is_refused() {
    let Some(mut t) = ctx!("exec_into_a_created_container_is_refused") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("created");
    t.create(&b, &id).ok();
    let fp = t.footprint(&id);
    let before = processes_in_pid_ns_of(fp.pid);
    let out = exec(&t, &[], &id, &["echo", "ran"]);
    if t.checks_kapsel_only("runc 1.1 execs into a created container") {
        assert_refused(&t, &out, fp.pid, &before, "created");
    }
    assert_eq!(t.state_ok(&id)["status"], "created");
    t.cmd(&["delete", "--force", &id]).ok();
    t.assert_no_leftovers(&id, &b, Some(&fp));
}

// spec: exec --ignore-paused
#[test]
fn exec_into_a_paused_container_is_refused() {
    let Some(mut t) = ctx!("exec_into_a_paused_container_is_refused") else {
        return;
    };
    let (_, id, init) = running(&mut t, "paused", |_| {});
    t.cmd(&["pause", &id]).ok();
    let before = processes_in_pid_ns_of(init);
    let out = exec(&t, &[], &id, &["echo", "ran"]);
    assert_refused(&t, &out, init, &before, "paused");
    t.cmd(&["resume", &id]).ok();
    let out = exec_sh(&t, &[], &id, "echo resumed");
    assert_eq!(out, "resumed\n", "exec works again after resume");
}

#[test]
fn exec_into_a_stopped_or_missing_container_is_refused() {
    let Some(mut t) = ctx!("exec_into_a_stopped_or_missing_container_is_refused") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["true"]);
    let id = t.id("stopped");
    t.create_and_start(&b, &id);
    t.wait_status(&id, "stopped", Duration::from_secs(5));
    let out = exec(&t, &[], &id, &["echo", "ran"]);
    assert_refused(&t, &out, 0, &[], "stopped");
    let missing = t.id("missing");
    let out = exec(&t, &[], &missing, &["echo", "ran"]);
    assert_refused(&t, &out, 0, &[], "container does not exist");
    t.cmd(&["delete", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn exec_with_an_invalid_user_fails_and_starts_nothing() {
    let Some(mut t) = ctx!("exec_with_an_invalid_user_fails_and_starts_nothing") else {
        return;
    };
    let (_, id, init) = running(&mut t, "baduser", |_| {});
    let before = processes_in_pid_ns_of(init);
    for user in ["no-such-user", "1000:staff", ":1"] {
        let out = exec(&t, &["--user", user], &id, &["echo", "ran"]);
        assert_refused(&t, &out, init, &before, user);
    }
    let out = exec(&t, &[], &id, &["/no/such/binary"]);
    assert_refused(&t, &out, init, &before, "/no/such/binary");
    assert_eq!(t.state_ok(&id)["status"], "running");
}

/// The container's cgroup directory of `controller` on the host (cgroup v1 layout).
fn v1_cgroup_dir(pid: i32, controller: &str) -> Option<std::path::PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    let rel = text.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, names, path) = (parts.next()?, parts.next()?, parts.next()?);
        names.split(',').any(|n| n == controller).then_some(path)
    })?;
    let dir = std::path::Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(rel.trim_start_matches('/'));
    dir.is_dir().then_some(dir)
}

#[test]
fn exec_cgroup_flag_runs_the_process_in_a_sub_cgroup() {
    let Some(mut t) = ctx!("exec_cgroup_flag_runs_the_process_in_a_sub_cgroup") else {
        return;
    };
    let (_, id, init) = running(&mut t, "subcg", |_| {});
    let Some(dir) = v1_cgroup_dir(init, "pids") else {
        t.skip("the container has no cgroup v1 `pids` directory on this host");
        return;
    };
    let sub = dir.join("itest-sub");
    std::fs::create_dir(&sub).unwrap_or_else(|e| panic!("mkdir `{}`: {e}", sub.display()));
    let pid_file = t.work().join("sub.pid");
    let out = exec(
        &t,
        &[
            "--cgroup",
            "pids:itest-sub",
            "-d",
            "--pid-file",
            pid_file.to_str().unwrap(),
        ],
        &id,
        &["sleep", "1000"],
    );
    let joined = if out.success() {
        let exec_pid = Detached::from_pid_file(&pid_file);
        let pid = exec_pid.0;
        let procs = std::fs::read_to_string(sub.join("cgroup.procs")).unwrap_or_default();
        let inside = procs.lines().any(|l| l.trim() == pid.to_string());
        drop(exec_pid);
        inside
    } else {
        false
    };
    // The sub-cgroup must go before the container's own cgroup is removed by delete.
    let _ = std::fs::remove_dir(&sub);
    assert!(out.success(), "exec --cgroup: {}", out.describe());
    assert!(joined, "the exec'd process is not in `{}`", sub.display());
}

#[test]
fn many_execs_leave_nothing_behind() {
    let Some(mut t) = ctx!("many_execs_leave_nothing_behind") else {
        return;
    };
    let (b, id, _) = running(&mut t, "many", |_| {});
    let fp = t.footprint(&id);
    // Short-lived processes too: their exit must not be missed however fast it comes.
    for i in 0..10 {
        let out = exec(&t, &[], &id, &["echo", &format!("exec-{i}")]);
        assert_eq!(out.stdout, format!("exec-{i}\n"), "{}", out.describe());
    }
    let pid_file = t.work().join("bg.pid");
    exec(
        &t,
        &["-d", "--pid-file", pid_file.to_str().unwrap()],
        &id,
        &["sleep", "1000"],
    )
    .ok();
    drop(Detached::from_pid_file(&pid_file));
    t.cmd(&["delete", "--force", &id]).ok();
    t.assert_no_leftovers(&id, &b, Some(&fp));
}
