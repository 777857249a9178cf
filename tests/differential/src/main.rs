//! `differential`: runs generated and recorded configs under kapsel, runc and crun and
//! reports every difference the allow-list does not explain.
//!
//!     differential --seed 1 --count 300          a batch (CI runs a fixed seed)
//!     differential --case 0x1f2e...              one case, every difference shown
//!     differential --show 0x1f2e...              print a case's config
//!     differential --shrink 0x1f2e... --fact K   the smallest config still differing on K
//!     differential --config FILE [--fact K]      one config (or saved finding), or shrink it

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use kapsel_differential::batch::{self, Verbosity};
use kapsel_differential::{gen, rng, setup, shrink, workspace};

#[derive(Parser, Debug)]
#[command(
    name = "differential",
    about = "kapsel against runc and crun on generated configs"
)]
struct Args {
    /// The batch seed: case i gets a seed derived from it.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many configs.
    #[arg(long, default_value_t = 100)]
    count: u64,
    /// Cases run at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Run only these case seeds (hex `0x...` or decimal), showing every difference.
    #[arg(long = "case", value_parser = parse_seed)]
    cases: Vec<u64>,
    /// List the batch's case seeds with the parts each varies, without running anything.
    #[arg(long)]
    list: bool,
    /// Run one config file (with the generator's placeholders `@BUNDLE@`, `@ID@`...), or the
    /// `config` of a saved finding, showing every difference; with --shrink-fact, shrink it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Print the config of a case seed and exit.
    #[arg(long, value_parser = parse_seed)]
    show: Option<u64>,
    /// With --show: also write the case as a runnable bundle into DIR (id `repro`; joined
    /// namespaces need a helper's pid in place of `@NS:<kind>@`).
    #[arg(long)]
    bundle: Option<PathBuf>,
    /// Shrink a case seed (or a config file given with --config) to a minimal config that
    /// still differs on --fact.
    #[arg(long, value_parser = parse_seed)]
    shrink: Option<u64>,
    /// The fact (a glob) --shrink keeps.
    #[arg(long)]
    fact: Option<String>,
    /// Save each case with differences that are not deliberate to DIR/<seed>.json.
    #[arg(long)]
    findings: Option<PathBuf>,
    /// The allow-list document.
    #[arg(long)]
    allow: Option<PathBuf>,
    /// Work dir (bundles, state roots, the probe).
    #[arg(long)]
    work: Option<PathBuf>,
    /// Run this binary in kapsel's column (e.g. runc, to see that runc against itself shows
    /// no difference: what differs per run is normalised).
    #[arg(long)]
    as_kapsel: Option<PathBuf>,
    /// Compare kapsel and runc only.
    #[arg(long)]
    no_crun: bool,
    /// Print every fact of every run (with --case).
    #[arg(long)]
    facts: bool,
    /// Print every case and every difference, explained ones too.
    #[arg(long, short)]
    verbose: bool,
}

fn parse_seed(s: &str) -> Result<u64, String> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    }
    .map_err(|e| format!("seed `{s}`: {e}"))
}

/// A config file, or the `config` member of a saved finding.
fn read_config(path: &std::path::Path) -> Result<serde_json::Value, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("read `{}`: {e}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("`{}`: {e}", path.display()))?;
    Ok(match value.get("config") {
        Some(c) if value.get("finding").is_some() => c.clone(),
        _ => value,
    })
}

