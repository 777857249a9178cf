//! One conversation with CRIU in service-worker mode, as runc has it: `criu swrk <fd>`
//! started as a child with one end of a SOCK_SEQPACKET pair, one criu_req sent, and
//! criu_resp read until the final answer, each notification (pre-dump, post-dump,
//! setup-namespaces, post-restore, network-lock/unlock, orphan-pts-master, status-ready)
//! handed to the caller and acknowledged.

use super::rpc::{ReqType, Resp};
use crate::error::{nix_err, CriuError, Error, Result};
use nix::sys::socket::{
    recvmsg, send, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType,
    UnixAddr,
};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A notification from CRIU: the script name, the pid it carries, and a descriptor sent
/// along with it (the pty master of `orphan-pts-master`).
pub struct Notice {
    pub script: String,
    pub pid: i32,
    pub fd: Option<OwnedFd>,
}

/// A running `criu swrk`.
pub struct Worker {
    child: Child,
    sock: OwnedFd,
    binary: PathBuf,
}

/// Where CRIU writes its log for a request, to quote its last error line.
#[derive(Debug, Clone, Default)]
pub struct LogFile(pub Option<PathBuf>);

impl Worker {
    /// Starts `criu swrk`. `stdio`: the caller's own stdio passed on (a restore hands it to
    /// the restored process through inherit_fd), else /dev/null.
    pub fn start(binary: &Path, stdio: bool) -> Result<Worker> {
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(nix_err("socketpair for criu", ""))?;
        // criu inherits its end at the same number (nothing else in kapsel is
        // inheritable: every descriptor kapsel opens is close-on-exec).
        nix::fcntl::fcntl(
            &theirs,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
        )
        .map_err(nix_err("fcntl F_SETFD on the criu socket", ""))?;
        let mut cmd = Command::new(binary);
        cmd.arg("swrk").arg(theirs.as_raw_fd().to_string());
        if !stdio {
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
        }
        let child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                Error::from(CriuError::Missing {
                    binary: binary.to_path_buf(),
                })
            } else {
                Error::from(CriuError::Spawn {
                    binary: binary.to_path_buf(),
                    errno: e.raw_os_error().unwrap_or(0),
                })
            }
        })?;
        drop(theirs);
        Ok(Worker {
            child,
            sock: ours,
            binary: binary.to_path_buf(),
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    fn send(&self, kind: ReqType, bytes: &[u8]) -> Result<()> {
        send(self.sock.as_raw_fd(), bytes, MsgFlags::MSG_NOSIGNAL).map_err(|e| {
            Error::from(CriuError::Protocol {
                req: kind.name(),
                msg: format!("send the request: {}", kapsel_sys::errno_text(e as i32)),
            })
        })?;
        Ok(())
    }

    fn receive(&self, kind: ReqType) -> Result<(Resp, Option<OwnedFd>)> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut cmsg = nix::cmsg_space!([RawFd; 1]);
        let (n, fd) = {
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let msg = loop {
                match recvmsg::<UnixAddr>(
                    self.sock.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::MSG_CMSG_CLOEXEC,
                ) {
                    Err(nix::Error::EINTR) => continue,
                    r => break r,
                }
            }
            .map_err(|e| {
                Error::from(CriuError::Protocol {
                    req: kind.name(),
                    msg: format!("read the answer: {}", kapsel_sys::errno_text(e as i32)),
                })
            })?;
            let fd = msg.cmsgs().ok().and_then(|mut c| {
                c.find_map(|m| match m {
                    ControlMessageOwned::ScmRights(fds) => fds.first().copied(),
                    _ => None,
                })
            });
            (msg.bytes, fd.map(kapsel_sys::fs::owned_from_received))
        };
        if n == 0 {
            return Err(CriuError::Protocol {
                req: kind.name(),
                msg: "criu closed the connection without an answer".into(),
            }
            .into());
        }
        let resp = Resp::decode(&buf[..n]).map_err(|msg| CriuError::Protocol {
            req: kind.name(),
            msg,
        })?;
        Ok((resp, fd))
    }

    /// Sends `req` (of type `kind`) and reads answers until the final one, passing each
    /// notification to `notify` and acknowledging it. A failed answer becomes an error
    /// that quotes the last error line of `log`.
    pub fn call(
        &mut self,
        kind: ReqType,
        req: &[u8],
        log: &LogFile,
        notify: &mut dyn FnMut(Notice) -> Result<()>,
    ) -> Result<Resp> {
        self.send(kind, req)?;
        loop {
            let (resp, fd) = self.receive(kind)?;
            if !resp.success {
                return Err(failed(kind, &resp, log));
            }
            if resp.kind == ReqType::Notify as u64 {
                let (script, pid) = resp.notify.clone().unwrap_or_default();
                notify(Notice { script, pid, fd })?;
                self.send(ReqType::Notify, &super::rpc::request(ReqType::Notify, None))?;
                continue;
            }
            if resp.kind != kind as u64 {
                return Err(CriuError::Protocol {
                    req: kind.name(),
                    msg: format!(
                        "an answer of type {} to a {} request",
                        resp.kind,
                        kind.name()
                    ),
                }
                .into());
            }
            return Ok(resp);
        }
    }

    /// Closes the connection and reaps criu. `ok_exit`: whether its exit status matters
    /// (a pre-dump's criu waits for a next request and fails when there is none).
    pub fn finish(mut self, kind: ReqType, log: &LogFile, status_matters: bool) -> Result<()> {
        let _ =
            nix::sys::socket::shutdown(self.sock.as_raw_fd(), nix::sys::socket::Shutdown::Write);
        let status = self
            .child
            .wait()
            .map_err(|e| Error::io("wait for criu", &self.binary, e))?;
        if status_matters && !status.success() {
            return Err(CriuError::Failed {
                req: kind.name(),
                errno: None,
                detail: format!("criu exited with {status}"),
                log: log.0.clone(),
                last: log.0.as_deref().and_then(last_error_line),
            }
            .into());
        }
        Ok(())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // An abandoned conversation: criu must not outlive it (it holds the container
        // frozen or half-restored), and it is reaped here.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn failed(kind: ReqType, resp: &Resp, log: &LogFile) -> Error {
    CriuError::Failed {
        req: kind.name(),
        errno: resp.cr_errno.filter(|e| *e != 0),
        // criu's message may span lines: its first one is kept.
        detail: resp
            .cr_errmsg
            .as_deref()
            .and_then(|m| m.lines().map(str::trim).find(|l| !l.is_empty()))
            .unwrap_or_default()
            .to_string(),
        log: log.0.clone(),
        last: log.0.as_deref().and_then(last_error_line),
    }
    .into()
}

/// The last line of a CRIU log that reports an error (its lines say `Error (file:line)`),
/// past the closing "Dumping FAILED." / "Restoring FAILED." that says nothing of why.
pub fn last_error_line(log: &Path) -> Option<String> {
    let text = std::fs::read(log).ok()?;
    let text = String::from_utf8_lossy(&text);
    text.lines()
        .rev()
        .filter(|l| l.contains("Error") || l.contains("error"))
        .find(|l| !l.trim_end().ends_with("FAILED."))
        .map(|l| {
            // Drop the "(00.123456) " timestamp CRIU starts each line with.
            let l = l.trim();
            match l.strip_prefix('(').and_then(|r| r.split_once(") ")) {
                Some((_, rest)) => rest.to_string(),
                None => l.to_string(),
            }
        })
}

/// CRIU's version as one number (major*10000 + minor*100 + sublevel), through the
/// VERSION request (criu 3.0 and newer answer it).
pub fn version(binary: &Path) -> Result<u32> {
    let mut w = Worker::start(binary, false)?;
    let resp = w.call(
        ReqType::Version,
        &super::rpc::request(ReqType::Version, None),
        &LogFile(None),
        &mut |_| Ok(()),
    );
    let _ = w.finish(ReqType::Version, &LogFile(None), false);
    let resp = match resp {
        Ok(r) => r,
        // criu older than 3.0 does not know the request.
        Err(Error::Criu(CriuError::Failed { .. })) => {
            return Err(CriuError::TooOld {
                found: "older than 3.0".into(),
                need: "3.0.0".into(),
            }
            .into())
        }
        Err(e) => return Err(e),
    };
    let (major, minor, sub) = resp.version.ok_or_else(|| CriuError::TooOld {
        found: "older than 3.0".into(),
        need: "3.0.0".into(),
    })?;
    Ok((major.max(0) as u32) * 10000 + (minor.max(0) as u32) * 100 + sub.max(0) as u32)
}

/// Fails unless CRIU is at least `need` (e.g. 30000 for 3.0.0).
pub fn require(found: u32, need: u32) -> Result<()> {
    if found >= need {
        return Ok(());
    }
    Err(CriuError::TooOld {
        found: dotted(found),
        need: dotted(need),
    }
    .into())
}

pub fn dotted(v: u32) -> String {
    format!("{}.{}.{}", v / 10000, v / 100 % 100, v % 100)
}

/// FEATURE_CHECK: whether criu (and the kernel) can track memory changes and serve
/// lazy pages.
pub fn features(binary: &Path, mem_track: bool, lazy: bool) -> Result<(bool, bool)> {
    let mut w = Worker::start(binary, false)?;
    let resp = w.call(
        ReqType::FeatureCheck,
        &super::rpc::feature_request(mem_track, lazy),
        &LogFile(None),
        &mut |_| Ok(()),
    )?;
    let _ = w.finish(ReqType::FeatureCheck, &LogFile(None), false);
    Ok(resp.features.unwrap_or((false, false)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_the_last_error_line_without_its_timestamp() {
        let dir = std::env::temp_dir().join(format!("kapsel-criu-log-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("dump.log");
        std::fs::write(
            &log,
            "(00.001) Version: 3.17\n(00.010) Error (criu/mount.c:1): mnt: first\n(00.020) Error (criu/cr-dump.c:2): Dumping FAILED.\n(00.030) Unlock network\n",
        )
        .unwrap();
        assert_eq!(
            last_error_line(&log).as_deref(),
            Some("Error (criu/mount.c:1): mnt: first")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn versions_compare_as_numbers() {
        assert!(require(31701, 30000).is_ok());
        assert_eq!(dotted(31100), "3.11.0");
        let e = require(20800, 30000).unwrap_err().to_string();
        assert_eq!(e, "criu 2.8.0 is too old: 3.0.0 or newer is needed");
    }

    #[test]
    fn a_missing_binary_is_one_typed_line() {
        let e = version(Path::new("/nonexistent/criu")).err().unwrap();
        assert!(matches!(e, Error::Criu(CriuError::Missing { .. })), "{e}");
    }
}
