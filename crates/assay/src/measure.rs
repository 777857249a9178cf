//! The `__measure` helper: assay re-runs itself to start one runtime call as its only child,
//! so `getrusage(RUSAGE_CHILDREN)` gives that call's peak RSS and CPU time alone, and
//! (optionally) inside a fresh v1 memory cgroup whose usage tells what the call left charged.

use std::path::{Path, PathBuf};
use std::process::Command;

use nix::sys::resource::{getrusage, UsageWho};
use serde::{Deserialize, Serialize};

use crate::error::Error;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub exit_code: i32,
    pub peak_rss_kib: u64,
    pub cpu_ms: f64,
    /// Bytes charged to the measuring cgroup when the call returned, minus before.
    pub charged_kib: Option<u64>,
}

/// Runs `argv` in the current process's place as described above; writes the JSON to `out`.
pub fn helper_main(out: &Path, cgroup: Option<&Path>, argv: &[String]) -> Result<i32, Error> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| Error::config("__measure", "no command"))?;
    let usage_before = match cgroup {
        Some(dir) => {
            let procs = dir.join("cgroup.procs");
            std::fs::write(&procs, std::process::id().to_string())
                .map_err(Error::io("write", &procs))?;
            Some(read_u64(&dir.join("memory.usage_in_bytes"))?)
        }
        None => None,
    };
    let status = Command::new(program)
        .args(args)
        .status()
        .map_err(Error::spawn(argv))?;
    let usage =
        getrusage(UsageWho::RUSAGE_CHILDREN).map_err(Error::sys("getrusage(RUSAGE_CHILDREN)"))?;
    let cpu = usage.user_time() + usage.system_time();
    let charged_kib = match (cgroup, usage_before) {
        (Some(dir), Some(before)) => {
            Some(read_u64(&dir.join("memory.usage_in_bytes"))?.saturating_sub(before) / 1024)
        }
        _ => None,
    };
    let m = Measurement {
        exit_code: status.code().unwrap_or(-1),
        peak_rss_kib: usage.max_rss() as u64,
        cpu_ms: cpu.tv_sec() as f64 * 1000.0 + cpu.tv_usec() as f64 / 1000.0,
        charged_kib,
    };
    let text = serde_json::to_string(&m).map_err(Error::encode("measurement"))?;
    std::fs::write(out, text).map_err(Error::io("write", out))?;
    Ok(m.exit_code)
}

fn read_u64(path: &Path) -> Result<u64, Error> {
    let text = std::fs::read_to_string(path).map_err(Error::io("read", path))?;
    text.trim().parse().map_err(Error::parse("parse", path))
}

/// A v1 memory cgroup made for one measurement and removed when dropped.
pub struct MeasuringCgroup {
    pub dir: PathBuf,
}

impl MeasuringCgroup {
    /// `None` when there is no v1 memory controller at `/sys/fs/cgroup/memory`.
    pub fn create(tag: &str) -> Option<MeasuringCgroup> {
        let parent = Path::new("/sys/fs/cgroup/memory");
        if !parent.join("memory.usage_in_bytes").exists() {
            return None;
        }
        let dir = parent.join(format!("assay-measure-{}-{tag}", std::process::id()));
        std::fs::create_dir(&dir).ok()?;
        Some(MeasuringCgroup { dir })
    }
}

impl Drop for MeasuringCgroup {
    fn drop(&mut self) {
        // A container process that just exited stays in the cgroup until the reaper has
        // collected it: give that a moment.
        for attempt in 0..50 {
            if std::fs::remove_dir(&self.dir).is_ok() {
                return;
            }
            if attempt == 10 {
                // The measured container is deleted by now: what is still below is its
                // cgroup, left by the runtime. Removed (it is assay's container's), and said.
                for dir in crate::leftovers::sweep_cgroups(&self.dir, "", 0) {
                    eprintln!(
                        "assay: the runtime left the cgroup `{}` behind: removed",
                        dir.display()
                    );
                }
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        eprintln!(
            "assay: remove measuring cgroup `{}`: still in use",
            self.dir.display()
        );
    }
}
