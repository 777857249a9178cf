//! The runtime verbs the suites use, and a guard that deletes a container on every exit path.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::{Error, Failure};
use crate::exec::Outcome;
use crate::runtime::Runtime;
use crate::spec::ProcessPlan;

use super::ctx::Ctx;

pub fn plan(args: &[&str]) -> ProcessPlan {
    ProcessPlan {
        args: args.iter().map(|s| s.to_string()).collect(),
        ..ProcessPlan::default()
    }
}

/// A long-running container process: killed by the benchmarks, never waited for.
pub fn sleeper() -> ProcessPlan {
    plan(&["sleep", "100000"])
}

pub fn bundle(ctx: &Ctx, plan: &ProcessPlan) -> Result<String, Failure> {
    ctx.bundles
        .for_plan(plan)
        .map(|p| p.display().to_string())
        .map_err(|e| Failure::new("prepare bundle", e))
}

/// Runs one runtime verb under that verb's time limit.
pub fn verb(ctx: &Ctx, rt: &Runtime, args: &[&str]) -> Result<Outcome, Failure> {
    let limit = ctx.config.time_limit(args[0]);
    ctx.exec.run_limited(&rt.argv(args), limit)
}

pub fn create(ctx: &Ctx, rt: &Runtime, id: &str, bundle: &str) -> Result<Outcome, Failure> {
    verb(ctx, rt, &["create", "--bundle", bundle, id])
}

/// `create` whose container writes its stdout to `stdout`.
pub fn create_logged(
    ctx: &Ctx,
    rt: &Runtime,
    id: &str,
    bundle: &str,
    stdout: &Path,
) -> Result<Outcome, Failure> {
    ctx.exec
        .run_with(&rt.argv(&["create", "--bundle", bundle, id]), Some(stdout))
}

pub fn start(ctx: &Ctx, rt: &Runtime, id: &str) -> Result<Outcome, Failure> {
    verb(ctx, rt, &["start", id])
}

pub fn delete(ctx: &Ctx, rt: &Runtime, id: &str, force: bool) -> Result<Outcome, Failure> {
    let out = if force {
        verb(ctx, rt, &["delete", "--force", id])
    } else {
        verb(ctx, rt, &["delete", id])
    }?;
    crate::leftovers::container_gone(id);
    Ok(out)
}

pub fn kill(ctx: &Ctx, rt: &Runtime, id: &str, signal: &str) -> Result<Outcome, Failure> {
    verb(ctx, rt, &["kill", id, signal])
}

pub fn state(ctx: &Ctx, rt: &Runtime, id: &str) -> Result<Outcome, Failure> {
    verb(ctx, rt, &["state", id])
}

/// `run` of a bundle to the container's exit (`run` deletes the container afterwards).
pub fn run(ctx: &Ctx, rt: &Runtime, id: &str, bundle: &str) -> Result<Outcome, Failure> {
    let out = verb(ctx, rt, &["run", "--bundle", bundle, id])?;
    crate::leftovers::container_gone(id);
    Ok(out)
}

/// The `status` field of `state`.
pub fn status(ctx: &Ctx, rt: &Runtime, id: &str) -> Result<String, Failure> {
    let out = state(ctx, rt, id)?;
    let v: serde_json::Value = serde_json::from_str(&out.stdout).map_err(|e| {
        Failure::new(
            format!("{} state {id}", rt.name),
            Error::json("state json")(e),
        )
    })?;
    Ok(v["status"].as_str().unwrap_or("").to_string())
}

/// Polls `state` until the container has the wanted status.
pub fn wait_status(
    ctx: &Ctx,
    rt: &Runtime,
    id: &str,
    wanted: &str,
    timeout: Duration,
) -> Result<(), Failure> {
    let deadline = Instant::now() + timeout;
    loop {
        // An error (no such container yet) counts as "not there yet" until the deadline.
        let now = status(ctx, rt, id);
        if now.as_deref().is_ok_and(|s| s == wanted) {
            return Ok(());
        }
        if Instant::now() > deadline {
            let seen = match now {
                Ok(s) => format!("still `{s}`"),
                Err(e) => format!("state fails ({})", e.reason),
            };
            return Err(Failure::new(
                format!("{} state {id}", rt.name),
                format!("{seen} after {timeout:?}, expected `{wanted}`"),
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Deletes the container (forcefully) when dropped, unless it was already deleted.
pub struct Guard<'c, 'a> {
    ctx: &'c Ctx<'a>,
    rt: &'c Runtime,
    pub id: String,
    armed: bool,
}

impl<'c, 'a> Guard<'c, 'a> {
    pub fn new(ctx: &'c Ctx<'a>, rt: &'c Runtime) -> Self {
        let id = ctx.new_id();
        crate::leftovers::container(&id, &rt.cleanup_argv(&["delete", "--force", id.as_str()]));
        Guard {
            id,
            ctx,
            rt,
            armed: true,
        }
    }

    /// The container is gone; nothing to clean up.
    pub fn disarm(&mut self) {
        self.armed = false;
        crate::leftovers::container_gone(&self.id);
    }
}

impl Drop for Guard<'_, '_> {
    fn drop(&mut self) {
        if self.armed {
            let _ = delete(self.ctx, self.rt, &self.id, true);
        }
        crate::leftovers::container_gone(&self.id);
    }
}
