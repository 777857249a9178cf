//! runc parses its command line with urfave/cli (Go's `flag` rules), which takes a long
//! option after one dash as well as after two: `-no-subreaper` is `--no-subreaper`. Callers
//! rely on it: go-runc, which containerd's runc shim drives runc with, passes
//! `-no-subreaper` to `restore` (`ctr containers restore`, Kubernetes' checkpoint restore).
//! clap would read `-no-subreaper` as short flags, so such a word is given its second dash
//! before parsing — only where Go would read an option: the global options, the verb, and
//! the verb's options up to its first argument (`exec ID ls -la` keeps `-la`).

use clap::Command;
use std::ffi::OsString;

/// Whether `args` (without the program name) may hold a one-dash long option: the cheap
/// test that keeps the common command line from building clap's command tree twice.
pub fn may_need(args: &[OsString]) -> bool {
    args.iter().any(|a| {
        a.to_str()
            .is_some_and(|s| s.len() > 2 && s.starts_with('-') && !s.starts_with("--"))
    })
}

/// `args` with each one-dash long option of `root` or of the verb given its second dash.
pub fn normalize(root: &Command, mut args: Vec<OsString>) -> Vec<OsString> {
    let mut cmd = root;
    let mut i = 0;
    while i < args.len() {
        let Some(word) = args[i].to_str().map(str::to_owned) else {
            break;
        };
        if word == "--" {
            break;
        }
        if let Some(long) = word.strip_prefix("--") {
            i += 1 + usize::from(!long.contains('=') && takes_value(cmd, long));
            continue;
        }
        if let Some(name) = word.strip_prefix('-').filter(|n| !n.is_empty()) {
            let long = name.split('=').next().unwrap_or(name);
            if long.len() > 1 && takes_value(cmd, long) || is_flag(cmd, long) {
                args[i] = format!("-{word}").into();
                i += 1 + usize::from(!name.contains('=') && takes_value(cmd, long));
            } else {
                // Short options (`-d`, `-p FILE`): clap's own rules.
                let short = name.chars().last();
                let value = short.is_some_and(|c| {
                    cmd.get_arguments()
                        .any(|a| a.get_short() == Some(c) && a.get_action().takes_values())
                });
                i += 1 + usize::from(name.len() == 1 && value);
            }
            continue;
        }
        // A word that is not an option: the verb, or the verb's first argument.
        match cmd.find_subcommand(&word) {
            Some(sub) if std::ptr::eq(cmd, root) => {
                cmd = sub;
                i += 1;
            }
            _ => break,
        }
    }
    args
}

fn long_arg<'a>(cmd: &'a Command, name: &str) -> Option<&'a clap::Arg> {
    cmd.get_arguments().find(|a| {
        a.get_long() == Some(name) || a.get_all_aliases().is_some_and(|al| al.contains(&name))
    })
}

fn takes_value(cmd: &Command, name: &str) -> bool {
    long_arg(cmd, name).is_some_and(|a| a.get_action().takes_values())
}

fn is_flag(cmd: &Command, name: &str) -> bool {
    long_arg(cmd, name).is_some_and(|a| !a.get_action().takes_values())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use clap::CommandFactory;

    fn norm(line: &str) -> String {
        let args: Vec<OsString> = line.split(' ').map(OsString::from).collect();
        let out = normalize(&Cli::command(), args);
        out.iter()
            .map(|a| a.to_str().unwrap())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn go_runc_restore_line() {
        assert_eq!(
            norm("--root /r -log /l.json restore --image-path /i -work-path /w --detach -no-subreaper -pid-file /p -bundle /b c1"),
            "--root /r --log /l.json restore --image-path /i --work-path /w --detach --no-subreaper --pid-file /p --bundle /b c1"
        );
    }

    #[test]
    fn arguments_and_short_options_stay() {
        assert_eq!(
            norm("exec -d c1 ls -la -no-subreaper"),
            "exec -d c1 ls -la -no-subreaper"
        );
        assert_eq!(norm("exec -t c1 -tty"), "exec -t c1 -tty");
        assert_eq!(norm("kill c1 -9"), "kill c1 -9");
        assert_eq!(
            norm("create -b /b -pid-file=/p c1"),
            "create -b /b --pid-file=/p c1"
        );
        // An unknown one-dash word is left to clap, which refuses it.
        assert_eq!(norm("restore -no-such c1"), "restore -no-such c1");
        assert_eq!(norm("delete -- -force"), "delete -- -force");
    }

    #[test]
    fn the_cheap_test() {
        assert!(!may_need(&[
            "create".into(),
            "-b".into(),
            "x".into(),
            "--pid-file".into()
        ]));
        assert!(may_need(&["restore".into(), "-no-subreaper".into()]));
    }
}