/// A runnable bundle of `config` in `dir`, with the rootfs and probe a batch uses.
fn write_bundle(dir: &std::path::Path, config: &serde_json::Value) -> Result<(), String> {
    let work = workspace().join("target/differential");
    std::fs::create_dir_all(&work).map_err(|e| format!("mkdir `{}`: {e}", work.display()))?;
    let [kapsel, _, _] = kapsel_differential::runtimes::locate()?;
    let it = kapsel_integration::runtime::Runtime {
        path: kapsel.path,
        is_kapsel: true,
    };
    let base = kapsel_integration::bundle::base(&work, &it)?;
    let probe = kapsel_integration::probe::binary(&work)?;
    let dir = std::path::absolute(dir).map_err(|e| format!("`{}`: {e}", dir.display()))?;
    kapsel_differential::world::make_bundle(&dir, config, &base.rootfs, probe)?;
    let filled = kapsel_differential::world::fill(config, &dir, "repro", None)?;
    let path = dir.join("config.json");
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&filled).unwrap_or_default(),
    )
    .map_err(|e| format!("write `{}`: {e}", path.display()))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let root = workspace();
    if let Some(seed) = args.show {
        let case = gen::generate(seed, &gen::Sources::live_or_fixed());
        println!(
            "{}",
            serde_json::to_string_pretty(&case.config).unwrap_or_default()
        );
        eprintln!("origin: {}", case.origin);
        if let Some(dir) = &args.bundle {
            if let Err(e) = write_bundle(dir, &case.config) {
                eprintln!("differential: {e}");
                return ExitCode::FAILURE;
            }
            eprintln!("bundle: {}", dir.display());
        }
        return ExitCode::SUCCESS;
    }
    if args.list {
        let sources = gen::Sources::live_or_fixed();
        for i in 0..args.count {
            let case = gen::generate(rng::case_seed(args.seed, i), &sources);
            println!("{:#018x} {}", case.seed, case.origin);
        }
        return ExitCode::SUCCESS;
    }
    let work = args
        .work
        .clone()
        .unwrap_or_else(|| root.join("target/differential"));
    let allow = args
        .allow
        .clone()
        .unwrap_or_else(|| root.join("docs/differences.md"));
    let mut env = match setup(&work, &allow, !args.no_crun) {
        Ok(env) => env,
        Err(e) => {
            eprintln!("differential: {e}");
            return ExitCode::FAILURE;
        }
    };
    env.show_facts = args.facts;
    if let Some(path) = &args.as_kapsel {
        env.runtimes[0].path = path.clone();
    }
    let from_file = match &args.config {
        Some(path) => match read_config(path) {
            Ok(config) => Some(gen::Case {
                seed: 0,
                origin: path.display().to_string(),
                config,
                hostile: Vec::new(),
            }),
            Err(e) => {
                eprintln!("differential: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => None,
    };
    if args.shrink.is_some() || (from_file.is_some() && args.fact.is_some()) {
        let Some(fact) = &args.fact else {
            eprintln!("differential: --shrink needs --fact");
            return ExitCode::FAILURE;
        };
        let case = from_file
            .clone()
            .unwrap_or_else(|| gen::generate(args.shrink.unwrap_or_default(), &env.sources));
        let result = shrink::shrink(&env, &case.config, fact, |p| {
            eprintln!("shrink: removed {p}")
        });
        let _ = std::fs::remove_dir_all(&env.work);
        return match result {
            Ok(small) => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&small).unwrap_or_default()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("differential: {e}");
                ExitCode::FAILURE
            }
        };
    }
    if let Some(case) = from_file {
        let r = batch::run_case(&env, &case);
        batch::print_case(&mut std::io::stdout().lock(), &r, Verbosity { all: true });
        let _ = std::fs::remove_dir_all(&env.work);
        return if r.diffs.iter().any(|j| j.rule.is_none()) || r.error.is_some() {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    let (seeds, verbose): (Vec<u64>, bool) = if args.cases.is_empty() {
        (
            (0..args.count)
                .map(|i| rng::case_seed(args.seed, i))
                .collect(),
            args.verbose,
        )
    } else {
        (args.cases.clone(), true)
    };
    let started = Instant::now();
    let summary = batch::run_batch(
        &env,
        &seeds,
        args.jobs,
        Verbosity { all: verbose },
        args.findings.as_deref(),
    );
    let _ = std::fs::remove_dir_all(&env.work);
    println!("groups of differences (fact: kapsel vs the reference; verdict; cases):");
    for ((key, k, r, verdict), seeds) in &summary.groups {
        println!(
            "  {key}: `{k}` vs `{r}` [{verdict}] {} case(s), e.g. {:#018x}",
            seeds.len(),
            seeds[0]
        );
    }
    for rule in &env.allow.rules {
        if !summary.rule_hits.contains_key(&rule.name) {
            println!("  rule `{}` matched nothing in this batch", rule.name);
        }
    }
    println!(
        "time: {:.1} s for {} configs",
        started.elapsed().as_secs_f64(),
        seeds.len()
    );
    println!("{}", summary.line());
    if summary.unexplained() > 0 || summary.errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
