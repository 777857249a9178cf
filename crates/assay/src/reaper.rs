//! assay as the subreaper of everything it starts.
//!
//! Runtimes double-fork their container processes; those orphans are re-parented to the
//! nearest subreaper. On this machine PID 1 reaps late, and a runtime that waits for a killed
//! container to vanish (`delete --force`) would be timed with that delay. So assay sets
//! PR_SET_CHILD_SUBREAPER and a thread reaps every orphan as soon as it exits.
//!
//! The same thread collects the exit status of assay's own children, so nothing else may
//! wait: every process is started with [`Reaper::spawn`] and waited for with
//! [`Reaper::wait_at_most`]. Spawning and reaping hold one lock, and the thread only peeks
//! (`waitid` with WNOWAIT) outside it, so it never reaps a child whose pid is not yet
//! registered.

use std::collections::HashMap;
use std::io;
use std::process::{Child, Command};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Code(i32),
    Signal(i32),
}

impl Exit {
    pub fn success(self) -> bool {
        self == Exit::Code(0)
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Code(c) => write!(f, "exit status {c}"),
            Exit::Signal(s) => write!(f, "killed by signal {s}"),
        }
    }
}

#[derive(Default)]
struct State {
    /// Registered children: `None` until they exit.
    children: HashMap<i32, Option<Exit>>,
    /// Bumped on every spawn, so the thread knows to look again after ECHILD.
    generation: u64,
    orphans_reaped: u64,
}

pub struct Reaper {
    state: Mutex<State>,
    spawned: Condvar,
    exited: Condvar,
}

static REAPER: OnceLock<Arc<Reaper>> = OnceLock::new();

impl Reaper {
    /// Makes this process a subreaper and starts the reaping thread (once).
    pub fn global() -> io::Result<&'static Arc<Reaper>> {
        if let Some(r) = REAPER.get() {
            return Ok(r);
        }
        // PR_SET_CHILD_SUBREAPER
        nix::sys::prctl::set_child_subreaper(true).map_err(io::Error::from)?;
        let reaper = Arc::new(Reaper {
            state: Mutex::default(),
            spawned: Condvar::new(),
            exited: Condvar::new(),
        });
        let r = REAPER.get_or_init(|| reaper);
        let thread_ref = Arc::clone(r);
        std::thread::Builder::new()
            .name("reaper".into())
            .spawn(move || thread_ref.reap_forever())?;
        Ok(r)
    }

    /// Starts `cmd` and registers its pid before the reaping thread can collect it.
    pub fn spawn(&self, cmd: &mut Command) -> io::Result<u32> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let child: Child = cmd.spawn()?;
        let pid = child.id();
        // std's Child neither waits nor kills on drop; the reaping thread owns the status.
        drop(child);
        st.children.insert(pid as i32, None);
        st.generation += 1;
        self.spawned.notify_all();
        Ok(pid)
    }

    /// Blocks until the registered child `pid` has exited. With a `limit`, a child still
    /// running after it is killed (SIGKILL, with its process group if it leads one) and
    /// then waited for; the flag says whether
    /// that happened. A hung runtime (youki 0.7's `run` can wait forever for a container
    /// that already exited) must not stall a benchmark.
    pub fn wait_at_most(&self, pid: u32, limit: Option<Duration>) -> (Exit, bool) {
        const LONG: Duration = Duration::from_secs(3600);
        if let Some(exit) = self.wait_for(pid, limit.unwrap_or(LONG)) {
            return (exit, false);
        }
        if limit.is_some() {
            // Its process group when it leads one (Exec starts every command so), else it.
            let kill = nix::sys::signal::kill;
            let sig = nix::sys::signal::Signal::SIGKILL;
            if kill(Pid::from_raw(-(pid as i32)), sig).is_err() {
                let _ = kill(Pid::from_raw(pid as i32), sig);
            }
        }
        loop {
            if let Some(exit) = self.wait_for(pid, LONG) {
                return (exit, limit.is_some());
            }
        }
    }

    /// Waits up to `within` for the registered child `pid`: its exit, or `None` while it
    /// still runs (nothing is killed).
    pub fn wait_for(&self, pid: u32, within: Duration) -> Option<Exit> {
        let deadline = Instant::now() + within;
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            match st.children.get(&(pid as i32)) {
                Some(Some(exit)) => {
                    let exit = *exit;
                    st.children.remove(&(pid as i32));
                    return Some(exit);
                }
                Some(None) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    st = self
                        .exited
                        .wait_timeout(st, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
                None => return Some(Exit::Code(-1)),
            }
        }
    }

    /// How many processes assay reaped that it had not started itself.
    pub fn orphans_reaped(&self) -> u64 {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .orphans_reaped
    }

    fn reap_forever(&self) {
        loop {
            let generation = self
                .state
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .generation;
            // Peek only: the zombie stays until it is reaped under the lock below.
            match waitid(Id::All, WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
                Ok(status) => {
                    if let Some(pid) = status.pid() {
                        self.reap(pid);
                    }
                }
                Err(Errno::EINTR) => {}
                Err(_) => {
                    // ECHILD: no children at all; sleep until the next spawn.
                    let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
                    while st.generation == generation {
                        st = self.spawned.wait(st).unwrap_or_else(|p| p.into_inner());
                    }
                }
            }
        }
    }

    fn reap(&self, pid: Pid) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let exit = match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => Exit::Code(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => Exit::Signal(sig as i32),
            // Already collected (std reaps a child whose exec failed) or not a final state.
            _ => return,
        };
        match st.children.get_mut(&pid.as_raw()) {
            Some(slot) => {
                *slot = Some(exit);
                self.exited.notify_all();
            }
            None => st.orphans_reaped += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One test: the process-wide reaper must not race other tests' children.
    #[test]
    fn children_get_their_status_and_orphans_are_reaped() {
        let reaper = Reaper::global().unwrap();
        let before = reaper.orphans_reaped();
        let pid = reaper
            .spawn(Command::new("sh").args(["-c", "exit 3"]))
            .unwrap();
        assert_eq!(reaper.wait_at_most(pid, None).0, Exit::Code(3));
        let pid = reaper
            .spawn(Command::new("sh").args(["-c", "kill -9 $$"]))
            .unwrap();
        assert_eq!(reaper.wait_at_most(pid, None).0, Exit::Signal(9));
        // A child past its time limit is killed.
        let pid = reaper.spawn(Command::new("sleep").arg("30")).unwrap();
        let (exit, killed) = reaper.wait_at_most(pid, Some(Duration::from_millis(100)));
        assert_eq!((exit, killed), (Exit::Signal(9), true));
        let pid = reaper.spawn(&mut Command::new("true")).unwrap();
        assert_eq!(
            reaper.wait_at_most(pid, Some(Duration::from_secs(30))),
            (Exit::Code(0), false)
        );
        // The background sleep outlives its parent and is re-parented to us.
        let pid = reaper
            .spawn(Command::new("sh").args(["-c", "sleep 0.2 & exit 0"]))
            .unwrap();
        assert!(reaper.wait_at_most(pid, None).0.success());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while reaper.orphans_reaped() == before && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(
            reaper.orphans_reaped(),
            before + 1,
            "the orphan was reaped by assay"
        );
    }
}
