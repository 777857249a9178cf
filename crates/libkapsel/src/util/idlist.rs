//! Lists of small numbers in the kernel's `0-3,7` form (cpus, NUMA nodes).

/// `0-3,7` -> [0, 1, 2, 3, 7]; refuses anything else, including reversed ranges and
/// numbers at or above `limit`.
pub fn parse(list: &str, limit: u32) -> Result<Vec<u32>, String> {
    let bad = || format!("`{list}` is not a list like `0-3,7`");
    let mut out = Vec::new();
    for part in list.trim().split(',') {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let lo: u32 = lo.trim().parse().map_err(|_| bad())?;
        let hi: u32 = hi.trim().parse().map_err(|_| bad())?;
        if lo > hi {
            return Err(bad());
        }
        if hi >= limit {
            return Err(format!("{hi} is out of range (at most {})", limit - 1));
        }
        out.extend(lo..=hi);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_and_singles() {
        assert_eq!(parse("0-2,5,1", 8).unwrap(), vec![0, 1, 2, 5]);
        assert_eq!(parse("3", 8).unwrap(), vec![3]);
    }

    #[test]
    fn refuses_bad_lists() {
        for bad in ["", "a", "2-1", "1,,2", "-1", "1-"] {
            assert!(parse(bad, 8).is_err(), "{bad}");
        }
        assert!(parse("0-8", 8).unwrap_err().contains("out of range"));
    }
}
