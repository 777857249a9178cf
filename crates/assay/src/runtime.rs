//! A runtime under test, seen as a black-box binary with runc's command line.

use std::path::{Path, PathBuf};

use crate::config::{RuntimeConfig, HIDE_UNIFIED};
use crate::mountns::View;

#[derive(Debug, Clone)]
pub struct Runtime {
    pub name: String,
    pub path: PathBuf,
    pub args: Vec<String>,
    pub wrapper: Vec<String>,
    /// The `--root` state folder assay gives it, private to this run.
    pub root: PathBuf,
}

impl Runtime {
    pub fn new(config: &RuntimeConfig, state_dir: &Path) -> Runtime {
        Runtime {
            name: config.name.clone(),
            path: config.path.clone(),
            args: config.args.clone(),
            wrapper: config.wrapper.clone(),
            root: state_dir.join(&config.name),
        }
    }

    /// The mount namespace its processes run in: `hide-unified` is a view, not a command.
    pub fn view(&self) -> View {
        if self.wrapper == [HIDE_UNIFIED] {
            View::HiddenUnified
        } else {
            View::Host
        }
    }

    /// The per-call wrapper command, if there is one (`hide-unified` is none).
    pub fn call_wrapper(&self) -> &[String] {
        match self.view() {
            View::HiddenUnified => &[],
            View::Host => &self.wrapper,
        }
    }

    /// The full argv for one verb: wrapper, binary, global flags, `--root`, the verb's args.
    pub fn argv<S: AsRef<str>>(&self, verb: &[S]) -> Vec<String> {
        let mut argv = self.call_wrapper().to_vec();
        argv.push(self.path.display().to_string());
        argv.extend(self.args.iter().cloned());
        argv.push("--root".into());
        argv.push(self.root.display().to_string());
        argv.extend(verb.iter().map(|s| s.as_ref().to_string()));
        argv
    }

    /// The argv of `verb` to type in a shell after assay has exited: for the hidden view,
    /// behind the per-call wrapper that makes the same mount namespace.
    pub fn cleanup_argv<S: AsRef<str>>(&self, verb: &[S]) -> Vec<String> {
        let mut argv = Vec::new();
        if self.view() == View::HiddenUnified {
            argv.extend(
                [
                    "unshare",
                    "-m",
                    "--propagation",
                    "slave",
                    "sh",
                    "-c",
                    "umount /sys/fs/cgroup/unified; exec \"$0\" \"$@\"",
                ]
                .map(String::from),
            );
        }
        argv.extend(self.argv(verb));
        argv
    }

    /// `--version` straight on the binary: the process start-up floor, no wrapper.
    pub fn version_argv(&self) -> Vec<String> {
        vec![self.path.display().to_string(), "--version".into()]
    }
}

/// The first non-empty line of a `--version` output.
pub fn version_line(stdout: &str) -> String {
    stdout
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .to_string()
}

/// Resolves a program name through PATH, the way a shell would.
pub fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return is_executable(&p).then_some(p);
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|p| is_executable(p))
}

pub fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_order() {
        let cfg = RuntimeConfig {
            name: "crun".into(),
            path: "/usr/bin/crun".into(),
            args: vec!["--debug".into()],
            wrapper: vec!["env".into(), "A=1".into()],
        };
        let rt = Runtime::new(&cfg, Path::new("/run/a"));
        assert_eq!(
            rt.argv(&["state", "c1"]),
            [
                "env",
                "A=1",
                "/usr/bin/crun",
                "--debug",
                "--root",
                "/run/a/crun",
                "state",
                "c1"
            ]
        );
        assert_eq!(rt.version_argv(), ["/usr/bin/crun", "--version"]);
        assert_eq!(rt.view(), View::Host);
        let hidden = RuntimeConfig {
            wrapper: vec![HIDE_UNIFIED.into()],
            ..cfg
        };
        let rt = Runtime::new(&hidden, Path::new("/run/a"));
        assert_eq!(rt.view(), View::HiddenUnified);
        assert_eq!(
            rt.argv(&["state", "c1"])[0],
            "/usr/bin/crun",
            "no per-call wrapper"
        );
    }

    #[test]
    fn version_lines() {
        assert_eq!(
            version_line("\nrunc version 1.1.5\ncommit: x\n"),
            "runc version 1.1.5"
        );
        assert_eq!(version_line(""), "");
    }

    #[test]
    fn which_finds_sh() {
        assert!(which("sh").is_some());
        assert!(which("no-such-program-assay").is_none());
    }
}
