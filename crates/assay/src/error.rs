//! assay's errors: [`Error`] for a command that cannot go on (printed once as `assay: ...`,
//! exit 2), and [`Failure`] for one sample that failed (recorded in the results, and the
//! matrix goes on). Each keeps what failed (a path, an argv, a setting's name), where and
//! why (the source error); the text is the one line the user reads, and tests and
//! docs/assay.md quote some of it.

use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

use nix::errno::Errno;

use crate::cri::client::{CallError, ConnectError, CriError};
use crate::reaper::Exit;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting, flag or argument with a value assay cannot use; `field` names it as the
    /// user wrote it (`runtimes[0].name`, ``--runtime `x` ``, `baseline`).
    #[error("{field}: {problem}")]
    Config { field: String, problem: String },
    #[error("{field}: `{}` is not an executable file", path.display())]
    NotExecutable { field: String, path: PathBuf },
    /// `--suite` patterns that select no benchmark (a typo must not pass silently).
    #[error("suites: `{}` matches no benchmark (see `{list_cmd}`)", patterns.join("`, `"))]
    Unmatched {
        patterns: Vec<String>,
        list_cmd: &'static str,
    },
    #[error("{field}: folder `{}` does not exist (nothing was run)", dir.display())]
    NoFolder { field: String, dir: PathBuf },
    #[error("{field}: cannot write in `{}`: {source} (nothing was run)", dir.display())]
    Unwritable {
        field: String,
        dir: PathBuf,
        source: io::Error,
    },
    /// The YAML config does not parse; serde's message names the key and its line.
    #[error("config `{origin}`: {}", one_line(source))]
    Yaml {
        origin: String,
        source: serde_yaml_ng::Error,
    },
    /// A wrapper command line with an unterminated quote.
    #[error("{source} in `{line}`")]
    Quoting {
        line: String,
        source: shell_words::ParseError,
    },
    /// `source` happened while doing `context` (a setting's name, or a step).
    #[error("{context}: {source}")]
    Context { context: String, source: Box<Error> },
    /// A file-system call on `path`: `op` is the verb (`read`, `create`, `symlink`, ...).
    #[error("{op} `{}`: {source}", path.display())]
    Io {
        op: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("copy `{}` to `{}`: {source}", from.display(), to.display())]
    Copy {
        from: PathBuf,
        to: PathBuf,
        source: io::Error,
    },
    /// An OS resource that is not a path (a thread, the current executable, tokio).
    #[error("{what}: {source}")]
    Os {
        what: &'static str,
        source: io::Error,
    },
    /// A system call through nix, named with its arguments.
    #[error("{call}: {source}")]
    Sys { call: String, source: Errno },
    /// The content of `path` is not what assay reads from it.
    #[error("{op} `{}`: {source}", path.display())]
    Parse {
        op: &'static str,
        path: PathBuf,
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A command's JSON output (`state`, the `__measure` helper's) that does not parse.
    #[error("parse {what}: {source}")]
    Json {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("encode {what}: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("{program} not found in PATH (apt-get install {package})")]
    NotInstalled {
        program: &'static str,
        package: &'static str,
    },
    /// A helper program (containerd, ctr, ldd, python3) that could not be started.
    #[error("spawn `{}`: {source}", display(argv))]
    Spawn {
        argv: Vec<String>,
        source: io::Error,
    },
    /// A helper program that ran and failed: its argv, exit status and stderr.
    #[error("`{}`: {status}: {}", display(argv), stderr.trim())]
    Command {
        argv: Vec<String>,
        status: ExitStatus,
        stderr: String,
    },
    /// A command run through `Exec` outside a sample (ldd, busybox, hyperfine).
    #[error(transparent)]
    Run(#[from] Failure),
    #[error(transparent)]
    CriConnect(#[from] ConnectError),
    #[error(transparent)]
    Cri(#[from] CriError),
    #[error("containerd exited early ({0})")]
    ContainerdExited(ExitStatus),
    #[error("containerd `{}` not answering CRI Version within {} s: {}", socket.display(),
        within.as_secs(), last.as_ref().map_or("no socket yet".to_string(), |e| e.to_string()))]
    ContainerdSilent {
        socket: PathBuf,
        within: Duration,
        last: Option<Box<Error>>,
    },
    /// An error of a private containerd, with the last lines of its log.
    #[error("{source}; containerd log: {log}")]
    ContainerdLog { source: Box<Error>, log: String },
    /// A `cri-check` step saw something other than what the kubelet expects.
    #[error("{0}")]
    Check(String),
    /// assay's own calls made in the wrong order (a bug, not the machine's fault).
    #[error("{0}")]
    Internal(&'static str),
}

/// serde_yaml's message on one line, as every `assay:` error is.
fn one_line(e: &serde_yaml_ng::Error) -> String {
    e.to_string().replace('\n', " ")
}

impl Error {
    pub fn config(field: impl Into<String>, problem: impl Into<String>) -> Error {
        Error::Config {
            field: field.into(),
            problem: problem.into(),
        }
    }

    /// For `map_err`: an io error of `op` on `path`.
    pub fn io(op: &'static str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> Error {
        let path = path.as_ref().to_path_buf();
        move |source| Error::Io { op, path, source }
    }

    /// For `map_err`: a failed system call, named with its arguments.
    pub fn sys(call: impl Into<String>) -> impl FnOnce(Errno) -> Error {
        let call = call.into();
        move |source| Error::Sys { call, source }
    }

    /// For `map_err`: an OS error that has no path.
    pub fn os(what: &'static str) -> impl FnOnce(io::Error) -> Error {
        move |source| Error::Os { what, source }
    }

    /// For `map_err`: `path`'s content did not parse.
    pub fn parse<E: std::error::Error + Send + Sync + 'static>(
        op: &'static str,
        path: impl AsRef<Path>,
    ) -> impl FnOnce(E) -> Error {
        let path = path.as_ref().to_path_buf();
        move |source| Error::Parse {
            op,
            path,
            source: Box::new(source),
        }
    }

    pub fn json(what: &'static str) -> impl FnOnce(serde_json::Error) -> Error {
        move |source| Error::Json { what, source }
    }

    pub fn encode(what: &'static str) -> impl FnOnce(serde_json::Error) -> Error {
        move |source| Error::Encode { what, source }
    }

    pub fn spawn(argv: &[String]) -> impl FnOnce(io::Error) -> Error {
        let argv = argv.to_vec();
        move |source| Error::Spawn { argv, source }
    }

    /// This error, as it happened while doing `context`.
    pub fn context(self, context: impl Into<String>) -> Error {
        Error::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }
}

/// [`Error::context`] on a result.
pub trait Context<T> {
    fn context(self, context: impl Into<String>) -> Result<T, Error>;
}

impl<T, E: Into<Error>> Context<T> for Result<T, E> {
    fn context(self, context: impl Into<String>) -> Result<T, Error> {
        self.map_err(|e| e.into().context(context))
    }
}

/// A step of a sample that did not succeed: what was run (an argv as one line, or the
/// step's name), why, and its stderr, which the results keep with the failed sample.
#[derive(Debug, thiserror::Error)]
#[error("`{command}`: {reason}")]
pub struct Failure {
    pub command: String,
    pub reason: Reason,
    pub stderr: String,
}

/// Why a [`Failure`] failed.
#[derive(Debug, thiserror::Error)]
pub enum Reason {
    /// It ran and ended unsuccessfully (`exit status 1`, `killed by signal 9`).
    #[error("{0}")]
    Exit(Exit),
    /// It was still running at its time limit and was killed with its process group.
    #[error("still running after {} s: killed", .0.as_secs())]
    Killed(Duration),
    /// It could not be run, or what it needs or left could not be used.
    #[error(transparent)]
    Error(Box<Error>),
    /// A CRI call's error; the call is the failure's `command`.
    #[error(transparent)]
    Cri(CallError),
    /// It ran, but what it printed or answered is not what the benchmark needs.
    #[error("{0}")]
    Unexpected(String),
}

impl From<Error> for Reason {
    fn from(e: Error) -> Reason {
        Reason::Error(Box::new(e))
    }
}

impl From<String> for Reason {
    fn from(s: String) -> Reason {
        Reason::Unexpected(s)
    }
}

impl From<&str> for Reason {
    fn from(s: &str) -> Reason {
        Reason::Unexpected(s.to_string())
    }
}

impl Failure {
    pub fn new(command: impl Into<String>, reason: impl Into<Reason>) -> Failure {
        Failure {
            command: command.into(),
            reason: reason.into(),
            stderr: String::new(),
        }
    }

    /// With what the command wrote to stderr (or the output that lacked a value).
    pub fn with_stderr(mut self, stderr: impl Into<String>) -> Failure {
        self.stderr = stderr.into();
        self
    }
}

impl From<CriError> for Failure {
    fn from(e: CriError) -> Failure {
        Failure::new(e.rpc, Reason::Cri(e.why))
    }
}

/// An argv as one readable line for messages: words with a space, a quote or `;` (and
/// empty ones) in single quotes. Not for a shell: see `shell_words::join`.
pub fn display(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if a.is_empty() || a.contains([' ', '"', '\'', ';']) {
                format!("'{a}'")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_where_and_why() {
        let e = Error::io("read", "/x/y")(io::Error::from_raw_os_error(2));
        assert_eq!(
            e.to_string(),
            "read `/x/y`: No such file or directory (os error 2)"
        );
        let e = e.context("bundle.dir");
        assert!(
            e.to_string().starts_with("bundle.dir: read `/x/y`: "),
            "{e}"
        );
        let f = Failure::new("runc state c1", "no pid");
        assert_eq!(f.to_string(), "`runc state c1`: no pid");
        let f = Failure::new("a b", Reason::Exit(Exit::Code(1)));
        assert_eq!(f.to_string(), "`a b`: exit status 1");
        assert_eq!(
            display(&["sh".into(), "-c".into(), "a; b".into(), String::new()]),
            "sh -c 'a; b' ''"
        );
    }
}
