//! The typed channel between `kapsel create` and the container process it cloned: a
//! SOCK_SEQPACKET socketpair, one message per packet, errors sent as data so the
//! parent reports them exactly once.

use crate::error::{nix_err, Error, Result};
use nix::sys::socket::{
    recvmsg, send, sendmsg, setsockopt, socketpair, sockopt, AddressFamily, ControlMessage,
    ControlMessageOwned, MsgFlags, SockFlag, SockType, UnixAddr, UnixCredentials,
};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, OwnedFd};

#[derive(Debug)]
pub enum Message {
    /// Child: mounts are done, run the prestart and createRuntime hooks, then reply Continue.
    RuntimeHooks,
    /// Parent: go on; carries the state JSON for the hooks run inside the container.
    Continue(String),
    /// Child: the container is set up and waits at the start gate.
    Ready,
    /// Child: its own pid, carried in SCM_CREDENTIALS so that the kernel translates it
    /// into the receiver's pid namespace (see [`Channel::send_own_pid`]).
    Pid(i32),
    /// Child: the seccomp user-notification fd, for the parent to hand to the agent.
    SeccompFd(OwnedFd),
    /// Child: a warning for the parent to log.
    Warning(String),
    /// Child: setting up failed (see [`WireError`]).
    Failed(WireError),
}

/// An error as it crosses the fork (as crun sends errno and message over its sync
/// socket): what failed, where and why, and the errno of the failed system call when it
/// was one, so that the runtime's error keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub errno: Option<i32>,
    pub text: String,
}

impl Message {
    /// The failure message for `e`.
    pub fn failed(e: &Error) -> Message {
        Message::Failed(WireError {
            errno: e.errno(),
            text: e.to_string(),
        })
    }
}

impl From<WireError> for Error {
    fn from(w: WireError) -> Error {
        Error::Child {
            errno: w.errno,
            text: w.text,
        }
    }
}

/// 'F', the errno as 4 bytes (0: none), the text. (Also what the container process leaves
/// on the start gate for `start` when its program does not run.)
pub(crate) fn encode_failed(buf: &mut Vec<u8>, w: &WireError) {
    buf.push(b'F');
    buf.extend_from_slice(&w.errno.unwrap_or(0).to_le_bytes());
    buf.extend_from_slice(w.text.as_bytes());
}

pub(crate) fn decode_failed(bytes: &[u8]) -> Result<WireError> {
    let Some(errno) = bytes.get(1..5) else {
        return Err(Error::Protocol(
            "sync socket: failure message too short".into(),
        ));
    };
    let errno = i32::from_le_bytes([errno[0], errno[1], errno[2], errno[3]]);
    Ok(WireError {
        errno: (errno != 0).then_some(errno),
        text: String::from_utf8_lossy(&bytes[5..]).into_owned(),
    })
}

pub struct Channel {
    fd: OwnedFd,
}

/// How a seccomp profile denies a call (SCMP_ACT_ERRNO with the usual errnos, or ENOSYS
/// for a call the profile does not know): the cue to try the fallback.
pub(crate) fn denied_by_filter(e: nix::Error) -> bool {
    matches!(
        e,
        nix::Error::EPERM | nix::Error::EACCES | nix::Error::ENOSYS
    )
}

