//! The config generator: a seed picks a base config (a runtime's `spec` output or a caller's
//! recorded config) and then varies its fields, each part from its own random stream. The
//! result is valid for the runtime-spec in most cases; a few cases carry one boundary or
//! invalid value (see [`edge`]) so that error classes are compared too.
//!
//! Configs hold placeholders the harness fills per run: `@BUNDLE@` (the bundle dir; files
//! named `@BUNDLE@/host/d-*` are made as directories, `@BUNDLE@/host/f-*` as files),
//! `@NS:<kind>@` (a namespace of a helper process, for joined namespaces) and `@ID@`.

mod edge;
mod hooks;
mod linux;
mod mounts;
mod namespaces;
mod process;
mod seccomp;
pub mod sources;

use serde_json::{json, Value};

use crate::rng::Rng;
pub use sources::Sources;

/// One generated config and where it came from.
#[derive(Debug, Clone)]
pub struct Case {
    /// The seed that reproduces it.
    pub seed: u64,
    /// The base it started from (`runc-spec`, `podman-create`...) and the parts varied.
    pub origin: String,
    /// config.json with placeholders.
    pub config: Value,
    /// Commands run after the lifecycle with a hostile container id: (verb, id), where the
    /// id may name `@RUN@` (the run's own dir, the only place such an id may reach).
    pub hostile: Vec<(String, String)>,
}

/// The config of `seed`.
pub fn generate(seed: u64, sources: &Sources) -> Case {
    let rng = Rng::new(seed);
    let (base, mut config) = sources.pick(&mut rng.fork("base"));
    let mut parts = vec![base.to_string()];
    // Each part: its name, how often it varies, and what it does.
    type Part = fn(&mut Rng, &mut Value, &Sources);
    let table: [(&str, u64, Part); 12] = [
        ("namespaces", 45, namespaces::vary),
        ("mounts", 55, mounts::vary),
        ("seccomp", 45, seccomp::vary),
        ("caps", 40, process::capabilities),
        ("rlimits", 35, process::rlimits),
        ("user", 40, process::user),
        ("process", 40, process::environment),
        ("uts", 30, linux::uts),
        ("sysctl", 25, linux::sysctl),
        ("devices", 25, linux::devices),
        ("paths", 35, linux::masked_readonly),
        ("resources", 40, linux::resources),
    ];
    for (name, percent, vary) in table {
        let mut r = rng.fork(name);
        if r.chance(percent) {
            vary(&mut r, &mut config, sources);
            parts.push(name.to_string());
        }
    }
    for (name, percent, vary) in [
        ("hooks", 35, hooks::vary as Part),
        ("root", 25, linux::root),
    ] {
        let mut r = rng.fork(name);
        if r.chance(percent) {
            vary(&mut r, &mut config, sources);
            parts.push(name.to_string());
        }
    }
    process::probe_args(&mut rng.fork("probe"), &mut config);
    let hostile = edge::hostile_ids(&mut rng.fork("hostile"));
    let mut r = rng.fork("edge");
    if r.chance(20) {
        parts.push(format!("edge:{}", edge::vary(&mut r, &mut config)));
    }
    if !hostile.is_empty() {
        parts.push("hostile-id".into());
    }
    Case {
        seed,
        origin: parts.join("+"),
        config,
        hostile,
    }
}

pub(crate) use kapsel_integration::bundle::entry as at;

/// The array at `pointer`, made when missing or not an array.
pub(crate) fn array<'a>(config: &'a mut Value, pointer: &str) -> &'a mut Vec<Value> {
    let node = at(config, pointer);
    if !node.is_array() {
        *node = json!([]);
    }
    node.as_array_mut()
        .unwrap_or_else(|| unreachable!("made an array above"))
}

/// The strings of an array value.
pub(crate) fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The namespace types the config lists, with `path` when joined.
pub(crate) fn namespaces(config: &Value) -> Vec<(String, Option<String>)> {
    config["linux"]["namespaces"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|ns| {
                    Some((
                        ns["type"].as_str()?.to_string(),
                        ns["path"].as_str().map(str::to_string),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// True when the config lists `kind`, new or joined.
pub(crate) fn has_ns(config: &Value, kind: &str) -> bool {
    namespaces(config).iter().any(|(k, _)| k == kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_reproduces_its_config_exactly() {
        let sources = Sources::fixed();
        for seed in [1u64, 42, 0xdead_beef, u64::MAX] {
            let a = generate(seed, &sources);
            let b = generate(seed, &sources);
            assert_eq!(a.config, b.config, "seed {seed:#x}");
            assert_eq!(a.origin, b.origin);
        }
    }

    #[test]
    fn configs_vary_and_cover_every_part() {
        let sources = Sources::fixed();
        let cases: Vec<Case> = (0..400)
            .map(|i| generate(crate::rng::case_seed(9, i), &sources))
            .collect();
        let distinct: std::collections::BTreeSet<String> =
            cases.iter().map(|c| c.config.to_string()).collect();
        assert!(
            distinct.len() > 390,
            "only {} distinct configs",
            distinct.len()
        );
        for part in [
            "namespaces",
            "mounts",
            "seccomp",
            "caps",
            "rlimits",
            "user",
            "process",
            "uts",
            "sysctl",
            "devices",
            "paths",
            "resources",
            "hooks",
            "root",
            "edge:",
        ] {
            assert!(
                cases.iter().any(|c| c.origin.contains(part)),
                "no case varies {part}"
            );
        }
        for base in sources.names() {
            assert!(
                cases.iter().any(|c| c.origin.starts_with(&base)),
                "no case starts from {base}"
            );
        }
    }

    #[test]
    fn every_config_runs_the_probe() {
        let sources = Sources::fixed();
        for i in 0..200 {
            let case = generate(crate::rng::case_seed(5, i), &sources);
            let args = strings(&case.config["process"]["args"]);
            if case.origin.contains("edge:") {
                continue;
            }
            assert!(
                args.iter().any(|a| a == "wait:term"),
                "{:#x}: {args:?}",
                case.seed
            );
        }
    }
}
