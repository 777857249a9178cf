//! Summary statistics over the samples of one benchmark cell.

use serde::{Deserialize, Serialize};

/// The numbers the report shows for one metric of one runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub n: usize,
    pub median: f64,
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for a single sample.
    pub stddev: f64,
    pub min: f64,
    pub max: f64,
    pub p10: f64,
    pub p90: f64,
}

impl Summary {
    /// Summarises `values`; `None` when there are none.
    pub fn of(values: &[f64]) -> Option<Summary> {
        if values.is_empty() {
            return None;
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let mean = sorted.iter().sum::<f64>() / n as f64;
        let stddev = if n > 1 {
            let var = sorted.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
            var.sqrt()
        } else {
            0.0
        };
        Some(Summary {
            n,
            median: percentile(&sorted, 50.0),
            mean,
            stddev,
            min: sorted[0],
            max: sorted[n - 1],
            p10: percentile(&sorted, 10.0),
            p90: percentile(&sorted, 90.0),
        })
    }
}

/// The `p`-th percentile of sorted values, interpolating linearly between closest ranks.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let rank = (p / 100.0).clamp(0.0, 1.0) * (n - 1) as f64;
            let lo = rank.floor() as usize;
            let hi = rank.ceil() as usize;
            sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo as f64)
        }
    }
}

/// `value / baseline`, or `None` when the baseline is zero or not finite.
pub fn ratio(value: f64, baseline: f64) -> Option<f64> {
    (baseline != 0.0 && baseline.is_finite() && value.is_finite()).then(|| value / baseline)
}

/// `a` and `b` in one sorted list, each value marked with whether it came from `a`.
fn pooled(a: &[f64], b: &[f64]) -> Vec<(f64, bool)> {
    let mut p: Vec<(f64, bool)> = a
        .iter()
        .map(|&v| (v, true))
        .chain(b.iter().map(|&v| (v, false)))
        .collect();
    p.sort_by(|x, y| x.0.total_cmp(&y.0));
    p
}

/// The runs `i..=j` of equal values in sorted pooled samples.
fn tie_runs(sorted: &[(f64, bool)]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let mut j = i;
        while j + 1 < sorted.len() && sorted[j + 1].0 == sorted[i].0 {
            j += 1;
        }
        runs.push((i, j));
        i = j + 1;
    }
    runs
}

/// Two-sided p-value of the Mann–Whitney U test that `a` and `b` come from the same
/// distribution: normal approximation with tie and continuity corrections (rough below
/// about 5 samples each, where it errs on the side of "not significant"). `None` when a
/// side is empty or every value is equal.
pub fn mann_whitney_p(a: &[f64], b: &[f64]) -> Option<f64> {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    // Rank the pooled samples, ties sharing their mean rank.
    let pooled = pooled(a, b);
    let (mut rank_sum_a, mut tie_term) = (0.0, 0.0);
    for (i, j) in tie_runs(&pooled) {
        let rank = (i + j) as f64 / 2.0 + 1.0;
        let t = (j - i + 1) as f64;
        tie_term += t * t * t - t;
        rank_sum_a += pooled[i..=j].iter().filter(|p| p.1).count() as f64 * rank;
    }
    let u = rank_sum_a - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let total = n1 + n2;
    let var = n1 * n2 / 12.0 * ((total + 1.0) - tie_term / (total * (total - 1.0)));
    if var <= 0.0 {
        return None;
    }
    let z = ((u - mean).abs() - 0.5).max(0.0) / var.sqrt();
    Some((2.0 * (1.0 - normal_cdf(z))).clamp(0.0, 1.0))
}

/// The significance level of every test assay reports.
pub const ALPHA: f64 = 0.05;

/// Pooled sizes up to this use the exact permutation distribution of the rank sum.
const EXACT_UP_TO: usize = 200;

