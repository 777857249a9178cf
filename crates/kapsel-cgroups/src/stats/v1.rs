//! Statistics from the v1 controllers' files.

use super::{parse_cpu_list, BlkioEntry, Hugetlb, MemoryEntry, Stats};
use crate::error::Result;
use crate::files::{self, read_u64_or_zero as num};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// cpuacct.stat counts USER_HZ ticks (100 per second on Linux).
const NANOS_PER_TICK: u64 = 1_000_000_000 / 100;

pub(crate) fn collect(dirs: &BTreeMap<String, PathBuf>) -> Result<Stats> {
    let mut s = Stats::default();
    if let Some(dir) = dirs.get("cpuacct") {
        cpuacct(dir, &mut s)?;
    }
    if let Some(dir) = dirs.get("cpu") {
        s.cpu.throttling.periods = files::read_keyed(dir, "cpu.stat", "nr_periods")?;
        s.cpu.throttling.throttled_periods = files::read_keyed(dir, "cpu.stat", "nr_throttled")?;
        s.cpu.throttling.throttled_time = files::read_keyed(dir, "cpu.stat", "throttled_time")?;
    }
    if let Some(dir) = dirs.get("cpuset") {
        cpuset(dir, &mut s)?;
    }
    if let Some(dir) = dirs.get("memory") {
        memory(dir, &mut s)?;
    }
    if let Some(dir) = dirs.get("pids") {
        s.pids.current = num(dir, "pids.current")?;
        s.pids.limit = match num(dir, "pids.max")? {
            u64::MAX => 0,
            n => n,
        };
    }
    if let Some(dir) = dirs.get("blkio") {
        blkio(dir, &mut s)?;
    }
    if let Some(dir) = dirs.get("hugetlb") {
        for size in hugetlb_sizes(dir, ".usage_in_bytes") {
            let entry = Hugetlb {
                usage: num(dir, &format!("hugetlb.{size}.usage_in_bytes"))?,
                max: num(dir, &format!("hugetlb.{size}.max_usage_in_bytes"))?,
                failcnt: num(dir, &format!("hugetlb.{size}.failcnt"))?,
            };
            s.hugetlb.insert(size, entry);
        }
    }
    Ok(s)
}

fn cpuacct(dir: &Path, s: &mut Stats) -> Result<()> {
    let list = |file: &str| -> Result<Vec<u64>> {
        let text = files::read_optional(dir, file)?.unwrap_or_default();
        text.split_whitespace()
            .map(|n| files::parse_u64(&dir.join(file), n))
            .collect()
    };
    s.cpu.usage.total = num(dir, "cpuacct.usage")?;
    s.cpu.usage.percpu = list("cpuacct.usage_percpu")?;
    s.cpu.usage.percpu_kernel = list("cpuacct.usage_percpu_sys")?;
    s.cpu.usage.percpu_user = list("cpuacct.usage_percpu_user")?;
    s.cpu.usage.user = files::read_keyed(dir, "cpuacct.stat", "user")? * NANOS_PER_TICK;
    s.cpu.usage.kernel = files::read_keyed(dir, "cpuacct.stat", "system")? * NANOS_PER_TICK;
    Ok(())
}

fn cpuset(dir: &Path, s: &mut Stats) -> Result<()> {
    let c = &mut s.cpuset;
    c.cpus =
        parse_cpu_list(&files::read_optional(dir, "cpuset.effective_cpus")?.unwrap_or_default());
    c.mems =
        parse_cpu_list(&files::read_optional(dir, "cpuset.effective_mems")?.unwrap_or_default());
    c.cpu_exclusive = num(dir, "cpuset.cpu_exclusive")?;
    c.mem_hardwall = num(dir, "cpuset.mem_hardwall")?;
    c.mem_exclusive = num(dir, "cpuset.mem_exclusive")?;
    c.memory_migrate = num(dir, "cpuset.memory_migrate")?;
    c.memory_spread_page = num(dir, "cpuset.memory_spread_page")?;
    c.memory_spread_slab = num(dir, "cpuset.memory_spread_slab")?;
    c.memory_pressure = num(dir, "cpuset.memory_pressure")?;
    c.sched_load_balance = num(dir, "cpuset.sched_load_balance")?;
    let level = files::read_optional(dir, "cpuset.sched_relax_domain_level")?.unwrap_or_default();
    c.sched_relax_domain_level = level.trim().parse().unwrap_or(-1);
    Ok(())
}

fn memory(dir: &Path, s: &mut Stats) -> Result<()> {
    let entry = |prefix: &str| -> Result<MemoryEntry> {
        Ok(MemoryEntry {
            limit: num(dir, &format!("{prefix}.limit_in_bytes"))?,
            usage: num(dir, &format!("{prefix}.usage_in_bytes"))?,
            max: num(dir, &format!("{prefix}.max_usage_in_bytes"))?,
            failcnt: num(dir, &format!("{prefix}.failcnt"))?,
        })
    };
    let m = &mut s.memory;
    m.usage = entry("memory")?;
    m.swap = entry("memory.memsw")?;
    m.kernel = entry("memory.kmem")?;
    m.kernel_tcp = entry("memory.kmem.tcp")?;
    if let Some(text) = files::read_optional(dir, "memory.stat")? {
        m.raw = files::parse_flat_keyed(&dir.join("memory.stat"), &text)?
            .into_iter()
            .collect();
    }
    m.cache = m.raw.get("cache").copied().unwrap_or(0);
    Ok(())
}

