//! The configs generation starts from: what `runc spec`, `crun spec` and `kapsel spec` write
//! (live, from the runtimes under test; recorded copies in `specs/` serve the unit tests),
//! and the configs real callers passed to their runtime (`callers/`, recorded from podman,
//! buildah, containerd's ctr and CRI plugin, and docker), adapted to run here.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use crate::rng::Rng;

/// The recorded caller configs, by name.
const CALLERS: [(&str, &str); 7] = [
    (
        "podman-create",
        include_str!("../../callers/podman-create.config.json"),
    ),
    (
        "podman-rootless",
        include_str!("../../callers/podman-rootless-create.config.json"),
    ),
    (
        "buildah-bud",
        include_str!("../../callers/buildah-bud-create.config.json"),
    ),
    (
        "docker-create",
        include_str!("../../callers/docker-create.config.json"),
    ),
    (
        "ctr-create",
        include_str!("../../callers/containerd-ctr-create.config.json"),
    ),
    (
        "cri-container",
        include_str!("../../callers/containerd-cri-container.config.json"),
    ),
    (
        "cri-sandbox",
        include_str!("../../callers/containerd-cri-sandbox.config.json"),
    ),
];

/// Base configs and the default seccomp profile that stands in for the callers' elided rules.
#[derive(Debug, Clone)]
pub struct Sources {
    /// (name, weight, config) of each base.
    bases: Vec<(String, u64, Value)>,
    /// `kapsel spec --seccomp`'s profile: docker's and podman's default.
    pub default_seccomp: Value,
}

impl Sources {
    /// The recorded `spec` outputs of `specs/` and the callers: for tests that must not
    /// depend on installed runtimes.
    pub fn fixed() -> Sources {
        let parse = |text: &str| serde_json::from_str::<Value>(text).expect("recorded spec");
        Sources::with_specs(vec![
            ("runc-spec", parse(include_str!("../../specs/runc.json"))),
            (
                "runc-spec-rootless",
                parse(include_str!("../../specs/runc-rootless.json")),
            ),
            ("crun-spec", parse(include_str!("../../specs/crun.json"))),
            (
                "kapsel-spec",
                parse(include_str!("../../specs/kapsel.json")),
            ),
            (
                "kapsel-spec-seccomp",
                parse(include_str!("../../specs/kapsel-seccomp.json")),
            ),
        ])
    }

