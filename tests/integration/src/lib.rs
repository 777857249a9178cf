//! Harness for the root-only integration tests: it runs real containers through the runtime
//! named by `KAPSEL_TEST_RUNTIME` (kapsel by default, runc to validate the tests themselves)
//! and checks what the container sees and what it leaves behind on the host.
//!
//! Every test starts with [`ctx!`], which skips (prints `SKIP <name>: <reason>`) when not
//! root or when the runtime is missing; `KAPSEL_TEST_STRICT=1` turns any skip into a failure.

pub mod attack;
pub mod bundle;
pub mod cgroupfs;
pub mod command;
pub mod console;
pub mod context;
pub mod cprog;
pub mod faults;
pub mod leftovers;
pub mod logfmt;
pub mod mountinfo;
pub mod probe;
pub mod procfs;
pub mod race;
pub mod runtime;
pub mod scratch;
pub mod seccomp_agent;
pub mod systemd_machine;
pub mod wasm;

pub use bundle::Bundle;
pub use command::Output;
pub use context::Ctx;

/// Starts a test: `let Some(mut t) = ctx!("name") else { return };`
#[macro_export]
macro_rules! ctx {
    ($name:expr) => {
        $crate::Ctx::new($name, env!("CARGO_TARGET_TMPDIR"))
    };
}
