//! What the runtime hands its caller: sd_notify messages relayed from the container's
//! NOTIFY_SOCKET (`start` returns only after READY=1), and `--pidfd-socket` pidfds of the
//! container's init (create, run) and of an exec'd process, used with pidfd_send_signal.

use std::io::IoSliceMut;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kapsel_integration::{cprog, ctx, Bundle, Ctx};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};

/// sd_notify(3) without systemd: each argument is sent as one datagram to $NOTIFY_SOCKET,
/// except `sleep:MS`, which waits.
const NOTIFY_SOURCE: &str = r#"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

int main(int argc, char **argv) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path) { fprintf(stderr, "no NOTIFY_SOCKET\n"); return 2; }
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    for (int i = 1; i < argc; i++) {
        if (!strncmp(argv[i], "sleep:", 6)) {
            long ms = atol(argv[i] + 6);
            struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
            nanosleep(&ts, NULL);
        } else if (sendto(fd, argv[i], strlen(argv[i]), 0, (struct sockaddr *)&addr,
                          sizeof(addr)) < 0) {
            perror("sendto");
            return 1;
        }
    }
    return 0;
}
"#;

/// A short socket path of this test process (sun_path holds 108 bytes; work dirs are deep).
fn short_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kapsel-{tag}-{}", std::process::id()))
}

/// A bundle with /sdnotify installed, or None (skipped) without gcc.
fn notify_bundle(t: &Ctx) -> Option<Bundle> {
    let b = t.bundle();
    let bin = cprog::compile(
        Path::new(env!("CARGO_TARGET_TMPDIR")),
        "spec-notify",
        "sdnotify",
        NOTIFY_SOURCE,
        &["-O1"],
    );
    match bin.and_then(|bin| cprog::install(&bin, &b.rootfs(), "sdnotify")) {
        Ok(()) => Some(b),
        Err(reason) => {
            t.skip(&reason);
            None
        }
    }
}

/// The caller's NOTIFY_SOCKET: a bound datagram socket in a directory of its own.
struct Listener {
    dir: PathBuf,
    socket: UnixDatagram,
}

impl Listener {
    fn bind(tag: &str) -> Listener {
        let dir = short_path(tag);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir notify dir");
        let socket = UnixDatagram::bind(dir.join("notify.sock")).expect("bind notify socket");
        socket.set_nonblocking(true).expect("non-blocking");
        Listener { dir, socket }
    }

    fn path(&self) -> String {
        self.dir.join("notify.sock").display().to_string()
    }

    /// Every datagram waiting now.
    fn pending(&self) -> Vec<String> {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = self.socket.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        got
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// spec: sd_notify
#[test]
fn start_returns_after_ready_and_relays_every_message() {
    let Some(mut t) = ctx!("start_returns_after_ready_and_relays_every_message") else {
        return;
    };
    let Some(mut b) = notify_bundle(&t) else {
        return;
    };
    let host = Listener::bind("notify");
    b.sh("ls -l \"$NOTIFY_SOCKET\" | cut -c1; /sdnotify STATUS=booting sleep:1500 READY=1 STATUS=up; sleep 30");
    let id = t.id("notify");
    let create = t
        .create_cmd(&b, &id, t.rt())
        .env("NOTIFY_SOCKET", &host.path());
    create.arg(&id).run().ok();
    let pid = t.track_pid_file(&id).expect("pid file");
    t.rt()
        .env("NOTIFY_SOCKET", &host.path())
        .args(["start", &id])
        .run()
        .ok();
    // start returned: READY=1 must already be here, after what came before it.
    let got = host.pending();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[0], "STATUS=booting");
    assert!(got[1].lines().any(|l| l == "READY=1"), "{got:?}");
    if t.checks_kapsel_only("MAINPID with READY=1") {
        assert!(got[1].contains(&format!("MAINPID={pid}")), "{got:?}");
    }
    let seen = t.wait_for_file(&t.stdout_path(&id), "s", Duration::from_secs(5));
    assert!(
        seen.starts_with('s'),
        "NOTIFY_SOCKET inside is not a socket: {seen}"
    );
}

// spec: sd_notify
#[test]
fn start_without_ready_returns_once_the_container_exits() {
    let Some(mut t) = ctx!("start_without_ready_returns_once_the_container_exits") else {
        return;
    };
    let Some(mut b) = notify_bundle(&t) else {
        return;
    };
    let host = Listener::bind("noready");
    b.sh("/sdnotify STATUS=giving-up sleep:300");
    let id = t.id("noready");
    let out = t
        .rt()
        .env("NOTIFY_SOCKET", &host.path())
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .timeout(Duration::from_secs(20));
    b.write();
    out.run().ok();
    assert_eq!(host.pending(), ["STATUS=giving-up"]);
}

/// Listens at a short path for the runtime's --pidfd-socket connection.
fn pidfd_listener(tag: &str) -> (PathBuf, UnixListener) {
    let path = short_path(tag).with_extension("sock");
    let _ = std::fs::remove_file(&path);
    let l = UnixListener::bind(&path).expect("bind pidfd socket");
    (path, l)
}

/// Accepts the connection the runtime made and takes the descriptor it sent.
fn receive_fd(path: &Path, listener: &UnixListener) -> OwnedFd {
    listener.set_nonblocking(true).expect("non-blocking");
    let deadline = Instant::now() + Duration::from_secs(5);
    let stream = loop {
        match listener.accept() {
            Ok((s, _)) => break s,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("no connection on `{}`: {e}", path.display()),
        }
    };
    let _ = std::fs::remove_file(path);
    let mut buf = [0u8; 64];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<UnixAddr>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .expect("recvmsg");
    let fd = msg
        .cmsgs()
        .expect("control messages")
        .find_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
            _ => None,
        })
        .expect("a descriptor was sent");
    kapsel_sys::fs::owned_from_received(fd)
}

