//! `assay run --cri ENDPOINT --handler NAME[=PATH]...`: the CRI benchmarks on every handler,
//! with the same matrix, results file and report as the direct mode. Columns are named
//! `CRI/handler` (`cd/runc`, `cd/kapsel`), as in TouchStone's tables.

use std::path::Path;
use std::process::Command;

use crate::config::Config;
use crate::glob;
use crate::machine::Machine;
use crate::results::{Results, RuntimeInfo};
use crate::runner::{matrix, Row};
use crate::timefmt;

use super::bench::{self, Ctx};
use super::containerd::Handler;
use super::endpoint::{Endpoint, PRIVATE};
use super::pod;

/// The handlers to run: those given, with a private containerd's binaries taken from the
/// configured runtimes when only a name is given; none given means every configured runtime
/// without a wrapper.
pub fn resolve_handlers(
    config: &Config,
    endpoint: &str,
    given: &[Handler],
) -> Result<Vec<Handler>, String> {
    let mut handlers: Vec<Handler> = if given.is_empty() {
        config
            .runtimes
            .iter()
            .filter(|r| r.wrapper.is_empty())
            .map(|r| Handler {
                name: r.name.clone(),
                binary: r.path.clone(),
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
                        format!(
                            "--handler {}: no path, and no runtime of that name is configured",
                            h.name
                        )
                    })?;
                h.binary = rt.path.clone();
            }
        }
    }
    if handlers.is_empty() {
        return Err("--handler: none given (e.g. --handler runc --handler kapsel)".into());
    }
    Ok(handlers)
}

fn binary_version(binary: &Path) -> Option<String> {
    let out = Command::new(binary).arg("--version").output().ok()?;
    Some(crate::runtime::version_line(&String::from_utf8_lossy(
        &out.stdout,
    )))
}

pub fn run(
    config: &Config,
    endpoint: &str,
    handlers: &[Handler],
    mkimage: &Path,
) -> Result<Results, String> {
    let benches: Vec<bench::Bench> = bench::catalog(&config.scales)
        .into_iter()
        .filter(|b| glob::selected(&config.suites, &b.name))
        .collect();
    if benches.is_empty() {
        return Err(format!(
            "suites: no CRI benchmark matches {:?} (see `assay list --cri`)",
            config.suites
        ));
    }
    let started_unix = timefmt::unix_now();
    let tag = format!("assay-{}", std::process::id());
    let ep = Endpoint::open(endpoint, handlers, mkimage, &tag)?;
    let prefix = ep.short_name();
    let columns: Vec<String> = handlers
        .iter()
        .map(|h| format!("{prefix}/{}", h.name))
        .collect();
    let parent = format!("/assay-cri-{tag}");
    let ctx = Ctx::new(&ep.cri, config, parent.clone());
    let rows: Vec<Row> = benches
        .iter()
        .map(|b| Row::new(&b.name, &b.description, &b.metrics, columns.clone()))
        .collect();
    let out = matrix(config, &rows, |bi, ti| {
        bench::run_once(&ctx, &benches[bi], &handlers[ti].name)
    });
    let version = ep.version.clone();
    let socket = endpoint.to_string();
    drop(ctx);
    ep.close();
    pod::remove_cgroup_parent(&parent);
    let benchmarks = out?;
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
    Ok(Results {
        assay_version: env!("CARGO_PKG_VERSION").to_string(),
        started: timefmt::rfc3339(started_unix),
        finished: timefmt::rfc3339(timefmt::unix_now()),
        started_unix,
        machine: Machine::probe(Path::new("/")),
        config: config.clone(),
        baseline,
        runtimes: handlers
            .iter()
            .zip(&columns)
            .map(|(h, col)| RuntimeInfo {
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
                    Some(v) => format!("{v} under {version}"),
                    None => version.clone(),
                },
            })
            .collect(),
        orphans_reaped: 0,
        benchmarks,
    })
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
}
