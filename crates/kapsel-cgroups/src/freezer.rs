//! Freezing a cgroup: v1 `freezer.state` (FROZEN / FREEZING / THAWED) or v2 `cgroup.freeze`
//! with the result in `cgroup.events` (`frozen 0|1`). Both freeze asynchronously, so each
//! request waits until the kernel reports the new state.

use crate::error::{CgroupError, Result};
use crate::files;
use std::path::Path;
use std::time::{Duration, Instant};

/// What `state` answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FreezerState {
    Thawed,
    /// Frozen, or freezing but not yet done.
    Freezing,
    Frozen,
}

/// How long to wait for the kernel to finish freezing before giving up and thawing again.
const FREEZE_TIMEOUT: Duration = Duration::from_secs(5);

/// A freezer: which file and which version.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Freezer<'a> {
    V1(&'a Path),
    V2(&'a Path),
}

impl Freezer<'_> {
    pub(crate) fn state(&self) -> Result<FreezerState> {
        match *self {
            Freezer::V1(dir) => {
                let text = files::read(dir, "freezer.state")?;
                match text.trim() {
                    "THAWED" => Ok(FreezerState::Thawed),
                    "FREEZING" => Ok(FreezerState::Freezing),
                    "FROZEN" => Ok(FreezerState::Frozen),
                    other => Err(CgroupError::Parse {
                        path: dir.join("freezer.state"),
                        content: other.to_string(),
                    }),
                }
            }
            Freezer::V2(dir) => {
                let wanted = files::read_u64(dir, "cgroup.freeze")?;
                let frozen = files::read_keyed(dir, "cgroup.events", "frozen")?;
                Ok(match (wanted, frozen) {
                    (_, 1) => FreezerState::Frozen,
                    (1, _) => FreezerState::Freezing,
                    _ => FreezerState::Thawed,
                })
            }
        }
    }

    pub(crate) fn freeze(&self) -> Result<()> {
        self.request(true)?;
        match self.wait_for(FreezerState::Frozen) {
            Ok(()) => Ok(()),
            Err(e) => {
                // Leave nothing half-frozen behind.
                let _ = self.request(false);
                Err(e)
            }
        }
    }

    pub(crate) fn thaw(&self) -> Result<()> {
        self.request(false)?;
        self.wait_for(FreezerState::Thawed)
    }

    fn request(&self, frozen: bool) -> Result<()> {
        match *self {
            Freezer::V1(dir) => files::write(
                dir,
                "freezer.state",
                if frozen { "FROZEN" } else { "THAWED" },
            ),
            Freezer::V2(dir) => files::write(dir, "cgroup.freeze", u8::from(frozen)),
        }
    }

    fn wait_for(&self, want: FreezerState) -> Result<()> {
        let start = Instant::now();
        let mut pause = Duration::from_micros(100);
        loop {
            let state = self.state()?;
            if state == want {
                return Ok(());
            }
            if start.elapsed() > FREEZE_TIMEOUT {
                let (op, path) = match *self {
                    Freezer::V1(dir) => ("freeze", dir.join("freezer.state")),
                    Freezer::V2(dir) => ("freeze", dir.join("cgroup.events")),
                };
                return Err(CgroupError::Timeout {
                    op,
                    path,
                    state: format!("{state:?}").to_lowercase(),
                    millis: start.elapsed().as_millis(),
                });
            }
            // v1: re-writing FROZEN nudges tasks that were in the middle of a fork.
            if let (Freezer::V1(_), FreezerState::Frozen) = (self, want) {
                self.request(true)?;
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempTree;

    #[test]
    fn v1_state_is_read_from_freezer_state() {
        let tree = TempTree::new("freezer-v1");
        tree.file("freezer.state", "FREEZING\n");
        let f = Freezer::V1(tree.path());
        assert_eq!(f.state().unwrap(), FreezerState::Freezing);
        // a plain file "freezes" at once: the request is what we check
        f.freeze().unwrap();
        assert_eq!(tree.read("freezer.state"), "FROZEN");
        f.thaw().unwrap();
        assert_eq!(tree.read("freezer.state"), "THAWED");
        tree.file("freezer.state", "SLUSHY\n");
        assert!(f
            .state()
            .unwrap_err()
            .to_string()
            .contains("unexpected content `SLUSHY`"));
    }

    #[test]
    fn v2_state_combines_the_request_and_the_events() {
        let tree = TempTree::new("freezer-v2");
        tree.file("cgroup.freeze", "1\n");
        tree.file("cgroup.events", "populated 1\nfrozen 0\n");
        let f = Freezer::V2(tree.path());
        assert_eq!(f.state().unwrap(), FreezerState::Freezing);
        tree.file("cgroup.events", "populated 1\nfrozen 1\n");
        assert_eq!(f.state().unwrap(), FreezerState::Frozen);
        tree.file("cgroup.freeze", "0\n");
        tree.file("cgroup.events", "populated 1\nfrozen 0\n");
        assert_eq!(f.state().unwrap(), FreezerState::Thawed);
    }
}
