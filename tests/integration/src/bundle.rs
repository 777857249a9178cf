//! Test bundles: one busybox base rootfs per runtime and test process (built with
//! scripts/mkbundle.sh), and a cheap per-test copy whose config.json is edited as JSON.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::{json, Value};

use crate::runtime::Runtime;

/// The shared, read-only base: rootfs and the runtime's default config.
#[derive(Debug)]
pub struct Base {
    /// The base rootfs; per-test copies hard-link its files.
    pub rootfs: PathBuf,
    /// `RUNTIME spec` output with terminal=false and args=["sh"].
    pub config: Value,
}

static BASE: OnceLock<Result<Base, String>> = OnceLock::new();

/// Builds (once per process) or reuses the base bundle under `tmp`.
pub fn base(tmp: &Path, rt: &Runtime) -> Result<&'static Base, String> {
    BASE.get_or_init(|| build_base(tmp, rt))
        .as_ref()
        .map_err(Clone::clone)
}

fn build_base(tmp: &Path, rt: &Runtime) -> Result<Base, String> {
    let dir = tmp.join(format!("kapsel-itest-base-{}", rt.name()));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/mkbundle.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&dir)
        .arg(&rt.path)
        .output()
        .map_err(|e| format!("run `{}`: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "`{} {}` failed: {}",
            script.display(),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let path = dir.join("config.json");
    let text =
        std::fs::read_to_string(&path).map_err(|e| format!("read `{}`: {e}", path.display()))?;
    let config =
        serde_json::from_str(&text).map_err(|e| format!("parse `{}`: {e}", path.display()))?;
    Ok(Base {
        rootfs: dir.join("rootfs"),
        config,
    })
}

/// The value at a JSON pointer in `config`, made (null, with objects on the way) when missing.
pub fn entry<'a>(config: &'a mut Value, pointer: &str) -> &'a mut Value {
    let mut node = config;
    for key in pointer.split('/').skip(1) {
        if !node.is_object() {
            *node = json!({});
        }
        node = node
            .as_object_mut()
            .map(|o| o.entry(key.to_string()).or_insert(Value::Null))
            .unwrap_or_else(|| unreachable!("made an object above"));
    }
    node
}

/// A per-test bundle: `dir/rootfs` (hard-linked copy of the base) and a config edited in memory
/// and written by [`Bundle::write`] (the context writes it before create/run).
#[derive(Debug, Clone)]
pub struct Bundle {
    /// The bundle directory.
    pub dir: PathBuf,
    /// The config.json to write.
    pub config: Value,
}

impl Bundle {
    /// Copies the base into `dir` (`cp -al`: tests must not modify existing rootfs files).
    pub fn copy_of(base: &Base, dir: &Path) -> Bundle {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("mkdir `{}`: {e}", dir.display()));
        let status = Command::new("cp")
            .arg("-a")
            .arg("-l")
            .arg(&base.rootfs)
            .arg(dir.join("rootfs"))
            .status()
            .unwrap_or_else(|e| panic!("run cp: {e}"));
        assert!(
            status.success(),
            "cp -al `{}` failed",
            base.rootfs.display()
        );
        Bundle {
            dir: dir.to_path_buf(),
            config: base.config.clone(),
        }
    }

    /// The rootfs directory on the host.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("rootfs")
    }

    /// Sets `process.args`.
    pub fn args(&mut self, args: &[&str]) -> &mut Self {
        self.set("/process/args", json!(args))
    }

    /// Sets `process.args` to `["sh", "-c", script]`.
    pub fn sh(&mut self, script: &str) -> &mut Self {
        self.args(&["sh", "-c", script])
    }

    /// Sets the value at a JSON pointer, creating missing objects on the way.
    pub fn set(&mut self, pointer: &str, value: Value) -> &mut Self {
        *entry(&mut self.config, pointer) = value;
        self
    }

    /// Removes the value at a JSON pointer (a no-op when absent).
    pub fn remove(&mut self, pointer: &str) -> &mut Self {
        let (parent, key) = pointer.rsplit_once('/').unwrap_or(("", pointer));
        if let Some(obj) = self
            .config
            .pointer_mut(parent)
            .and_then(Value::as_object_mut)
        {
            obj.remove(key);
        }
        self
    }

    /// Appends a mount and returns its index in `mounts`.
    pub fn push_mount(&mut self, mount: Value) -> usize {
        if !self.config["mounts"].is_array() {
            self.config["mounts"] = json!([]);
        }
        let mounts = self.config["mounts"]
            .as_array_mut()
            .unwrap_or_else(|| unreachable!("made an array above"));
        mounts.push(mount);
        mounts.len() - 1
    }

    /// Adds a namespace entry (`path` to join one), replacing one of the same type.
    pub fn namespace(&mut self, kind: &str, path: Option<&str>) -> &mut Self {
        self.remove_namespace(kind);
        let mut ns = json!({ "type": kind });
        if let Some(p) = path {
            ns["path"] = json!(p);
        }
        if let Some(list) = self
            .config
            .pointer_mut("/linux/namespaces")
            .and_then(Value::as_array_mut)
        {
            list.push(ns);
        } else {
            self.set("/linux/namespaces", json!([ns]));
        }
        self
    }

    /// Drops the namespace entry of `kind`, so the container shares the host's.
    pub fn remove_namespace(&mut self, kind: &str) -> &mut Self {
        if let Some(list) = self
            .config
            .pointer_mut("/linux/namespaces")
            .and_then(Value::as_array_mut)
        {
            list.retain(|ns| ns["type"] != kind);
        }
        self
    }

    /// Adds a hook of `kind` (prestart, createRuntime, poststop...).
    pub fn hook(&mut self, kind: &str, hook: Value) -> &mut Self {
        if !self.config["hooks"][kind].is_array() {
            self.set(&format!("/hooks/{kind}"), json!([]));
        }
        if let Some(list) = self.config["hooks"][kind].as_array_mut() {
            list.push(hook);
        }
        self
    }

    /// Writes config.json.
    pub fn write(&self) {
        let path = self.dir.join("config.json");
        let text = serde_json::to_string_pretty(&self.config)
            .unwrap_or_else(|e| panic!("serialize config: {e}"));
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write `{}`: {e}", path.display()));
    }
}
