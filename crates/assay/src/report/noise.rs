//! Was the machine quiet? The warnings a report shows above its numbers when it was not:
//! load above the cores, CPU time stolen by the hypervisor, the host's reference workload
//! drifting during the run.

use crate::results::Results;

/// Mean 1-minute load per core above which the run counts as busy.
const BUSY_LOAD_PER_CORE: f64 = 0.75;
/// Stolen CPU time (%) that makes timings unreliable.
const STEAL_PCT: f64 = 2.0;
/// How far the reference workload may move (slowest / fastest) on a quiet machine.
const REFERENCE_DRIFT: f64 = 1.25;

/// One sentence per kind of noise seen; empty for a quiet run.
pub fn warnings(r: &Results) -> Vec<String> {
    let mut out = Vec::new();
    let loads: Vec<f64> = r
        .benchmarks
        .iter()
        .flat_map(|b| b.cells.iter())
        .flat_map(|c| c.samples.iter().map(|s| s.load1))
        .collect();
    let cores = r.machine.cores.max(1) as f64;
    if !loads.is_empty() {
        let mean = loads.iter().sum::<f64>() / loads.len() as f64;
        let max = loads.iter().copied().fold(0.0, f64::max);
        if mean / cores > BUSY_LOAD_PER_CORE {
            out.push(format!(
                "the machine was busy: mean 1-minute load {mean:.1} (up to {max:.1}) on {} cores",
                r.machine.cores
            ));
        }
    }
    if let Some(steal) = r.noise.steal_pct.filter(|s| *s > STEAL_PCT) {
        out.push(format!(
            "the hypervisor stole {steal:.1}% of the CPU time during the run"
        ));
    }
    let refs: Vec<f64> = r.noise.reference.iter().map(|p| p[1]).collect();
    if refs.len() >= 2 {
        let lo = refs.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = refs.iter().copied().fold(0.0, f64::max);
        if lo > 0.0 && hi / lo > REFERENCE_DRIFT {
            out.push(format!(
                "the host's reference workload drifted from {lo:.2} to {hi:.2} ms (×{:.2}) during the run",
                hi / lo
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_and_busy_runs() {
        let mut r = crate::report::tests::sample_results();
        assert!(warnings(&r).is_empty(), "{:?}", warnings(&r));
        r.machine.cores = 2;
        for b in &mut r.benchmarks {
            for c in &mut b.cells {
                for s in &mut c.samples {
                    s.load1 = 6.0;
                }
            }
        }
        r.noise.steal_pct = Some(5.0);
        r.noise.reference = vec![[0.0, 4.0], [10.0, 6.0]];
        let w = warnings(&r);
        assert_eq!(w.len(), 3, "{w:?}");
        assert!(w[0].contains("busy") && w[1].contains("stole") && w[2].contains("drifted"));
    }
}