/// Two-sided p-value that `a` and `b` come from the same distribution (Mann–Whitney U /
/// Wilcoxon rank-sum). Up to 200 pooled samples it is exact: the rank sum of `a` is compared
/// with its distribution over every way of choosing `a.len()` of the pooled ranks (mid-ranks
/// for ties, so it is the exact permutation test, valid with ties and for 3 runs); above
/// that, the normal approximation. `None` when a side is empty or every value is equal.
pub fn rank_sum_p(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let n = a.len() + b.len();
    if n > EXACT_UP_TO {
        return mann_whitney_p(a, b);
    }
    // Doubled mid-ranks are integers: 2 * (i + j) / 2 + 2 for a tie run i..=j (0-based).
    let pooled = pooled(a, b);
    let mut ranks = vec![0usize; n];
    for (i, j) in tie_runs(&pooled) {
        ranks[i..=j].fill(i + j + 2);
    }
    if ranks.iter().all(|&r| r == ranks[0]) {
        return None;
    }
    let observed: usize = (0..n).filter(|&k| pooled[k].1).map(|k| ranks[k]).sum();
    let k = a.len();
    let max_sum: usize = ranks.iter().sum();
    // ways[c][s]: subsets of c ranks seen so far with (doubled) sum s.
    let mut ways = vec![vec![0f64; max_sum + 1]; k + 1];
    ways[0][0] = 1.0;
    for &r in &ranks {
        for c in (1..=k).rev() {
            let (lower, upper) = ways.split_at_mut(c);
            let (from, to) = (&lower[c - 1], &mut upper[0]);
            for s in (r..=max_sum).rev() {
                to[s] += from[s - r];
            }
        }
    }
    let total: f64 = ways[k].iter().sum();
    let mean = k as f64 * max_sum as f64 / n as f64;
    let far = (observed as f64 - mean).abs() - 1e-9;
    let extreme: f64 = ways[k]
        .iter()
        .enumerate()
        .filter(|(s, _)| (*s as f64 - mean).abs() >= far)
        .map(|(_, w)| w)
        .sum();
    Some((extreme / total).clamp(0.0, 1.0))
}

/// Holm's step-down adjustment of `p` (same order out): a family of tests keeps its
/// chance of any false "significant" at the level of one test.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&x, &y| p[x].total_cmp(&p[y]));
    let mut out = vec![0.0; m];
    let mut running = 0.0_f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

/// A small deterministic generator (SplitMix64): reproducible shuffles and resamples.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Fisher–Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// A seed from text (FNV-1a), so a report's resamples are the same every time it renders.
pub fn seed_of(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Resamples in a bootstrap confidence interval.
const BOOTSTRAP: usize = 2000;

/// The 95% percentile-bootstrap confidence interval of `median(a) / median(b)`: both sides
/// resampled with replacement, independently. `None` with fewer than 2 values on a side
/// or a zero median among the resamples.
pub fn ratio_ci(a: &[f64], b: &[f64], seed: u64) -> Option<(f64, f64)> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let mut rng = Rng::new(seed);
    let mut ratios = Vec::with_capacity(BOOTSTRAP);
    let (mut ra, mut rb) = (vec![0.0; a.len()], vec![0.0; b.len()]);
    for _ in 0..BOOTSTRAP {
        for x in ra.iter_mut() {
            *x = a[rng.below(a.len())];
        }
        for x in rb.iter_mut() {
            *x = b[rng.below(b.len())];
        }
        ratios.push(ratio(median_of(&mut ra), median_of(&mut rb))?);
    }
    ratios.sort_by(f64::total_cmp);
    Some((percentile(&ratios, 2.5), percentile(&ratios, 97.5)))
}

fn median_of(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    percentile(v, 50.0)
}

