//! The world of one run (one case under one runtime): a bundle (a hard-linked copy of the
//! busybox rootfs with the probe, the host files the config binds, a hooks dir), a state
//! root, and two helper processes — a holder of a private mount namespace that stands in for
//! the host (the runtime runs in it, so a runtime that mounts into its own namespace, as runc
//! does for a config without a mount namespace, cannot touch the real host, and whatever it
//! leaves is visible), and, when the config joins namespaces, a process that owns them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::runtimes::Runtime;
use kapsel_integration::command::Cmd;
use kapsel_integration::{cprog, procfs};

/// One run's directories and helpers; dropping it kills the helpers.
#[derive(Debug)]
pub struct World {
    /// The container id.
    pub id: String,
    /// The run's own dir: bundle, state root, outputs.
    pub dir: PathBuf,
    /// The bundle dir.
    pub bundle: PathBuf,
    /// The runtime's `--root`.
    pub root: PathBuf,
    /// The config as written, placeholders filled.
    pub config: Value,
    /// The runtime.
    pub rt: Runtime,
    holder: Child,
    helper: Option<Child>,
    /// The pid whose namespaces `@NS:<kind>@` names.
    pub helper_pid: Option<i32>,
}

impl World {
    /// Builds the world for `config` (with placeholders) under `parent`.
    pub fn new(
        parent: &Path,
        id: &str,
        rt: &Runtime,
        config: &Value,
        rootfs: &Path,
        probe: &Path,
    ) -> Result<World, String> {
        let dir = parent.join(id);
        let bundle = dir.join("bundle");
        let root = dir.join("state");
        std::fs::create_dir_all(&root).map_err(|e| format!("mkdir `{}`: {e}", root.display()))?;
        make_bundle(&bundle, config, rootfs, probe)?;
        let text = config.to_string();
        let holder = spawn_holder(rt)?;
        let (helper, helper_pid) = if text.contains("@NS:") {
            let (child, pid) = spawn_ns_helper()?;
            (Some(child), Some(pid))
        } else {
            (None, None)
        };
        let config = fill(config, &bundle, id, helper_pid)?;
        let path = bundle.join("config.json");
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&config).unwrap_or_default(),
        )
        .map_err(|e| format!("write `{}`: {e}", path.display()))?;
        Ok(World {
            id: id.to_string(),
            dir,
            bundle,
            root,
            config,
            rt: rt.clone(),
            holder,
            helper,
            helper_pid,
        })
    }

    /// The pid of the mount namespace holder (the runtime's "host").
    pub fn holder_pid(&self) -> i32 {
        self.holder.id() as i32
    }

    /// `nsenter -t HOLDER -m -- RUNTIME --root ROOT args...`, with outputs kept in the run dir,
    /// started as callers start a runtime (fork and exec: see [`Cmd::fork_exec`]).
    pub fn rt_cmd(&self, args: &[&str]) -> Cmd {
        Cmd::new(Path::new("nsenter"), &self.dir)
            .fork_exec()
            .args(["-t", &self.holder_pid().to_string(), "-m", "--"])
            .arg(&self.rt.path)
            .arg("--root")
            .arg(&self.root)
            .args(args)
    }

    /// A command run in the holder's mount namespace (e.g. `ip` in the helper's netns).
    pub fn in_holder(&self, program: &str) -> Cmd {
        Cmd::new(Path::new("nsenter"), &self.dir).args([
            "-t",
            &self.holder_pid().to_string(),
            "-m",
            "--",
            program,
        ])
    }

    /// The rootfs on the host.
    pub fn rootfs(&self) -> PathBuf {
        let path = self.config["root"]["path"].as_str().unwrap_or("rootfs");
        let p = Path::new(path);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.bundle.join(p)
        }
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for child in [Some(&mut self.holder), self.helper.as_mut()]
            .into_iter()
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Makes a bundle dir for `config`: a hard-linked copy of `rootfs` with the probe, the host
/// files its binds name, a hooks dir; config.json is written by the caller, which knows the
/// values of the placeholders.
pub fn make_bundle(
    bundle: &Path,
    config: &Value,
    rootfs: &Path,
    probe: &Path,
) -> Result<(), String> {
    for d in [&bundle.join("hooks"), &bundle.join("host")] {
        std::fs::create_dir_all(d).map_err(|e| format!("mkdir `{}`: {e}", d.display()))?;
    }
    let status = Command::new("cp")
        .arg("-al")
        .arg(rootfs)
        .arg(bundle.join("rootfs"))
        .status()
        .map_err(|e| format!("run cp: {e}"))?;
    if !status.success() {
        return Err(format!("cp -al `{}` failed", rootfs.display()));
    }
    cprog::install(probe, &bundle.join("rootfs"), "probe")?;
    let hooks = bundle.join("rootfs/.hooks");
    std::fs::create_dir_all(&hooks).map_err(|e| format!("mkdir `{}`: {e}", hooks.display()))?;
    make_host_files(&config.to_string(), &bundle.join("host"))
}

