//! sd_notify(3) through the runtime, as runc does it: when the caller of `create`/`run`
//! has NOTIFY_SOCKET set, the container gets a socket at the same path (a directory of
//! the container's state dir bind-mounted onto the socket's directory) and the same
//! NOTIFY_SOCKET. `start` (with NOTIFY_SOCKET set) binds that socket, opens the start
//! gate, relays every message to the caller's socket and returns once the container
//! sent READY=1 (adding MAINPID=<host pid of init>), or once the container is gone.
//!
//! Not to be confused with `notify.rs`, the seccomp user-notification hand-over.

use crate::error::{Error, Result};
use crate::process::plan::InitPlan;
use crate::rootfs::options::MountOptions;
use crate::rootfs::MountPlan;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::state::dir::{NOTIFY_DIR as DIR, NOTIFY_SOCKET as SOCKET};

/// The caller's NOTIFY_SOCKET when it is a path (abstract `@` sockets cannot be
/// bind-mounted into a container, so they are left alone, as runc does).
pub fn requested() -> Option<PathBuf> {
    let value = std::env::var_os("NOTIFY_SOCKET")?;
    let path = PathBuf::from(value);
    path.is_absolute().then_some(path)
}

/// The directory the container sees the socket in: the caller's socket's own (checked
/// while planning: the socket needs a directory other than `/`).
pub fn check(host_socket: &Path) -> Result<&Path> {
    host_socket
        .parent()
        .filter(|d| *d != Path::new("/"))
        .ok_or_else(|| {
            Error::config(
                "NOTIFY_SOCKET",
                format!(
                    "`{}`: the socket needs a directory of its own",
                    host_socket.display()
                ),
            )
        })
}

/// Makes the socket's directory in the state dir and adds its mount and NOTIFY_SOCKET to
/// the container's plan. `host_socket` is the caller's NOTIFY_SOCKET.
pub fn prepare(plan: &mut InitPlan, state_dir: &Path, host_socket: &Path) -> Result<()> {
    let inside_dir = check(host_socket)?;
    let source = state_dir.join(DIR);
    std::fs::create_dir(&source).map_err(|e| Error::io("mkdir", &source, e))?;
    // Other users in the container may send too (sd_notify from a non-root service).
    std::fs::set_permissions(&source, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io("chmod", &source, e))?;
    plan.root.mounts.push(MountPlan {
        index: plan.root.mounts.len(),
        destination: inside_dir.to_path_buf(),
        source: Some(source),
        typ: "bind".to_string(),
        options: MountOptions::parse(&["bind", "nosuid", "nodev", "noexec"]),
    });
    let process = &mut plan.process;
    process.env.retain(|e| !e.starts_with("NOTIFY_SOCKET="));
    process
        .env
        .push(format!("NOTIFY_SOCKET={}", host_socket.display()));
    process.envp = super::lookup::cstrings(&process.env, "process.env")?;
    Ok(())
}

/// The bound socket of a created container, waiting for its messages.
pub struct Relay {
    socket: UnixDatagram,
    host: PathBuf,
}

/// In `start`: binds the container's notify socket when create prepared one and the
/// caller of start asks for notifications. Done before the gate opens, so no message
/// of the container can be missed.
pub fn bind(state_dir: &Path) -> Result<Option<Relay>> {
    let Some(host) = requested() else {
        return Ok(None);
    };
    let dir = state_dir.join(DIR);
    let Ok(dir_fd) = std::fs::File::open(&dir) else {
        return Ok(None);
    };
    let path = dir.join(SOCKET);
    let _ = std::fs::remove_file(&path);
    // sun_path holds 108 bytes; a state root can be longer. Reach the directory
    // through its descriptor instead.
    let short = PathBuf::from(format!(
        "/proc/self/fd/{}/{SOCKET}",
        std::os::fd::AsRawFd::as_raw_fd(&dir_fd)
    ));
    let socket = UnixDatagram::bind(&short).map_err(|e| Error::io("bind", &path, e))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
        .map_err(|e| Error::io("chmod", &path, e))?;
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .map_err(|e| Error::io("set timeout on", &path, e))?;
    Ok(Some(Relay { socket, host }))
}

impl Relay {
    /// Relays the container's messages to the caller's socket until READY=1 (sent on
    /// with MAINPID) or until `alive` says the container is gone.
    pub fn until_ready(self, pid: i32, alive: impl Fn() -> bool) -> Result<()> {
        let out = UnixDatagram::unbound().map_err(|e| Error::io("socket", &self.host, e))?;
        let mut buf = vec![0u8; 4096];
        loop {
            let n = match self.socket.recv(&mut buf) {
                Ok(n) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock
                            | std::io::ErrorKind::TimedOut
                            | std::io::ErrorKind::Interrupted
                    ) =>
                {
                    if !alive() {
                        crate::logging::warn("the container exited before it sent READY=1");
                        return Ok(());
                    }
                    continue;
                }
                Err(e) => return Err(Error::io("receive from", "notify socket", e)),
            };
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let ready = text.lines().any(|l| l == "READY=1");
            let msg = if ready {
                format!("{}\nMAINPID={pid}\n", text.trim_end())
            } else {
                text
            };
            out.send_to(msg.as_bytes(), &self.host)
                .map_err(|e| Error::io("send to NOTIFY_SOCKET", &self.host, e))?;
            if ready {
                return Ok(());
            }
        }
    }
}
