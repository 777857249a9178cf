//! The benchmark catalogue: every benchmark's `context.component.facet` name, description,
//! metrics and kind.

use crate::results::{Better, MetricDef};

use super::performance::SysbenchTest;

/// What a benchmark measures, with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Version,
    WrapperFloor,
    Create,
    Start,
    DeleteStopped,
    DeleteRunning,
    Kill,
    State,
    Lifecycle,
    RunTrue,
    Scale { n: u32, concurrent: bool },
    Sysbench(SysbenchTest),
    CpuHardCap,
    CpuScaling,
    BinarySize,
    CreateResources,
    RunResources,
    LifecycleCpu,
    CreateSyscalls,
    WasmHello,
}

impl Kind {
    /// A benchmark that times one runtime verb of a container (`run` is a verb too).
    pub fn is_one_verb(&self) -> bool {
        matches!(
            self,
            Kind::Create
                | Kind::Start
                | Kind::DeleteStopped
                | Kind::DeleteRunning
                | Kind::Kill
                | Kind::State
                | Kind::RunTrue
        )
    }
}

#[derive(Debug, Clone)]
pub struct Benchmark {
    pub name: String,
    pub description: String,
    pub metrics: Vec<MetricDef>,
    pub kind: Kind,
    /// Also run directly on the host, as the reference the overheads are computed against.
    pub on_host: bool,
}

fn metric(key: &str, unit: &str, better: Better) -> MetricDef {
    MetricDef {
        key: key.into(),
        unit: unit.into(),
        better,
    }
}

fn bench(name: &str, description: &str, metrics: Vec<MetricDef>, kind: Kind) -> Benchmark {
    Benchmark {
        name: name.into(),
        description: description.into(),
        metrics,
        kind,
        on_host: false,
    }
}

