//! The comparisons a table shows, computed once for every renderer (HTML, Markdown, the
//! terminal): per cell the ratio of its median to the reference's (the baseline, or the
//! host for performance) with a 95% bootstrap confidence interval and an exact rank-sum
//! p-value; per row the best runtime, tested against the runner-up. All p-values of one
//! table form one family and are Holm-adjusted, so "significant" and "best" hold for the
//! table as a whole, not for each cell by luck.

use std::collections::HashMap;

use crate::results::{BenchmarkResult, Better, Cell, CellStatus};
use crate::stats::{holm, rank_sum_p, ratio, ratio_ci, seed_of, ALPHA};

/// One cell against its reference.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub reference: String,
    pub ratio: f64,
    pub ci: Option<(f64, f64)>,
    pub p: Option<f64>,
    /// Holm-adjusted across the table.
    pub p_adj: Option<f64>,
}

impl Comparison {
    pub fn significant(&self) -> bool {
        self.p_adj.is_some_and(|p| p < ALPHA)
    }
}

/// The best runtime of a row and its test against the runner-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Best {
    pub cell: usize,
    pub runner_up: String,
    pub p_adj: Option<f64>,
}

#[derive(Debug, Default)]
pub struct Analysis {
    cells: HashMap<(String, usize, String), Comparison>,
    best: HashMap<(String, usize), Best>,
    /// How many tests the family held (for the captions).
    pub tests: usize,
}

/// The reference column of a benchmark: the host when it ran there, else the baseline.
pub fn reference_of<'a>(b: &BenchmarkResult, baseline: &'a str) -> &'a str {
    if b.cells.iter().any(|c| c.runtime == "host") {
        "host"
    } else {
        baseline
    }
}

fn median(cell: &Cell, metric: usize) -> Option<f64> {
    (cell.status == CellStatus::Ok)
        .then(|| cell.summaries.get(metric)?.as_ref().map(|s| s.median))
        .flatten()
        .filter(|m| m.is_finite())
}

impl Analysis {
    pub fn of(benches: &[&BenchmarkResult], baseline: &str) -> Analysis {
        let mut a = Analysis::default();
        // (is_best, key index) for every p-value, adjusted together at the end.
        let mut family: Vec<(bool, (String, usize, String), f64)> = Vec::new();
        for b in benches {
            let reference = reference_of(b, baseline);
            for m in 0..b.metrics.len() {
                let Some(rc) = b.cells.iter().find(|c| c.runtime == reference) else {
                    continue;
                };
                let Some(rm) = median(rc, m) else { continue };
                let rv = rc.values(m);
                for c in b.cells.iter().filter(|c| c.runtime != reference) {
                    let Some(cm) = median(c, m) else { continue };
                    let Some(r) = ratio(cm, rm) else { continue };
                    let cv = c.values(m);
                    let key = (b.name.clone(), m, c.runtime.clone());
                    let seed = seed_of(&format!("{}/{m}/{}", b.name, c.runtime));
                    let p = test(&cv, &rv);
                    if let Some(p) = p {
                        family.push((false, key.clone(), p));
                    }
                    a.cells.insert(
                        key,
                        Comparison {
                            reference: reference.to_string(),
                            ratio: r,
                            ci: ratio_ci(&cv, &rv, seed),
                            p,
                            p_adj: None,
                        },
                    );
                }
                if let Some((best, runner_up, p)) = best_and_runner_up(b, m) {
                    let key = (b.name.clone(), m, b.cells[best].runtime.clone());
                    a.best.insert(
                        (b.name.clone(), m),
                        Best {
                            cell: best,
                            runner_up,
                            p_adj: None,
                        },
                    );
                    if let Some(p) = p {
                        family.push((true, key, p));
                    }
                }
            }
        }
        let adjusted = holm(&family.iter().map(|f| f.2).collect::<Vec<_>>());
        a.tests = family.len();
        for ((is_best, key, _), adj) in family.into_iter().zip(adjusted) {
            if is_best {
                if let Some(b) = a.best.get_mut(&(key.0, key.1)) {
                    b.p_adj = Some(adj);
                }
            } else if let Some(c) = a.cells.get_mut(&key) {
                c.p_adj = Some(adj);
            }
        }
        a
    }

    pub fn comparison(&self, bench: &str, metric: usize, runtime: &str) -> Option<&Comparison> {
        self.cells
            .get(&(bench.to_string(), metric, runtime.to_string()))
    }

