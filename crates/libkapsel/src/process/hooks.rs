//! Lifecycle hooks: each gets the container's state JSON on stdin, its own args and
//! env, and is killed when it overruns its timeout.

use crate::error::{Error, HookError, Result};
use crate::state::StoredHook;
use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

impl From<&oci_spec::runtime::Hook> for StoredHook {
    fn from(h: &oci_spec::runtime::Hook) -> Self {
        StoredHook {
            path: h.path().clone(),
            args: h.args().clone().unwrap_or_default(),
            env: h.env().clone().unwrap_or_default(),
            timeout: h.timeout(),
        }
    }
}

pub fn stored(hooks: &Option<Vec<oci_spec::runtime::Hook>>) -> Vec<StoredHook> {
    hooks.iter().flatten().map(StoredHook::from).collect()
}

/// Runs the hooks of one kind in order; the first failure stops the rest (prestart,
/// createRuntime, createContainer, startContainer: the operation fails).
pub fn run_all(kind: &'static str, hooks: &[StoredHook], state_json: &str) -> Result<()> {
    in_namespace_of(kind, hooks, || {
        for (i, h) in hooks.iter().enumerate() {
            run_one(h, state_json).map_err(|e| hook_error(kind, i, e))?;
        }
        Ok(())
    })
}

/// Runs every hook of one kind, each whatever the ones before it did (poststart,
/// poststop: the runtime-spec makes a failure a warning and the remaining hooks MUST
/// still run). Each failure is logged as a warning prefixed with `context`.
pub fn run_all_warning(kind: &'static str, hooks: &[StoredHook], state_json: &str, context: &str) {
    let ran = in_namespace_of(kind, hooks, || {
        for (i, h) in hooks.iter().enumerate() {
            if let Err(e) = run_one(h, state_json) {
                crate::logging::warn(&format!("{context}: {}", hook_error(kind, i, e)));
            }
        }
        Ok(())
    });
    if let Err(e) = ran {
        crate::logging::warn(&format!("{context}: hooks.{kind}: {e}"));
    }
}

fn hook_error(kind: &str, i: usize, e: Error) -> Error {
    e.in_field(format!("hooks.{kind}[{i}]"))
}

/// Hooks of the runtime namespace run where the caller runs, not in the private mount
/// namespace kapsel may use to protect its binary.
fn in_namespace_of(
    kind: &'static str,
    hooks: &[StoredHook],
    run: impl FnOnce() -> Result<()>,
) -> Result<()> {
    if hooks.is_empty() {
        return Ok(());
    }
    if matches!(
        kind,
        "prestart" | "createRuntime" | "poststart" | "poststop"
    ) {
        crate::linux::mount_ns::in_caller_mount_ns(run)
    } else {
        run()
    }
}

fn run_one(h: &StoredHook, state_json: &str) -> Result<()> {
    let mut cmd = Command::new(&h.path);
    if let Some((arg0, rest)) = h.args.split_first() {
        cmd.arg0(arg0).args(rest);
    }
    cmd.env_clear();
    for kv in &h.env {
        if let Some((k, v)) = kv.split_once('=') {
            cmd.env(k, v);
        }
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| Error::io("run hook", &h.path, e))?;
    if let Some(mut stdin) = child.stdin.take() {
        // A hook that does not read its stdin is fine: ignore EPIPE.
        let _ = stdin.write_all(state_json.as_bytes());
    }
    let exited = match h.timeout {
        Some(t) if t > 0 => wait_with_timeout(&child, t)?,
        _ => true,
    };
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        return Err(HookError::TimedOut {
            path: h.path.clone(),
            secs: h.timeout.unwrap_or(0),
        }
        .into());
    }
    let status = child
        .wait()
        .map_err(|e| Error::io("wait for hook", &h.path, e))?;
    if status.success() {
        return Ok(());
    }
    let mut out = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut out);
    }
    if out.trim().is_empty() {
        if let Some(mut o) = child.stdout.take() {
            let _ = o.read_to_string(&mut out);
        }
    }
    let last = out.trim().lines().last().unwrap_or("");
    Err(HookError::Failed {
        path: h.path.clone(),
        status,
        output: last.chars().take(300).collect(),
    }
    .into())
}

/// Waits up to `secs` for the child to exit, on its pidfd (no polling loop).
fn wait_with_timeout(child: &std::process::Child, secs: i64) -> Result<bool> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let pidfd = kapsel_sys::process::pidfd_open(child.id() as i32)?;
    let ms = (secs.saturating_mul(1000)).min(i32::MAX as i64) as i32;
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    loop {
        match poll(
            &mut fds,
            PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX),
        ) {
            Ok(0) => return Ok(false),
            Ok(_) => return Ok(true),
            Err(nix::Error::EINTR) => continue,
            Err(e) => return Err(crate::error::nix_err("poll hook pidfd", &h_path(child))(e)),
        }
    }
}

fn h_path(child: &std::process::Child) -> String {
    format!("pid {}", child.id())
}
