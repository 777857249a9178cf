//! A `--console-socket` receiver: accepts the runtime's connection, takes the pty master from
//! its SCM_RIGHTS message, and copies everything the container writes to its terminal into a
//! file (via a `cat` child that owns the master, so no fd wrapping is needed here).

use std::io::IoSliceMut;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::spawn::{posix_spawn, PosixSpawnAttr, PosixSpawnFileActions};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, UnixAddr};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;

/// What the runtime sent: the name in its payload, where the master fd pointed, and the pid
/// of the `cat` copying the terminal's output.
#[derive(Debug)]
pub struct Received {
    /// The message payload (runc sends the pty name, e.g. /dev/pts/0 or the master path).
    pub payload: String,
    /// readlink of the received fd, e.g. /dev/pts/ptmx.
    pub target: PathBuf,
    reader: Pid,
    output: PathBuf,
}

impl Received {
    /// The file the terminal's output is copied to, as it grows.
    pub fn output_path(&self) -> &Path {
        &self.output
    }

    /// Waits up to `timeout` for the terminal to close, then ends the copying `cat` either
    /// way (a leaked terminal must not hang a harness) and returns what was printed.
    pub fn output_within(self, timeout: std::time::Duration) -> String {
        if crate::procfs::reap(self.reader.as_raw(), timeout).is_none() {
            let _ = nix::sys::signal::kill(self.reader, nix::sys::signal::Signal::SIGKILL);
            let _ = crate::procfs::reap(self.reader.as_raw(), timeout);
        }
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }

    /// Waits for the terminal to close (the container exited) and returns what it printed.
    pub fn output(self) -> String {
        let status = waitpid(self.reader, None);
        assert!(
            matches!(status, Ok(WaitStatus::Exited(..))),
            "terminal reader ended with {status:?}"
        );
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }
}

/// A listening console socket.
#[derive(Debug)]
pub struct ConsoleSocket {
    path: PathBuf,
    thread: JoinHandle<Result<Received, String>>,
}

impl ConsoleSocket {
    /// Listens at `dir/console.sock`; the terminal output will be copied to `dir/tty.out`.
    pub fn listen(dir: &Path) -> ConsoleSocket {
        let path = dir.join("console.sock");
        let listener = UnixListener::bind(&path)
            .unwrap_or_else(|e| panic!("bind console socket `{}`: {e}", path.display()));
        listener
            .set_nonblocking(true)
            .unwrap_or_else(|e| panic!("set console socket nonblocking: {e}"));
        let output = dir.join("tty.out");
        let thread = std::thread::spawn(move || receive(&listener, &output));
        ConsoleSocket { path, thread }
    }

    /// The socket path to pass as `--console-socket`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The received master (waits up to 20 s for the runtime to connect and send it).
    pub fn received(self) -> Result<Received, String> {
        self.thread
            .join()
            .unwrap_or_else(|_| Err("console receiver panicked".to_string()))
    }
}

/// `create --console-socket S` of `id` (with `terminal: true` in `bundle`), asserting it
/// succeeds; returns what the socket received. The socket lives in a short temporary dir
/// (unix socket paths are limited to 108 bytes), returned to be kept until the end.
#[track_caller]
pub fn create_with_terminal(
    t: &mut crate::Ctx,
    bundle: &crate::Bundle,
    id: &str,
) -> (crate::scratch::Scratch, Received) {
    let sock_dir = crate::scratch::Scratch::new(&std::env::temp_dir(), "itest-tty");
    let socket = ConsoleSocket::listen(sock_dir.path());
    let cmd = t
        .create_cmd(bundle, id, t.rt())
        .arg("--console-socket")
        .arg(socket.path())
        .arg(id);
    cmd.run().ok();
    t.track_pid_file(id).expect("pid file");
    let received = socket.received().expect("pty master received");
    (sock_dir, received)
}

fn receive(listener: &UnixListener, output: &Path) -> Result<Received, String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5))
            }
            Err(e) => return Err(format!("accept on console socket: {e}")),
        }
    };
    stream
        .set_nonblocking(false)
        .map_err(|e| format!("console stream blocking: {e}"))?;
    let mut payload = [0u8; 4096];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let (len, fds) = {
        let mut iov = [IoSliceMut::new(&mut payload)];
        let msg = recvmsg::<UnixAddr>(
            stream.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| format!("recvmsg on console socket: {e}"))?;
        let mut fds = Vec::new();
        for c in msg
            .cmsgs()
            .map_err(|e| format!("read control messages: {e}"))?
        {
            if let ControlMessageOwned::ScmRights(rights) = c {
                fds.extend(rights);
            }
        }
        (msg.bytes, fds)
    };
    let [master] = fds[..] else {
        return Err(format!(
            "expected one fd over SCM_RIGHTS, got {}",
            fds.len()
        ));
    };
    let target = std::fs::read_link(format!("/proc/self/fd/{master}")).unwrap_or_default();
    let reader = spawn_reader(master, output);
    let _ = nix::unistd::close(master);
    Ok(Received {
        payload: String::from_utf8_lossy(&payload[..len]).into_owned(),
        target,
        reader: reader?,
        output: output.to_path_buf(),
    })
}

/// `cat` with the pty master as stdin and `output` as stdout; it ends when the pty does.
fn spawn_reader(master: std::os::fd::RawFd, output: &Path) -> Result<Pid, String> {
    let out =
        std::fs::File::create(output).map_err(|e| format!("create `{}`: {e}", output.display()))?;
    // cat reports EIO when the container closes the terminal; that is the normal end.
    let null = std::fs::File::create("/dev/null").map_err(|e| format!("open /dev/null: {e}"))?;
    let mut actions = PosixSpawnFileActions::init().map_err(|e| format!("spawn actions: {e}"))?;
    actions
        .add_dup2(master, 0)
        .and_then(|()| actions.add_dup2(out.as_raw_fd(), 1))
        .and_then(|()| actions.add_dup2(null.as_raw_fd(), 2))
        .map_err(|e| format!("spawn dup2: {e}"))?;
    let attr = PosixSpawnAttr::init().map_err(|e| format!("spawn attr: {e}"))?;
    let cat = c"/bin/cat";
    posix_spawn(cat, &actions, &attr, &[cat], &[c"LC_ALL=C"])
        .map_err(|e| format!("spawn /bin/cat for the pty master: {e}"))
}
