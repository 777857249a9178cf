//! limits: the cpu benchmark under a hard cap, and under a cap raised with `update` while
//! it runs.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Failure};
use crate::exec::take_file;
use crate::runtime::Runtime;

use super::container::{self, Guard};
use super::ctx::{ms, Ctx, RunOutcome, RunResult};
use super::performance::{ensure_sysbench, plan_for, SysbenchTest};

const PERIOD: u64 = 10_000;

fn cpu_script(sysbench: &str, secs: u32) -> String {
    format!("{sysbench} cpu --cpu-max-prime=20000 --threads=1 --time={secs} run")
}

fn events(out: &str, what: &str) -> Result<f64, Failure> {
    SysbenchTest::CpuPrimes
        .parse(out)
        .ok_or_else(|| Failure::new(what, "no throughput in sysbench output").with_stderr(out))
}

/// A container's `pid` from `state`.
fn pid_of(ctx: &Ctx, rt: &Runtime, id: &str) -> Result<i32, Failure> {
    let out = container::state(ctx, rt, id)?;
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .map_err(|e| Failure::new(format!("{} state {id}", rt.name), Error::json("state")(e)))?;
    v["pid"]
        .as_i64()
        .and_then(|p| i32::try_from(p).ok())
        .filter(|p| *p > 0)
        .ok_or_else(|| Failure::new(format!("{} state {id}", rt.name), "no pid"))
}

/// The `cpuacct.usage` file of a process's v1 cgroup, if there is one.
fn cpuacct_usage_file(pid: i32) -> Option<PathBuf> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
    text.lines().find_map(|l| {
        let mut f = l.splitn(3, ':');
        let (_, controllers, path) = (f.next()?, f.next()?, f.next()?);
        controllers.split(',').any(|c| c == "cpuacct").then(|| {
            let base = Path::new("/sys/fs/cgroup").join(controllers);
            let base = if base.is_dir() {
                base
            } else {
                Path::new("/sys/fs/cgroup/cpuacct").to_path_buf()
            };
            base.join(path.trim_start_matches('/'))
                .join("cpuacct.usage")
        })
    })
}

fn read_ns(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// What a capped run gives: throughput, `update` times (ms), trace.
type Capped = (f64, Vec<f64>, Vec<[f64; 3]>);

/// sysbench cpu in a container whose CPU quota (of PERIOD) is `quota(second)`, raised with
/// `update` when it changes; once a second the CPU the container used is read from its
/// cgroup. Returns the throughput, the `update` times and the trace
/// `[second, requested %, achieved %]`.
fn capped_run(
    ctx: &Ctx,
    rt: &Runtime,
    secs: u32,
    quota: impl Fn(u32) -> u64,
) -> Result<Result<Capped, RunOutcome>, Failure> {
    let sysbench = match ensure_sysbench(ctx)? {
        Ok(p) => p,
        Err(skip) => return Ok(Err(skip)),
    };
    let mut plan = plan_for(ctx, cpu_script(&sysbench, secs))?;
    plan.cpu_quota = Some((quota(0) as i64, PERIOD));
    let bundle = container::bundle(ctx, &plan)?;
    let g = Guard::new(ctx, rt);
    let log = ctx.exec.scratch_file("capped-out");
    container::create_logged(ctx, rt, &g.id, &bundle, &log)?;
    let usage = pid_of(ctx, rt, &g.id).ok().and_then(cpuacct_usage_file);
    ctx.before_timed()?;
    container::start(ctx, rt, &g.id)?;
    let began = Instant::now();
    let mut last = (0.0, usage.as_deref().and_then(read_ns));
    let mut update_ms = Vec::new();
    let mut trace = Vec::new();
    for step in 1..=secs {
        let due = Duration::from_secs(u64::from(step));
        std::thread::sleep(due.saturating_sub(began.elapsed()));
        let now = began.elapsed().as_secs_f64();
        let used = usage.as_deref().and_then(read_ns);
        if let (Some(before), Some(after)) = (last.1, used) {
            let achieved = after.saturating_sub(before) as f64 / 1e7 / (now - last.0);
            let requested = quota(step - 1) as f64 * 100.0 / PERIOD as f64;
            trace.push([now, requested, achieved]);
        }
        last = (now, used);
        if step < secs && quota(step) != quota(step - 1) {
            let q = quota(step).to_string();
            let out = container::verb(
                ctx,
                rt,
                &["update", "--cpu-quota", q.as_str(), g.id.as_str()],
            )?;
            update_ms.push(ms(out.elapsed));
        }
    }
    container::wait_status(ctx, rt, &g.id, "stopped", Duration::from_secs(30))?;
    let text = take_file(&log);
    let throughput = events(&text, "sysbench under a CPU cap")?;
    Ok(Ok((throughput, update_ms, trace)))
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// sysbench cpu under 10% of one core: its throughput and the CPU it actually got.
pub fn hard_cap(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let secs = ctx.config.seconds;
    let (throughput, _, trace) = match capped_run(ctx, rt, secs, |_| 1000)? {
        Ok(r) => r,
        Err(skip) => return Ok(skip),
    };
    let achieved: Vec<f64> = trace.iter().map(|t| t[2]).collect();
    Ok(RunOutcome::Traced(vec![throughput, mean(&achieved)], trace))
}

/// Starts at 50% of a core and raises the quota once a second to 100% at the end.
pub fn scaling(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let secs = ctx.config.seconds.max(2) * 2;
    let quota = |step: u32| 5000 + 5000 * u64::from(step) / u64::from(secs - 1);
    let (throughput, updates, trace) = match capped_run(ctx, rt, secs, quota)? {
        Ok(r) => r,
        Err(skip) => return Ok(skip),
    };
    // How far below the cap it ran, on average (the cap enforced and followed: near 0).
    let shortfall: Vec<f64> = trace.iter().map(|t| t[1] - t[2]).collect();
    Ok(RunOutcome::Traced(
        vec![throughput, mean(&updates), mean(&shortfall)],
        trace,
    ))
}
