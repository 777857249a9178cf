//! The container process writes a few values under /proc (sysctls, oom_score_adj, time
//! namespace offsets). A config may mount things at /proc or under it (refused now, see
//! `rootfs::mounts::proc_rule`), and an image may hold symlinks: a plain path write would
//! follow them, create missing files, or land on a filesystem that is not procfs at all
//! (CVE-2025-52881: a bind over /proc/sys/net/ipv4 holding `ip_forward ->
//! /proc/sys/kernel/core_pattern` set the host's core_pattern). So every such write goes
//! through [`ProcRoot`]: the procfs the container process saw at /proc before any of the
//! container's mounts existed, checked to be procfs, and paths under it resolved with no
//! symlink, no magic link, no mount crossing and no escape, never created, and the opened
//! file checked to be procfs again (as runc 1.2.8 and crun do).

use super::{openat2, ResolveFlag};
use crate::error::{Error, Result};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

/// Whether `path` is on a proc filesystem.
pub fn is_procfs(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC)
}

fn fd_is_procfs(fd: &OwnedFd) -> bool {
    nix::sys::statfs::fstatfs(fd)
        .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::PROC_SUPER_MAGIC)
}

/// Masks from /proc/PID/status: bit n-1 stands for signal n, bit n for capability n.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusMasks {
    /// `SigIgn`: the signals this process ignores (the only dispositions execve keeps).
    pub ignored_signals: u64,
    /// `CapPrm`: the permitted capabilities.
    pub permitted: u64,
    /// `CapBnd`: the bounding set.
    pub bounding: u64,
}

fn parse_status_masks(text: &str) -> Option<StatusMasks> {
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
    };
    Some(StatusMasks {
        ignored_signals: field("SigIgn:")?,
        permitted: field("CapPrm:")?,
        bounding: field("CapBnd:")?,
    })
}

/// A verified procfs root, opened before the container's mounts.
#[derive(Debug)]
pub struct ProcRoot {
    fd: OwnedFd,
    /// This process's pid as that procfs numbers it (`self`, read once).
    own_pid: String,
}

impl ProcRoot {
    /// Opens /proc as this process sees it now and checks it is the root of a procfs.
    pub fn open() -> Result<ProcRoot> {
        let fd = nix::fcntl::open(
            "/proc",
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(crate::error::nix_err("open", "/proc"))?;
        if !fd_is_procfs(&fd) {
            return Err(Error::msg("/proc of the runtime is not a proc filesystem"));
        }
        let own_pid = nix::fcntl::readlinkat(&fd, "self")
            .map_err(crate::error::nix_err("readlink", "/proc/self"))?
            .to_string_lossy()
            .into_owned();
        if own_pid.is_empty() || !own_pid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Error::msg(format!(
                "/proc/self names `{own_pid}`, not a pid"
            )));
        }
        Ok(ProcRoot { fd, own_pid })
    }

    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }

    /// Writes `value` to `rel` (`sys/net/ipv4/ip_forward`) under this procfs.
    pub fn write(&self, rel: &str, value: &str) -> std::io::Result<()> {
        let mut f = std::fs::File::from(self.open_file(rel, libc::O_WRONLY)?);
        f.write_all(value.as_bytes())
    }

    /// Writes `value` to `rel` under this process's own directory (`oom_score_adj`).
    pub fn write_own(&self, rel: &str, value: &str) -> std::io::Result<()> {
        self.write(&format!("{}/{rel}", self.own_pid), value)
    }

    /// Reads `rel` under this process's own directory.
    pub fn read_own(&self, rel: &str) -> std::io::Result<String> {
        kapsel_sys::kernfile::read_all(std::fs::File::from(
            self.open_file(&format!("{}/{rel}", self.own_pid), libc::O_RDONLY)?,
        ))
    }

    /// The signal and capability masks of this process's `status` (one read instead of a
    /// query per signal or capability); None when the file cannot be read or parsed.
    pub fn status_masks(&self) -> Option<StatusMasks> {
        parse_status_masks(&self.read_own("status").ok()?)
    }

    fn open_file(&self, rel: &str, access: i32) -> std::io::Result<OwnedFd> {
        let fd = openat2(
            self.fd.as_fd(),
            Path::new(rel),
            access | libc::O_NOFOLLOW,
            ResolveFlag::RESOLVE_BENEATH
                | ResolveFlag::RESOLVE_NO_SYMLINKS
                | ResolveFlag::RESOLVE_NO_MAGICLINKS
                | ResolveFlag::RESOLVE_NO_XDEV,
        )
        .map_err(|e| e.io_error())?;
        if !fd_is_procfs(&fd) {
            return Err(std::io::Error::from_raw_os_error(libc::EXDEV));
        }
        Ok(fd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_masks_are_read_from_their_lines() {
        let text = "Name:\tsh\nSigIgn:\t0000000000001000\nSigCgt:\t0000000000010002\n\
                    CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\n\
                    CapEff:\t000001ffffffffff\nCapBnd:\t00000000a80425fb\n";
        assert_eq!(
            parse_status_masks(text),
            Some(StatusMasks {
                ignored_signals: 1 << (libc::SIGPIPE - 1),
                permitted: 0x1ff_ffff_ffff,
                bounding: 0xa804_25fb,
            })
        );
        assert_eq!(parse_status_masks("Name:\tsh\nSigIgn:\tzz\n"), None);
    }

    #[test]
    fn this_process_reads_as_the_kernel_answers() {
        let masks = ProcRoot::open().unwrap().status_masks().unwrap();
        // Rust's runtime ignores SIGPIPE in every test binary.
        assert_ne!(masks.ignored_signals & 1 << (libc::SIGPIPE - 1), 0);
        assert_eq!(masks.ignored_signals & 1 << (libc::SIGTERM - 1), 0);
        assert_eq!(masks.permitted, kapsel_sys::caps::permitted().unwrap());
        for cap in 0..=crate::security::capabilities::last_cap() {
            let has = kapsel_sys::caps::bounding_has(cap).unwrap();
            assert_eq!(masks.bounding & 1 << cap != 0, has, "capability {cap}");
        }
    }
}