/// A connected pair: (parent end, child end).
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(nix_err("socketpair", ""))?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }

    pub fn send(&self, msg: &Message) -> Result<()> {
        let mut buf = Vec::with_capacity(16);
        match msg {
            Message::RuntimeHooks => buf.push(b'H'),
            Message::Continue(state) => {
                buf.push(b'C');
                buf.extend_from_slice(state.as_bytes());
            }
            Message::Ready => buf.push(b'R'),
            Message::Pid(_) => return self.send_own_pid(),
            Message::SeccompFd(fd) => return self.send_fd(b'S', fd),
            Message::Warning(text) => {
                buf.push(b'W');
                buf.extend_from_slice(text.as_bytes());
            }
            Message::Failed(w) => encode_failed(&mut buf, w),
        }
        match send(self.fd.as_raw_fd(), &buf, MsgFlags::MSG_NOSIGNAL) {
            Ok(_) => Ok(()),
            // The container's seccomp filter may be loaded already and deny sendto: a
            // plain write sends the same packet on a SOCK_SEQPACKET socket.
            Err(e) if denied_by_filter(e) => nix::unistd::write(&self.fd, &buf)
                .map(drop)
                .map_err(nix_err("write on the sync socket", "")),
            Err(e) => Err(nix_err("send on the sync socket", "")(e)),
        }
    }

    fn send_fd(&self, tag: u8, fd: &OwnedFd) -> Result<()> {
        let fds = [fd.as_raw_fd()];
        let iov = [IoSlice::new(std::slice::from_ref(&tag))];
        sendmsg::<UnixAddr>(
            self.fd.as_raw_fd(),
            &iov,
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map(drop)
        .map_err(nix_err("send fd on the sync socket", ""))
    }

    /// Sends this process's pid as credentials: the kernel fills in the pid as the
    /// receiver sees it, whatever pid namespace we are in.
    pub fn send_own_pid(&self) -> Result<()> {
        let creds = UnixCredentials::new();
        let iov = [IoSlice::new(b"P")];
        sendmsg::<UnixAddr>(
            self.fd.as_raw_fd(),
            &iov,
            &[ControlMessage::ScmCredentials(&creds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map(drop)
        .map_err(nix_err("send pid on the sync socket", ""))
    }

    /// Receives [`Message::Pid`], translated into our pid namespace.
    pub fn recv_pid(&self) -> Result<Option<Message>> {
        setsockopt(&self.fd, sockopt::PassCred, &true)
            .map_err(nix_err("setsockopt(SO_PASSCRED)", ""))?;
        let Some(got) = self.receive()? else {
            return Ok(None);
        };
        match (got.bytes.first(), got.pid) {
            (Some(b'P'), Some(pid)) => Ok(Some(Message::Pid(pid))),
            (Some(b'F'), _) => Ok(Some(Message::Failed(decode_failed(&got.bytes)?))),
            _ => Err(Error::Protocol(
                "sync socket: expected the container's pid".into(),
            )),
        }
    }

    /// One packet with whatever descriptor or credentials came with it.
    fn receive(&self) -> Result<Option<Received>> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut cmsg = nix::cmsg_space!(UnixCredentials, [std::os::fd::RawFd; 1]);
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = loop {
            match recvmsg::<UnixAddr>(
                self.fd.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::Error::EINTR) => continue,
                other => break other.map_err(nix_err("recv on the sync socket", ""))?,
            }
        };
        let (mut fd, mut pid) = (None, None);
        for m in msg.cmsgs().into_iter().flatten() {
            match m {
                ControlMessageOwned::ScmRights(fds) => fd = fds.first().copied().map(received),
                ControlMessageOwned::ScmCredentials(cred) => pid = Some(cred.pid()),
                _ => {}
            }
        }
        let n = msg.bytes;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some(Received {
            bytes: buf,
            fd,
            pid,
        }))
    }

    /// The next message, or None when the other end closed without a word.
    pub fn recv(&self) -> Result<Option<Message>> {
        let Some(got) = self.receive()? else {
            return Ok(None);
        };
        let (buf, n, fd) = (&got.bytes, got.bytes.len(), got.fd);
        Ok(Some(match buf[0] {
            b'H' => Message::RuntimeHooks,
            b'C' => Message::Continue(String::from_utf8_lossy(&buf[1..n]).into_owned()),
            b'R' => Message::Ready,
            b'S' => Message::SeccompFd(fd.ok_or_else(|| {
                Error::Protocol("sync socket: seccomp fd message without a descriptor".into())
            })?),
            b'W' => Message::Warning(String::from_utf8_lossy(&buf[1..n]).into_owned()),
            b'F' => Message::Failed(decode_failed(&buf[..n])?),
            other => {
                return Err(Error::Protocol(format!(
                    "sync socket: unknown message tag {other}"
                )))
            }
        }))
    }
}

struct Received {
    bytes: Vec<u8>,
    fd: Option<OwnedFd>,
    pid: Option<i32>,
}

/// Takes ownership of a descriptor received with SCM_RIGHTS.
fn received(raw: std::os::fd::RawFd) -> OwnedFd {
    kapsel_sys::fs::owned_from_received(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip() {
        let (a, b) = pair().unwrap();
        for m in [
            Message::RuntimeHooks,
            Message::Continue("{}".into()),
            Message::Ready,
            Message::Warning("skipped".into()),
            Message::Failed(WireError {
                errno: Some(libc::EPERM),
                text: "mount `proc`: Operation not permitted (EPERM)".into(),
            }),
            Message::Failed(WireError {
                errno: None,
                text: "process.args: must name at least the executable".into(),
            }),
        ] {
            a.send(&m).unwrap();
            let got = b.recv().unwrap().unwrap();
            assert_eq!(format!("{got:?}"), format!("{m:?}"));
        }
        let file = std::fs::File::open("/dev/null").unwrap();
        a.send(&Message::SeccompFd(OwnedFd::from(file))).unwrap();
        assert!(matches!(b.recv().unwrap(), Some(Message::SeccompFd(_))));
        a.send(&Message::Pid(0)).unwrap();
        let me = std::process::id() as i32;
        assert!(matches!(b.recv_pid().unwrap(), Some(Message::Pid(p)) if p == me));
        drop(a);
        assert!(b.recv().unwrap().is_none());
    }
}
