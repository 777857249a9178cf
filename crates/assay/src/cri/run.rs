//! `assay run --cri ENDPOINT --handler NAME[=PATH]...`: the CRI benchmarks on every handler,
//! with the same matrix, results file and report as the direct mode. Columns are named
//! `CRI/handler` (`cd/runc`, `cd/kapsel`), as in TouchStone's tables.

use std::path::Path;
use std::process::Command;

use crate::config::Config;
use crate::error::{Context, Error};
use crate::glob;
use crate::machine::Machine;
use crate::matrix::{matrix, Row};
use crate::results::MatrixRun;
use crate::results::{Results, RunHead, RuntimeInfo};
use crate::timefmt;

use super::bench;
use super::containerd::Handler;
use super::endpoint::{Endpoint, PRIVATE};
use super::pod;
use super::session::Ctx;

/// The handlers to run: those given, with a private containerd's binaries taken from the
/// configured runtimes when only a name is given; none given means every configured runtime
/// without a wrapper.
pub fn resolve_handlers(
    config: &Config,
    endpoint: &str,
    given: &[Handler],
) -> Result<Vec<Handler>, Error> {
    let mut handlers: Vec<Handler> = if given.is_empty() {
        config
            .runtimes
            .iter()
            .filter(|r| r.wrapper.is_empty())
            .map(|r| Handler {
                name: r.name.clone(),
                binary: r.path.clone(),
                systemd_cgroup: false,
                passthrough: Vec::new(),
            })
            .collect()
    } else {
        given.to_vec()
    };
    if endpoint == PRIVATE {
        for h in &mut handlers {
            if h.binary.as_os_str().is_empty() {
                let rt = config
                    .runtimes
                    .iter()
                    .find(|r| r.name == h.name)
                    .ok_or_else(|| {
                        Error::config(
                            format!("--handler {}", h.name),
                            "no path, and no runtime of that name is configured",
                        )
                    })?;
                h.binary = rt.path.clone();
            }
        }
    }
    if handlers.is_empty() {
        return Err(Error::config(
            "--handler",
            "none given (e.g. --handler runc --handler kapsel)",
        ));
    }
    // containerd runs the binary from its own working folder: a relative path would not
    // be found there.
    for h in &mut handlers {
        if !h.binary.as_os_str().is_empty() && h.binary.is_relative() {
            if let Ok(abs) = std::fs::canonicalize(&h.binary) {
                h.binary = abs;
            }
        }
    }
    Ok(handlers)
}

fn binary_version(binary: &Path) -> Option<String> {
    let out = Command::new(binary).arg("--version").output().ok()?;
    Some(crate::runtime::version_line(&String::from_utf8_lossy(
        &out.stdout,
    )))
}

/// Column prefixes of the endpoints: `cd`, `crio`, ...; a repeated kind gets a number
/// (`cd`, `cd2`), so two containerds can be compared in one run.
pub fn prefixes(short_names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, name) in short_names.iter().enumerate() {
        let before = short_names[..i].iter().filter(|n| *n == name).count();
        out.push(if before == 0 {
            name.clone()
        } else {
            format!("{name}{}", before + 1)
        });
    }
    out
}

