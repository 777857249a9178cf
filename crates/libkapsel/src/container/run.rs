//! `run`: create + start, then wait for the container as its parent, forwarding
//! signals, and exit with its status. Signals are blocked before the clone, so an
//! exit that happens at once is never missed.

use super::create::{create, CreateOptions};
use super::delete::delete;
use super::start::start;
use crate::error::{nix_err, Result};
use crate::state::dir::StateRoot;

pub struct RunOptions {
    pub create: CreateOptions,
    pub detach: bool,
    pub keep: bool,
    /// `--no-subreaper`: leave orphans of a container without its own pid namespace to
    /// the caller's reaper instead of collecting them here.
    pub no_subreaper: bool,
}

/// Returns the exit code for the command: the container's status (128+N when killed by N).
pub fn run(root: &StateRoot, id: &str, opts: &RunOptions) -> Result<i32> {
    let mask = crate::process::wait::signal_mask();
    if !opts.detach {
        mask.thread_block().map_err(nix_err("sigprocmask", ""))?;
        if !opts.no_subreaper {
            let _ = nix::sys::prctl::set_child_subreaper(true);
        }
    }
    let created = create(root, id, &opts.create)?;
    if let Err(e) = start(root, id) {
        let _ = delete(root, id, true);
        return Err(e);
    }
    if opts.detach {
        return Ok(0);
    }
    let waited = match &created.console {
        Some(sock) => crate::process::tty::receive_master(sock)
            .and_then(|master| crate::process::relay::relay_and_wait(created.pid, &mask, master)),
        None => crate::process::wait::wait_forwarding(created.pid, &mask),
    };
    let code = waited.map_err(|e| e.in_container(id, "run"))?;
    if !opts.keep {
        delete(root, id, true)?;
    }
    Ok(code)
}
