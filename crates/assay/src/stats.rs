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

#[cfg(test)]
mod tests {
    use super::*;

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