/// The CRI benchmarks on every endpoint × handler (TouchStone's `Matrix` of CRI runtimes
/// and OCI runtimes), interleaved like the direct mode.
pub fn run(
    config: &Config,
    endpoints: &[String],
    handlers: &[Handler],
    mkimage: &Path,
    saved: &mut dyn FnMut(&Results),
) -> Result<Results, Error> {
    let catalog = bench::catalog(&config.scales);
    let names: Vec<&str> = catalog.iter().map(|b| b.name.as_str()).collect();
    glob::check(&config.suites, &names, "assay list --cri")?;
    let benches: Vec<bench::Bench> = catalog
        .iter()
        .filter(|b| glob::selected(&config.suites, &b.name))
        .cloned()
        .collect();
    let started_unix = timefmt::unix_now();
    let mut opened: Vec<Endpoint> = Vec::new();
    for (i, spec) in endpoints.iter().enumerate() {
        let tag = format!("assay-{}-{i}", std::process::id());
        crate::progress::status(&format!("assay: opening CRI endpoint `{spec}`"));
        match Endpoint::open(spec, handlers, mkimage, &tag)
            .context(format!("CRI endpoint `{spec}`"))
        {
            Ok(ep) => opened.push(ep),
            Err(e) => {
                opened.into_iter().for_each(Endpoint::close);
                return Err(e);
            }
        }
    }
    let short: Vec<String> = opened.iter().map(Endpoint::short_name).collect();
    let prefixes = prefixes(&short);
    // Columns: endpoint-major, so each endpoint's handlers sit side by side.
    let targets: Vec<(usize, usize)> = (0..opened.len())
        .flat_map(|e| (0..handlers.len()).map(move |h| (e, h)))
        .collect();
    let columns: Vec<String> = targets
        .iter()
        .map(|&(e, h)| format!("{}/{}", prefixes[e], handlers[h].name))
        .collect();
    let parent = format!("/assay-cri-assay-{}", std::process::id());
    let ctxs: Vec<Ctx> = opened
        .iter()
        .map(|ep| Ctx::new(&ep.cri, config, parent.clone()))
        .collect();
    let rows: Vec<Row> = benches
        .iter()
        .map(|b| {
            let est = bench::estimate_s(b.kind, config);
            Row::new(&b.name, &b.description, &b.metrics, columns.clone(), est)
        })
        .collect();
    let baseline = config
        .baseline
        .as_ref()
        .and_then(|b| {
            columns
                .iter()
                .find(|c| *c == b || c.ends_with(&format!("/{b}")))
        })
        .or(columns.first())
        .cloned()
        .unwrap_or_default();
    let versions: Vec<String> = opened.iter().map(|ep| ep.version.clone()).collect();
    let machine = {
        let mut m = Machine::probe(Path::new("/"));
        m.description = config.description.clone().unwrap_or_default();
        m
    };
    let head = RunHead {
        started_unix,
        machine,
        config: config.clone(),
        baseline,
        runtimes: targets
            .iter()
            .zip(&columns)
            .map(|(&(e, hi), col)| {
                let h = &handlers[hi];
                let socket = &endpoints[e];
                RuntimeInfo {
                    name: col.clone(),
                    path: if h.binary.as_os_str().is_empty() {
                        socket.clone()
                    } else {
                        h.binary.display().to_string()
                    },
                    args: vec![
                        format!("--cri {socket}"),
                        format!("runtime_handler={}", h.name),
                    ],
                    wrapper: Vec::new(),
                    version: match binary_version(&h.binary) {
                        Some(v) => format!("{v} under {}", versions[e]),
                        None => versions[e].clone(),
                    },
                }
            })
            .collect(),
    };
    let results = |m: &MatrixRun, complete: bool| Results::of_run(&head, m, complete, 0);
    let out = matrix(
        config,
        &rows,
        |bi, ti| {
            let (e, h) = targets[ti];
            bench::run_once(&ctxs[e], &benches[bi], &handlers[h].name)
        },
        |m| saved(&results(m, false)),
    );
    drop(ctxs);
    opened.into_iter().for_each(Endpoint::close);
    pod::remove_cgroup_parent(&parent);
    Ok(results(&out, !out.interrupted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RuntimeConfig;
    use std::path::PathBuf;

    fn config() -> Config {
        Config {
            runtimes: vec![RuntimeConfig {
                name: "kapsel".into(),
                path: "/opt/kapsel".into(),
                args: Vec::new(),
                wrapper: Vec::new(),
            }],
            ..Config::default()
        }
    }

    #[test]
    fn a_named_handler_takes_the_configured_runtimes_path() {
        let given = [super::super::endpoint::parse_handler("kapsel")];
        let h = resolve_handlers(&config(), PRIVATE, &given).unwrap();
        assert_eq!(h[0].binary, PathBuf::from("/opt/kapsel"));
        let unknown = [super::super::endpoint::parse_handler("nosuch")];
        assert!(resolve_handlers(&config(), PRIVATE, &unknown).is_err());
        // At an existing endpoint the name is all the CRI runtime needs.
        assert!(resolve_handlers(&config(), "unix:///run/c.sock", &unknown).is_ok());
    }

    #[test]
    fn repeated_endpoint_kinds_get_numbered_columns() {
        let short = ["cd".to_string(), "crio".to_string(), "cd".to_string()];
        assert_eq!(prefixes(&short), ["cd", "crio", "cd2"]);
    }
}
