//! One test's world: the runtime, a fresh state root, a work dir, unique container ids, and
//! clean-up of everything the test created (containers, helper processes, mounts, dirs).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::bundle::{self, Base, Bundle};
use crate::command::{Cmd, Output};
use crate::procfs;
use crate::runtime::{self, Runtime};
use crate::scratch::Scratch;

static NEXT_ID: AtomicU32 = AtomicU32::new(0);

/// True when `KAPSEL_TEST_STRICT=1`: every skip fails the test.
pub fn strict() -> bool {
    std::env::var("KAPSEL_TEST_STRICT").is_ok_and(|v| v == "1")
}

/// Prints `SKIP <name>: <reason>` straight to stderr (past libtest's capture), or panics in
/// strict mode, unless the test is named in `KAPSEL_TEST_ALLOWED_SKIPS` (comma-separated:
/// tests the CI host cannot run at all, each with its reason in scripts/test.sh).
#[track_caller]
pub fn skip(name: &str, reason: &str) {
    let allowed = std::env::var("KAPSEL_TEST_ALLOWED_SKIPS")
        .is_ok_and(|list| list.split(',').any(|n| n.trim() == name));
    assert!(
        !strict() || allowed,
        "SKIP {name}: {reason} (KAPSEL_TEST_STRICT=1 makes skips fail)"
    );
    let _ = writeln!(std::io::stderr(), "SKIP {name}: {reason}");
}

/// The context of one test; dropping it deletes its containers and removes its dirs.
#[derive(Debug)]
pub struct Ctx {
    /// The test's name, for SKIP lines.
    pub name: String,
    /// The runtime under test.
    pub rt: Runtime,
    base: &'static Base,
    tmp: PathBuf,
    pids: Vec<i32>,
    ids: Vec<String>,
    helpers: Vec<Child>,
    // Dropped last, after the containers using them are gone.
    root: Scratch,
    work: Scratch,
}

impl Ctx {
    /// Sets up a test, or prints why it is skipped and returns None. `tmp` holds the base
    /// bundle and the per-test dirs (the ctx! macro passes CARGO_TARGET_TMPDIR).
    pub fn new(name: &str, tmp: &str) -> Option<Ctx> {
        if !nix::unistd::Uid::effective().is_root() {
            skip(name, "needs root");
            return None;
        }
        let rt = match Runtime::locate() {
            Ok(rt) => rt,
            Err(reason) => {
                skip(name, &reason);
                return None;
            }
        };
        let tmp = Path::new(tmp);
        let base = match bundle::base(tmp, &rt) {
            Ok(base) => base,
            Err(reason) => {
                skip(name, &format!("no test bundle: {reason}"));
                return None;
            }
        };
        procfs::become_subreaper();
        let work = Scratch::new(tmp, &format!("itest-{name}"));
        let root = Scratch::new(work.path(), "root");
        Some(Ctx {
            name: name.to_string(),
            rt,
            base,
            tmp: tmp.to_path_buf(),
            pids: Vec::new(),
            ids: Vec::new(),
            helpers: Vec::new(),
            root,
            work,
        })
    }

    /// Skips the rest of the test unless the runtime is kapsel; returns true when skipping.
    pub fn kapsel_only(&self, reason: &str) -> bool {
        if self.rt.is_kapsel {
            return false;
        }
        skip(
            &self.name,
            &format!("kapsel-only, {} {reason}", self.rt.name()),
        );
        true
    }

    /// True when kapsel is under test; otherwise prints `NOTE <name>: not checked with
    /// <runtime>: <what>` and returns false, for one assertion the reference runtime fails.
    pub fn checks_kapsel_only(&self, what: &str) -> bool {
        if !self.rt.is_kapsel {
            let _ = writeln!(
                std::io::stderr(),
                "NOTE {}: not checked with {}: {what}",
                self.name,
                self.rt.name()
            );
        }
        self.rt.is_kapsel
    }

    /// True under the systemd cgroup driver (`KAPSEL_TEST_CGROUP_DRIVER=systemd`).
    pub fn systemd_driver(&self) -> bool {
        runtime::systemd_cgroup()
    }

