//! Filters loaded into the real kernel. A filter can never be removed, so each test
//! loads it in a fresh copy of this test binary (`in_child`), never in the runner.

use kapsel_seccomp::{compile, load, parse, Filter};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
use serde_json::{json, Value};
use std::io::{IoSliceMut, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const ROLE: &str = "KAPSEL_SECCOMP_TEST_CHILD";

/// True in the copy of the binary that was started to run `test`'s child part.
fn is_child(test: &str) -> bool {
    std::env::var(ROLE).as_deref() == Ok(test)
}

/// Starts this binary again, running only `test`, in child mode.
fn spawn_child(test: &str, env: &[(&str, &Path)]) -> Child {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary path"));
    cmd.args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(ROLE, test)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn the test binary again")
}

/// The child part: run `body` with `WORK`, exit with its code; the parent part: the
/// child's output. `work` is the parent's scratch path, handed down as WORK.
fn in_child(test: &str, work: &Path, body: impl FnOnce(PathBuf) -> i32) -> Output {
    if is_child(test) {
        let work = PathBuf::from(std::env::var_os("WORK").expect("WORK"));
        std::process::exit(body(work));
    }
    spawn_child(test, &[("WORK", work)])
        .wait_with_output()
        .expect("wait for the child")
}

fn describe(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Seccomp filters need CONFIG_SECCOMP_FILTER; without it print SKIP and return false.
fn seccomp_available(test: &str) -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if !status.lines().any(|l| l.starts_with("Seccomp_filters:")) {
        println!("SKIP {test}: the kernel has no seccomp filter support");
        return false;
    }
    true
}

fn filter(v: Value) -> Filter {
    compile(&parse(&v).expect("test config parses")).expect("test config compiles")
}

/// Loads `f` the way an unprivileged runtime must: no_new_privs first.
fn install(f: &Filter) -> Option<std::os::fd::OwnedFd> {
    kapsel_sys::seccomp::set_no_new_privs().expect("no_new_privs");
    load(f).unwrap_or_else(|e| {
        eprintln!("load: {e}");
        std::process::exit(100)
    })
}

fn errno_of(r: std::io::Result<()>) -> i32 {
    match r {
        Ok(()) => 0,
        Err(e) => e.raw_os_error().unwrap_or(-1),
    }
}

/// A scratch directory, removed when dropped.
fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("kapsel-seccomp-{name}-"))
        .tempdir()
        .expect("scratch dir")
}

const ALL_ARCHES: [&str; 17] = [
    "SCMP_ARCH_X86_64",
    "SCMP_ARCH_X86",
    "SCMP_ARCH_X32",
    "SCMP_ARCH_ARM",
    "SCMP_ARCH_AARCH64",
    "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_PPC",
    "SCMP_ARCH_PPC64",
    "SCMP_ARCH_PPC64LE",
    "SCMP_ARCH_S390",
    "SCMP_ARCH_S390X",
    "SCMP_ARCH_MIPS",
    "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPS64",
    "SCMP_ARCH_MIPSEL64",
    "SCMP_ARCH_MIPS64N32",
    "SCMP_ARCH_MIPSEL64N32",
];

#[test]
fn mkdir_gets_the_chosen_errno_and_other_calls_work() {
    const T: &str = "mkdir_gets_the_chosen_errno_and_other_calls_work";
    if !is_child(T) && !seccomp_available(T) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("kapsel-seccomp-mkdir-{}", std::process::id()));
    let out = in_child(T, &dir, |dir| {
        // Every architecture at once: the kernel's checker must accept the whole program.
        let f = filter(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ALL_ARCHES,
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                      "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": libc::EXDEV}]}),
        );
        assert!(install(&f).is_none());
        if std::process::id() == 0 || std::env::current_dir().is_err() {
            return 101; // allowed calls must keep working
        }
        errno_of(std::fs::create_dir(&dir))
    });
    assert_eq!(out.status.code(), Some(libc::EXDEV), "{}", describe(&out));
    assert!(!dir.exists());
}

#[test]
fn kill_process_ends_the_caller_with_sigsys() {
    const T: &str = "kill_process_ends_the_caller_with_sigsys";
    if !is_child(T) && !seccomp_available(T) {
        return;
    }
    let out = in_child(T, Path::new("/"), |_| {
        let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_KILL_PROCESS"}]}));
        install(&f);
        let _ = std::env::current_dir();
        0
    });
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSYS),
        "{}",
        describe(&out)
    );
}

#[test]
fn argument_conditions_hold_in_the_kernel() {
    const T: &str = "argument_conditions_hold_in_the_kernel";
    if !is_child(T) && !seccomp_available(T) {
        return;
    }
    let out = in_child(T, Path::new("/"), |_| {
        // umask(0o077) refused, any other mask allowed; 64-bit compare on the halves.
        let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["umask"], "action": "SCMP_ACT_KILL_PROCESS",
                "args": [{"index": 0, "value": 0o077, "op": "SCMP_CMP_EQ"}]},
                {"names": ["umask"], "action": "SCMP_ACT_KILL_PROCESS",
                "args": [{"index": 0, "value": 0o7000, "op": "SCMP_CMP_GE"}]}]}));
        install(&f);
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o777));
        println!("allowed masks passed");
        nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
        0
    });
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGSYS),
        "{}",
        describe(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("allowed masks passed"),
        "{}",
        describe(&out)
    );
}

