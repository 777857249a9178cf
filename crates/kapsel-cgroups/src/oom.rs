//! OOM-kill notifications for `events`: a descriptor to poll plus a counter to read.
//!
//! - v1: an eventfd registered through `cgroup.event_control` for `memory.oom_control`
//!   (Documentation/admin-guide/cgroup-v1/memory.rst, "OOM Control"); the kernel also signals
//!   it when the cgroup is removed. The `oom_kill` counter in memory.oom_control gives the count.
//! - v2: inotify on `memory.events`, which the kernel marks modified on every change
//!   (cgroup-v2.rst, "memory.events"); its `oom_kill` counter gives the count. A systemd
//!   scope's cgroup is removed as soon as its last process exits, often before the watcher
//!   has read the counter of the kill that emptied it: the parent's `memory.events`, which
//!   counts the events of its whole subtree, then tells the kills since the last read.

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
    /// v2: the parent's directory and its subtree's `oom_kill` at the last read (none when
    /// the parent is the root, which has no memory.events).
    parent: Option<(PathBuf, u64)>,
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
            parent: None,
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
        let parent = dir.parent().and_then(|p| {
            let kills = files::read_keyed(p, "memory.events", "oom_kill").ok()?;
            Some((p.to_path_buf(), kills))
        });
        Ok(OomWatcher {
            source: Source::Inotify(inotify),
            dir: dir.to_path_buf(),
            counter_file: "memory.events",
            seen,
            parent,
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

    /// OOM kills since the previous call, without waiting. Returns an error once the
    /// cgroup is gone (after reporting, from the parent's count, kills its removal hid).
    pub fn new_kills(&mut self) -> Result<u64> {
        match kills_in(&self.dir, self.counter_file) {
            Ok(now) => {
                let new = now.saturating_sub(self.seen);
                self.seen = now;
                if let Some((dir, seen)) = self.parent.as_mut() {
                    if let Ok(kills) = files::read_keyed(dir, "memory.events", "oom_kill") {
                        *seen = kills;
                    }
                }
                Ok(new)
            }
            Err(e) => {
                // Gone: kills in the parent's subtree since our last read were ours unless a
                // sibling was OOM-killed in that same short window.
                if let Some((dir, seen)) = self.parent.take() {
                    if let Ok(kills) = files::read_keyed(&dir, "memory.events", "oom_kill") {
                        if kills > seen {
                            return Ok(kills - seen);
                        }
                    }
                }
                Err(e)
            }
        }
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

/// The `oom_kill` counter of `dir/file`; an error when the cgroup is gone (where
/// `files::read_keyed` reads a missing file as 0).
fn kills_in(dir: &Path, file: &str) -> Result<u64> {
    let path = dir.join(file);
    let text = files::read_path(&path)?;
    Ok(files::parse_flat_keyed(&path, &text)?
        .into_iter()
        .find(|(k, _)| k == "oom_kill")
        .map_or(0, |(_, v)| v))
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

    #[test]
    fn v2_kills_hidden_by_the_cgroups_removal_are_read_from_the_parent() {
        let tree = TempTree::new("oom-v2-gone");
        tree.file("memory.events", "oom 0\noom_kill 2\n");
        let dir = tree.path().join("scope");
        tree.file("scope/memory.events", "oom 0\noom_kill 0\n");
        let mut watcher = OomWatcher::v2(&dir).unwrap();
        assert_eq!(watcher.new_kills().unwrap(), 0);
        // the kill, then systemd removes the emptied scope before the watcher reads
        tree.file("memory.events", "oom 1\noom_kill 3\n");
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(watcher.new_kills().unwrap(), 1);
        assert!(watcher.new_kills().is_err());
    }
}
