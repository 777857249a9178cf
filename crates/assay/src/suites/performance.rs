//! performance: sysbench inside a container and on the host, the same command both ways;
//! the report gives the container's throughput as a ratio of the host's.

use std::path::Path;

use crate::error::{Error, Failure};
use crate::runtime::Runtime;
use crate::spec::ProcessPlan;

use super::container::Guard;
use super::ctx::{Ctx, RunOutcome, RunResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SysbenchTest {
    CpuPrimes,
    Memory,
    /// Latency of 4 KiB random memory writes: min, avg, max (TouchStone's MemoryLatency).
    MemoryLatency,
    FileSeqWrite,
    /// Sequential rewrite of the existing files.
    FileSeqRewrite,
    FileSeqRead,
    FileRandRead,
    FileRandWrite,
}

/// Size of the fileio test set: small enough for the page cache of a CI machine.
const FILE_SET: &str = "--file-total-size=128M --file-num=4";

impl SysbenchTest {
    pub const ALL: [SysbenchTest; 8] = [
        SysbenchTest::CpuPrimes,
        SysbenchTest::Memory,
        SysbenchTest::MemoryLatency,
        SysbenchTest::FileSeqWrite,
        SysbenchTest::FileSeqRewrite,
        SysbenchTest::FileSeqRead,
        SysbenchTest::FileRandRead,
        SysbenchTest::FileRandWrite,
    ];

    pub fn facet(self) -> &'static str {
        match self {
            SysbenchTest::CpuPrimes => "cpu.primes",
            SysbenchTest::Memory => "memory.write",
            SysbenchTest::MemoryLatency => "memory.latency",
            SysbenchTest::FileSeqWrite => "fileio.seqwr",
            SysbenchTest::FileSeqRewrite => "fileio.seqrewr",
            SysbenchTest::FileSeqRead => "fileio.seqrd",
            SysbenchTest::FileRandRead => "fileio.rndrd",
            SysbenchTest::FileRandWrite => "fileio.rndwr",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            SysbenchTest::CpuPrimes => "sysbench cpu (primes up to 20000, one thread)",
            SysbenchTest::Memory => "sysbench memory (1 MiB blocks, writes)",
            SysbenchTest::MemoryLatency => {
                "sysbench memory, 4 KiB random writes: latency of one operation (min, avg, max)"
            }
            SysbenchTest::FileSeqWrite => "sysbench fileio, sequential writes, 128 MiB in 4 files",
            SysbenchTest::FileSeqRewrite => {
                "sysbench fileio, sequential rewrites of the files, 128 MiB in 4 files"
            }
            SysbenchTest::FileSeqRead => "sysbench fileio, sequential reads, 128 MiB in 4 files",
            SysbenchTest::FileRandRead => "sysbench fileio, random reads, 128 MiB in 4 files",
            SysbenchTest::FileRandWrite => "sysbench fileio, random writes, 128 MiB in 4 files",
        }
    }

    pub fn is_fileio(self) -> bool {
        self.facet().starts_with("fileio.")
    }

    /// The metrics: (key, unit, higher is better).
    pub fn metrics(self) -> Vec<(&'static str, &'static str, bool)> {
        match self {
            SysbenchTest::CpuPrimes => vec![("throughput", "events/s", true)],
            SysbenchTest::MemoryLatency => vec![
                ("min", "µs", false),
                ("avg", "µs", false),
                ("max", "µs", false),
            ],
            _ => vec![("throughput", "MiB/s", true)],
        }
    }

    /// A `sh -c` script running the test for `secs` seconds in `dir`.
    pub fn script(self, sysbench: &str, secs: u32, dir: &str) -> String {
        let file_mode = match self {
            SysbenchTest::CpuPrimes => {
                return format!("{sysbench} cpu --cpu-max-prime=20000 --threads=1 --time={secs} run")
            }
            SysbenchTest::Memory => {
                return format!(
                    "{sysbench} memory --memory-block-size=1M --memory-total-size=1T --memory-oper=write --time={secs} run"
                )
            }
            SysbenchTest::MemoryLatency => {
                return format!(
                    "{sysbench} memory --memory-block-size=4K --memory-total-size=1T --memory-oper=write --memory-access-mode=rnd --histogram=on --time={secs} run"
                )
            }
            SysbenchTest::FileSeqWrite => "seqwr",
            SysbenchTest::FileSeqRewrite => "seqrewr",
            SysbenchTest::FileSeqRead => "seqrd",
            SysbenchTest::FileRandRead => "rndrd",
            SysbenchTest::FileRandWrite => "rndwr",
        };
        format!(
            "cd {dir} && {sysbench} fileio {FILE_SET} prepare >/dev/null && \
             {sysbench} fileio {FILE_SET} --file-test-mode={file_mode} --time={secs} run; rc=$?; \
             {sysbench} fileio {FILE_SET} cleanup >/dev/null; exit $rc"
        )
    }

    /// The values of [`SysbenchTest::metrics`] from sysbench's report.
    pub fn values(self, out: &str) -> Option<Vec<f64>> {
        match self {
            SysbenchTest::MemoryLatency => memory_latency_us(out),
            _ => self.parse(out).map(|v| vec![v]),
        }
    }

    /// The throughput from sysbench's report.
    pub fn parse(self, out: &str) -> Option<f64> {
        match self {
            SysbenchTest::CpuPrimes => value_after(out, "events per second:"),
            // "102400.00 MiB transferred (20479.52 MiB/sec)"
            SysbenchTest::Memory | SysbenchTest::MemoryLatency => out
                .lines()
                .find(|l| l.contains("MiB transferred"))
                .and_then(|l| l.split('(').nth(1))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok()),
            SysbenchTest::FileSeqWrite
            | SysbenchTest::FileSeqRewrite
            | SysbenchTest::FileRandWrite => value_after(out, "written, MiB/s:"),
            SysbenchTest::FileSeqRead | SysbenchTest::FileRandRead => {
                value_after(out, "read, MiB/s:")
            }
        }
    }
}

