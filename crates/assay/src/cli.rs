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
    /// Print assay's version and the version line of every configured runtime (with --cri:
    /// what each CRI endpoint reports)
    Version(VersionArgs),
    /// List the suites and their benchmarks
    List {
        /// Scalability container counts to list
        #[arg(long = "scale", value_name = "N")]
        scales: Vec<u32>,
        /// List the CRI mode's benchmarks instead
        #[arg(long)]
        cri: bool,
    },
    /// Run the benchmark matrix and write the results JSON
    Run(Box<RunArgs>),
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
        /// Benchmarks to include, glob or prefix (repeatable; default: all)
        #[arg(long = "suite", value_name = "PATTERN")]
        suites: Vec<String>,
        /// HTML without the summary tables: the charts only
        #[arg(long)]
        no_tables: bool,
    },
    /// Write DIR/index.html listing every results file in DIR and the other folders (and
    /// their subfolders), rendering missing reports; several machines are compared
    Index {
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
    /// Drive one CRI runtime handler through the kubelet's calls, PASS/FAIL per step
    CriCheck(CriCheckArgs),
    /// Time --version, create, state and run with assay and with hyperfine, side by side
    Crosscheck(CrosscheckArgs),
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
    /// Exit with 1 when a cell failed (the default when the CI variable is set)
    #[arg(long, overrides_with = "no_strict")]
    pub strict: bool,
    /// Exit with 0 even when cells failed
    #[arg(long)]
    pub no_strict: bool,
    /// Seed of the per-round shuffle of the runtime order (default: from the clock)
    #[arg(long)]
    pub seed: Option<u64>,
    /// A line describing this machine, kept in the results for fleet reports
    #[arg(long, value_name = "TEXT")]
    pub describe: Option<String>,
    #[command(flatten)]
    pub cri: CriArgs,
}

#[derive(Args, Debug)]
pub struct VersionArgs {
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    #[command(flatten)]
    pub cri: CriArgs,
}

/// CRI mode: benchmark runtime handlers through CRI endpoints instead of runtimes directly.
#[derive(Args, Debug, Default)]
pub struct CriArgs {
    /// CRI endpoint (repeatable: endpoints × handlers in one run): `unix:///path`,
    /// `containerd` (the host's), `crio` (CRI-O's socket), or `private` (a containerd of
    /// assay's own)
    #[arg(long = "cri", value_name = "ENDPOINT")]
    pub endpoints: Vec<String>,
    /// Runtime handler NAME or NAME=PATH (repeatable; a private containerd takes a NAME's
    /// path from --runtime NAME=PATH; none: every configured runtime without a wrapper)
    #[arg(long = "handler", value_name = "NAME[=PATH]")]
    pub handlers: Vec<String>,
    /// The image builder used for a private containerd
    #[arg(
        long,
        value_name = "FILE",
        default_value = "scripts/callers/mkimage.py"
    )]
    pub mkimage: PathBuf,
}

#[derive(Args, Debug)]
pub struct CrosscheckArgs {
    #[command(flatten)]
    pub runtime: RuntimeArgs,
    /// Timed runs per verb, both ways
    #[arg(long, default_value_t = 20)]
    pub runs: u32,
    /// Untimed runs before them
    #[arg(long, default_value_t = 2)]
    pub warmup: u32,
    /// Medians agree when within this % of the larger one ...
    #[arg(long, value_name = "PCT", default_value_t = 25.0)]
    pub tolerance: f64,
    /// ... or within this many ms
    #[arg(long, value_name = "MS", default_value_t = 1.0)]
    pub floor_ms: f64,
    /// Also write the Markdown table to this file
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct CriCheckArgs {
    /// CRI endpoint `unix:///path`, or `private` to start a containerd of assay's own
    #[arg(long = "cri", value_name = "ENDPOINT", default_value = "private")]
    pub endpoint: String,
    /// Runtime handler: NAME (configured at the endpoint) or NAME=PATH (private containerd)
    #[arg(long, value_name = "NAME[=PATH]")]
    pub handler: String,
    /// The image builder used for a private containerd, or a folder of the tars it made
    #[arg(
        long,
        value_name = "FILE",
        default_value = "scripts/callers/mkimage.py"
    )]
    pub mkimage: PathBuf,
    /// The private containerd's handler gets `SystemdCgroup = true` and the pod a kubelet-style
    /// slice as its cgroup parent (the Kubernetes default on systemd hosts); the container's
    /// scope, its cgroup v2 files and their removal are checked too
    #[arg(long)]
    pub systemd_cgroup: bool,
    /// A wasm32-wasip1 module (tests/integration/wasm/wprobe.rs built): instead of the usual
    /// steps, run it as a WebAssembly pod (an image carrying it, `run.oci.handler=wasm` and
    /// `module.wasm.image/variant` passed to the handler) and check its log and exit codes
    #[arg(long, value_name = "MODULE")]
    pub wasm: Option<PathBuf>,
}