/// The standard normal CDF, from erf (Abramowitz and Stegun 7.1.26, error below 1.5e-7).
fn normal_cdf(z: f64) -> f64 {
    let x = z / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x.abs());
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erf = 1.0 - poly * (-x * x).exp();
    0.5 * (1.0 + if x >= 0.0 { erf } else { -erf })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mann_whitney() {
        let a: Vec<f64> = (0..10).map(f64::from).collect();
        let b: Vec<f64> = (0..10).map(|v| f64::from(v) + 100.0).collect();
        // Complete separation of 10 vs 10: U = 0, z = (50 - 0.5) / 13.23, p ≈ 0.00018.
        let p = mann_whitney_p(&a, &b).unwrap();
        assert!((p - 0.000_18).abs() < 0.000_02, "{p}");
        assert_eq!(mann_whitney_p(&a, &b), mann_whitney_p(&b, &a), "symmetric");
        // Interleaved samples: no difference.
        let c: Vec<f64> = (0..10).map(|v| f64::from(v) + 0.5).collect();
        assert!(mann_whitney_p(&a, &c).unwrap() > 0.5);
        // Three runs each can never reach 0.05, even fully separated.
        assert!(mann_whitney_p(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap() > 0.05);
        assert_eq!(mann_whitney_p(&[1.0, 1.0], &[1.0, 1.0]), None);
        assert_eq!(mann_whitney_p(&[], &[1.0]), None);
    }

    #[test]
    fn exact_rank_sum_p() {
        // 3 vs 3 fully separated: 2 of C(6,3) = 20 arrangements are as extreme: p = 0.1.
        let p = rank_sum_p(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
        assert!((p - 0.1).abs() < 1e-12, "{p}");
        // 10 vs 10 fully separated: 2 / C(20,10) = 2 / 184756.
        let a: Vec<f64> = (0..10).map(f64::from).collect();
        let b: Vec<f64> = (0..10).map(|v| f64::from(v) + 100.0).collect();
        let p = rank_sum_p(&a, &b).unwrap();
        assert!((p - 2.0 / 184_756.0).abs() < 1e-12, "{p}");
        assert_eq!(rank_sum_p(&a, &b), rank_sum_p(&b, &a), "symmetric");
        // 5 vs 5 separated: 2 / 252 < 0.05, where the normal approximation said no.
        let p = rank_sum_p(&[1.0, 2.0, 3.0, 4.0, 5.0], &[6.0, 7.0, 8.0, 9.0, 10.0]).unwrap();
        assert!((p - 2.0 / 252.0).abs() < 1e-12, "{p}");
        // Identical samples: p = 1; ties handled; all equal: no test.
        assert!((rank_sum_p(&[1.0, 2.0], &[1.0, 2.0]).unwrap() - 1.0).abs() < 1e-12);
        let tied = rank_sum_p(&[1.0, 1.0, 2.0], &[2.0, 3.0, 3.0]).unwrap();
        assert!(tied > 0.05 && tied < 1.0, "{tied}");
        assert_eq!(rank_sum_p(&[1.0, 1.0], &[1.0, 1.0]), None);
    }

    #[test]
    fn holm_steps_down() {
        let adj = holm(&[0.01, 0.04, 0.03, 0.5]);
        // Sorted 0.01, 0.03, 0.04, 0.5 times 4, 3, 2, 1, made monotone.
        assert_eq!(adj, vec![0.04, 0.09, 0.09, 0.5]);
        assert!(holm(&[]).is_empty());
    }

    #[test]
    fn bootstrap_ci_brackets_the_ratio() {
        let a: Vec<f64> = (0..10).map(|i| 10.0 + f64::from(i) * 0.1).collect();
        let b: Vec<f64> = (0..10).map(|i| 20.0 + f64::from(i) * 0.2).collect();
        let (lo, hi) = ratio_ci(&a, &b, 7).unwrap();
        assert!(lo < 0.5 && 0.5 < hi && hi - lo < 0.05, "{lo} {hi}");
        assert_eq!(ratio_ci(&a, &b, 7), ratio_ci(&a, &b, 7), "deterministic");
        assert_eq!(ratio_ci(&[1.0], &b, 7), None);
    }

    #[test]
    fn shuffles_are_permutations_and_seeded() {
        let mut v: Vec<u32> = (0..10).collect();
        Rng::new(1).shuffle(&mut v);
        let mut w: Vec<u32> = (0..10).collect();
        Rng::new(1).shuffle(&mut w);
        assert_eq!(v, w);
        let mut sorted = v.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_ne!(v, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn normal_cdf_known_points() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.959_964) - 0.975).abs() < 1e-6);
        assert!((normal_cdf(-1.0) - 0.158_655).abs() < 1e-6);
    }

    #[test]
    fn empty_has_no_summary() {
        assert_eq!(Summary::of(&[]), None);
    }

    #[test]
    fn single_value() {
        let s = Summary::of(&[4.0]).unwrap();
        assert_eq!(
            (s.n, s.median, s.mean, s.stddev, s.min, s.max),
            (1, 4.0, 4.0, 0.0, 4.0, 4.0)
        );
        assert_eq!((s.p10, s.p90), (4.0, 4.0));
    }

    #[test]
    fn odd_and_even_medians() {
        assert_eq!(Summary::of(&[3.0, 1.0, 2.0]).unwrap().median, 2.0);
        assert_eq!(Summary::of(&[4.0, 1.0, 3.0, 2.0]).unwrap().median, 2.5);
    }

    #[test]
    fn known_moments() {
        // 2,4,4,4,5,5,7,9: mean 5, sample variance 32/7.
        let s = Summary::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]).unwrap();
        assert_eq!(s.mean, 5.0);
        assert!((s.stddev - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert_eq!((s.min, s.max), (2.0, 9.0));
    }

    #[test]
    fn percentiles_interpolate() {
        let v: Vec<f64> = (0..=10).map(f64::from).collect();
        assert_eq!(percentile(&v, 10.0), 1.0);
        assert_eq!(percentile(&v, 90.0), 9.0);
        assert_eq!(percentile(&[0.0, 10.0], 25.0), 2.5);
        let s = Summary::of(&[10.0, 0.0]).unwrap();
        assert_eq!((s.p10, s.p90), (1.0, 9.0));
    }

    #[test]
    fn ratio_guards_zero() {
        assert_eq!(ratio(3.0, 2.0), Some(1.5));
        assert_eq!(ratio(3.0, 0.0), None);
        assert_eq!(ratio(f64::NAN, 1.0), None);
    }
}