    /// The best cell of a row, only when it beats the runner-up significantly.
    pub fn best(&self, bench: &str, metric: usize) -> Option<usize> {
        self.best
            .get(&(bench.to_string(), metric))
            .filter(|b| b.p_adj.is_some_and(|p| p < ALPHA))
            .map(|b| b.cell)
    }

    /// The best cell of a row by median alone, significant or not.
    pub fn leader(&self, bench: &str, metric: usize) -> Option<&Best> {
        self.best.get(&(bench.to_string(), metric))
    }
}

/// The p-value of two sample sets: the exact rank-sum test, except that two sets without
/// any spread that differ (a binary's size, a count that never moves) differ for certain:
/// there is no noise for a test to weigh.
fn test(a: &[f64], b: &[f64]) -> Option<f64> {
    let constant = |v: &[f64]| v.len() > 1 && v.iter().all(|x| *x == v[0]);
    if constant(a) && constant(b) && a[0] != b[0] {
        return Some(0.0);
    }
    rank_sum_p(a, b)
}

/// The best runtime cell (never the host) of a metric with a direction, the runner-up's
/// name and the p-value of the two; `None` with fewer than two runtimes.
fn best_and_runner_up(b: &BenchmarkResult, m: usize) -> Option<(usize, String, Option<f64>)> {
    let better = b.metrics.get(m)?.better;
    let mut medians: Vec<(usize, f64)> = b
        .cells
        .iter()
        .enumerate()
        .filter(|(_, c)| c.runtime != "host")
        .filter_map(|(i, c)| median(c, m).map(|v| (i, v)))
        .collect();
    if medians.len() < 2 {
        return None;
    }
    match better {
        Better::Lower => medians.sort_by(|x, y| x.1.total_cmp(&y.1)),
        Better::Higher => medians.sort_by(|x, y| y.1.total_cmp(&x.1)),
        Better::Neither => return None,
    }
    let (best, second) = (medians[0].0, medians[1].0);
    let p = test(&b.cells[best].values(m), &b.cells[second].values(m));
    Some((best, b.cells[second].runtime.clone(), p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::sample_results;

    #[test]
    fn three_runs_are_never_best_ten_separated_runs_are() {
        let r = sample_results();
        let benches: Vec<&BenchmarkResult> = r.benchmarks.iter().collect();
        let a = Analysis::of(&benches, "runc");
        let c = a
            .comparison("operations.container.create", 0, "crun")
            .unwrap();
        assert!((c.ratio - 25.0 / 41.0).abs() < 1e-9);
        assert!(!c.significant(), "3 vs 3 in a family: p = 0.1 at best");
        assert_eq!(a.best("operations.container.create", 0), None);
        assert_eq!(
            a.leader("operations.container.create", 0).map(|b| b.cell),
            Some(1)
        );
        let (lo, hi) = c.ci.unwrap();
        assert!(lo <= c.ratio && c.ratio <= hi, "{lo} {hi}");

        let mut r = sample_results();
        let runc: Vec<f64> = (0..10).map(|i| 40.0 + f64::from(i) * 0.1).collect();
        let crun: Vec<f64> = (0..10).map(|i| 25.0 + f64::from(i) * 0.1).collect();
        r.benchmarks[0].cells = vec![
            crate::report::tests::cell("runc", &runc),
            crate::report::tests::cell("crun", &crun),
        ];
        let benches: Vec<&BenchmarkResult> = r.benchmarks.iter().collect();
        let a = Analysis::of(&benches, "runc");
        assert!(a
            .comparison("operations.container.create", 0, "crun")
            .unwrap()
            .significant());
        assert_eq!(a.best("operations.container.create", 0), Some(1));
        assert!(a.tests >= 2);
    }

    #[test]
    fn measurements_without_spread_differ_for_certain() {
        assert_eq!(test(&[5.0, 5.0, 5.0], &[7.0, 7.0, 7.0]), Some(0.0));
        assert_eq!(
            test(&[5.0, 5.0], &[5.0, 5.0]),
            None,
            "no difference, no test"
        );
        assert!(test(&[5.0, 5.1, 5.0], &[7.0, 7.0, 7.0]).unwrap() > 0.05);
    }

    #[test]
    fn performance_compares_with_the_host() {
        let r = sample_results();
        let benches: Vec<&BenchmarkResult> = r.benchmarks.iter().collect();
        let a = Analysis::of(&benches, "runc");
        let c = a.comparison("performance.cpu.primes", 0, "runc").unwrap();
        assert_eq!(c.reference, "host");
        assert!(a.comparison("performance.cpu.primes", 0, "host").is_none());
    }
}
