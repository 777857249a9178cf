//! RFC 3339 timestamps in UTC (humantime formats them; docs/performance.md has its cost).

use std::time::{SystemTime, UNIX_EPOCH};

/// Now, as `2026-11-24T14:48:41.123456789Z`.
pub fn now_rfc3339() -> String {
    // humantime refuses instants before 1970 (a clock set wrong): those read as the epoch,
    // as they did before.
    let now = SystemTime::now().max(UNIX_EPOCH);
    humantime::format_rfc3339_nanos(now).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_has_nanoseconds_and_reads_back() {
        let text = now_rfc3339();
        assert_eq!(text.len(), "2026-11-24T14:48:41.123456789Z".len(), "{text}");
        assert!(text.ends_with('Z') && text.as_bytes()[19] == b'.', "{text}");
        let back = humantime::parse_rfc3339(&text).unwrap();
        let off = SystemTime::now().duration_since(back).unwrap();
        assert!(off.as_secs() < 60, "{text}");
        assert_eq!(
            humantime::format_rfc3339_nanos(UNIX_EPOCH + std::time::Duration::new(951_782_400, 5))
                .to_string(),
            "2000-02-29T00:00:00.000000005Z"
        );
    }
}