#[test]
fn default_profile_runs_a_shell_and_refuses_escapes() {
    const T: &str = "default_profile_runs_a_shell_and_refuses_escapes";
    if !is_child(T) && !seccomp_available(T) {
        return;
    }
    let scratch = (!is_child(T)).then(|| scratch("sh"));
    let work = scratch
        .as_ref()
        .map_or_else(PathBuf::new, |d| d.path().to_path_buf());
    let out = in_child(T, &work, |work| {
        install(&compile(&kapsel_seccomp::default_profile()).expect("default profile"));
        use nix::sched::{unshare, CloneFlags};
        if unshare(CloneFlags::CLONE_NEWUSER) != Err(nix::errno::Errno::EPERM) {
            return 10;
        }
        if unshare(CloneFlags::CLONE_NEWNS) != Err(nix::errno::Errno::EPERM) {
            return 11;
        }
        let m = nix::mount::mount(
            Some("tmpfs"),
            &work,
            Some("tmpfs"),
            nix::mount::MsFlags::empty(),
            None::<&str>,
        );
        if m != Err(nix::errno::Errno::EPERM) {
            return 12;
        }
        // std spawns with clone3 first: ENOSYS must send it to the clone fallback.
        let script = "set -e; echo hello > f; cat f; mkdir d; ln -s ../f d/l; cp d/l d/g; \
                      mv d/g d/h; chmod 600 d/h; ls -l d > /dev/null; tar cf t.tar d; \
                      rm -r f d t.tar; id -u > /dev/null; sleep 0; echo done";
        let mut shells = vec![vec!["/bin/sh", "-c", script]];
        if Path::new("/bin/busybox").exists() {
            shells.push(vec!["/bin/busybox", "sh", "-c", script]);
        }
        for (i, argv) in shells.iter().enumerate() {
            match Command::new(argv[0])
                .args(&argv[1..])
                .current_dir(&work)
                .output()
            {
                Ok(o) if o.status.success() && o.stdout == b"hello\ndone\n" => {}
                Ok(o) => {
                    eprintln!(
                        "{argv:?}: {:?} {}",
                        o.status,
                        String::from_utf8_lossy(&o.stderr)
                    );
                    return 13 + i as i32 * 10;
                }
                Err(e) => {
                    eprintln!("spawn {argv:?}: {e}");
                    return 14 + i as i32 * 10;
                }
            }
        }
        0
    });
    assert_eq!(out.status.code(), Some(0), "{}", describe(&out));
}

#[test]
fn notify_fd_and_state_reach_the_agent() {
    const T: &str = "notify_fd_and_state_reach_the_agent";
    if is_child(T) {
        let socket = PathBuf::from(std::env::var_os("AGENT").expect("AGENT"));
        let f = filter(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": socket, "listenerMetadata": "MKNOD=/dev/null",
            "flags": ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]}));
        assert!(f.uses_notify());
        let fd = install(&f).expect("a notify fd");
        let mut state = kapsel_seccomp::State::default();
        state.set_version("1.2.0".into());
        state.set_id("c1".into());
        state.set_pid(Some(std::process::id() as i32));
        state.set_bundle("/bundles/c1".into());
        let msg = kapsel_seccomp::process_state(
            std::process::id() as i32,
            Some("MKNOD=/dev/null"),
            state,
        );
        kapsel_seccomp::send_notify_fd(&socket, std::os::fd::AsFd::as_fd(&fd), &msg).expect("send");
        drop(fd);
        // Blocks until the agent answers or closes the fd: then ENOSYS.
        let dir = socket.with_file_name("made-by-child");
        std::process::exit(errno_of(std::fs::create_dir(dir)));
    }
    if !seccomp_available(T) {
        return;
    }
    if !kapsel_sys::seccomp::action_available(kapsel_seccomp::ret::USER_NOTIF) {
        println!("SKIP {T}: the kernel lacks SECCOMP_RET_USER_NOTIF");
        return;
    }
    let dir = scratch("notify");
    let socket = dir.path().join("agent.sock");
    let listener = UnixListener::bind(&socket).expect("bind agent socket");
    listener.set_nonblocking(true).unwrap();
    kapsel_seccomp::check_listener(&socket).expect("a socket passes the check");
    let mut child = spawn_child(T, &[("AGENT", &socket)]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Some(st) = child.try_wait().unwrap() {
                    let mut err = String::new();
                    child
                        .stderr
                        .take()
                        .unwrap()
                        .read_to_string(&mut err)
                        .unwrap();
                    panic!("child exited before connecting: {st:?} {err}");
                }
                assert!(Instant::now() < deadline, "no connection from the child");
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(e) => panic!("accept: {e}"),
        }
    };
    stream.set_nonblocking(false).unwrap();
    let mut buf = vec![0u8; 8192];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let (len, fds) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<UnixAddr>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::empty(),
        )
        .expect("recvmsg");
        let fds: Vec<i32> = msg
            .cmsgs()
            .unwrap()
            .flat_map(|c| match c {
                ControlMessageOwned::ScmRights(fds) => fds,
                _ => vec![],
            })
            .collect();
        (msg.bytes, fds)
    };
    let state: Value = serde_json::from_slice(&buf[..len]).expect("state JSON");
    assert_eq!(fds.len(), 1, "one fd with the state");
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fds[0])).unwrap();
    nix::unistd::close(fds[0]).unwrap();
    let status = child.wait().unwrap();
    drop(dir);

    assert_eq!(link.to_string_lossy(), "anon_inode:seccomp notify");
    assert_eq!(state["fds"], json!(["seccompFd"]));
    assert_eq!(state["pid"], json!(child.id()));
    assert_eq!(state["metadata"], json!("MKNOD=/dev/null"));
    assert_eq!(state["ociVersion"], json!("1.2.0"));
    assert_eq!(state["state"]["id"], json!("c1"));
    assert_eq!(state["state"]["bundle"], json!("/bundles/c1"));
    // With the agent gone the notified call fails with ENOSYS: mkdir really was NOTIFY.
    assert_eq!(status.code(), Some(libc::ENOSYS), "child: {status:?}");
}
