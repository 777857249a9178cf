//! Progress on stderr: an estimate before the first sample, then which runtime, which
//! benchmark, run i of n and an ETA; status lines from anywhere ([`status`]).
//!
//! The ETA does not assume every sample costs the same (a sysbench sample lasts seconds, a
//! `state` call milliseconds): each benchmark has an estimated cost per sample, the rest of
//! the current benchmark goes at its own observed pace, and later benchmarks at their
//! estimate times how far the estimates have been off so far.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Whether a progress line is on screen without its newline (a terminal only).
static OPEN_LINE: AtomicBool = AtomicBool::new(false);

/// Prints a line that must stay on screen, clearing an open progress line first.
pub fn status(text: &str) {
    if OPEN_LINE.swap(false, Ordering::SeqCst) {
        eprint!("\r\x1b[2K");
    }
    eprintln!("{text}");
}

pub struct Progress {
    /// Per benchmark: (samples, estimated seconds per sample).
    rows: Vec<(usize, f64)>,
    row: usize,
    done_in_row: usize,
    done: usize,
    total: usize,
    started: Instant,
    row_started: Instant,
    /// Estimated and actual seconds of the benchmarks finished so far.
    estimated_done: f64,
    actual_done: f64,
    tty: bool,
    last_line: Instant,
    /// When the sample being taken began, and how long each finished sample of the current
    /// benchmark took (s).
    sample_started: Option<Instant>,
    row_samples: Vec<f64>,
}

impl Progress {
    /// `rows`: per benchmark, its number of samples and estimated seconds per sample.
    pub fn new(rows: Vec<(usize, f64)>) -> Progress {
        let total = rows.iter().map(|r| r.0).sum();
        Progress {
            rows,
            row: 0,
            done_in_row: 0,
            done: 0,
            total,
            started: Instant::now(),
            row_started: Instant::now(),
            estimated_done: 0.0,
            actual_done: 0.0,
            tty: std::io::stderr().is_terminal(),
            last_line: Instant::now() - Duration::from_secs(60),
            sample_started: None,
            row_samples: Vec::new(),
        }
    }

    /// The estimate of the whole run, in seconds.
    pub fn estimate(&self) -> f64 {
        self.rows.iter().map(|(n, s)| *n as f64 * s).sum()
    }

    /// Starts benchmark `row`.
    pub fn begin(&mut self, row: usize) {
        self.row = row;
        self.done_in_row = 0;
        self.row_started = Instant::now();
        self.sample_started = None;
        self.row_samples.clear();
    }

    /// Marks the current benchmark finished (with `skipped` samples never taken).
    pub fn end(&mut self, skipped: usize) {
        self.sample_started = None;
        if let Some((n, s)) = self.rows.get(self.row) {
            // Only the samples taken count: a failed cell's skipped ones cost nothing.
            self.estimated_done += n.saturating_sub(skipped) as f64 * s;
        }
        self.actual_done += self.row_started.elapsed().as_secs_f64();
        self.done += skipped;
    }

    /// Reports the sample about to be taken.
    pub fn step(&mut self, runtime: &str, bench: &str, run: u32, runs: u32, warmup: bool) {
        if let Some(t) = self.sample_started.replace(Instant::now()) {
            self.row_samples.push(t.elapsed().as_secs_f64());
        }
        let eta = fmt_duration(Duration::from_secs_f64(self.eta()));
        let kind = if warmup { "warm-up" } else { "run" };
        let line = format!(
            "[{}/{}] {bench} · {runtime} · {kind} {run}/{runs} · ETA {eta}",
            self.done + 1,
            self.total
        );
        if self.tty {
            eprint!("\r\x1b[2K{line}");
            let _ = std::io::stderr().flush();
            OPEN_LINE.store(true, Ordering::SeqCst);
        } else if self.done_in_row == 0 || self.last_line.elapsed() >= Duration::from_secs(10) {
            self.last_line = Instant::now();
            eprintln!("{line}");
        }
        self.done += 1;
        self.done_in_row += 1;
    }

    pub fn finish(&self) {
        status(&format!(
            "assay: {} samples in {} (estimated {})",
            self.done,
            fmt_duration(self.started.elapsed()),
            fmt_duration(Duration::from_secs_f64(self.estimate()))
        ));
    }

    /// How far the estimates have been off so far (actual / estimated), kept sane.
    fn calibration(&self) -> f64 {
        if self.estimated_done > 1.0 {
            (self.actual_done / self.estimated_done).clamp(0.2, 5.0)
        } else {
            1.0
        }
    }

    /// Seconds left: this benchmark at its observed pace (the median sample, so one hung
    /// call does not make the rest look as slow), the rest at their calibrated estimate.
    pub fn eta(&self) -> f64 {
        let cal = self.calibration();
        let Some(&(n, est)) = self.rows.get(self.row) else {
            return 0.0;
        };
        let left_here = n.saturating_sub(self.done_in_row) as f64;
        let pace = if self.row_samples.is_empty() {
            est * cal
        } else {
            let mut v = self.row_samples.clone();
            v.sort_by(f64::total_cmp);
            crate::stats::percentile(&v, 50.0)
        };
        let later: f64 = self.rows[self.row + 1..]
            .iter()
            .map(|(n, s)| *n as f64 * s)
            .sum();
        pace * left_here + later * cal
    }
}

pub fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(fmt_duration(Duration::from_secs(5)), "5s");
        assert_eq!(fmt_duration(Duration::from_secs(65)), "1m05s");
        assert_eq!(fmt_duration(Duration::from_secs(3720)), "1h02m");
    }

    #[test]
    fn eta_weighs_benchmarks_by_their_cost() {
        // 10 quick samples, then 4 samples of 5 s: the ETA before starting is the estimate.
        let p = Progress::new(vec![(10, 0.01), (4, 5.0)]);
        assert!((p.estimate() - 20.1).abs() < 1e-9);
        assert!((p.eta() - 20.1).abs() < 1e-9, "{}", p.eta());
        // One hung sample among quick ones does not set the pace.
        let mut p = Progress::new(vec![(10, 0.01)]);
        p.begin(0);
        p.row_samples = vec![0.01, 0.01, 80.0, 0.01];
        p.done_in_row = 5;
        assert!(p.eta() < 1.0, "{}", p.eta());
    }
}
