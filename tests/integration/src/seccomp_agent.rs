//! A seccomp agent for `linux.seccomp.listenerPath`: it accepts the runtime's connections,
//! takes each container process state message and the notify descriptor sent with it, holds
//! the descriptor for a while (the process's notified syscalls wait), then closes it (they fail
//! with ENOSYS). It never answers a notification: that needs ioctls, and this crate has no
//! `unsafe`.

use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use serde_json::Value;

/// What the agent got on one connection.
#[derive(Debug, Clone)]
pub struct Handoff {
    /// The container process state JSON, as sent.
    pub state: String,
    /// readlink of each descriptor received ("anon_inode:seccomp notify").
    pub fds: Vec<String>,
    /// The runtime closed the connection after the one state (end of file within 5 s,
    /// nothing more sent on it).
    pub closed_after_one: bool,
}

/// A listening agent; its socket file is removed when dropped.
#[derive(Debug)]
pub struct Agent {
    /// The socket path to put in `listenerPath`.
    pub path: PathBuf,
    thread: Option<JoinHandle<Result<Vec<Handoff>, String>>>,
}

impl Agent {
    /// Listens at /tmp/kapsel-agent-<pid>-<n>.sock (a test's work dir is too deep for the
    /// 108 bytes of sun_path) for `connections` connections, each within 10 s, and holds each
    /// descriptor for `hold`.
    pub fn listen(connections: usize, hold: Duration) -> Agent {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("kapsel-agent-{}-{n}.sock", std::process::id()));
        let listener =
            UnixListener::bind(&path).unwrap_or_else(|e| panic!("bind `{}`: {e}", path.display()));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("non-blocking `{}`: {e}", path.display()));
        let thread = std::thread::spawn(move || {
            (0..connections)
                .map(|_| serve(&listener, hold))
                .collect::<Result<Vec<_>, _>>()
        });
        Agent {
            path,
            thread: Some(thread),
        }
    }

    /// Waits for the agent to be done and returns what it got, or panics with why it failed.
    #[track_caller]
    pub fn finish(mut self) -> Vec<Handoff> {
        let thread = self
            .thread
            .take()
            .unwrap_or_else(|| unreachable!("set by listen"));
        let result = thread
            .join()
            .unwrap_or_else(|_| panic!("seccomp agent thread panicked"));
        result.unwrap_or_else(|e| panic!("seccomp agent: {e}"))
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn serve(listener: &UnixListener, hold: Duration) -> Result<Handoff, String> {
    let mut stream = accept(listener)?;
    stream
        .set_nonblocking(false)
        .map_err(|e| format!("blocking stream: {e}"))?;
    let mut buf = vec![0u8; 64 * 1024];
    let (len, fds) = receive(&stream, &mut buf)?;
    // The runtime may keep the connection open: read until the JSON is complete.
    let mut json = buf[..len].to_vec();
    while serde_json::from_slice::<Value>(&json).is_err_and(|e| e.is_eof()) {
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("read state: {e}"))?;
        if n == 0 {
            break;
        }
        json.extend_from_slice(&buf[..n]);
    }
    let kinds = fds
        .iter()
        .map(|fd| {
            std::fs::read_link(format!("/proc/self/fd/{fd}"))
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        })
        .collect();
    std::thread::sleep(hold);
    for fd in fds {
        let _ = nix::unistd::close(fd);
    }
    // The runtime-spec: exactly one state per connection, which is closed after it. (Read
    // once the descriptor is closed: a runtime whose own call the filter caught waits for
    // that before it goes on.)
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| format!("read timeout: {e}"))?;
    let closed_after_one = matches!(stream.read(&mut buf), Ok(0));
    Ok(Handoff {
        state: String::from_utf8_lossy(&json).into_owned(),
        fds: kinds,
        closed_after_one,
    })
}

fn accept(listener: &UnixListener) -> Result<UnixStream, String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match listener.accept() {
            Ok((stream, _)) => return Ok(stream),
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(format!("no connection from the runtime in 10 s: {e}")),
        }
    }
}

/// The first message: its length and the descriptors that came with it (SCM_RIGHTS).
fn receive(stream: &UnixStream, buf: &mut [u8]) -> Result<(usize, Vec<RawFd>), String> {
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("recvmsg: {e}"))?;
    let fds = msg
        .cmsgs()
        .map_err(|e| format!("control messages: {e}"))?
        .filter_map(|c| match c {
            ControlMessageOwned::ScmRights(fds) => Some(fds),
            _ => None,
        })
        .flatten()
        .collect();
    Ok((msg.bytes, fds))
}