/// min, avg and max latency in µs: sysbench prints them in ms with two decimals, too
/// coarse for a memory write, so min is the first bucket of its histogram (three
/// decimals) and avg the latency sum over the number of events.
fn memory_latency_us(out: &str) -> Option<Vec<f64>> {
    let histogram = out.split("Latency histogram").nth(1)?;
    let min: f64 = histogram.lines().find_map(|l| {
        let (value, rest) = l.split_once('|')?;
        let count: u64 = rest.split_whitespace().last()?.parse().ok()?;
        (count > 0).then(|| value.trim().parse().ok()).flatten()
    })?;
    let stats = out.split("Latency (ms):").nth(1)?;
    let events = value_after(out, "total number of events:")?;
    let sum = value_after(stats, "sum:")?;
    let max = value_after(stats, "max:")?;
    (events > 0.0).then(|| vec![min * 1000.0, sum / events * 1000.0, max * 1000.0])
}

fn value_after(out: &str, label: &str) -> Option<f64> {
    out.lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn sysbench_path<'c>(ctx: &'c Ctx) -> Result<&'c Path, RunOutcome> {
    ctx.tools.sysbench.as_deref().ok_or_else(|| {
        RunOutcome::Skip("sysbench is not installed (apt-get install sysbench)".into())
    })
}

pub fn parsed(test: SysbenchTest, what: &str, out: &str) -> RunResult {
    test.values(out).map(RunOutcome::Values).ok_or_else(|| {
        Failure::new(what, format!("no {} in sysbench output", test.facet()))
            .with_stderr(crate::exec::tail(out, 4096))
    })
}

/// `test` on the host, as the reference for the same test in a container.
pub fn run_on_host(ctx: &Ctx, test: SysbenchTest) -> RunResult {
    let sysbench = match sysbench_path(ctx) {
        Ok(p) => p.display().to_string(),
        Err(skip) => return Ok(skip),
    };
    let dir = ctx.exec.scratch().join("fileio-host");
    std::fs::create_dir_all(&dir)
        .map_err(|e| Failure::new("host fileio", Error::io("create", &dir)(e)))?;
    let script = test.script(&sysbench, ctx.config.seconds, &dir.display().to_string());
    ctx.before_timed()?;
    let out = ctx.exec.run(&["sh".into(), "-c".into(), script])?;
    parsed(test, "sysbench on the host", &out.stdout)
}