    /// Skips the rest of the test for `reason`; returns true so callers can `return`.
    pub fn skip(&self, reason: &str) -> bool {
        skip(&self.name, reason);
        true
    }

    /// The state root passed as `--root`.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// The target tmp dir (CARGO_TARGET_TMPDIR) that holds the base bundle and built helpers.
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// A private work dir for files the test needs on the host.
    pub fn work(&self) -> &Path {
        self.work.path()
    }

    /// A container id unique on this machine; it is force-deleted when the test ends.
    pub fn id(&mut self, tag: &str) -> String {
        let seq = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let id = format!("it{}-{seq}-{tag}", std::process::id());
        self.ids.push(id.clone());
        id
    }

    /// A fresh bundle (rootfs copy + the runtime's default config, terminal off, args sh).
    pub fn bundle(&self) -> Bundle {
        let seq = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Bundle::copy_of(self.base, &self.work().join(format!("bundle-{seq}")))
    }

    /// `RUNTIME --root ROOT` (and `--systemd-cgroup` under the systemd driver, see
    /// [`runtime::systemd_cgroup`]), to add arguments to.
    pub fn rt(&self) -> Cmd {
        Cmd::new(&self.rt.path, self.work()).args(self.global_args())
    }

    /// The runtime's global flags the harness passes: `--root ROOT` [`--systemd-cgroup`].
    pub fn global_args(&self) -> Vec<OsString> {
        let mut args = vec![OsString::from("--root"), self.root().as_os_str().to_owned()];
        if runtime::systemd_cgroup() {
            args.push("--systemd-cgroup".into());
        }
        args
    }

    /// `RUNTIME --root ROOT ...` as a plain [`Command`], for a process the test manages itself
    /// (`events` streaming in the background).
    pub fn rt_command(&self) -> Command {
        let mut command = Command::new(&self.rt.path);
        command.args(self.global_args());
        command
    }

    /// Writes `bundle`'s config for container `id`: as it is, or under the systemd driver with
    /// `linux.cgroupsPath` `system.slice:kapsel-it:<id>` when the test set none (see
    /// [`CgroupDirs::default_for`](crate::cgroupfs::CgroupDirs::default_for)).
    pub fn write_bundle(&self, bundle: &Bundle, id: &str) {
        let has_path = bundle
            .config
            .pointer("/linux/cgroupsPath")
            .is_some_and(|p| !p.is_null());
        if !runtime::systemd_cgroup() || has_path {
            bundle.write();
            return;
        }
        let mut b = bundle.clone();
        b.set(
            "/linux/cgroupsPath",
            Value::from(runtime::systemd_cgroups_path(id)),
        );
        b.write();
    }

    /// Runs `RUNTIME --root ROOT args...`.
    pub fn cmd(&self, args: &[&str]) -> Output {
        self.rt().args(args).run()
    }

    /// Where a created container's stdout goes (it inherits the runtime's).
    pub fn stdout_path(&self, id: &str) -> PathBuf {
        self.work().join(format!("{id}.stdout"))
    }

    /// What a created container wrote to its stdout so far.
    pub fn container_stdout(&self, id: &str) -> String {
        std::fs::read_to_string(self.stdout_path(id)).unwrap_or_default()
    }

    /// `create --bundle B --pid-file F ID`, writing the config first.
    pub fn create(&mut self, bundle: &Bundle, id: &str) -> Output {
        let out = self.create_cmd(bundle, id, self.rt()).arg(id).run();
        if out.success() {
            self.track_pid_file(id);
        }
        out
    }

    /// `create --bundle B --pid-file F` without the id, ready for more flags, the id and a
    /// shell set-up; call [`Ctx::track_pid_file`] after a successful run.
    pub fn create_cmd(&mut self, bundle: &Bundle, id: &str, cmd: Cmd) -> Cmd {
        self.write_bundle(bundle, id);
        let pid_file = self.pid_file(id);
        cmd.args(["create", "--bundle"])
            .arg(&bundle.dir)
            .arg("--pid-file")
            .arg(pid_file)
            .stdout_to(&self.stdout_path(id))
    }

