//! footprint: what a runtime costs besides time — its size, its memory, its CPU time and
//! its system calls.

use std::time::Duration;

use crate::bundle::linked_libraries;
use crate::error::{Error, Failure};
use crate::exec::take_file;
use crate::measure::{Measurement, MeasuringCgroup};
use crate::runtime::Runtime;

use super::container::{self, bundle, plan, sleeper, Guard};
use super::ctx::{Ctx, RunOutcome, RunResult};

pub fn binary_size(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let size = std::fs::metadata(&rt.path)
        .map_err(|e| Failure::new("footprint", Error::io("stat", &rt.path)(e)))?
        .len();
    let libs = linked_libraries(&rt.path, ctx.exec).map_err(|e| Failure::new("ldd", e))?;
    let libs_size: u64 = libs.iter().map(|(_, s)| s).sum();
    Ok(RunOutcome::Values(vec![
        size as f64 / 1024.0,
        libs.len() as f64,
        libs_size as f64 / 1024.0,
    ]))
}

/// Runs `verb` of `rt` through the `__measure` helper, inside `cgroup` when there is one,
/// under the verb's time limit.
///
/// runc and crun put a container without `cgroupsPath` below the caller's cgroup, so the
/// measuring cgroup must outlive the container: callers create it before the [`Guard`].
fn measured(
    ctx: &Ctx,
    cgroup: Option<&MeasuringCgroup>,
    rt: &Runtime,
    verb: &[&str],
) -> Result<Measurement, Failure> {
    let argv = rt.argv(verb);
    let out = ctx.exec.scratch_file("measure");
    let mut helper = vec![
        ctx.self_exe.display().to_string(),
        "__measure".into(),
        "--out".into(),
        out.display().to_string(),
    ];
    if let Some(cg) = cgroup {
        helper.extend(["--cgroup".to_string(), cg.dir.display().to_string()]);
    }
    helper.push("--".into());
    helper.extend(argv);
    ctx.exec
        .run_limited(&helper, ctx.config.time_limit(verb[0]))?;
    let text = take_file(&out);
    serde_json::from_str(&text)
        .map_err(|e| Failure::new("__measure", Error::json("measurement")(e)))
}

fn resources(m: &Measurement) -> RunOutcome {
    RunOutcome::Values(vec![
        m.peak_rss_kib as f64,
        m.cpu_ms,
        m.charged_kib.map_or(f64::NAN, |c| c as f64),
    ])
}

pub fn create_resources(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let b = bundle(ctx, &sleeper())?;
    let cg = MeasuringCgroup::create(&ctx.new_id());
    let g = Guard::new(ctx, rt);
    ctx.before_timed()?;
    let m = measured(ctx, cg.as_ref(), rt, &["create", "--bundle", &b, &g.id])?;
    Ok(resources(&m))
}

pub fn run_resources(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let b = bundle(ctx, &plan(&["true"]))?;
    let cg = MeasuringCgroup::create(&ctx.new_id());
    let mut g = Guard::new(ctx, rt);
    ctx.before_timed()?;
    let m = measured(ctx, cg.as_ref(), rt, &["run", "--bundle", &b, &g.id])?;
    g.disarm();
    Ok(resources(&m))
}

pub fn lifecycle_cpu(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let b = bundle(ctx, &sleeper())?;
    let mut g = Guard::new(ctx, rt);
    ctx.before_timed()?;
    let c = measured(ctx, None, rt, &["create", "--bundle", &b, &g.id])?;
    let s = measured(ctx, None, rt, &["start", &g.id])?;
    let d = measured(ctx, None, rt, &["delete", "--force", &g.id])?;
    g.disarm();
    Ok(RunOutcome::Values(vec![c.cpu_ms + s.cpu_ms + d.cpu_ms]))
}

/// strace follows the container process too and only ends when it does, so the traced
/// container runs `true` and is started untraced once `create` is done.
pub fn create_syscalls(ctx: &Ctx, rt: &Runtime) -> RunResult {
    let Some(strace) = &ctx.tools.strace else {
        return Ok(RunOutcome::Skip(
            "strace is not installed (apt-get install strace)".into(),
        ));
    };
    let b = bundle(ctx, &plan(&["true"]))?;
    let g = Guard::new(ctx, rt);
    let report = ctx.exec.scratch_file("strace");
    let mut argv = vec![
        strace.display().to_string(),
        "-f".into(),
        "-c".into(),
        "-o".into(),
        report.display().to_string(),
    ];
    argv.extend(rt.argv(&["create", "--bundle", b.as_str(), g.id.as_str()]));
    let traced = std::thread::scope(|s| {
        let tracer = s.spawn(|| ctx.exec.run(&argv));
        let started = container::wait_status(ctx, rt, &g.id, "created", Duration::from_secs(10))
            .and_then(|_| container::start(ctx, rt, &g.id).map(drop));
        if started.is_err() {
            // Ends the traced container so strace, and the thread waiting for it, finish.
            let _ = container::delete(ctx, rt, &g.id, true);
        }
        let traced = tracer
            .join()
            .unwrap_or_else(|_| Err(Failure::new("strace", "thread panicked")));
        started.and(traced)
    });
    let text = take_file(&report);
    traced?;
    let calls = strace_total(&text).ok_or_else(|| {
        Failure::new("strace -c", "no total line in its report").with_stderr(text.clone())
    })?;
    Ok(RunOutcome::Values(vec![calls]))
}

/// The `calls` column of the `total` line of `strace -c`.
pub fn strace_total(report: &str) -> Option<f64> {
    let line = report
        .lines()
        .rev()
        .find(|l| l.trim_end().ends_with("total"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::strace_total;

    #[test]
    fn strace_summary() {
        let report = "% time     seconds  usecs/call     calls    errors syscall\n\
                      ------ ----------- ----------- --------- --------- ----------------\n\
                       40.00    0.000400           4       100        10 mmap\n\
                      ------ ----------- ----------- --------- --------- ----------------\n\
                      100.00    0.001000           2       517        42 total\n";
        assert_eq!(strace_total(report), Some(517.0));
        let no_errors = "100.00    0.001000           2       321           total\n";
        assert_eq!(strace_total(no_errors), Some(321.0));
        assert_eq!(strace_total("nothing"), None);
    }
}
