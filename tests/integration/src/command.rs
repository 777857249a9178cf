//! Running a runtime command with a deadline and capturing exit status, stdout and stderr.
//!
//! Output goes to files, never to pipes read until EOF: a container started by `create` or
//! `run --detach` inherits the runtime's stdio and would otherwise keep the reader waiting.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// How a command ended and what it printed.
#[derive(Debug, Clone)]
pub struct Output {
    /// The command line, for messages.
    pub argv: String,
    /// Exit code, None when killed by a signal.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Exit code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The non-empty lines of stderr.
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    /// The last non-empty stderr line, or "".
    pub fn last_stderr_line(&self) -> &str {
        self.stderr_lines().last().copied().unwrap_or("")
    }

    /// Everything about the run, for assertion messages.
    pub fn describe(&self) -> String {
        format!(
            "`{}` exited {:?}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.argv, self.code, self.stdout, self.stderr
        )
    }

    /// Panics unless the command succeeded.
    #[track_caller]
    pub fn ok(&self) -> &Self {
        assert!(self.success(), "expected success: {}", self.describe());
        self
    }

    /// Panics unless the command failed with a non-zero exit code.
    #[track_caller]
    pub fn failed(&self) -> &Self {
        assert!(
            matches!(self.code, Some(c) if c != 0),
            "expected a non-zero exit: {}",
            self.describe()
        );
        self
    }

    /// Panics unless this is a failed `create` of `id` whose last stderr line is kapsel's
    /// (`container <id>: create: ...`) and names each of `names`.
    #[track_caller]
    pub fn create_refused(&self, id: &str, names: &[&str]) -> &Self {
        self.refused_naming(names);
        assert!(
            self.last_stderr_line()
                .starts_with(&format!("container {id}: create: ")),
            "{}",
            self.describe()
        );
        self
    }

    /// Panics unless the command exited 1 (not a signal, not a panic) with exactly one
    /// stderr line that contains each of `names`.
    #[track_caller]
    pub fn refused_naming(&self, names: &[&str]) -> &Self {
        assert_eq!(self.code, Some(1), "want exit 1: {}", self.describe());
        assert_eq!(
            self.stderr_lines().len(),
            1,
            "want one line: {}",
            self.describe()
        );
        for n in names {
            assert!(
                self.last_stderr_line().contains(n),
                "should name `{n}`: {}",
                self.describe()
            );
        }
        self
    }

    /// Panics unless the last stderr line contains `needle` (case-insensitive).
    #[track_caller]
    pub fn err_mentions(&self, needle: &str) -> &Self {
        let last = self.last_stderr_line().to_lowercase();
        assert!(
            last.contains(&needle.to_lowercase()),
            "last stderr line should mention `{needle}`: {}",
            self.describe()
        );
        self
    }
}

/// A command to run with a deadline.
#[derive(Debug)]
pub struct Cmd {
    program: PathBuf,
    args: Vec<OsString>,
    env: Vec<(String, String)>,
    clear_env: bool,
    setup: Option<String>,
    stdin: Option<PathBuf>,
    stdout: Option<PathBuf>,
    out_dir: PathBuf,
    timeout: Duration,
    fork_exec: bool,
}

impl Cmd {
    /// `program` with its output files kept in `out_dir`.
    pub fn new(program: &Path, out_dir: &Path) -> Cmd {
        Cmd {
            program: program.to_path_buf(),
            args: Vec::new(),
            env: Vec::new(),
            clear_env: false,
            setup: None,
            stdin: None,
            stdout: None,
            out_dir: out_dir.to_path_buf(),
            timeout: Duration::from_secs(30),
            fork_exec: false,
        }
    }

    /// Appends one argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    /// Appends arguments.
    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the command.
    pub fn env(mut self, key: &str, value: &str) -> Cmd {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// Starts from an empty environment (podman's kill/delete get no PATH at all).
    pub fn clear_env(mut self) -> Cmd {
        self.clear_env = true;
        self
    }

    /// Runs `sh -c '<setup>; exec "$@"'` around the command, e.g. `exec 3</etc/hostname` to
    /// hand it extra open fds the way callers such as buildah do.
    pub fn shell_setup(mut self, setup: &str) -> Cmd {
        self.setup = Some(setup.to_string());
        self
    }

    /// Feeds `path` to the command's stdin (default: /dev/null).
    pub fn stdin_from(mut self, path: &Path) -> Cmd {
        self.stdin = Some(path.to_path_buf());
        self
    }

    /// Sends stdout (and so a container's inherited stdout) to `path`, kept after the run.
    pub fn stdout_to(mut self, path: &Path) -> Cmd {
        self.stdout = Some(path.to_path_buf());
        self
    }

    /// Starts the command with fork and exec, as a runtime's real callers do (conmon, the
    /// containerd shim), instead of glibc's posix_spawn, which leaves its two internal
    /// signals (32 and 33) ignored in the child, so that a runtime would pass them on to the
    /// container process.
    pub fn fork_exec(mut self) -> Cmd {
        self.fork_exec = true;
        self
    }

    /// Fails the test when the command runs longer than `timeout` (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Cmd {
        self.timeout = timeout;
        self
    }

    /// Runs the command to completion; panics when it cannot start or outlives its timeout.
    #[track_caller]
    pub fn run(self) -> Output {
        self.try_run().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Runs the command to completion, or says why it could not start or was killed at its
    /// deadline (for harnesses that record a hung runtime instead of failing).
    pub fn try_run(self) -> Result<Output, String> {
        let seq = NEXT.fetch_add(1, Ordering::Relaxed);
        let out_path = self
            .stdout
            .clone()
            .unwrap_or_else(|| self.out_dir.join(format!("cmd-{seq}.stdout")));
        let err_path = self.out_dir.join(format!("cmd-{seq}.stderr"));
        let argv = std::iter::once(self.program.as_os_str())
            .chain(self.args.iter().map(OsString::as_os_str))
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        let mut command = match &self.setup {
            Some(setup) => {
                let mut c = Command::new("/bin/sh");
                c.arg("-c")
                    .arg(format!("{setup}\nexec \"$@\""))
                    .arg("sh")
                    .arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        command.args(&self.args).stdin(match &self.stdin {
            Some(path) => std::fs::File::open(path)
                .unwrap_or_else(|e| panic!("open stdin `{}`: {e}", path.display()))
                .into(),
            None => Stdio::null(),
        });
        if self.clear_env {
            command.env_clear();
        }
        if self.fork_exec {
            // Setting the (unchanged) group id makes std fork and exec instead of spawning.
            std::os::unix::process::CommandExt::gid(&mut command, nix::unistd::getgid().as_raw());
        }
        for (k, v) in &self.env {
            command.env(k, v);
        }
        let create = |p: &Path| {
            std::fs::File::create(p).unwrap_or_else(|e| panic!("create `{}`: {e}", p.display()))
        };
        command.stdout(create(&out_path)).stderr(create(&err_path));
        let mut child = command
            .spawn()
            .map_err(|e| format!("spawn `{argv}`: {e}"))?;
        let deadline = Instant::now() + self.timeout;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(2))
                }
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("`{argv}` still running after {:?}", self.timeout));
                }
                Err(e) => return Err(format!("wait for `{argv}`: {e}")),
            }
        };
        let read =
            |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
        let output = Output {
            argv,
            code: status.code(),
            stdout: read(&out_path),
            stderr: read(&err_path),
        };
        if self.stdout.is_none() {
            let _ = std::fs::remove_file(&out_path);
        }
        let _ = std::fs::remove_file(&err_path);
        Ok(output)
    }
}