    /// Records the pid of a container that `create` (or `run -d`) reported in its pid file.
    pub fn track_pid_file(&mut self, id: &str) -> Option<i32> {
        let pid = std::fs::read_to_string(self.pid_file(id))
            .ok()?
            .trim()
            .parse()
            .ok()?;
        self.pids.push(pid);
        Some(pid)
    }

    /// The pid file path used for `id`.
    pub fn pid_file(&self, id: &str) -> PathBuf {
        self.work().join(format!("{id}.pid"))
    }

    /// Creates and starts a container; panics when either fails. Returns its host pid.
    #[track_caller]
    pub fn create_and_start(&mut self, bundle: &Bundle, id: &str) -> i32 {
        let cmd = self.create_cmd(bundle, id, self.rt()).arg(id);
        cmd.run().ok();
        let pid = self.track_pid_file(id).expect("create wrote no pid file");
        self.cmd(&["start", id]).ok();
        pid
    }

    /// Runs `run --bundle B ID` in the foreground; the container's output is in the result.
    pub fn run(&mut self, bundle: &Bundle, id: &str) -> Output {
        self.run_with(bundle, id, &[])
    }

    /// `run --bundle B EXTRA... ID` in the foreground.
    pub fn run_with(&mut self, bundle: &Bundle, id: &str, extra: &[&str]) -> Output {
        self.write_bundle(bundle, id);
        self.rt()
            .args(["run", "--bundle"])
            .args([&bundle.dir])
            .args(extra)
            .arg(id)
            .run()
    }

    /// Runs a container with `sh -c script` and returns its stdout; panics unless it exits 0.
    #[track_caller]
    pub fn sh_output(&mut self, bundle: &mut Bundle, script: &str) -> String {
        bundle.sh(script);
        let id = self.id("sh");
        let out = self.run(bundle, &id);
        out.ok();
        out.stdout
    }

    /// `state ID` parsed, or the failed command.
    pub fn state(&self, id: &str) -> Result<Value, Output> {
        let out = self.cmd(&["state", id]);
        if !out.success() {
            return Err(out);
        }
        serde_json::from_str(&out.stdout)
            .map_err(|e| panic!("state of `{id}` is not JSON ({e}): {}", out.describe()))
    }

    /// `state ID`, panicking when it fails.
    #[track_caller]
    pub fn state_ok(&self, id: &str) -> Value {
        self.state(id)
            .unwrap_or_else(|out| panic!("state `{id}` failed: {}", out.describe()))
    }

    /// Polls `state ID` until its status is `want`; panics after `timeout`.
    #[track_caller]
    pub fn wait_status(&self, id: &str, want: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let state = self.state_ok(id);
            if state["status"] == want {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "`{id}` still `{}` after {timeout:?}, wanted `{want}`",
                state["status"]
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits until `path` exists and holds `needle`; panics after `timeout`.
    #[track_caller]
    pub fn wait_for_file(&self, path: &Path, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "`{}` lacks `{needle}` after {timeout:?}; it holds: {text:?}",
                path.display()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Starts a helper process (e.g. `unshare`) that is killed when the test ends.
    pub fn spawn_helper(&mut self, mut command: Command) -> u32 {
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn helper {command:?}: {e}"));
        let pid = child.id();
        self.helpers.push(child);
        pid
    }

    /// Remembers a container pid to reap when the test ends.
    pub fn track_pid(&mut self, pid: i32) {
        self.pids.push(pid);
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        for id in std::mem::take(&mut self.ids) {
            let _ = self
                .rt()
                .args(["delete", "--force", id.as_str()])
                .timeout(Duration::from_secs(10))
                .run();
        }
        for pid in std::mem::take(&mut self.pids) {
            let ours = procfs::ppid(pid) == Some(std::process::id() as i32);
            if procfs::reap(pid, Duration::from_secs(2)).is_none() && ours && procfs::is_alive(pid)
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = procfs::reap(pid, Duration::from_secs(2));
            }
        }
        for mut child in std::mem::take(&mut self.helpers) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
