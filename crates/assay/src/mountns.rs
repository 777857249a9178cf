//! Mount-namespace views the runtimes run in, entered once per run instead of once per call.
//!
//! crun 1.8 refuses this machine's hybrid cgroup layout (an empty cgroup2 at
//! `/sys/fs/cgroup/unified`), so it has to run where that mount is hidden. A per-call
//! wrapper (`unshare -m sh -c 'umount ...; exec crun ...'`) costs about 6 ms of every
//! timed call. Instead assay makes that namespace once: a short-lived thread unshares its
//! mount namespace, turns the copied mounts into slaves (so nothing it does reaches the
//! host, while the host's later mounts still show up) and unmounts the cgroup2 folder; an
//! open descriptor keeps the namespace alive. Before each sample the calling thread
//! switches with `setns(2)`, outside the timed part, and the runtime's processes, started
//! from that thread, inherit the view.
//!
//! A mount namespace is a property of the thread, not of the process: `setns(CLONE_NEWNS)`
//! needs a filesystem context (`CLONE_FS`) the thread does not share, so every switch first
//! unshares it (a no-op once the thread has its own); and it resets the thread's working
//! folder to the namespace's root, so the folder is restored with `fchdir`.

use std::cell::Cell;
use std::fs::File;
use std::os::fd::AsFd;
use std::sync::OnceLock;

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};

use crate::error::Error;

/// The hybrid cgroup2 folder crun 1.8 must not see.
pub const UNIFIED: &str = "/sys/fs/cgroup/unified";

/// Where a runtime's processes run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// assay's own mount namespace.
    Host,
    /// A private namespace without `/sys/fs/cgroup/unified`.
    HiddenUnified,
}

struct Namespaces {
    host: File,
    hidden: Option<File>,
}

static NAMESPACES: OnceLock<Namespaces> = OnceLock::new();

thread_local! {
    /// The view this thread is in; threads start in their creator's view.
    static CURRENT: Cell<Option<View>> = const { Cell::new(None) };
}

fn ns_file() -> Result<File, Error> {
    let path = "/proc/thread-self/ns/mnt";
    File::open(path).map_err(Error::io("open", path))
}

/// Makes the namespaces the run needs, once per process; call from the main thread before
/// any sample. Without `hidden` only the host view exists.
pub fn prepare(hidden: bool) -> Result<(), Error> {
    if let Some(ns) = NAMESPACES.get() {
        if hidden && ns.hidden.is_none() {
            return Err(Error::Internal(
                "mount namespaces: prepared without the hidden view",
            ));
        }
        return Ok(());
    }
    let host = ns_file()?;
    let hidden = if hidden {
        Some(
            std::thread::spawn(make_hidden)
                .join()
                .map_err(|_| Error::Internal("mount namespace thread panicked"))??,
        )
    } else {
        None
    };
    let _ = NAMESPACES.set(Namespaces { host, hidden });
    CURRENT.with(|c| c.set(Some(View::Host)));
    Ok(())
}

/// Runs on a thread of its own, which ends once the namespace is made.
fn make_hidden() -> Result<File, Error> {
    unshare(CloneFlags::CLONE_NEWNS).map_err(Error::sys("unshare(CLONE_NEWNS)"))?;
    // Slave, not private: our unmount must not propagate back to the host's mounts.
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_SLAVE,
        None::<&str>,
    )
    .map_err(Error::sys("mount --make-rslave `/`"))?;
    // Without a hybrid cgroup2 there is nothing to hide.
    if is_mounted(UNIFIED) {
        umount2(UNIFIED, MntFlags::MNT_DETACH)
            .map_err(Error::sys(format!("umount `{UNIFIED}`")))?;
    }
    ns_file()
}

/// Switches the calling thread to `view`; cheap when it is already there.
pub fn enter(view: View) -> Result<(), Error> {
    if CURRENT.with(Cell::get) == Some(view) {
        return Ok(());
    }
    let ns = NAMESPACES
        .get()
        .ok_or(Error::Internal("mount namespaces: not prepared"))?;
    let target = match view {
        View::Host => &ns.host,
        View::HiddenUnified => ns.hidden.as_ref().ok_or(Error::Internal(
            "mount namespaces: no hidden-unified view was prepared",
        ))?,
    };
    let cwd = File::open(".").map_err(Error::os("open the working folder"))?;
    unshare(CloneFlags::CLONE_FS).map_err(Error::sys("unshare(CLONE_FS)"))?;
    setns(target.as_fd(), CloneFlags::CLONE_NEWNS).map_err(Error::sys(format!(
        "setns(CLONE_NEWNS) into the {view:?} view"
    )))?;
    nix::unistd::fchdir(&cwd).map_err(Error::sys("fchdir back to the working folder"))?;
    CURRENT.with(|c| c.set(Some(view)));
    Ok(())
}

/// Whether `path` is a mount point in the calling thread's view (for tests and checks).
pub fn is_mounted(path: &str) -> bool {
    std::fs::read_to_string("/proc/thread-self/mountinfo")
        .map(|t| t.lines().any(|l| l.split_whitespace().nth(4) == Some(path)))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_root() -> bool {
        std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
    }

    /// One test: the views are process-wide.
    #[test]
    fn views_hide_unified_for_the_thread_and_its_children_only() {
        if !is_root() || !is_mounted(UNIFIED) {
            println!("SKIP views_hide_unified: needs root and a hybrid cgroup2 at {UNIFIED}");
            return;
        }
        prepare(true).unwrap();
        std::thread::spawn(|| {
            enter(View::HiddenUnified).unwrap();
            assert!(!is_mounted(UNIFIED), "hidden in this thread");
            // Through the reaper: the test process's subreaper thread reaps every child.
            let dir = std::env::temp_dir().join(format!("assay-mountns-{}", std::process::id()));
            let exec = crate::exec::Exec::new(dir.clone()).unwrap();
            let out = exec
                .run_unchecked(
                    &[
                        "grep".into(),
                        "-c".into(),
                        format!(" {UNIFIED} "),
                        "/proc/self/mountinfo".into(),
                    ],
                    None,
                )
                .unwrap();
            let _ = std::fs::remove_dir_all(dir);
            assert_eq!(out.stdout.trim(), "0", "and in its child");
            let cwd = std::env::current_dir().unwrap();
            enter(View::Host).unwrap();
            assert!(is_mounted(UNIFIED), "back in the host view");
            assert_eq!(std::env::current_dir().unwrap(), cwd, "working folder kept");
        })
        .join()
        .unwrap();
        assert!(is_mounted(UNIFIED), "the host's mounts are untouched");
    }
}
