//! Progress on stderr: which runtime, which benchmark, run i of n, and an ETA.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    total: usize,
    done: usize,
    started: Instant,
    tty: bool,
    last_bench: String,
    /// When a line was last printed (without a terminal: at most one per benchmark or 10 s).
    last_line: Instant,
    /// When the current benchmark began, and how many samples were done before it.
    bench_started: Instant,
    bench_first: usize,
    /// Samples the current benchmark has in all.
    bench_total: usize,
}

impl Progress {
    pub fn new(total: usize) -> Progress {
        Progress {
            total,
            done: 0,
            started: Instant::now(),
            tty: std::io::stderr().is_terminal(),
            last_bench: String::new(),
            last_line: Instant::now(),
            bench_started: Instant::now(),
            bench_first: 0,
            bench_total: 0,
        }
    }

    /// Marks the start of a benchmark with `samples` samples in all.
    pub fn begin(&mut self, samples: usize) {
        self.bench_started = Instant::now();
        self.bench_first = self.done;
        self.bench_total = samples;
    }

    /// Reports the sample about to be taken.
    pub fn step(&mut self, runtime: &str, bench: &str, run: u32, runs: u32, warmup: bool) {
        let eta = self.eta().map_or_else(|| "?".to_string(), fmt_duration);
        let kind = if warmup { "warm-up" } else { "run" };
        let line = format!(
            "[{}/{}] {bench} · {runtime} · {kind} {run}/{runs} · ETA {eta}",
            self.done + 1,
            self.total
        );
        if self.tty {
            eprint!("\r\x1b[2K{line}");
            let _ = std::io::stderr().flush();
        } else if self.last_bench != bench || self.last_line.elapsed() >= Duration::from_secs(10) {
            self.last_line = Instant::now();
            eprintln!("{line}");
        }
        self.last_bench = bench.to_string();
        self.done += 1;
    }

    /// A message that must stay on screen.
    pub fn note(&self, text: &str) {
        if self.tty {
            eprint!("\r\x1b[2K");
        }
        eprintln!("{text}");
    }

    pub fn finish(&self) {
        if self.tty {
            eprintln!();
        }
        eprintln!(
            "assay: {} samples in {}",
            self.done,
            fmt_duration(self.started.elapsed())
        );
    }

    /// The rest of this benchmark at its own pace, the benchmarks after it at the average.
    fn eta(&self) -> Option<Duration> {
        if self.done == 0 {
            return None;
        }
        let average = self.started.elapsed().as_secs_f64() / self.done as f64;
        let in_bench = self.done - self.bench_first;
        let pace = if in_bench > 0 {
            self.bench_started.elapsed().as_secs_f64() / in_bench as f64
        } else {
            average
        };
        let left_here = self.bench_total.saturating_sub(in_bench);
        let left_after = self
            .total
            .saturating_sub(self.bench_first + self.bench_total);
        Some(Duration::from_secs_f64(
            pace * left_here as f64 + average * left_after as f64,
        ))
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
}