fn blkio(dir: &Path, s: &mut Stats) -> Result<()> {
    // BFQ's counters when that scheduler is in use, else the throttle layer's (always there).
    let pick = |bfq: &str, throttle: &str| -> Result<Vec<BlkioEntry>> {
        let from_bfq = parse_blkio(dir, bfq)?;
        if from_bfq.is_empty() {
            parse_blkio(dir, throttle)
        } else {
            Ok(from_bfq)
        }
    };
    s.blkio.io_service_bytes_recursive = pick(
        "blkio.bfq.io_service_bytes_recursive",
        "blkio.throttle.io_service_bytes_recursive",
    )?;
    s.blkio.io_serviced_recursive = pick(
        "blkio.bfq.io_serviced_recursive",
        "blkio.throttle.io_serviced_recursive",
    )?;
    Ok(())
}

/// Lines `8:0 Read 4096`; the trailing `Total 4096` (no device) is dropped, as runc does.
pub(crate) fn parse_blkio(dir: &Path, file: &str) -> Result<Vec<BlkioEntry>> {
    let text = files::read_optional(dir, file)?.unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [device, op, value] = fields[..] else {
            continue;
        };
        let Some((major, minor)) = device.split_once(':') else {
            continue;
        };
        let path = dir.join(file);
        out.push(BlkioEntry {
            major: files::parse_u64(&path, major)?,
            minor: files::parse_u64(&path, minor)?,
            op: op.to_string(),
            value: files::parse_u64(&path, value)?,
        });
    }
    Ok(out)
}

/// Page sizes (`2MB`) for which `dir` has `hugetlb.<size><suffix>`.
pub(crate) fn hugetlb_sizes(dir: &Path, suffix: &str) -> Vec<String> {
    let mut sizes: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let size = name.strip_prefix("hugetlb.")?.strip_suffix(suffix)?;
            (!size.contains('.')).then(|| size.to_string())
        })
        .collect();
    sizes.sort();
    sizes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempTree;

    #[test]
    fn collects_every_v1_controller() {
        let tree = TempTree::new("stats-v1");
        tree.file("cpuacct/c/cpuacct.usage", "300\n");
        tree.file("cpuacct/c/cpuacct.usage_percpu", "100 200 \n");
        tree.file("cpuacct/c/cpuacct.stat", "user 3\nsystem 1\n");
        tree.file(
            "cpu/c/cpu.stat",
            "nr_periods 10\nnr_throttled 4\nthrottled_time 999\n",
        );
        tree.file("cpuset/c/cpuset.effective_cpus", "0-1\n");
        tree.file("cpuset/c/cpuset.sched_relax_domain_level", "-1\n");
        tree.file("memory/c/memory.usage_in_bytes", "4096\n");
        tree.file("memory/c/memory.limit_in_bytes", "9223372036854771712\n");
        tree.file("memory/c/memory.failcnt", "2\n");
        tree.file("memory/c/memory.stat", "cache 8192\nrss 4096\n");
        tree.file("pids/c/pids.current", "3\n");
        tree.file("pids/c/pids.max", "max\n");
        tree.file(
            "blkio/c/blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 512\n8:0 Write 0\nTotal 512\n",
        );
        tree.file("hugetlb/c/hugetlb.2MB.usage_in_bytes", "0\n");
        tree.file("hugetlb/c/hugetlb.2MB.failcnt", "1\n");
        tree.file("hugetlb/c/hugetlb.2MB.rsvd.usage_in_bytes", "0\n");
        let dirs: BTreeMap<String, PathBuf> = [
            "cpuacct", "cpu", "cpuset", "memory", "pids", "blkio", "hugetlb",
        ]
        .iter()
        .map(|c| (c.to_string(), tree.path().join(c).join("c")))
        .collect();
        let s = collect(&dirs).unwrap();
        assert_eq!(s.cpu.usage.total, 300);
        assert_eq!(s.cpu.usage.percpu, vec![100, 200]);
        assert_eq!(s.cpu.usage.user, 30_000_000);
        assert_eq!(s.cpu.usage.kernel, 10_000_000);
        assert_eq!(s.cpu.throttling.throttled_periods, 4);
        assert_eq!(s.cpuset.cpus, vec![0, 1]);
        assert_eq!(s.cpuset.sched_relax_domain_level, -1);
        assert_eq!(s.memory.usage.usage, 4096);
        assert_eq!(s.memory.usage.failcnt, 2);
        assert_eq!(s.memory.cache, 8192);
        assert_eq!(s.memory.raw["rss"], 4096);
        assert_eq!(s.pids.current, 3);
        assert_eq!(s.pids.limit, 0);
        assert_eq!(s.blkio.io_service_bytes_recursive.len(), 2);
        assert_eq!(s.blkio.io_service_bytes_recursive[0].value, 512);
        assert_eq!(s.hugetlb.keys().collect::<Vec<_>>(), ["2MB"]);
        assert_eq!(s.hugetlb["2MB"].failcnt, 1);
    }
}
