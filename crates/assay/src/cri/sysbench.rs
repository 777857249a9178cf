//! The CRI benchmarks that run sysbench in a pod through ExecSync: CPUTime, HardLimit and
//! its scaling, and the memory and fileio tests. The host's sysbench and its libraries are
//! bind-mounted read-only into the busybox container; fileio gets a host folder at /work.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crate::error::{Error, Failure};
use crate::suites::{parsed, RunOutcome, RunResult, SysbenchTest};

use super::api::Mount;
use super::client::{CallError, CriError};
use super::pod;
use super::session::{ms, Ctx, Pod, SLEEP};

fn sysbench_cmd(sysbench: &str, secs: u32) -> Vec<String> {
    vec![
        sysbench.into(),
        "cpu".into(),
        "--cpu-max-prime=20000".into(),
        "--threads=1".into(),
        format!("--time={secs}"),
        "run".into(),
    ]
}

/// A pod whose container sleeps with sysbench mounted in, under an optional cap (% of a core).
fn sysbench_pod<'a>(
    ctx: &Ctx<'a>,
    handler: &str,
    cap: Option<i64>,
) -> Result<Result<(Pod<'a>, String, String), RunOutcome>, Failure> {
    sysbench_pod_with(ctx, handler, cap, Vec::new())
}

fn sysbench_pod_with<'a>(
    ctx: &Ctx<'a>,
    handler: &str,
    cap: Option<i64>,
    extra: Vec<Mount>,
) -> Result<Result<(Pod<'a>, String, String), RunOutcome>, Failure> {
    let Some((sysbench, mounts)) = &ctx.sysbench else {
        return Ok(Err(RunOutcome::Skip(
            "sysbench not installed (apt-get install sysbench)".into(),
        )));
    };
    let pod = Pod::run(ctx, handler)?;
    let mut mounts = mounts.clone();
    mounts.extend(extra);
    let c = pod.create(SLEEP, cap.map(pod::cpu_percent), mounts)?;
    pod.start(&c)?;
    Ok(Ok((pod, c, sysbench.clone())))
}

fn events(out: &[u8], what: &str) -> Result<f64, Failure> {
    let text = String::from_utf8_lossy(out);
    SysbenchTest::CpuPrimes
        .parse(&text)
        .ok_or_else(|| Failure::new(what, "no throughput in sysbench output").with_stderr(text))
}

/// sysbench cpu through ExecSync, under a cap (% of a core) or none.
pub(super) fn cpu(ctx: &Ctx, handler: &str, cap: Option<i64>) -> RunResult {
    let (mut pod, c, sysbench) = match sysbench_pod(ctx, handler, cap)? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let secs = ctx.config.seconds;
    let cmd = sysbench_cmd(&sysbench, secs);
    let argv: Vec<&str> = cmd.iter().map(String::as_str).collect();
    ctx.spacing()?;
    let r = ctx
        .cri
        .block_on(ctx.cri.h.exec_sync(&c, &argv, i64::from(secs) + 60))?;
    let v = events(&r.stdout, "ExecSync sysbench cpu")?;
    pod.destroy()?;
    Ok(RunOutcome::Values(vec![v]))
}

/// A memory or fileio test through ExecSync; fileio writes to a host folder at /work.
pub(super) fn test(ctx: &Ctx, handler: &str, test: SysbenchTest) -> RunResult {
    let folder = std::env::temp_dir().join(format!(
        "assay-cri-fileio-{}-{}",
        std::process::id(),
        ctx.ids.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&folder)
        .map_err(|e| Failure::new("CRI fileio", Error::io("create", &folder)(e)))?;
    crate::leftovers::dir(&folder);
    let work = Mount {
        container_path: "/work".into(),
        host_path: folder.display().to_string(),
        readonly: false,
    };
    let result = (|| {
        let (mut pod, c, sysbench) = match sysbench_pod_with(ctx, handler, None, vec![work])? {
            Ok(p) => p,
            Err(skip) => return Ok(skip),
        };
        let secs = ctx.config.seconds;
        let script = test.script(&sysbench, secs, "/work");
        ctx.spacing()?;
        let r = ctx.cri.block_on(ctx.cri.h.exec_sync(
            &c,
            &["sh", "-c", &script],
            i64::from(secs) + 120,
        ))?;
        let out = String::from_utf8_lossy(&r.stdout).into_owned();
        let values = parsed(test, &format!("ExecSync sysbench {}", test.facet()), &out)?;
        pod.destroy()?;
        Ok(values)
    })();
    let _ = std::fs::remove_dir_all(&folder);
    crate::leftovers::dir_gone(&folder);
    result
}

/// sysbench at 50% of a core, raised once a second to reach 100% at the end.
pub(super) fn scaling(ctx: &Ctx, handler: &str) -> RunResult {
    let (mut pod, c, sysbench) = match sysbench_pod(ctx, handler, Some(50))? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let secs = ctx.config.seconds.max(2) * 2;
    let cmd = sysbench_cmd(&sysbench, secs);
    ctx.spacing()?;
    let h = ctx.cri.h.clone();
    let (out, updates) = ctx.cri.block_on(async {
        let (h2, c2, timeout) = (h.clone(), c.clone(), i64::from(secs) + 60);
        let exec = tokio::spawn(async move {
            let argv: Vec<&str> = cmd.iter().map(String::as_str).collect();
            h2.exec_sync(&c2, &argv, timeout).await
        });
        let began = tokio::time::Instant::now();
        let mut took = Vec::new();
        let mut raised = Ok(());
        for step in 1..secs {
            tokio::time::sleep_until(began + Duration::from_secs(u64::from(step))).await;
            let percent = 50 + 50 * i64::from(step) / i64::from(secs - 1);
            let t = Instant::now();
            raised = h
                .update_container_resources(&c, pod::cpu_percent(percent))
                .await;
            if raised.is_err() {
                break;
            }
            took.push(ms(t));
        }
        let out = exec.await.unwrap_or_else(|e| {
            Err(CriError {
                rpc: "ExecSync task",
                why: CallError::Task(e),
            })
        });
        (out, raised.map(|()| took))
    });
    let updates = updates?;
    let v = events(&out?.stdout, "ExecSync sysbench cpu while raising the cap")?;
    pod.destroy()?;
    let mean = updates.iter().sum::<f64>() / updates.len().max(1) as f64;
    Ok(RunOutcome::Values(vec![v, mean]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysbench_runs_for_the_configured_time() {
        assert!(sysbench_cmd("/usr/bin/sysbench", 3).contains(&"--time=3".to_string()));
    }
}
