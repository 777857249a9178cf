//! What the machine was when the results were taken.

use std::path::Path;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Machine {
    pub hostname: String,
    pub os: String,
    pub kernel: String,
    pub cpu: String,
    pub cores: usize,
    pub memory_mib: u64,
    pub cgroups: String,
    /// 1, 5 and 15 minute load averages when the run started.
    pub load: [f64; 3],
    /// What the user said about the machine (`--describe`), for fleet reports.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

impl Machine {
    /// Reads `/proc`, `/etc/os-release` and `/sys/fs/cgroup` under `root` ("/" normally).
    pub fn probe(root: &Path) -> Machine {
        let read = |p: &str| std::fs::read_to_string(root.join(p)).unwrap_or_default();
        let cpuinfo = read("proc/cpuinfo");
        let field = |text: &str, key: &str| {
            text.lines()
                .find_map(|l| {
                    l.split_once(':')
                        .filter(|(k, _)| k.trim() == key)
                        .map(|(_, v)| v.trim().to_string())
                })
                .unwrap_or_default()
        };
        let os = read("etc/os-release")
            .lines()
            .find_map(|l| l.strip_prefix("PRETTY_NAME="))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default();
        let mem_kib: u64 = field(&read("proc/meminfo"), "MemTotal")
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let cgroups = if root.join("sys/fs/cgroup/cgroup.controllers").exists() {
            "v2"
        } else if root.join("sys/fs/cgroup/unified").is_dir() {
            "v1 + hybrid cgroup2 (unified)"
        } else {
            "v1"
        };
        Machine {
            hostname: read("proc/sys/kernel/hostname").trim().to_string(),
            os,
            kernel: read("proc/sys/kernel/osrelease").trim().to_string(),
            cpu: field(&cpuinfo, "model name"),
            cores: cpuinfo
                .lines()
                .filter(|l| l.starts_with("processor"))
                .count(),
            memory_mib: mem_kib / 1024,
            cgroups: cgroups.to_string(),
            load: loadavg(root),
            description: String::new(),
        }
    }
}

/// The 1, 5 and 15 minute load averages from `root/proc/loadavg`; zeros when unreadable.
pub fn loadavg(root: &Path) -> [f64; 3] {
    let text = std::fs::read_to_string(root.join("proc/loadavg")).unwrap_or_default();
    let mut it = text.split_whitespace().map(|v| v.parse().unwrap_or(0.0));
    [
        it.next().unwrap_or(0.0),
        it.next().unwrap_or(0.0),
        it.next().unwrap_or(0.0),
    ]
}

/// Jiffies of all CPUs from `/proc/stat`: (stolen, total).
pub fn cpu_jiffies() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = text
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    (
        fields.get(7).copied().unwrap_or(0),
        fields.iter().sum::<u64>(),
    )
}

/// The share of CPU time stolen between two [`cpu_jiffies`] readings, in %.
pub fn steal_pct(before: (u64, u64), after: (u64, u64)) -> Option<f64> {
    let total = after.1.checked_sub(before.1)?;
    let stolen = after.0.checked_sub(before.0)?;
    (total > 0).then(|| stolen as f64 * 100.0 / total as f64)
}

/// The host's reference workload: a fixed amount of integer arithmetic on one core, the
/// best of three, in ms. On a quiet machine it does not move; when it does, something
/// else was using the CPU.
pub fn reference_ms() -> f64 {
    (0..3)
        .map(|_| {
            let t = std::time::Instant::now();
            let mut x: u64 = 1;
            for i in 0..2_000_000u64 {
                x = (x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(i)) ^ (x >> 17);
            }
            std::hint::black_box(x);
            t.elapsed().as_secs_f64() * 1000.0
        })
        .fold(f64::INFINITY, f64::min)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_a_share_of_the_jiffies() {
        assert_eq!(steal_pct((10, 1000), (20, 1100)), Some(10.0));
        assert_eq!(steal_pct((10, 1000), (10, 1000)), None);
        let (_, total) = cpu_jiffies();
        assert!(total > 0);
        assert!(reference_ms() > 0.0);
    }

    #[test]
    fn probe_a_fake_root() {
        let dir = std::env::temp_dir().join(format!("assay-machine-{}", std::process::id()));
        let w = |p: &str, t: &str| {
            let f = dir.join(p);
            std::fs::create_dir_all(f.parent().unwrap()).unwrap();
            std::fs::write(f, t).unwrap();
        };
        w(
            "proc/cpuinfo",
            "processor\t: 0\nmodel name\t: Test CPU\nprocessor\t: 1\nmodel name\t: Test CPU\n",
        );
        w("proc/meminfo", "MemTotal:       2048000 kB\n");
        w("proc/loadavg", "0.50 0.25 0.10 1/97 8495\n");
        w("proc/sys/kernel/osrelease", "6.18.0\n");
        w("proc/sys/kernel/hostname", "box\n");
        w(
            "etc/os-release",
            "NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n",
        );
        std::fs::create_dir_all(dir.join("sys/fs/cgroup/unified")).unwrap();
        let m = Machine::probe(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            (m.cpu.as_str(), m.cores, m.memory_mib),
            ("Test CPU", 2, 2000)
        );
        assert_eq!((m.kernel.as_str(), m.hostname.as_str()), ("6.18.0", "box"));
        assert_eq!(m.os, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(m.load, [0.5, 0.25, 0.1]);
        assert!(m.cgroups.starts_with("v1 + hybrid"));
    }
}
