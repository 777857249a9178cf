//! assay: benchmarks OCI runtimes with runc's command line side by side, and renders the
//! results as a self-contained HTML report.

mod bundle;
mod cli;
mod config;
mod cri;
mod crosscheck;
mod error;
mod exec;
mod glob;
mod index;
mod interrupt;
mod leftovers;
mod machine;
mod matrix;
mod measure;
mod mountns;
mod progress;
mod reaper;
mod report;
mod results;
mod runner;
mod runtime;
mod spec;
mod stats;
mod suites;
mod timefmt;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Commands, RunArgs, RuntimeArgs};
use config::{Config, Overrides};
use error::Error;
use results::Results;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Commands::Version(args) => version(args),
        Commands::List { scales, cri } => {
            list(&scales, cri);
            Ok(())
        }
        Commands::Run(args) => return exit(run(*args)),
        Commands::Report {
            results,
            output,
            baseline,
            markdown,
            suites,
            no_tables,
        } => {
            if markdown {
                markdown_cmd(&results, output.as_deref(), baseline.as_deref(), &suites)
            } else {
                let output = output.unwrap_or_else(|| "report.html".into());
                report_cmd(&results, &output, baseline.as_deref(), &suites, !no_tables)
            }
        }
        Commands::Index { dirs } => index::write(&dirs).map(|p| println!("{}", p.display())),
        Commands::CriCheck(args) => {
            let mut handler = cri::endpoint::parse_handler(&args.handler);
            handler.systemd_cgroup = args.systemd_cgroup;
            if args.wasm.is_some() {
                handler.passthrough = cri::wasm::ANNOTATIONS.map(String::from).into();
            }
            let wasm = args.wasm.as_deref();
            return if cri::check::run(&args.endpoint, &handler, &args.mkimage, wasm) {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            };
        }
        Commands::Crosscheck(args) => return exit(crosscheck_cmd(args)),
        Commands::Measure { out, cgroup, argv } => {
            return match measure::helper_main(&out, cgroup.as_deref(), &argv) {
                Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
                Err(e) => {
                    eprintln!("assay: {e}");
                    ExitCode::from(2)
                }
            }
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("assay: {e}");
            ExitCode::from(2)
        }
    }
}

fn load_config(args: RuntimeArgs, mut overrides: Overrides) -> Result<Config, Error> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    overrides.runtimes = args.runtimes;
    overrides.wrappers = args.wrappers;
    config.apply(overrides)?;
    Ok(config)
}

fn exit(outcome: Result<ExitCode, Error>) -> ExitCode {
    outcome.unwrap_or_else(|e| {
        eprintln!("assay: {e}");
        ExitCode::from(2)
    })
}

fn version(args: cli::VersionArgs) -> Result<(), Error> {
    let config = load_config(args.runtime, Overrides::default())?;
    println!("assay {}", env!("CARGO_PKG_VERSION"));
    if !args.cri.endpoints.is_empty() {
        cri_versions(&config, &args.cri);
        return Ok(());
    }
    runner::check_runtimes(&config)?;
    let scratch = std::env::temp_dir().join(format!("assay-version-{}", std::process::id()));
    let exec = exec::Exec::new(scratch.clone())?;
    let runtimes: Vec<_> = config
        .runtimes
        .iter()
        .map(|r| runtime::Runtime::new(r, &scratch))
        .collect();
    let limit = config.time_limit("version");
    for (rt, v) in runtimes
        .iter()
        .zip(runner::versions(&exec, &runtimes, limit))
    {
        println!("{}: {v} ({})", rt.name, rt.path.display());
    }
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

fn list(scales: &[u32], cri: bool) {
    let scales = if scales.is_empty() {
        Config::default().scales
    } else {
        scales.to_vec()
    };
    let catalog: Vec<(String, String, Vec<results::MetricDef>)> = if cri {
        cri::bench::catalog(&scales)
            .into_iter()
            .map(|b| (b.name, b.description, b.metrics))
            .collect()
    } else {
        suites::catalog(&scales)
            .into_iter()
            .map(|b| (b.name, b.description, b.metrics))
            .collect()
    };
    let mut suite = String::new();
    for (name, description, metrics) in catalog {
        let this = name.split('.').next().unwrap_or("");
        if this != suite {
            println!("{this}");
            suite = this.to_string();
        }
        let units: Vec<String> = metrics
            .iter()
            .map(|m| format!("{} [{}]", m.key, m.unit))
            .collect();
        println!("  {:<36} {}  -> {}", name, description, units.join(", "));
    }
}

/// What each CRI endpoint reports: its runtime, version and API, and the handlers asked for.
fn cri_versions(config: &Config, args: &cli::CriArgs) {
    for (i, spec) in args.endpoints.iter().enumerate() {
        let given: Vec<_> = args
            .handlers
            .iter()
            .map(|h| cri::endpoint::parse_handler(h))
            .collect();
        let handlers = cri::run::resolve_handlers(config, spec, &given).unwrap_or_default();
        let tag = format!("assay-{}-v{i}", std::process::id());
        match cri::endpoint::Endpoint::open(spec, &handlers, &args.mkimage, &tag) {
            Ok(ep) => {
                println!("{spec}: {} [{}]", ep.version, ep.short_name());
                for h in &handlers {
                    let what = if h.binary.as_os_str().is_empty() {
                        "configured at the endpoint".to_string()
                    } else {
                        format!("{}", h.binary.display())
                    };
                    println!("  handler {}: {what}", h.name);
                }
                ep.close();
            }
            Err(e) => println!("{spec}: unavailable ({e})"),
        }
    }
}

fn crosscheck_cmd(args: cli::CrosscheckArgs) -> Result<ExitCode, Error> {
    let overrides = Overrides {
        runs: Some(args.runs),
        warmup: Some(args.warmup),
        ..Overrides::default()
    };
    let config = load_config(args.runtime, overrides)?;
    if let Some(out) = &args.output {
        check_writable("--output", out)?;
    }
    let rows = crosscheck::run(&config)?;
    let table = crosscheck::table(
        &rows,
        config.runs,
        config.spacing_ms,
        args.tolerance,
        args.floor_ms,
    );
    print!("{table}");
    if let Some(out) = &args.output {
        std::fs::write(out, &table).map_err(Error::io("write", out))?;
    }
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| r.agrees(args.tolerance, args.floor_ms) != Some(true))
        .map(|r| format!("{} {}", r.runtime, r.verb))
        .collect();
    if bad.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "assay crosscheck: assay and hyperfine disagree or lack a number: {}",
            bad.join(", ")
        );
        Ok(ExitCode::from(1))
    }
}