/// `config` with its placeholders filled: the bundle, the id, a helper's namespaces.
pub fn fill(config: &Value, bundle: &Path, id: &str, helper: Option<i32>) -> Result<Value, String> {
    let mut text = config
        .to_string()
        .replace("@BUNDLE@", &bundle.to_string_lossy())
        .replace("@ID@", id);
    if let Some(pid) = helper {
        for kind in ["net", "ipc", "uts", "pid", "cgroup", "mnt", "user", "time"] {
            text = text.replace(&format!("@NS:{kind}@"), &format!("/proc/{pid}/ns/{kind}"));
        }
    }
    serde_json::from_str(&text).map_err(|e| format!("filled config: {e}"))
}

/// Makes every `@BUNDLE@/host/d-NAME` a directory holding a file and every
/// `@BUNDLE@/host/f-NAME` a file, as the config's binds name them.
fn make_host_files(config: &str, host: &Path) -> Result<(), String> {
    for piece in config.split("@BUNDLE@/host/").skip(1) {
        let name: String = piece
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '.')
            .collect();
        let path = host.join(&name);
        let made = if name.starts_with("d-") {
            std::fs::create_dir_all(&path)
                .and_then(|()| std::fs::write(path.join("hello"), "hello\n"))
        } else if name.starts_with("f-") {
            std::fs::write(&path, format!("{name}\n"))
        } else {
            Ok(())
        };
        made.map_err(|e| format!("make `{}`: {e}", path.display()))?;
    }
    Ok(())
}

/// `unshare -m --propagation private sleep` — and for a runtime that must not see the
/// hybrid cgroup2 mount (crun 1.8), that mount detached in it.
fn spawn_holder(rt: &Runtime) -> Result<Child, String> {
    let mut child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sleep", "100000"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn unshare: {e}"))?;
    let pid = child.id() as i32;
    let ours = procfs::link(std::process::id() as i32, "ns/mnt");
    let deadline = Instant::now() + Duration::from_secs(5);
    while procfs::link(pid, "ns/mnt") == ours
        || procfs::link(pid, "exe").is_some_and(|e| !e.ends_with("sleep"))
    {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the mount namespace holder did not start".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    if rt.hide_unified {
        let _ = Command::new("nsenter")
            .args([
                "-t",
                &pid.to_string(),
                "-m",
                "--",
                "umount",
                "-l",
                "/sys/fs/cgroup/unified",
            ])
            .stderr(Stdio::null())
            .status();
    }
    Ok(child)
}

/// A process in new uts, ipc, network, cgroup and pid namespaces (the forked `sleep` is pid 1
/// of its namespace), whose namespaces configs join.
fn spawn_ns_helper() -> Result<(Child, i32), String> {
    let mut child = Command::new("unshare")
        .args([
            "--uts",
            "--ipc",
            "--net",
            "--cgroup",
            "--pid",
            "--fork",
            "--kill-child",
            "sleep",
            "100000",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn unshare: {e}"))?;
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        if let Some(c) = children
            .split_whitespace()
            .next()
            .and_then(|c| c.parse::<i32>().ok())
        {
            if procfs::link(c, "exe").is_some_and(|e| e.ends_with("sleep")) {
                return Ok((child, c));
            }
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err("the namespace helper did not start".into());
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Every entry below `root` (not following links): relative path -> "type mode uid gid
/// [rdev|target]".
pub fn tree(root: &Path) -> BTreeMap<String, String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let ft = meta.file_type();
            let rel = format!("/{}", path.strip_prefix(root).unwrap_or(&path).display());
            let kind = if ft.is_dir() {
                stack.push(path.clone());
                "d".to_string()
            } else if ft.is_symlink() {
                format!(
                    "l -> {}",
                    std::fs::read_link(&path).unwrap_or_default().display()
                )
            } else if ft.is_file() {
                "f".to_string()
            } else {
                format!("special rdev {:x}", meta.rdev())
            };
            out.insert(
                rel,
                format!(
                    "{kind} {:o} {}:{}",
                    meta.mode() & 0o7777,
                    meta.uid(),
                    meta.gid()
                ),
            );
        }
    }
    out
}
