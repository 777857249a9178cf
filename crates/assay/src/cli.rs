//! The command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{parse_runtime_flag, CacheMode, RuntimeConfig};

#[derive(Parser, Debug)]
#[command(
    name = "assay",
    version,
    about = "Benchmarks OCI container runtimes side by side"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Commands,
}

#[derive(Subcommand, Debug)]
pub enum Commands {
    /// Print assay's version and the version line of every configured runtime
    Version(RuntimeArgs),
    /// List the suites and their benchmarks
    List {
        /// Scalability container counts to list
        #[arg(long = "scale", value_name = "N")]
        scales: Vec<u32>,
    },
    /// Run the benchmark matrix and write the results JSON
    Run(RunArgs),
    /// Render one or more results files as one self-contained HTML page (or Markdown tables)
    Report {
        #[arg(required = true, value_name = "RESULTS")]
        results: Vec<PathBuf>,
        /// Output file (default: report.html; Markdown goes to stdout)
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Runtime the ratios are computed against (default: the run's baseline)
        #[arg(long)]
        baseline: Option<String>,
        /// Markdown tables of the first results file instead of HTML (for a README)
        #[arg(long)]
        markdown: bool,
        /// With --markdown: benchmarks to include, glob or prefix (repeatable)
        #[arg(long = "suite", value_name = "PATTERN")]
        suites: Vec<String>,
    },
    /// Write DIR/index.html listing every results file in DIR, rendering missing reports
    Index { dir: PathBuf },
    /// Internal: run one command as the only child and report its resource use
    #[command(name = "__measure", hide = true)]
    Measure {
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        cgroup: Option<PathBuf>,
        #[arg(last = true, required = true)]
        argv: Vec<String>,
    },
}

#[derive(Args, Debug, Default)]
pub struct RuntimeArgs {
    /// YAML configuration file
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A runtime: NAME=PATH or NAME=PATH@WRAPPER (repeatable; WRAPPER may be `hide-unified`)
    #[arg(long = "runtime", value_name = "NAME=PATH[@WRAPPER]", value_parser = parse_runtime_flag)]
    pub runtimes: Vec<RuntimeConfig>,
    /// A wrapper command for a runtime given earlier: NAME=COMMAND (repeatable)
    #[arg(long = "wrapper", value_name = "NAME=COMMAND")]
    pub wrappers: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Benchmarks to run: a glob on `context.component.facet` names, or a prefix (repeatable)
    #[arg(long = "suite", value_name = "PATTERN")]
    pub suites: Vec<String>,
    /// Timed runs per benchmark and runtime
    #[arg(long)]
    pub runs: Option<u32>,
    /// Untimed runs before the timed ones
    #[arg(long)]
    pub warmup: Option<u32>,
    /// Results file
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Runtime the ratios are computed against
    #[arg(long)]
    pub baseline: Option<String>,
    /// Scalability container counts (repeatable)
    #[arg(long = "scale", value_name = "N")]
    pub scales: Vec<u32>,
    /// Page cache before each timed sample
    #[arg(long, value_enum)]
    pub cache: Option<CacheMode>,
    /// Idle pause before each timed sample, in milliseconds
    #[arg(long, value_name = "MS")]
    pub spacing_ms: Option<u64>,
    /// Length of each sysbench run, in seconds
    #[arg(long)]
    pub seconds: Option<u32>,
    /// Also render the results as HTML to this file
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}