/// Every benchmark assay knows, for the given scalability counts.
pub fn catalog(scales: &[u32]) -> Vec<Benchmark> {
    use Better::*;
    let time = || vec![metric("time", "ms", Lower)];
    let mut list = vec![
        bench(
            "operations.runtime.version",
            "`--version` without wrapper: the process start-up floor",
            time(),
            Kind::Version,
        ),
        bench(
            "operations.runtime.wrapper",
            "the configured wrapper running /bin/true: its share of every call",
            time(),
            Kind::WrapperFloor,
        ),
        bench(
            "operations.container.create",
            "`create` of a container running `sleep`",
            time(),
            Kind::Create,
        ),
        bench(
            "operations.container.start",
            "`start` of a created container",
            time(),
            Kind::Start,
        ),
        bench(
            "operations.container.delete",
            "`delete` of a stopped container",
            time(),
            Kind::DeleteStopped,
        ),
        bench(
            "operations.container.delete-force",
            "`delete --force` of a running container",
            time(),
            Kind::DeleteRunning,
        ),
        bench(
            "operations.container.kill",
            "`kill ID KILL` of a running container",
            time(),
            Kind::Kill,
        ),
        bench(
            "operations.container.state",
            "`state` of a running container",
            time(),
            Kind::State,
        ),
        bench(
            "operations.container.lifecycle",
            "create + start + delete --force, timed as one",
            time(),
            Kind::Lifecycle,
        ),
        bench(
            "operations.container.run",
            "`run` of a container running `true`, to its exit",
            time(),
            Kind::RunTrue,
        ),
        bench(
            "operations.wasm.hello",
            "`run` of a hello world built for wasm32-wasip1 (run.oci.handler=wasm) and of the same program as a native static binary, to their exit; ratio: wasm / native",
            vec![
                metric("wasm", "ms", Lower),
                metric("native", "ms", Lower),
                metric("ratio", "x", Lower),
            ],
            Kind::WasmHello,
        ),
    ];
    for concurrent in [false, true] {
        for &n in scales {
            let mode = if concurrent {
                "concurrent"
            } else {
                "sequential"
            };
            let how = if concurrent {
                "all at once, one thread each"
            } else {
                "one after another"
            };
            list.push(bench(
                &format!("scalability.{mode}.n{n}"),
                &format!("start {n} sleeping containers then delete --force them all, {how}"),
                vec![
                    metric("total", "ms", Lower),
                    metric("per_container", "ms", Lower),
                    metric("start_all", "ms", Lower),
                    metric("destroy_all", "ms", Lower),
                ],
                Kind::Scale { n, concurrent },
            ));
        }
    }
    for test in SysbenchTest::ALL {
        let metrics = test
            .metrics()
            .into_iter()
            .map(|(key, unit, higher)| metric(key, unit, if higher { Higher } else { Lower }))
            .collect();
        let mut b = bench(
            &format!("performance.{}", test.facet()),
            test.description(),
            metrics,
            Kind::Sysbench(test),
        );
        b.on_host = true;
        list.push(b);
    }
    list.extend([
        bench(
            "limits.cpu.hardcap",
            "sysbench cpu under cpu quota 1000 / period 10000 (10% of one core); cpu: what it got, read from its cgroup once a second",
            vec![metric("throughput", "events/s", Neither), metric("cpu", "% of a core", Neither)],
            Kind::CpuHardCap,
        ),
        bench(
            "limits.cpu.scaling",
            "sysbench cpu while `update --cpu-quota` raises the cap from 50% to 100% over the run; shortfall: cap minus the CPU it got, mean over the seconds",
            vec![metric("throughput", "events/s", Neither), metric("update", "ms", Lower), metric("shortfall", "% of a core", Neither)],
            Kind::CpuScaling,
        ),
        bench(
            "footprint.binary.size",
            "runtime binary size, the shared libraries it links and their total size",
            vec![metric("binary", "KiB", Lower), metric("libraries", "count", Lower), metric("libraries_size", "KiB", Lower)],
            Kind::BinarySize,
        ),
        bench(
            "footprint.create.resources",
            "`create`: peak RSS of the runtime processes, their CPU time, memory left charged to a measuring cgroup",
            resources_metrics(),
            Kind::CreateResources,
        ),
        bench(
            "footprint.run.resources",
            "`run` of `true`: peak RSS, CPU time, memory left charged to a measuring cgroup",
            resources_metrics(),
            Kind::RunResources,
        ),
        bench(
            "footprint.lifecycle.cpu",
            "CPU time (user + system) of create + start + delete --force",
            vec![metric("cpu", "ms", Lower)],
            Kind::LifecycleCpu,
        ),
        bench(
            "footprint.create.syscalls",
            "system calls of `create` (strace -f -c, wrapper included, up to the container's exec)",
            vec![metric("syscalls", "count", Lower)],
            Kind::CreateSyscalls,
        ),
    ]);
    list
}

fn resources_metrics() -> Vec<MetricDef> {
    vec![
        metric("peak_rss", "KiB", Better::Lower),
        metric("cpu", "ms", Better::Lower),
        metric("charged", "KiB", Better::Lower),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_scheme_and_are_unique() {
        let list = catalog(&[5, 10, 50]);
        let mut names: Vec<&str> = list.iter().map(|b| b.name.as_str()).collect();
        for n in &names {
            assert_eq!(n.split('.').count(), 3, "{n}");
            assert!([
                "operations",
                "scalability",
                "performance",
                "limits",
                "footprint"
            ]
            .contains(&n.split('.').next().unwrap()));
        }
        let before = names.len();
        names.sort();
        names.dedup();
        assert_eq!(before, names.len());
        assert!(names.contains(&"operations.container.lifecycle"));
        assert!(names.contains(&"operations.wasm.hello"));
        assert!(names.contains(&"scalability.concurrent.n50"));
        assert!(list
            .iter()
            .filter(|b| b.on_host)
            .all(|b| b.name.starts_with("performance.")));
    }
}
