//! `events`: the container's resource usage as runc's JSON stats, once (`--stats`) or
//! every interval, with OOM kills reported as they happen.

use crate::error::{Error, Result};
use crate::state::dir::StateRoot;
use crate::state::id::ContainerId;
use crate::state::Status;
use std::io::Write;
use std::time::Duration;

fn manager(root: &StateRoot, id: &ContainerId) -> Result<kapsel_cgroups::Manager> {
    let state = root.read_state(id)?;
    if state.status(&root.dir_of(id)) == Status::Stopped {
        return Err(Error::NotRunning);
    }
    crate::linux::cgroups::manager(&state.cgroup)
        .filter(|m| m.skipped().is_none())
        .ok_or(Error::NoCgroup("read"))
}

fn stats_line(id: &str, m: &kapsel_cgroups::Manager) -> Result<String> {
    let stats = m.stats().map_err(crate::linux::cgroups::map_err)?;
    let event = serde_json::json!({"type": "stats", "id": id, "data": stats});
    Ok(event.to_string())
}

/// One stats event, as `events --stats` prints it.
pub fn stats(root: &StateRoot, id: &str) -> Result<String> {
    let inner = || stats_line(id, &manager(root, &ContainerId::new(id)?)?);
    inner().map_err(|e| e.in_container(id, "events"))
}

/// One `oom` event line per kill.
fn write_ooms(out: &mut dyn Write, id: &str, kills: u64) {
    for _ in 0..kills {
        let _ = writeln!(out, "{}", serde_json::json!({"type": "oom", "id": id}));
    }
}

/// Streams stats every `interval` and OOM events as they come, until the container stops.
pub fn stream(root: &StateRoot, id: &str, interval: Duration, out: &mut dyn Write) -> Result<()> {
    let mut inner = || -> Result<()> {
        let cid = ContainerId::new(id)?;
        let m = manager(root, &cid)?;
        let mut oom = m.oom_watcher().ok();
        let stopped = || -> Result<bool> {
            let state = root.read_state(&cid)?;
            Ok(state.status(&root.dir_of(&cid)) == Status::Stopped)
        };
        loop {
            // A systemd scope's cgroup goes with its last process: unreadable stats of a
            // container that just stopped end the stream, as its stop does.
            let line = match stats_line(id, &m) {
                Ok(line) => line,
                Err(_) if stopped()? => {
                    // The kill that stopped it may not be reported yet: a systemd scope's
                    // cgroup can be gone before the watcher woke, and its count is then
                    // read from the parent's memory.events.
                    let kills = oom.as_mut().map_or(0, |w| w.new_kills().unwrap_or(0));
                    write_ooms(out, id, kills);
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            // One write per event (as runc's encoder), so a reader never meets half a line.
            if out
                .write_all(format!("{line}\n").as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                return Ok(());
            }
            let kills = match oom.as_mut() {
                Some(w) => w.wait(interval).unwrap_or(0),
                None => {
                    std::thread::sleep(interval);
                    0
                }
            };
            write_ooms(out, id, kills);
            if stopped()? {
                return Ok(());
            }
        }
    };
    inner().map_err(|e| e.in_container(id, "events"))
}