/// The bundle plan of a sysbench script, with `/work` bind-mounted for fileio.
pub fn plan_for(ctx: &Ctx, script: String) -> Result<ProcessPlan, Failure> {
    let work = ctx.exec.scratch().join("fileio-container");
    std::fs::create_dir_all(&work)
        .map_err(|e| Failure::new("container fileio", Error::io("create", &work)(e)))?;
    Ok(ProcessPlan {
        args: vec!["sh".into(), "-c".into(), script],
        cwd: Some("/work".into()),
        cpu_quota: None,
        work_mount: Some(work.display().to_string()),
        ..Default::default()
    })
}

/// Makes sysbench runnable in the rootfs; a skip when it is not installed.
pub fn ensure_sysbench(ctx: &Ctx) -> Result<Result<String, RunOutcome>, Failure> {
    let host = match sysbench_path(ctx) {
        Ok(p) => p,
        Err(skip) => return Ok(Err(skip)),
    };
    ctx.bundles
        .add_host_program(host, ctx.exec)
        .map_err(|e| Failure::new("copy sysbench into the rootfs", e))?;
    Ok(Ok(host.display().to_string()))
}

pub fn in_container(ctx: &Ctx, rt: &Runtime, test: SysbenchTest) -> RunResult {
    let sysbench = match ensure_sysbench(ctx)? {
        Ok(p) => p,
        Err(skip) => return Ok(skip),
    };
    let plan = plan_for(ctx, test.script(&sysbench, ctx.config.seconds, "/work"))?;
    let bundle = super::container::bundle(ctx, &plan)?;
    let mut g = Guard::new(ctx, rt);
    ctx.before_timed()?;
    let out = super::container::run(ctx, rt, &g.id, &bundle)?;
    g.disarm();
    parsed(test, &format!("sysbench in {}", rt.name), &out.stdout)
}

#[cfg(test)]
mod tests {
    use super::SysbenchTest::*;

    #[test]
    fn parses_sysbench_reports() {
        assert_eq!(
            CpuPrimes.parse("CPU speed:\n    events per second:   345.67\n"),
            Some(345.67)
        );
        assert_eq!(
            Memory.parse("102400.00 MiB transferred (20479.52 MiB/sec)\n"),
            Some(20479.52)
        );
        let fileio = "File operations:\n    reads/s: 1.0\nThroughput:\n    read, MiB/s:                  812.50\n    written, MiB/s:               0.00\n";
        assert_eq!(FileSeqRead.parse(fileio), Some(812.5));
        assert_eq!(FileRandWrite.parse(fileio), Some(0.0));
        assert_eq!(CpuPrimes.parse("garbage"), None);
        let latency = "Latency histogram (values are in milliseconds)\n       value  ------------- distribution ------------- count\n       0.001 |**************************************** 436945\n       0.002 |                                         177\n      12.340 |                                         1\n \nGeneral statistics:\n    total time:                          1.0105s\n    total number of events:              400000\n\nLatency (ms):\n         min:                                    0.00\n         avg:                                    0.00\n         max:                                   12.34\n         95th percentile:                        0.00\n         sum:                                  800.00\n";
        assert_eq!(MemoryLatency.values(latency), Some(vec![1.0, 2.0, 12340.0]));
        assert_eq!(FileSeqRewrite.values(fileio), Some(vec![0.0]));
        assert!(FileSeqRewrite
            .script("s", 3, "/w")
            .contains("--file-test-mode=seqrewr"));
        assert!(MemoryLatency
            .script("s", 3, "/w")
            .contains("--histogram=on"));
    }

    #[test]
    fn scripts_name_the_mode() {
        assert!(FileRandRead
            .script("sysbench", 3, "/work")
            .contains("--file-test-mode=rndrd --time=3"));
        assert!(CpuPrimes
            .script("/usr/bin/sysbench", 5, "/w")
            .starts_with("/usr/bin/sysbench cpu"));
    }
}
