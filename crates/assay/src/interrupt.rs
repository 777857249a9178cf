//! Ctrl-C and SIGTERM stop the matrix cleanly: the signals are blocked in every thread and
//! one thread waits for them (sigwait needs no handler, so no `unsafe`). The runner checks
//! [`requested`] between samples, so the containers of the current sample are deleted, the
//! results so far are written and the work folder is removed before assay exits. A second
//! signal exits at once and prints the commands that remove what is left.
//! Children start with an empty signal mask (std resets it when it spawns).

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{SigSet, Signal};

use crate::error::Error;

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Blocks SIGINT and SIGTERM and starts the waiting thread; call before any other thread.
pub fn install() -> Result<(), Error> {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set.thread_block()
        .map_err(Error::sys("pthread_sigmask(SIG_BLOCK, SIGINT|SIGTERM)"))?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || loop {
            if let Ok(sig) = set.wait() {
                if REQUESTED.swap(true, Ordering::SeqCst) {
                    let left = crate::leftovers::commands();
                    if left.is_empty() {
                        eprintln!("\nassay: {sig} again, exiting; nothing was left behind");
                    } else {
                        eprintln!(
                            "\nassay: {sig} again, exiting without clean-up; as root, run:\n{}",
                            left.join("\n")
                        );
                    }
                    std::process::exit(130);
                }
                crate::progress::status(&format!(
                    "\nassay: {sig}: finishing the current sample, writing the results so far, \
                     cleaning up (again: exit at once)"
                ));
            }
        })
        .map_err(Error::os("start the signal thread"))?;
    Ok(())
}

/// Whether the user asked assay to stop.
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}
