//! Statistics from a v2 cgroup's files (missing files, e.g. of controllers not enabled, count 0).

use super::v1::hugetlb_sizes;
use super::{parse_cpu_list, BlkioEntry, Hugetlb, Stats};
use crate::error::Result;
use crate::files::{self, read_keyed as keyed, read_u64_or_zero as num};
use std::path::Path;

pub(crate) fn collect(dir: &Path) -> Result<Stats> {
    let mut s = Stats::default();
    s.cpu.usage.total = keyed(dir, "cpu.stat", "usage_usec")? * 1000;
    s.cpu.usage.user = keyed(dir, "cpu.stat", "user_usec")? * 1000;
    s.cpu.usage.kernel = keyed(dir, "cpu.stat", "system_usec")? * 1000;
    s.cpu.throttling.periods = keyed(dir, "cpu.stat", "nr_periods")?;
    s.cpu.throttling.throttled_periods = keyed(dir, "cpu.stat", "nr_throttled")?;
    s.cpu.throttling.throttled_time = keyed(dir, "cpu.stat", "throttled_usec")? * 1000;
    s.cpuset.cpus =
        parse_cpu_list(&files::read_optional(dir, "cpuset.cpus.effective")?.unwrap_or_default());
    s.cpuset.mems =
        parse_cpu_list(&files::read_optional(dir, "cpuset.mems.effective")?.unwrap_or_default());

    let m = &mut s.memory;
    m.usage.usage = num(dir, "memory.current")?;
    m.usage.limit = num(dir, "memory.max")?;
    m.usage.max = num(dir, "memory.peak")?;
    m.usage.failcnt = keyed(dir, "memory.events", "max")?;
    // v1's memsw counts memory plus swap; report the same sums.
    m.swap.usage = num(dir, "memory.swap.current")? + m.usage.usage;
    m.swap.limit = num(dir, "memory.swap.max")?.saturating_add(m.usage.limit);
    m.swap.failcnt = keyed(dir, "memory.swap.events", "max")?;
    if let Some(text) = files::read_optional(dir, "memory.stat")? {
        m.raw = files::parse_flat_keyed(&dir.join("memory.stat"), &text)?
            .into_iter()
            .collect();
    }
    m.cache = m.raw.get("file").copied().unwrap_or(0);

    s.pids.current = num(dir, "pids.current")?;
    s.pids.limit = match num(dir, "pids.max")? {
        u64::MAX => 0,
        n => n,
    };
    io_stat(dir, &mut s)?;
    for size in hugetlb_sizes(dir, ".current") {
        let entry = Hugetlb {
            usage: num(dir, &format!("hugetlb.{size}.current"))?,
            max: 0,
            failcnt: keyed(dir, &format!("hugetlb.{size}.events"), "max")?,
        };
        s.hugetlb.insert(size, entry);
    }
    Ok(s)
}

/// io.stat lines: `8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0`.
fn io_stat(dir: &Path, s: &mut Stats) -> Result<()> {
    let path = dir.join("io.stat");
    let text = files::read_optional(dir, "io.stat")?.unwrap_or_default();
    for line in text.lines() {
        let mut fields = line.split_whitespace();
        let Some((major, minor)) = fields.next().and_then(|d| d.split_once(':')) else {
            continue;
        };
        let (major, minor) = (
            files::parse_u64(&path, major)?,
            files::parse_u64(&path, minor)?,
        );
        for field in fields {
            let Some((key, value)) = field.split_once('=') else {
                continue;
            };
            let value = files::parse_u64(&path, value)?;
            let (list, op) = match key {
                "rbytes" => (&mut s.blkio.io_service_bytes_recursive, "Read"),
                "wbytes" => (&mut s.blkio.io_service_bytes_recursive, "Write"),
                "rios" => (&mut s.blkio.io_serviced_recursive, "Read"),
                "wios" => (&mut s.blkio.io_serviced_recursive, "Write"),
                _ => continue,
            };
            list.push(BlkioEntry {
                major,
                minor,
                op: op.to_string(),
                value,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempTree;

    #[test]
    fn collects_v2_files() {
        let tree = TempTree::new("stats-v2");
        tree.file("cpu.stat", "usage_usec 5\nuser_usec 3\nsystem_usec 2\nnr_periods 7\nnr_throttled 1\nthrottled_usec 4\n");
        tree.file("memory.current", "100\n");
        tree.file("memory.max", "max\n");
        tree.file("memory.events", "low 0\nhigh 0\nmax 6\noom 1\noom_kill 1\n");
        tree.file("memory.swap.current", "20\n");
        tree.file("memory.stat", "anon 50\nfile 30\n");
        tree.file("pids.current", "2\n");
        tree.file("pids.max", "64\n");
        tree.file(
            "io.stat",
            "8:0 rbytes=4096 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
        );
        tree.file("hugetlb.2MB.current", "0\n");
        tree.file("hugetlb.2MB.events", "max 2\n");
        let s = collect(tree.path()).unwrap();
        assert_eq!(s.cpu.usage.total, 5000);
        assert_eq!(s.cpu.throttling.throttled_time, 4000);
        assert_eq!(s.memory.usage.limit, u64::MAX);
        assert_eq!(s.memory.usage.failcnt, 6);
        assert_eq!(s.memory.swap.usage, 120);
        assert_eq!(s.memory.cache, 30);
        assert_eq!(s.pids.limit, 64);
        assert_eq!(s.blkio.io_service_bytes_recursive[0].value, 4096);
        assert_eq!(s.blkio.io_serviced_recursive[0].op, "Read");
        assert_eq!(s.hugetlb["2MB"].failcnt, 2);
    }
}
