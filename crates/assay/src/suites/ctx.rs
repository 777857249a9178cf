//! What one run of a benchmark works with ([`Ctx`]), what it runs on ([`Target`]) and what
//! it returns ([`RunOutcome`]), and what happens right before every timed phase.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::Duration;

use crate::bundle::Bundles;
use crate::config::{CacheMode, Config};
use crate::error::{Error, Failure};
use crate::exec::Exec;
use crate::runtime::Runtime;

/// What assay runs a benchmark on.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    Runtime(&'a Runtime),
    /// The same work without a container (performance suite only).
    Host,
}

impl Target<'_> {
    pub fn name(&self) -> &str {
        match self {
            Target::Runtime(rt) => &rt.name,
            Target::Host => "host",
        }
    }
}

/// The result of one run: a value per metric, or a reason it does not apply.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutcome {
    Values(Vec<f64>),
    /// Values and a time series (`[seconds, requested, achieved]`) kept with the sample.
    Traced(Vec<f64>, Vec<[f64; 3]>),
    Skip(String),
}

pub type RunResult = Result<RunOutcome, Failure>;

/// Tools some suites need, found once.
#[derive(Debug, Clone, Default)]
pub struct Tools {
    pub sysbench: Option<PathBuf>,
    pub strace: Option<PathBuf>,
}

/// Everything a benchmark run needs.
pub struct Ctx<'a> {
    pub exec: &'a Exec,
    pub bundles: &'a Bundles,
    pub config: &'a Config,
    pub tools: Tools,
    /// This binary, re-run as the `__measure` helper.
    pub self_exe: PathBuf,
    ids: AtomicU64,
    /// The wasm suite's hello world, built on first use (module, native binary), or why not.
    pub(super) wasm_hello: OnceLock<Result<(PathBuf, PathBuf), String>>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        exec: &'a Exec,
        bundles: &'a Bundles,
        config: &'a Config,
        tools: Tools,
        self_exe: PathBuf,
    ) -> Self {
        Ctx {
            exec,
            bundles,
            config,
            tools,
            self_exe,
            ids: AtomicU64::new(0),
            wasm_hello: OnceLock::new(),
        }
    }

    /// A container id unique to this run.
    pub fn new_id(&self) -> String {
        format!(
            "assay-{}-{}",
            std::process::id(),
            self.ids.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Called right before every timed phase: see [`before_timed`].
    pub fn before_timed(&self) -> Result<(), Failure> {
        before_timed(self.config)
    }
}

/// Right before every timed phase, in both modes: the same idle spacing for every runtime,
/// and in cold mode a sync and a page-cache drop.
pub fn before_timed(config: &Config) -> Result<(), Failure> {
    std::thread::sleep(Duration::from_millis(config.spacing_ms));
    if config.cache == CacheMode::Cold {
        nix::unistd::sync();
        let path = "/proc/sys/vm/drop_caches";
        std::fs::write(path, "3")
            .map_err(|e| Failure::new("drop caches", Error::io("write", path)(e)))?;
    }
    Ok(())
}

pub(super) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
