//! One `runtimes:` entry of the config, and the command-line syntax that makes one
//! (`--runtime NAME=PATH[@WRAPPER]`) or gives it a wrapper (a shell-quoted command line).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Context, Error};

/// The wrapper alias that runs a runtime where the hybrid cgroup2 mount at
/// /sys/fs/cgroup/unified is hidden (crun 1.8 refuses a hybrid layout otherwise). It is not
/// a command: assay makes that mount namespace once per run and starts the runtime's
/// processes in it (see `mountns`), so it costs no time per call.
pub const HIDE_UNIFIED: &str = "hide-unified";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeConfig {
    pub name: String,
    pub path: PathBuf,
    /// Global flags put before every verb, e.g. `["--debug"]`.
    #[serde(default)]
    pub args: Vec<String>,
    /// A command the runtime is run through (the runtime path and its arguments follow it),
    /// or `[hide-unified]`, which is no command but a mount namespace entered once per run.
    #[serde(default, deserialize_with = "de_wrapper")]
    pub wrapper: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum WrapperForm {
    Line(String),
    Argv(Vec<String>),
}

fn de_wrapper<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match WrapperForm::deserialize(d)? {
        WrapperForm::Line(line) => parse_wrapper(&line).map_err(serde::de::Error::custom),
        WrapperForm::Argv(argv) => Ok(argv),
    }
}

/// A wrapper given as one string: the `hide-unified` alias or a shell-quoted command line.
pub fn parse_wrapper(line: &str) -> Result<Vec<String>, Error> {
    if line.trim() == HIDE_UNIFIED {
        return Ok(vec![HIDE_UNIFIED.to_string()]);
    }
    shell_words::split(line).map_err(|source| Error::Quoting {
        line: line.into(),
        source,
    })
}

/// Parses `NAME=PATH` or `NAME=PATH@WRAPPER` from `--runtime`.
pub fn parse_runtime_flag(flag: &str) -> Result<RuntimeConfig, Error> {
    let field = || format!("--runtime `{flag}`");
    let malformed = || Error::config(field(), "expected NAME=PATH[@WRAPPER]");
    let (name, rest) = flag.split_once('=').ok_or_else(malformed)?;
    let (path, wrapper) = match rest.split_once('@') {
        Some((p, w)) => (p, parse_wrapper(w).context(field())?),
        None => (rest, Vec::new()),
    };
    if name.is_empty() || path.is_empty() {
        return Err(malformed());
    }
    Ok(RuntimeConfig {
        name: name.into(),
        path: path.into(),
        args: Vec::new(),
        wrapper,
    })
}

/// Checks what serde cannot in the `runtimes:` entries: each error names the entry's key.
pub fn check_entries(runtimes: &[RuntimeConfig]) -> Result<(), Error> {
    let err = |field: String, problem: String| Err(Error::config(field, problem));
    for (i, rt) in runtimes.iter().enumerate() {
        let valid = !rt.name.is_empty()
            && rt
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        let name = format!("runtimes[{i}].name");
        if !valid {
            return err(
                name,
                format!("`{}` must be letters, digits, - _ .", rt.name),
            );
        }
        if rt.name == "host" {
            return err(name, "`host` is reserved for the host baseline".into());
        }
        if runtimes[..i].iter().any(|r| r.name == rt.name) {
            return err(name, format!("`{}` is configured twice", rt.name));
        }
        if rt.path.as_os_str().is_empty() {
            return err(format!("runtimes[{i}].path"), "empty".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_flags() {
        let r = parse_runtime_flag("runc=/usr/sbin/runc").unwrap();
        assert_eq!((r.name.as_str(), r.wrapper.len()), ("runc", 0));
        let r = parse_runtime_flag("crun=/usr/bin/crun@hide-unified").unwrap();
        assert_eq!(r.wrapper, [HIDE_UNIFIED]);
        let r = parse_runtime_flag("x=/bin/x@env 'A=b c'").unwrap();
        assert_eq!(r.wrapper, ["env", "A=b c"]);
        let r =
            parse_runtime_flag(r#"x=/bin/x@unshare -m sh -c 'umount /u; exec "$0" "$@"'"#).unwrap();
        assert_eq!(
            r.wrapper,
            ["unshare", "-m", "sh", "-c", r#"umount /u; exec "$0" "$@""#]
        );
        let e = parse_runtime_flag("x=/bin/x@sh -c 'oops")
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing closing quote in `sh -c 'oops`"), "{e}");
        assert!(parse_runtime_flag("nopath").is_err());
        assert!(parse_runtime_flag("=/x").is_err());
    }
}
