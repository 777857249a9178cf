//! What kapsel remembers about a container between commands, its live status, and
//! the OCI state JSON printed by `state`, `list` and given to hooks.

pub mod dir;
pub mod id;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const OCI_VERSION: &str = "1.2.0";

/// The start gate in a container's state dir: the container process blocks reading it
/// until `start` writes; its existence is what "created" means.
pub const EXEC_FIFO: &str = "exec.fifo";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Creating,
    Created,
    Running,
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Creating => "creating",
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
    pub fn can_start(self) -> bool {
        self == Status::Created
    }
    pub fn can_kill(self) -> bool {
        matches!(self, Status::Created | Status::Running | Status::Paused)
    }
    pub fn can_delete(self) -> bool {
        matches!(self, Status::Stopped | Status::Created)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A hook as stored for later verbs (poststart, poststop).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredHook {
    pub path: PathBuf,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
}

/// The state file: small on purpose, it is read by every command.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct State {
    pub id: String,
    pub pid: i32,
    /// Start time of `pid` in clock ticks since boot (/proc/PID/stat field 22), so a
    /// recycled pid is never mistaken for the container.
    pub pid_start: u64,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub created: String,
    pub owner: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststart: Vec<StoredHook>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub poststop: Vec<StoredHook>,
    /// Whether the container has its own pid namespace (then killing pid 1 kills all).
    #[serde(default)]
    pub own_pid_ns: bool,
    /// The container's cgroup directories, for the verbs after create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cgroup: Option<kapsel_cgroups::CgroupPaths>,
    /// Set only in the reservation record `create` writes before it makes anything (pid is
    /// then 0): the `create` process, so readers can tell a create in progress from one
    /// that died, and `delete` knows what such a create may have left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<Creator>,
    /// `linux.netDevices` moved into the container, to move back on delete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub net_devices: Vec<crate::linux::netdev::Moved>,
    /// A container in the host's mount namespace: the ids of the mounts under its rootfs
    /// before create, which delete leaves alone while it detaches every newer one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_mounts_before: Option<Vec<u64>>,
    /// `linux.devices` nodes made in the image itself (outside /dev), to remove on delete.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub image_nodes: Vec<crate::rootfs::devices::ImageNode>,
    /// The resctrl groups made for `linux.intelRdt`, to remove on delete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resctrl: Option<crate::linux::rdt::Joined>,
}

/// The process that is creating a container (pid + start time, immune to pid reuse).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creator {
    pub pid: i32,
    pub start: u64,
}

impl Creator {
    /// This process.
    pub fn current() -> Creator {
        let pid = std::process::id() as i32;
        Creator {
            pid,
            start: read_stat(pid).map(|(_, s)| s).unwrap_or(0),
        }
    }
}

/// The OCI state, with runc's extra fields, as `state` prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState<'a> {
    pub oci_version: &'static str,
    pub id: &'a str,
    pub pid: i32,
    pub status: Status,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    pub owner: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
}

impl State {
    /// True for the reservation record of a create that has not finished (or died).
    pub fn is_reservation(&self) -> bool {
        self.pid == 0
    }

    /// Live status: creating while a reservation's creator lives, stopped once the
    /// process (or the creator) is gone, created while the start gate (exec fifo) still
    /// exists, running otherwise.
    pub fn status(&self, dir: &Path) -> Status {
        if self.is_reservation() {
            return match self.creator {
                Some(c) if process_alive(c.pid, c.start) => Status::Creating,
                _ => Status::Stopped,
            };
        }
        if !process_alive(self.pid, self.pid_start) {
            return Status::Stopped;
        }
        if dir.join(EXEC_FIFO).exists() {
            return Status::Created;
        }
        if let Some(m) = crate::linux::cgroups::manager(&self.cgroup) {
            if matches!(m.freezer_state(), Ok(kapsel_cgroups::FreezerState::Frozen)) {
                return Status::Paused;
            }
        }
        Status::Running
    }

    pub fn oci(&self, status: Status) -> OciState<'_> {
        OciState {
            oci_version: OCI_VERSION,
            id: &self.id,
            pid: if status == Status::Stopped {
                0
            } else {
                self.pid
            },
            status,
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            owner: &self.owner,
            annotations: &self.annotations,
        }
    }
}

/// True when `pid` exists, is not a zombie, and started at `start` (when `start` != 0).
pub fn process_alive(pid: i32, start: u64) -> bool {
    if pid <= 0 {
        return false;
    }
    match read_stat(pid) {
        Some((state, started)) => {
            !matches!(state, 'Z' | 'X' | 'x') && (start == 0 || started == start)
        }
        None => false,
    }
}

/// The kernel's PF_* flags of a process (/proc/PID/stat field 9).
pub fn read_flags(pid: i32) -> Option<u64> {
    let text =
        kapsel_sys::kernfile::read_to_string(std::path::Path::new(&format!("/proc/{pid}/stat")))
            .ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    rest.split_ascii_whitespace().nth(6)?.parse().ok()
}

/// (state letter, start time) from /proc/PID/stat.
pub fn read_stat(pid: i32) -> Option<(char, u64)> {
    let text =
        kapsel_sys::kernfile::read_to_string(std::path::Path::new(&format!("/proc/{pid}/stat")))
            .ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<(char, u64)> {
    // The command name may contain spaces and parentheses: fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    // Field 22 overall (starttime) is the 20th after the state (field 3).
    let start = fields.nth(18)?.parse().ok()?;
    Some((state, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_odd_command_names() {
        let line = "42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 10";
        assert_eq!(parse_stat(line), Some(('S', 987654)));
    }

    #[test]
    fn own_process_is_alive_and_start_time_matters() {
        let me = std::process::id() as i32;
        let (_, start) = read_stat(me).unwrap();
        assert!(process_alive(me, start));
        assert!(!process_alive(me, start + 1));
        assert!(!process_alive(0, 0));
    }

    #[test]
    fn guards() {
        assert!(Status::Created.can_start());
        assert!(!Status::Running.can_start());
        assert!(Status::Running.can_kill());
        assert!(!Status::Stopped.can_kill());
        assert!(Status::Stopped.can_delete());
        assert!(!Status::Running.can_delete());
    }
}