    /// The `spec` outputs of the runtimes themselves (kapsel's with and without `--seccomp`,
    /// runc's with and without `--rootless`), written in `scratch`.
    pub fn live(
        kapsel: &Path,
        runc: &Path,
        crun: &Path,
        scratch: &Path,
    ) -> Result<Sources, String> {
        let spec =
            |name: &str, bin: &Path, args: &[&str]| -> Result<(&'static str, Value), String> {
                let dir = scratch.join(name);
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("mkdir `{}`: {e}", dir.display()))?;
                let _ = std::fs::remove_file(dir.join("config.json"));
                let out = Command::new(bin)
                    .arg("spec")
                    .args(args)
                    .current_dir(&dir)
                    .output()
                    .map_err(|e| format!("run `{} spec`: {e}", bin.display()))?;
                if !out.status.success() {
                    return Err(format!(
                        "`{} spec {}` failed: {}",
                        bin.display(),
                        args.join(" "),
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
                let text = std::fs::read_to_string(dir.join("config.json"))
                    .map_err(|e| format!("read the config of `{} spec`: {e}", bin.display()))?;
                let value = serde_json::from_str(&text)
                    .map_err(|e| format!("`{} spec` wrote no JSON: {e}", bin.display()))?;
                Ok((leak(name), value))
            };
        Ok(Sources::with_specs(vec![
            spec("runc-spec", runc, &[])?,
            spec("runc-spec-rootless", runc, &["--rootless"])?,
            spec("crun-spec", crun, &[])?,
            spec("kapsel-spec", kapsel, &[])?,
            spec("kapsel-spec-seccomp", kapsel, &["--seccomp"])?,
        ]))
    }

    /// The live `spec` outputs when the runtimes are installed (what a batch uses), else the
    /// recorded ones, said on stderr.
    pub fn live_or_fixed() -> Sources {
        let scratch =
            std::env::temp_dir().join(format!("differential-specs-{}", std::process::id()));
        let live = crate::runtimes::locate()
            .and_then(|[k, r, c]| Sources::live(&k.path, &r.path, &c.path, &scratch));
        let _ = std::fs::remove_dir_all(&scratch);
        live.unwrap_or_else(|e| {
            eprintln!("differential: recorded spec outputs ({e})");
            Sources::fixed()
        })
    }

    fn with_specs(specs: Vec<(&str, Value)>) -> Sources {
        let default_seccomp = specs
            .iter()
            .find(|(n, _)| *n == "kapsel-spec-seccomp")
            .map(|(_, c)| c["linux"]["seccomp"].clone())
            .unwrap_or(Value::Null);
        let weight = |name: &str| match name {
            "runc-spec" => 22,
            "kapsel-spec" => 16,
            "crun-spec" => 12,
            "kapsel-spec-seccomp" => 8,
            _ => 5,
        };
        let mut bases: Vec<(String, u64, Value)> = specs
            .into_iter()
            .map(|(name, config)| (name.to_string(), weight(name), from_spec(config)))
            .collect();
        for (name, text) in CALLERS {
            let recorded: Value = serde_json::from_str(text).expect("recorded caller config");
            bases.push((name.to_string(), 5, from_caller(recorded, &default_seccomp)));
        }
        Sources {
            bases,
            default_seccomp,
        }
    }

    /// The names of every base.
    pub fn names(&self) -> Vec<String> {
        self.bases.iter().map(|(n, _, _)| n.clone()).collect()
    }

    /// A base by weight: its name and a copy of its config.
    pub fn pick(&self, rng: &mut Rng) -> (&str, Value) {
        let total: u64 = self.bases.iter().map(|(_, w, _)| w).sum();
        let mut roll = rng.below(total);
        for (name, weight, config) in &self.bases {
            if roll < *weight {
                return (name, config.clone());
            }
            roll -= weight;
        }
        unreachable!("the roll is below the total weight")
    }
}

/// Spec names live for the whole run; five small strings.
fn leak(name: &str) -> &'static str {
    Box::leak(name.to_string().into_boxed_str())
}

/// A `spec` output made to run here: rootfs `rootfs` of the bundle, no terminal.
fn from_spec(mut config: Value) -> Value {
    config["root"]["path"] = json!("rootfs");
    config["process"]["terminal"] = json!(false);
    config
}

/// A caller's recorded config made to run here: the rootfs of the bundle; its bind sources
/// files or directories in the bundle; joined namespaces those of the harness's helper; its
/// hooks (docker's libnetwork hook) recording hooks; `<ID>` the container id; elided seccomp
/// rules the default profile's.
fn from_caller(mut config: Value, default_seccomp: &Value) -> Value {
    config["root"]["path"] = json!("rootfs");
    config["process"]["terminal"] = json!(false);
    if let Some(mounts) = config["mounts"].as_array_mut() {
        for m in mounts {
            let Some(source) = m["source"].as_str() else {
                continue;
            };
            if !source.starts_with('/') {
                continue;
            }
            let dest = m["destination"].as_str().unwrap_or("");
            let file_like = ["/etc/", "/run/.containerenv"]
                .iter()
                .any(|p| dest.starts_with(p));
            let base = Path::new(source)
                .file_name()
                .map(|n| n.to_string_lossy().trim_start_matches('.').to_string())
                .unwrap_or_default();
            let kind = if file_like { "f" } else { "d" };
            m["source"] = json!(format!("@BUNDLE@/host/{kind}-{base}"));
        }
    }
    if let Some(list) = config["linux"]["namespaces"].as_array_mut() {
        for ns in list {
            if ns["path"].is_string() {
                let file = match ns["type"].as_str().unwrap_or("") {
                    "network" => "net",
                    "mount" => "mnt",
                    other => other,
                }
                .to_string();
                ns["path"] = json!(format!("@NS:{file}@"));
            }
        }
    }
    if let Some(hooks) = config["hooks"].as_object_mut() {
        for (kind, list) in hooks.iter_mut() {
            let n = list.as_array().map_or(0, Vec::len);
            *list = json!((0..n)
                .map(|i| super::hooks::recorder(kind, i, 0))
                .collect::<Vec<_>>());
        }
    }
    if let Some(path) = config["linux"]["cgroupsPath"].as_str() {
        let path = if path.contains("<ID>") {
            path.replace("<ID>", "@ID@")
        } else {
            format!("{}-@ID@", path.trim_end_matches('/'))
        };
        config["linux"]["cgroupsPath"] = json!(path);
    }
    let elided = config["linux"]["seccomp"]["syscalls"]
        .as_array()
        .is_some_and(|rules| rules.iter().any(Value::is_string));
    if elided {
        config["linux"]["seccomp"]["syscalls"] = default_seccomp["syscalls"].clone();
    }
    // Annotations name the id too (CRI's sandbox id).
    serde_json::from_str(&config.to_string().replace("<ID>", "@ID@")).unwrap_or(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_are_adapted_to_the_bundle_and_helper() {
        let sources = Sources::fixed();
        for (name, _, config) in &sources.bases {
            let text = config.to_string();
            assert!(!text.contains("<ID>"), "{name}: {text}");
            assert!(
                !config["mounts"].to_string().contains("/tmp/callers"),
                "{name}"
            );
            assert!(!text.contains("/proc/2"), "{name}");
            assert_eq!(config["root"]["path"], "rootfs", "{name}");
            if let Some(rules) = config["linux"]["seccomp"]["syscalls"].as_array() {
                assert!(
                    rules.iter().all(Value::is_object),
                    "{name}: elided rules left"
                );
            }
        }
        let cri = sources
            .bases
            .iter()
            .find(|b| b.0 == "cri-container")
            .unwrap();
        assert!(cri.2.to_string().contains("@NS:net@"));
    }
}