/// The pid a pidfd refers to, from /proc/self/fdinfo.
fn pidfd_pid(fd: &OwnedFd) -> i32 {
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).expect("readlink");
    assert!(
        link.to_string_lossy().contains("pidfd"),
        "not a pidfd: {link:?}"
    );
    let info =
        std::fs::read_to_string(format!("/proc/self/fdinfo/{}", fd.as_raw_fd())).expect("fdinfo");
    info.lines()
        .find_map(|l| l.strip_prefix("Pid:"))
        .and_then(|p| p.trim().parse().ok())
        .expect("Pid line")
}

// spec: --pidfd-socket
#[test]
fn create_and_run_send_a_pidfd_of_init_that_can_kill_it() {
    let Some(mut t) = ctx!("create_and_run_send_a_pidfd_of_init_that_can_kill_it") else {
        return;
    };
    for verb in ["create", "run"] {
        let mut b = t.bundle();
        b.sh("sleep 60");
        b.write();
        let id = t.id(verb);
        let (path, listener) = pidfd_listener(verb);
        let mut cmd = t.rt().arg(verb);
        if verb == "run" {
            cmd = cmd.arg("--detach");
        }
        cmd.args(["--bundle"])
            .arg(&b.dir)
            .arg("--pid-file")
            .arg(t.pid_file(&id))
            .arg("--pidfd-socket")
            .arg(&path)
            .arg(&id)
            .stdout_to(&t.stdout_path(&id))
            .run()
            .ok();
        let pid = t.track_pid_file(&id).expect("pid file");
        let pidfd = receive_fd(&path, &listener);
        assert_eq!(pidfd_pid(&pidfd), pid, "{verb}: the pidfd is not init's");
        kapsel_sys::process::pidfd_send_signal(pidfd.as_raw_fd(), libc_sigkill())
            .expect("pidfd_send_signal");
        t.wait_status(&id, "stopped", Duration::from_secs(5));
    }
}

// spec: --pidfd-socket
#[test]
fn exec_sends_a_pidfd_of_the_new_process() {
    let Some(mut t) = ctx!("exec_sends_a_pidfd_of_the_new_process") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("sleep 60");
    let id = t.id("exec");
    let init = t.create_and_start(&b, &id);
    let (path, listener) = pidfd_listener("exec");
    let pid_file = t.work().join("exec.pid");
    let mut args = vec!["exec", "--detach", "--pid-file"];
    let pid_file_s = pid_file.display().to_string();
    let path_s = path.display().to_string();
    args.extend([
        pid_file_s.as_str(),
        "--pidfd-socket",
        &path_s,
        &id,
        "sleep",
        "50",
    ]);
    t.cmd(&args).ok();
    let exec_pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("exec pid file")
        .trim()
        .parse()
        .expect("pid");
    t.track_pid(exec_pid);
    let pidfd = receive_fd(&path, &listener);
    assert_eq!(pidfd_pid(&pidfd), exec_pid);
    assert_ne!(exec_pid, init);
    kapsel_sys::process::pidfd_send_signal(pidfd.as_raw_fd(), libc_sigkill())
        .expect("pidfd_send_signal");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Path::new(&format!("/proc/{exec_pid}/cmdline")).exists()
        && std::fs::read_to_string(format!("/proc/{exec_pid}/stat"))
            .is_ok_and(|s| !s.contains(") Z "))
    {
        assert!(Instant::now() < deadline, "exec'd process survived SIGKILL");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        t.state_ok(&id)["status"],
        "running",
        "init must be untouched"
    );
}

fn libc_sigkill() -> i32 {
    nix::sys::signal::Signal::SIGKILL as i32
}
