//! operations: each runtime verb timed on its own, the others as set-up and clean-up.

use std::time::Duration;

use crate::runtime::Runtime;

use super::container::{self, bundle, plan, sleeper, Guard};
use super::ctx::{ms, Ctx, RunOutcome, RunResult};

const SETTLE: Duration = Duration::from_secs(10);

fn time(d: Duration) -> RunResult {
    Ok(RunOutcome::Values(vec![ms(d)]))
}

pub fn version(ctx: &Ctx, rt: &Runtime) -> RunResult {
    ctx.before_timed()?;
    let limit = ctx.config.time_limit("version");
    time(ctx.exec.run_limited(&rt.version_argv(), limit)?.elapsed)
}

pub fn wrapper_floor(ctx: &Ctx, rt: &Runtime) -> RunResult {
    if rt.call_wrapper().is_empty() {
        let why = if rt.wrapper.is_empty() {
            "no wrapper configured"
        } else {
            "hide-unified: a mount namespace entered once per run, no per-call wrapper"
        };
        return Ok(RunOutcome::Skip(why.into()));
    }
    let mut argv = rt.call_wrapper().to_vec();
    argv.push("/bin/true".into());
    ctx.before_timed()?;
    time(ctx.exec.run(&argv)?.elapsed)
}

pub fn create(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let b = bundle(ctx, &sleeper())?;
    let g = Guard::new(ctx, rt);
    ctx.before_timed()?;
    let out = container::create(ctx, rt, &g.id, &b)?;
    time(out.elapsed)
}

pub fn start(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let b = bundle(ctx, &sleeper())?;
    let g = Guard::new(ctx, rt);
    container::create(ctx, rt, &g.id, &b)?;
    ctx.before_timed()?;
    time(container::start(ctx, rt, &g.id)?.elapsed)
}

pub fn delete_stopped(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let b = bundle(ctx, &plan(&["true"]))?;
    let mut g = Guard::new(ctx, rt);
    container::create(ctx, rt, &g.id, &b)?;
    container::start(ctx, rt, &g.id)?;
    container::wait_status(ctx, rt, &g.id, "stopped", SETTLE)?;
    ctx.before_timed()?;
    let out = container::delete(ctx, rt, &g.id, false)?;
    g.disarm();
    time(out.elapsed)
}

pub fn delete_running(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let b = bundle(ctx, &sleeper())?;
    let mut g = Guard::new(ctx, rt);
    container::create(ctx, rt, &g.id, &b)?;
    container::start(ctx, rt, &g.id)?;
    ctx.before_timed()?;
    let out = container::delete(ctx, rt, &g.id, true)?;
    g.disarm();
    time(out.elapsed)
}

pub fn kill(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let b = bundle(ctx, &sleeper())?;
    let g = Guard::new(ctx, rt);
    container::create(ctx, rt, &g.id, &b)?;
    container::start(ctx, rt, &g.id)?;
    ctx.before_timed()?;
    time(container::kill(ctx, rt, &g.id, "KILL")?.elapsed)
}

pub fn state(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let b = bundle(ctx, &sleeper())?;
    let g = Guard::new(ctx, rt);
    container::create(ctx, rt, &g.id, &b)?;
    container::start(ctx, rt, &g.id)?;
    ctx.before_timed()?;
    time(container::state(ctx, rt, &g.id)?.elapsed)
}

pub fn lifecycle(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let b = bundle(ctx, &sleeper())?;
    let mut g = Guard::new(ctx, rt);
    ctx.before_timed()?;
    let c = container::create(ctx, rt, &g.id, &b)?.elapsed;
    let s = container::start(ctx, rt, &g.id)?.elapsed;
    let d = container::delete(ctx, rt, &g.id, true)?.elapsed;
    g.disarm();
    time(c + s + d)
}

pub fn run_true(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let b = bundle(ctx, &plan(&["true"]))?;
    let mut g = Guard::new(ctx, rt);
    ctx.before_timed()?;
    let out = container::run(ctx, rt, &g.id, &b)?;
    // `run` deletes the container when its process exits.
    g.disarm();
    time(out.elapsed)
}
