//! OOM-kill notifications for `events`: a descriptor to poll plus a counter to read.
//!
//! - v1: an eventfd registered through `cgroup.event_control` for `memory.oom_control`
//!   (Documentation/admin-guide/cgroup-v1/memory.rst, "OOM Control"); the kernel also signals
//!   it when the cgroup is removed. The `oom_kill` counter in memory.oom_control gives the count.
//! - v2: inotify on `memory.events`, which the kernel marks modified on every change
//!   (cgroup-v2.rst, "memory.events"); its `oom_kill` counter gives the count.

use crate::error::{errno_of, CgroupError, Result};
use crate::files;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::eventfd::{EfdFlags, EventFd};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

enum Source {
    /// The eventfd, and memory.oom_control kept open for as long as it is registered.
    EventFd {
        efd: EventFd,
        _control: std::fs::File,
    },
    Inotify(Inotify),
}

/// Reports OOM kills in one cgroup.
pub struct OomWatcher {
    source: Source,
    dir: PathBuf,
    counter_file: &'static str,
    seen: u64,
}

impl OomWatcher {
    /// Watches the v1 memory cgroup `dir`.
    pub(crate) fn v1(dir: &Path) -> Result<Self> {
        let control_path = dir.join("memory.oom_control");
        let control = std::fs::File::open(&control_path).map_err(|e| CgroupError::Open {
            path: control_path.clone(),
            errno: errno_of(&e),
        })?;
        let efd = EventFd::from_value_and_flags(0, EfdFlags::EFD_CLOEXEC | EfdFlags::EFD_NONBLOCK)
            .map_err(|e| CgroupError::Open {
                path: PathBuf::from("eventfd"),
                errno: e as i32,
            })?;
        let line = format!("{} {}", efd.as_fd().as_raw_fd(), control.as_raw_fd());
        files::write(dir, "cgroup.event_control", line)?;
        let seen = files::read_keyed(dir, "memory.oom_control", "oom_kill")?;
        Ok(OomWatcher {
            source: Source::EventFd {
                efd,
                _control: control,
            },
            dir: dir.to_path_buf(),
            counter_file: "memory.oom_control",
            seen,
        })
    }

    /// Watches the v2 cgroup `dir`.
    pub(crate) fn v2(dir: &Path) -> Result<Self> {
        let events = dir.join("memory.events");
        let inotify =
            Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK).map_err(|e| {
                CgroupError::Open {
                    path: PathBuf::from("inotify"),
                    errno: e as i32,
                }
            })?;
        inotify
            .add_watch(&events, AddWatchFlags::IN_MODIFY)
            .map_err(|e| CgroupError::Open {
                path: events.clone(),
                errno: e as i32,
            })?;
        let seen = files::read_keyed(dir, "memory.events", "oom_kill")?;
        Ok(OomWatcher {
            source: Source::Inotify(inotify),
            dir: dir.to_path_buf(),
            counter_file: "memory.events",
            seen,
        })
    }

    /// The descriptor that becomes readable on a possible OOM event (for a caller's own poll).
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.source {
            Source::EventFd { efd, .. } => efd.as_fd(),
            Source::Inotify(inotify) => inotify.as_fd(),
        }
    }

    /// Waits up to `timeout` and returns how many OOM kills happened since the previous call
    /// (0 on timeout). Returns an error once the cgroup is gone.
    pub fn wait(&mut self, timeout: Duration) -> Result<u64> {
        let millis = timeout.as_millis().min(i32::MAX as u128) as i32;
        let mut fds = [PollFd::new(self.as_fd(), PollFlags::POLLIN)];
        match nix::poll::poll(
            &mut fds,
            PollTimeout::try_from(millis).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => {
                return Err(CgroupError::Read {
                    path: self.dir.join(self.counter_file),
                    errno: e as i32,
                })
            }
        }
        self.drain();
        self.new_kills()
    }

    /// OOM kills since the previous call, without waiting.
    pub fn new_kills(&mut self) -> Result<u64> {
        let now = files::read_keyed(&self.dir, self.counter_file, "oom_kill")?;
        if !self.dir.exists() {
            return Err(CgroupError::Read {
                path: self.dir.join(self.counter_file),
                errno: libc::ENOENT,
            });
        }
        let new = now.saturating_sub(self.seen);
        self.seen = now;
        Ok(new)
    }

    fn drain(&self) {
        match &self.source {
            Source::EventFd { efd, .. } => {
                let _ = efd.read();
            }
            Source::Inotify(inotify) => {
                let _ = inotify.read_events();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempTree;

    #[test]
    fn v2_watcher_wakes_on_memory_events_and_counts_new_kills() {
        let tree = TempTree::new("oom-v2");
        tree.file("memory.events", "low 0\nhigh 0\nmax 0\noom 1\noom_kill 1\n");
        let mut watcher = OomWatcher::v2(tree.path()).unwrap();
        assert_eq!(watcher.wait(Duration::from_millis(10)).unwrap(), 0);
        let path = tree.path().join("memory.events");
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            // One write over the same bytes, like the kernel's update: truncating first
            // (fs::write) would wake the watcher on an empty file under load.
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            f.write_all(b"low 0\nhigh 0\nmax 4\noom 3\noom_kill 3\n")
                .unwrap();
        });
        let start = std::time::Instant::now();
        let kills = watcher.wait(Duration::from_secs(10)).unwrap();
        writer.join().unwrap();
        assert_eq!(kills, 2);
        // woken by inotify, not by the timeout
        assert!(start.elapsed() < Duration::from_secs(5));
        assert_eq!(watcher.new_kills().unwrap(), 0);
    }
}
