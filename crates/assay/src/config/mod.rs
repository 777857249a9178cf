//! The run configuration: YAML file, command-line overrides, validation. One `runtimes:`
//! entry, its `--runtime`/`--wrapper` syntax and its checks are in `runtimes`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Context, Error};

mod runtimes;

use runtimes::{check_entries, parse_wrapper};
pub use runtimes::{parse_runtime_flag, RuntimeConfig, HIDE_UNIFIED};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum CacheMode {
    /// Page cache left as it is (the default).
    #[default]
    Warm,
    /// `sync` and `drop_caches` before every timed sample.
    Cold,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleConfig {
    /// An existing bundle (config.json + rootfs) to start from; built from busybox when absent.
    pub dir: Option<PathBuf>,
    /// The static busybox the built rootfs uses.
    #[serde(default = "default_busybox")]
    pub busybox: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub runtimes: Vec<RuntimeConfig>,
    pub bundle: BundleConfig,
    /// Benchmark name patterns (`operations`, `*.lifecycle`); empty selects all.
    pub suites: Vec<String>,
    pub runs: u32,
    pub warmup: u32,
    /// Container counts for the scalability suite.
    pub scales: Vec<u32>,
    /// The runtime the ratios are computed against; the first runtime when absent.
    pub baseline: Option<String>,
    pub output: PathBuf,
    pub cache: CacheMode,
    /// Idle time before every timed sample, the same for every runtime.
    pub spacing_ms: u64,
    /// Length of each sysbench run in the performance and limits suites.
    pub seconds: u32,
    /// Where bundles, state and scratch files go; removed afterwards.
    pub work_dir: Option<PathBuf>,
    /// Exit with 1 when a cell failed; default: on when the `CI` variable is set.
    pub strict: Option<bool>,
    /// Seed of the per-round shuffle of the runtime order; default: from the clock.
    pub seed: Option<u64>,
    /// Seconds a runtime verb may take before it is killed and its sample fails, by verb
    /// (`create: 120`); the others keep their defaults (see `Config::time_limit`).
    pub time_limits: BTreeMap<String, u64>,
    /// A line about this machine for reports that compare machines ("4-core VM, NVMe").
    pub description: Option<String>,
}

/// Verbs with a time limit of their own, and their defaults in seconds; `run` also gets four
/// times the sysbench `seconds`.
pub const TIME_LIMITS: [(&str, u64); 8] = [
    ("version", 10),
    ("create", 60),
    ("start", 30),
    ("state", 30),
    ("kill", 30),
    ("delete", 60),
    ("update", 30),
    ("run", 60),
];

impl Default for Config {
    fn default() -> Self {
        Config {
            runtimes: Vec::new(),
            bundle: BundleConfig::default(),
            suites: Vec::new(),
            runs: 10,
            warmup: 1,
            scales: vec![5, 10, 50],
            baseline: None,
            output: PathBuf::from("results.json"),
            cache: CacheMode::Warm,
            spacing_ms: 20,
            seconds: 5,
            work_dir: None,
            strict: None,
            seed: None,
            time_limits: BTreeMap::new(),
            description: None,
        }
    }
}

fn default_busybox() -> PathBuf {
    PathBuf::from("/bin/busybox")
}

impl Default for BundleConfig {
    fn default() -> Self {
        BundleConfig {
            dir: None,
            busybox: default_busybox(),
        }
    }
}

/// Values from the command line that replace those of the file.
#[derive(Debug, Default)]
pub struct Overrides {
    pub runtimes: Vec<RuntimeConfig>,
    /// `NAME=WRAPPER` pairs from `--wrapper`.
    pub wrappers: Vec<String>,
    pub suites: Vec<String>,
    pub runs: Option<u32>,
    pub warmup: Option<u32>,
    pub output: Option<PathBuf>,
    pub baseline: Option<String>,
    pub scales: Vec<u32>,
    pub cache: Option<CacheMode>,
    pub spacing_ms: Option<u64>,
    pub seconds: Option<u32>,
    pub strict: Option<bool>,
    pub seed: Option<u64>,
    pub description: Option<String>,
}

impl Config {
    /// Parses YAML text; `origin` names the file in errors.
    pub fn from_yaml(text: &str, origin: &str) -> Result<Config, Error> {
        serde_yaml_ng::from_str(text).map_err(|source| Error::Yaml {
            origin: origin.into(),
            source,
        })
    }

    pub fn load(path: &Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path).map_err(Error::io("read config", path))?;
        Config::from_yaml(&text, &path.display().to_string())
    }

    /// Applies command-line values: runtimes replace those of the same name (or are added),
    /// the other flags replace the file's value.
    pub fn apply(&mut self, o: Overrides) -> Result<(), Error> {
        for rt in o.runtimes {
            match self.runtimes.iter_mut().find(|r| r.name == rt.name) {
                Some(existing) => *existing = rt,
                None => self.runtimes.push(rt),
            }
        }
        for w in &o.wrappers {
            let field = || format!("--wrapper `{w}`");
            let (name, line) = w
                .split_once('=')
                .ok_or_else(|| Error::config(field(), "expected NAME=COMMAND"))?;
            let rt = self
                .runtimes
                .iter_mut()
                .find(|r| r.name == name)
                .ok_or_else(|| Error::config(field(), format!("no runtime named `{name}`")))?;
            rt.wrapper = parse_wrapper(line).context(field())?;
        }
        if !o.suites.is_empty() {
            self.suites = o.suites;
        }
        if !o.scales.is_empty() {
            self.scales = o.scales;
        }
        self.runs = o.runs.unwrap_or(self.runs);
        self.warmup = o.warmup.unwrap_or(self.warmup);
        self.output = o.output.unwrap_or(std::mem::take(&mut self.output));
        self.baseline = o.baseline.or(self.baseline.take());
        self.cache = o.cache.unwrap_or(self.cache);
        self.spacing_ms = o.spacing_ms.unwrap_or(self.spacing_ms);
        self.seconds = o.seconds.unwrap_or(self.seconds);
        self.strict = o.strict.or(self.strict);
        self.seed = o.seed.or(self.seed);
        self.description = o.description.or(self.description.take());
        Ok(())
    }

    /// Checks what serde cannot: each error names the key.
    pub fn validate(&self) -> Result<(), Error> {
        let err = |field: String, problem: String| Err(Error::config(field, problem));
        if self.runtimes.is_empty() {
            return err(
                "runtimes".into(),
                "none configured (use --runtime NAME=PATH or a config file)".into(),
            );
        }
        check_entries(&self.runtimes)?;
        let at_least_1 = || "must be at least 1".to_string();
        if self.runs == 0 {
            return err("runs".into(), at_least_1());
        }
        if self.scales.contains(&0) {
            return err(
                "scales".into(),
                "container counts must be at least 1".into(),
            );
        }
        if self.seconds == 0 {
            return err("seconds".into(), at_least_1());
        }
        for (verb, secs) in &self.time_limits {
            let field = format!("time_limits.{verb}");
            if !TIME_LIMITS.iter().any(|(v, _)| v == verb) {
                let known: Vec<&str> = TIME_LIMITS.iter().map(|(v, _)| *v).collect();
                let problem = format!("not a verb with a time limit (one of {})", known.join(", "));
                return err(field, problem);
            }
            if *secs == 0 {
                return err(field, at_least_1());
            }
        }
        if let Some(b) = &self.baseline {
            if !self.runtimes.iter().any(|r| &r.name == b) {
                return err(
                    "baseline".into(),
                    format!("`{b}` is not a configured runtime"),
                );
            }
        }
        Ok(())
    }

    /// How long `verb` may run before it is killed.
    pub fn time_limit(&self, verb: &str) -> Duration {
        let default = TIME_LIMITS
            .iter()
            .find(|(v, _)| *v == verb)
            .map_or(120, |(_, s)| *s);
        let extra = if verb == "run" {
            4 * u64::from(self.seconds)
        } else {
            0
        };
        Duration::from_secs(self.time_limits.get(verb).copied().unwrap_or(default) + extra)
    }

    /// Strict unless told otherwise, when the `CI` variable is set (as CI systems do).
    pub fn is_strict(&self) -> bool {
        self.strict.unwrap_or_else(|| {
            std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
        })
    }

    /// The baseline runtime's name.
    pub fn baseline_name(&self) -> String {
        self.baseline
            .clone()
            .or_else(|| self.runtimes.first().map(|r| r.name.clone()))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"
runtimes:
  - name: runc
    path: /usr/sbin/runc
  - name: crun
    path: /usr/bin/crun
    wrapper: hide-unified
  - name: kapsel
    path: /work/main/target/release/kapsel
    args: ["--log-format", "json"]
    wrapper: ["env", "A=1"]
suites: ["operations", "scalability.*"]
runs: 5
warmup: 2
scales: [2, 4]
baseline: runc
output: out.json
cache: cold
"#;

    #[test]
    fn parses_a_full_file() {
        let c = Config::from_yaml(SAMPLE, "t.yaml").unwrap();
        assert_eq!(c.runtimes.len(), 3);
        assert_eq!(c.runtimes[1].wrapper, [HIDE_UNIFIED]);
        assert_eq!(c.runtimes[2].wrapper, ["env", "A=1"]);
        assert_eq!(c.runtimes[2].args, ["--log-format", "json"]);
        assert_eq!((c.runs, c.warmup, c.cache), (5, 2, CacheMode::Cold));
        assert_eq!(c.scales, [2, 4]);
        assert_eq!(c.output, PathBuf::from("out.json"));
        assert_eq!(c.spacing_ms, 20, "unset keys keep their default");
        c.validate().unwrap();
    }

    #[test]
    fn the_shipped_config_is_valid() {
        let c = Config::from_yaml(include_str!("../../assay.yaml"), "assay.yaml").unwrap();
        c.validate().unwrap();
        let names: Vec<&str> = c.runtimes.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["runc", "crun", "kapsel"]);
        assert_eq!(c.runtimes[1].wrapper, [HIDE_UNIFIED]);
    }

    #[test]
    fn unknown_key_is_named_on_one_line() {
        let e = Config::from_yaml("runtimes: []\nrunz: 3\n", "bad.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("runz"), "{e}");
        assert!(e.contains("bad.yaml"), "{e}");
        assert!(!e.contains('\n'));
        let e = Config::from_yaml("runtimes:\n  - name: a\n    pth: /x\n", "b")
            .unwrap_err()
            .to_string();
        assert!(e.contains("pth"), "{e}");
    }

    #[test]
    fn wrong_type_is_named() {
        let e = Config::from_yaml("runs: many\n", "c")
            .unwrap_err()
            .to_string();
        assert!(e.contains("runs"), "{e}");
    }

    #[test]
    fn validation_names_the_key() {
        let mut c = Config::from_yaml(SAMPLE, "t").unwrap();
        c.baseline = Some("nosuch".into());
        let e = |c: &Config| c.validate().unwrap_err().to_string();
        assert!(e(&c).starts_with("baseline:"));
        let mut c = Config::from_yaml(SAMPLE, "t").unwrap();
        c.runtimes[2].name = "runc".into();
        assert!(e(&c).starts_with("runtimes[2].name"));
        let mut c = Config::from_yaml(SAMPLE, "t").unwrap();
        c.runs = 0;
        assert!(e(&c).starts_with("runs:"));
        assert!(e(&Config::default()).starts_with("runtimes:"));
    }

    #[test]
    fn time_limits_per_verb() {
        let mut c = Config::from_yaml("time_limits:\n  create: 5\nseconds: 3\n", "t").unwrap();
        assert_eq!(c.time_limit("create"), Duration::from_secs(5));
        assert_eq!(c.time_limit("state"), Duration::from_secs(30));
        assert_eq!(
            c.time_limit("run"),
            Duration::from_secs(72),
            "run: + 4 x seconds"
        );
        c.runtimes.push(parse_runtime_flag("a=/bin/true").unwrap());
        c.validate().unwrap();
        c.time_limits.insert("creat".into(), 5);
        let e = c.validate().unwrap_err().to_string();
        assert!(e.starts_with("time_limits.creat: not a verb"), "{e}");
    }

    #[test]
    fn overrides_replace_file_values() {
        let mut c = Config::from_yaml(SAMPLE, "t").unwrap();
        let o = Overrides {
            runtimes: vec![
                parse_runtime_flag("runc=/opt/runc").unwrap(),
                parse_runtime_flag("y=/y").unwrap(),
            ],
            wrappers: vec!["y=env B=2".into()],
            suites: vec!["limits".into()],
            runs: Some(3),
            output: Some("o.json".into()),
            ..Overrides::default()
        };
        c.apply(o).unwrap();
        assert_eq!(c.runtimes.len(), 4);
        assert_eq!(c.runtimes[0].path, PathBuf::from("/opt/runc"));
        assert_eq!(c.runtimes[3].wrapper, ["env", "B=2"]);
        assert_eq!((c.runs, c.warmup), (3, 2));
        assert_eq!(c.suites, ["limits"]);
        assert_eq!(c.output, PathBuf::from("o.json"));
        let bad = Overrides {
            wrappers: vec!["nosuch=env".into()],
            ..Overrides::default()
        };
        assert!(c
            .apply(bad)
            .unwrap_err()
            .to_string()
            .contains("no runtime named `nosuch`"));
    }
}
