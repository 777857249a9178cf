//! Running runtime commands at the same moment from many threads, and the `KAPSEL_STRESS`
//! knob that makes the concurrency and crash tests run longer (`scripts/stress.sh`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::command::{Cmd, Output};

/// Rounds for the stress-scaled tests: `KAPSEL_STRESS` (default 1).
pub fn rounds() -> usize {
    std::env::var("KAPSEL_STRESS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

/// Runs every command at once (released together by a barrier) and returns their outputs in
/// order.
pub fn all_at_once(cmds: Vec<Cmd>) -> Vec<Output> {
    let barrier = Arc::new(Barrier::new(cmds.len()));
    let handles: Vec<_> = cmds
        .into_iter()
        .map(|cmd| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                cmd.run()
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("racing command thread"))
        .collect()
}

/// A thread that runs a check over and over until stopped, collecting what it found wrong.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<(usize, Vec<String>)>>,
}

impl Watcher {
    /// Calls `check` every few milliseconds; each call returns the problems it saw.
    pub fn start(mut check: impl FnMut() -> Vec<String> + Send + 'static) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut runs = 0;
            let mut problems = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                problems.extend(check());
                runs += 1;
                std::thread::sleep(Duration::from_millis(3));
            }
            (runs, problems)
        });
        Watcher {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops the thread; returns how often the check ran and every problem it reported.
    pub fn finish(mut self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .take()
            .map(|h| h.join().expect("watcher thread"))
            .unwrap_or_default()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
