//! Running one command to completion through the reaper, timed, with its output captured
//! in files (a pipe would stay open in a detached container and block the reader).

use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::error::{display, Error, Failure, Reason};
use crate::reaper::{Exit, Reaper};

/// What a finished command left behind.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub exit: Exit,
    pub elapsed: Duration,
    pub stdout: String,
    pub stderr: String,
}

/// How long one command may run, by default, before assay kills it and records a failure.
const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(120);

/// Starts commands; owns the folder where their output files go.
pub struct Exec {
    scratch: PathBuf,
    next: AtomicU64,
    reaper: &'static Reaper,
    time_limit: Duration,
}

impl Exec {
    /// Makes the `scratch` folder, and assay the subreaper of its children (once).
    pub fn new(scratch: PathBuf) -> Result<Exec, Error> {
        std::fs::create_dir_all(&scratch).map_err(Error::io("create", &scratch))?;
        Ok(Exec {
            scratch,
            next: AtomicU64::new(0),
            reaper: Reaper::global().map_err(Error::os("start the reaper"))?,
            time_limit: DEFAULT_TIME_LIMIT,
        })
    }

    /// Commands still running after `limit` are killed and count as failed.
    pub fn with_time_limit(mut self, limit: Duration) -> Exec {
        self.time_limit = limit;
        self
    }

    pub fn scratch(&self) -> &Path {
        &self.scratch
    }

