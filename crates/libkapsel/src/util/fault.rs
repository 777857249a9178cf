//! Crash points for the reliability tests: `KAPSEL_FAULT=<point>` makes the `create`
//! process SIGKILL itself at that step, so tests can prove that a runtime killed at any
//! moment leaves nothing that `delete --force` cannot remove.
//!
//! Compiled into every build on purpose: the tests exercise the binary that ships (a cargo
//! feature would mean a second build of kapsel in CI), and the cost is one environment
//! lookup per command, cached. Whoever can set kapsel's environment can kill it anyway.

use std::sync::OnceLock;

/// The points, in the order `create` reaches them.
pub const POINTS: [&str; 5] = [
    // The state dir exists and holds the reservation record; no cgroup yet.
    "after-reserve",
    // The cgroup exists and is limited; no container process yet.
    "after-cgroup",
    // clone3 returned in the parent; the child is not yet in its cgroup.
    "after-clone",
    // The child built its root filesystem and asks for the runtime hooks (mounts done,
    // before pivot_root); the runtime dies answering.
    "after-mounts",
    // The child is ready at the start gate; the state file does not record it yet.
    "before-ready",
];

fn armed() -> Option<&'static str> {
    static FAULT: OnceLock<Option<String>> = OnceLock::new();
    FAULT
        .get_or_init(|| std::env::var("KAPSEL_FAULT").ok())
        .as_deref()
}

/// In the runtime process: dies here when `KAPSEL_FAULT` names `point`.
pub fn point(point: &str) {
    debug_assert!(POINTS.contains(&point), "`{point}` is not a crash point");
    if armed() == Some(point) {
        let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
    }
}

/// The container process panics right after clone3 under `KAPSEL_FAULT=child-panic`
/// (not one of [`POINTS`]: the runtime survives it). With panic=abort a panic ends in
/// abort(3), which must signal the panicking process itself, never the runtime.
pub const CHILD_PANIC: &str = "child-panic";

/// In the container process: panics here when `KAPSEL_FAULT` names [`CHILD_PANIC`].
pub fn child_panic_point() {
    if armed() == Some(CHILD_PANIC) {
        panic!("KAPSEL_FAULT={CHILD_PANIC}");
    }
}

/// Whether `KAPSEL_FAULT` names `point`: the container process asks for the hooks round
/// trip under `after-mounts` even without hooks, so the runtime can die at that step.
pub fn armed_at(point: &str) -> bool {
    armed() == Some(point)
}
