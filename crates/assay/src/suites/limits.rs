//! limits: the cpu benchmark under a hard cap, and under a cap raised with `update` while
//! it runs.

use std::time::{Duration, Instant};

use crate::exec::{take_file, Failure};
use crate::runtime::Runtime;

use super::container::{self, Guard};
use super::performance::{ensure_sysbench, plan_for, SysbenchTest};
use super::{ms, Ctx, RunOutcome, RunResult};

const PERIOD: u64 = 10_000;

fn cpu_script(sysbench: &str, secs: u32) -> String {
    format!("{sysbench} cpu --cpu-max-prime=20000 --threads=1 --time={secs} run")
}

fn events(out: &str, what: &str) -> Result<f64, Failure> {
    SysbenchTest::CpuPrimes.parse(out).ok_or_else(|| Failure {
        command: what.into(),
        reason: "no throughput in sysbench output".into(),
        stderr: out.into(),
    })
}

pub fn hard_cap(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let sysbench = match ensure_sysbench(ctx)? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let mut plan = plan_for(ctx, cpu_script(&sysbench, ctx.config.seconds))?;
    plan.cpu_quota = Some((1000, PERIOD));
    let bundle = container::bundle(ctx, &plan)?;
    let mut g = Guard::new(ctx, rt);
    ctx.before_timed()?;
    let out = ctx
        .exec
        .run(&rt.argv(&["run", "--bundle", bundle.as_str(), g.id.as_str()]))?;
    g.disarm();
    Ok(RunOutcome::Values(vec![events(
        &out.stdout,
        "sysbench under a hard cap",
    )?]))
}

/// Starts at 50% of a core and raises the quota once a second to 100% at the end.
pub fn scaling(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let sysbench = match ensure_sysbench(ctx)? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let secs = ctx.config.seconds.max(2) * 2;
    let mut plan = plan_for(ctx, cpu_script(&sysbench, secs))?;
    plan.cpu_quota = Some((5000, PERIOD));
    let bundle = container::bundle(ctx, &plan)?;
    let g = Guard::new(ctx, rt);
    let log = ctx.exec.scratch_file("scaling-out");
    container::create_logged(ctx, rt, &g.id, &bundle, &log)?;
    ctx.before_timed()?;
    container::start(ctx, rt, &g.id)?;
    let began = Instant::now();
    let mut update_ms = Vec::new();
    for step in 1..secs {
        let due = Duration::from_secs(u64::from(step));
        std::thread::sleep(due.saturating_sub(began.elapsed()));
        let quota = 5000 + 5000 * u64::from(step) / u64::from(secs - 1);
        let q = quota.to_string();
        let out = ctx
            .exec
            .run(&rt.argv(&["update", "--cpu-quota", q.as_str(), g.id.as_str()]))?;
        update_ms.push(ms(out.elapsed));
    }
    container::wait_status(
        ctx,
        rt,
        &g.id,
        "stopped",
        Duration::from_secs(u64::from(secs) + 30),
    )?;
    let text = take_file(&log);
    let throughput = events(&text, "sysbench while the cap is raised")?;
    let mean_update = update_ms.iter().sum::<f64>() / update_ms.len().max(1) as f64;
    Ok(RunOutcome::Values(vec![throughput, mean_update]))
}