    /// A fresh path in the scratch folder.
    pub fn scratch_file(&self, stem: &str) -> PathBuf {
        self.scratch.join(format!(
            "{stem}-{}",
            self.next.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// Runs `argv` with stdin from /dev/null; the result is an error unless it exits 0.
    pub fn run(&self, argv: &[String]) -> Result<Outcome, Failure> {
        self.run_with(argv, None)
    }

    /// Like [`Exec::run`] with its own time limit (a runtime verb's).
    pub fn run_limited(&self, argv: &[String], limit: Duration) -> Result<Outcome, Failure> {
        self.run_full(argv, None, limit)
    }

    /// Like [`Exec::run`], with stdout kept in `stdout_file` (for a container that goes on
    /// writing after the runtime has returned).
    pub fn run_with(
        &self,
        argv: &[String],
        stdout_file: Option<&Path>,
    ) -> Result<Outcome, Failure> {
        self.run_full(argv, stdout_file, self.time_limit)
    }

    fn run_full(
        &self,
        argv: &[String],
        stdout_file: Option<&Path>,
        limit: Duration,
    ) -> Result<Outcome, Failure> {
        let out = self.run_unchecked_limited(argv, stdout_file, limit)?;
        if out.exit.success() {
            Ok(out)
        } else {
            Err(Failure::new(display(argv), Reason::Exit(out.exit)).with_stderr(out.stderr))
        }
    }

    /// Runs `argv` and returns however it ended; errors only when it cannot be started.
    pub fn run_unchecked(
        &self,
        argv: &[String],
        stdout_file: Option<&Path>,
    ) -> Result<Outcome, Failure> {
        self.run_unchecked_limited(argv, stdout_file, self.time_limit)
    }

    fn run_unchecked_limited(
        &self,
        argv: &[String],
        stdout_file: Option<&Path>,
        limit: Duration,
    ) -> Result<Outcome, Failure> {
        let fail = |e: Error| Failure::new(display(argv), e);
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| Failure::new("", "empty command"))?;
        let out_path = stdout_file.map_or_else(|| self.scratch_file("out"), Path::to_path_buf);
        let err_path = self.scratch_file("err");
        let out = File::create(&out_path).map_err(|e| fail(Error::io("create", &out_path)(e)))?;
        let err = File::create(&err_path).map_err(|e| fail(Error::io("create", &err_path)(e)))?;
        let mut cmd = Command::new(program);
        cmd.args(args).stdin(Stdio::null()).stdout(out).stderr(err);
        // A process group of its own: a call past its limit is killed with everything it
        // started (a helper's hung runtime, a wrapper's child), and a Ctrl-C at the terminal
        // reaches assay alone, which finishes the sample and cleans up.
        cmd.process_group(0);
        let started = Instant::now();
        let pid = self
            .reaper
            .spawn(&mut cmd)
            .map_err(|e| fail(Error::os("spawn")(e)))?;
        let (exit, killed) = self.wait(pid, argv, limit);
        let elapsed = started.elapsed();
        if killed {
            return Err(Failure::new(display(argv), Reason::Killed(limit))
                .with_stderr(take_file(&err_path)));
        }
        let stdout = if stdout_file.is_some() {
            String::new()
        } else {
            take_file_keeping(&out_path, 1 << 20)
        };
        Ok(Outcome {
            exit,
            elapsed,
            stdout,
            stderr: take_file(&err_path),
        })
    }
}

impl Exec {
    /// Waits for `pid` up to `limit`, saying on stderr when the call is slow (after
    /// [`SLOW`], then every 30 s), and kills it at the limit.
    fn wait(&self, pid: u32, argv: &[String], limit: Duration) -> (Exit, bool) {
        let started = Instant::now();
        let mut next_note = SLOW;
        loop {
            let left = limit.saturating_sub(started.elapsed());
            if left.is_zero() {
                return self.reaper.wait_at_most(pid, Some(Duration::ZERO));
            }
            let slice = left.min(next_note.saturating_sub(started.elapsed()));
            if let Some(exit) = self.reaper.wait_for(pid, slice) {
                return (exit, false);
            }
            if started.elapsed() >= next_note {
                crate::progress::status(&format!(
                    "assay: still waiting for `{}` after {} s (killed at {} s)",
                    shorten(&display(argv), 100),
                    started.elapsed().as_secs(),
                    limit.as_secs()
                ));
                next_note += Duration::from_secs(30);
            }
        }
    }
}

/// When a call counts as slow enough to say so.
const SLOW: Duration = Duration::from_secs(10);

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

/// Reads a capture file and removes it; the last 16 KiB are kept when it is long.
pub fn take_file(path: &Path) -> String {
    take_file_keeping(path, 16 * 1024)
}

/// Like [`take_file`], keeping up to `keep` bytes (a stdout that is parsed, e.g. a
/// sysbench latency histogram, must stay whole).
pub fn take_file_keeping(path: &Path, keep: usize) -> String {
    let text = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let _ = std::fs::remove_file(path);
    if text.len() > keep {
        format!("...{}", tail(&text, keep))
    } else {
        text
    }
}

/// The last `max` bytes of `text` or a little less, cut at a character boundary.
pub fn tail(text: &str, max: usize) -> &str {
    let from = text.len().saturating_sub(max);
    let from = (from..=text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    &text[from..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_past_the_time_limit_is_killed_with_what_it_started() {
        let dir = std::env::temp_dir().join(format!("assay-exec-group-{}", std::process::id()));
        let exec = Exec::new(dir.clone())
            .unwrap()
            .with_time_limit(Duration::from_millis(300));
        let pidfile = dir.join("grandchild");
        let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
        let err = exec.run(&["sh".into(), "-c".into(), script]).unwrap_err();
        assert!(matches!(err.reason, Reason::Killed(_)), "{err}");
        let pid: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        let alive = |pid: i32| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| !s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')))
        };
        while alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(!alive(pid), "the background sleep died with its group");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_command_past_the_time_limit_is_killed_and_fails() {
        let dir = std::env::temp_dir().join(format!("assay-exec-limit-{}", std::process::id()));
        let exec = Exec::new(dir.clone())
            .unwrap()
            .with_time_limit(Duration::from_millis(200));
        let started = Instant::now();
        let err = exec
            .run(&[
                "sh".into(),
                "-c".into(),
                "echo waiting >&2; sleep 30".into(),
            ])
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(matches!(err.reason, Reason::Killed(_)), "{err}");
        assert!(err.stderr.contains("waiting"), "{err:?}");
        assert!(exec.run(&["true".into()]).is_ok());
        let _ = std::fs::remove_dir_all(dir);
    }
}