/// Fails early when `path` cannot be written: its folder must exist and take a file.
fn check_writable(key: &str, path: &Path) -> Result<(), Error> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::NoFolder {
            field: key.into(),
            dir: dir.into(),
        });
    }
    let probe = dir.join(format!(".assay-write-test-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|source| Error::Unwritable {
        field: key.into(),
        dir: dir.into(),
        source,
    })?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn run(args: RunArgs) -> Result<ExitCode, Error> {
    let strict = match (args.strict, args.no_strict) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    };
    let overrides = Overrides {
        suites: args.suites,
        runs: args.runs,
        warmup: args.warmup,
        output: args.output,
        baseline: args.baseline,
        scales: args.scales,
        cache: args.cache,
        spacing_ms: args.spacing_ms,
        seconds: args.seconds,
        strict,
        seed: args.seed,
        description: args.describe,
        ..Overrides::default()
    };
    let mut config = load_config(args.runtime, overrides)?;
    if config.output.is_dir() {
        // A folder (e.g. the one `assay index` lists): a new file named by the time.
        config.output = config.output.join(format!(
            "assay-{}.json",
            timefmt::compact(timefmt::unix_now())
        ));
    }
    check_writable("output", &config.output)?;
    if let Some(html) = &args.html {
        check_writable("--html", html)?;
    }
    interrupt::install()?;
    let output = config.output.clone();
    let mut save = |partial: &Results| {
        if let Err(e) = partial.save(&output) {
            progress::status(&format!("assay: saving the results so far: {e}"));
        }
    };
    let results = if args.cri.endpoints.is_empty() {
        runner::run(&config, &mut save)?
    } else {
        let given: Vec<_> = args
            .cri
            .handlers
            .iter()
            .map(|h| cri::endpoint::parse_handler(h))
            .collect();
        let first = &args.cri.endpoints[0];
        let handlers = cri::run::resolve_handlers(&config, first, &given)?;
        cri::run::run(
            &config,
            &args.cri.endpoints,
            &handlers,
            &args.cri.mkimage,
            &mut save,
        )?
    };
    results.save(&config.output)?;
    println!("{}", config.output.display());
    eprint!("{}", report::terminal::render(&results));
    if let Some(html) = args.html {
        report_cmd(std::slice::from_ref(&config.output), &html, None, &[], true)?;
    }
    if !results.complete {
        eprintln!(
            "assay: interrupted: the {} benchmarks finished are in `{}`",
            results.benchmarks.len(),
            config.output.display()
        );
        return Ok(ExitCode::from(130));
    }
    let failed: Vec<String> = results
        .benchmarks
        .iter()
        .flat_map(|b| {
            b.cells
                .iter()
                .filter(|c| c.status == results::CellStatus::Failed)
                .map(move |c| format!("{}/{}", c.runtime, b.name))
        })
        .collect();
    if failed.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "assay: {} failed cells: {}",
        failed.len(),
        failed.join(", ")
    );
    if config.is_strict() {
        eprintln!("assay: strict mode (--no-strict to accept failed cells): exit 1");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

fn report_cmd(
    files: &[std::path::PathBuf],
    output: &Path,
    baseline: Option<&str>,
    suites: &[String],
    tables: bool,
) -> Result<(), Error> {
    let mut results: Vec<Results> = files
        .iter()
        .map(|f| Results::load(f))
        .collect::<Result<_, _>>()?;
    for r in &mut results {
        r.benchmarks.retain(|b| glob::selected(suites, &b.name));
    }
    let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    let html = report::render_with(&results, &names, baseline, tables);
    std::fs::write(output, html).map_err(Error::io("write", output))?;
    println!("{}", output.display());
    Ok(())
}

fn markdown_cmd(
    files: &[std::path::PathBuf],
    output: Option<&Path>,
    baseline: Option<&str>,
    suites: &[String],
) -> Result<(), Error> {
    let first = files
        .first()
        .ok_or_else(|| Error::config("report", "no results file"))?;
    let text = report::markdown::render(&Results::load(first)?, suites, baseline);
    match output {
        Some(path) => std::fs::write(path, text).map_err(Error::io("write", path)),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}
