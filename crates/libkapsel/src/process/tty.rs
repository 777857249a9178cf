//! `process.terminal`: a pty allocated inside the container, its master sent to the
//! caller's --console-socket with SCM_RIGHTS (as runc does), its slave made the
//! controlling terminal, stdio, and /dev/console.

use crate::error::{nix_err, Error, Result};
use nix::fcntl::OFlag;
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{MsgFlags, UnixAddr};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::path::Path;

/// Connects to the caller's console socket; done by the parent before clone.
pub fn connect(path: &Path) -> Result<OwnedFd> {
    crate::util::unixsock::connect(path, "connect to console socket")
}

/// A connected pair standing in for a console socket: (ours, the container's).
pub fn console_pair() -> Result<(OwnedFd, OwnedFd)> {
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    // `run` relays the pty it receives on this pair (process/relay.rs).
    if cfg!(not(feature = "pty-relay")) {
        return Err(Error::config(
            "process.terminal",
            format!("{} without --console-socket", crate::absent("pty-relay")),
        ));
    }
    socketpair(
        AddressFamily::Unix,
        SockType::Stream,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(nix_err("socketpair for the console", ""))
}

/// Receives the pty master the container sent over its console socket.
pub fn receive_master(socket: &OwnedFd) -> Result<OwnedFd> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned};
    let mut buf = [0u8; 256];
    let mut cmsg = nix::cmsg_space!([RawFd; 1]);
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let msg = recvmsg::<UnixAddr>(
        socket.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(nix_err("receive the pty master", ""))?;
    let fd = msg.cmsgs().ok().and_then(|mut c| {
        c.find_map(|m| match m {
            ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
            _ => None,
        })
    });
    fd.map(kapsel_sys::fs::owned_from_received)
        .ok_or_else(|| Error::Protocol("the container sent no pty master".into()))
}

/// Inside the container (after pivot_root): open a pty from its devpts, send the
/// master, and (for the container's init) bind the slave onto /dev/console. Returns
/// the slave.
pub fn setup(socket: OwnedFd, size: Option<(u16, u16)>, bind_console: bool) -> Result<OwnedFd> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(nix_err("open", "/dev/ptmx"))?;
    grantpt(&master).map_err(nix_err("grantpt", "/dev/ptmx"))?;
    unlockpt(&master).map_err(nix_err("unlockpt", "/dev/ptmx"))?;
    let name = ptsname_r(&master).map_err(nix_err("ptsname", "/dev/ptmx"))?;
    let slave: OwnedFd = nix::fcntl::open(
        Path::new(&name),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(nix_err("open", &name))?;
    if let Some((rows, cols)) = size {
        kapsel_sys::tty::set_window_size(slave.as_raw_fd(), rows, cols)?;
    }
    crate::util::unixsock::send_fd(
        socket.as_fd(),
        master.as_fd(),
        &name,
        "send pty master over the console socket",
    )?;
    drop(socket);
    drop(master);
    if !bind_console {
        return Ok(slave);
    }
    let console = Path::new("/dev/console");
    if std::fs::symlink_metadata(console).is_err() {
        std::fs::File::create(console).map_err(|e| Error::io("create", console, e))?;
    }
    nix::mount::mount(
        Some(Path::new(&name)),
        console,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(nix_err("bind pty onto", console))?;
    Ok(slave)
}

/// The terminal becomes the controlling terminal and stdio of the process, owned by the
/// process's user (its group stays devpts's `tty`), so a non-root user can reopen it, as
/// under runc and crun.
pub fn become_stdio(slave: &OwnedFd, uid: u32) -> Result<()> {
    nix::unistd::fchown(slave, Some(nix::unistd::Uid::from_raw(uid)), None)
        .map_err(crate::error::nix_err("fchown", "the terminal"))?;
    kapsel_sys::tty::set_controlling(slave.as_raw_fd())?;
    let dup = |e| crate::error::nix_err("dup2", "the terminal")(e);
    nix::unistd::dup2_stdin(slave).map_err(dup)?;
    nix::unistd::dup2_stdout(slave).map_err(dup)?;
    nix::unistd::dup2_stderr(slave).map_err(dup)
}
