//! Checks for the `--log-format json` lines callers parse: `{"level","msg","time"}` with an
//! RFC 3339 time (containerd decodes it as Go's time.Time).

use serde_json::Value;

/// Parses one log line; the error says what is wrong with it.
pub fn parse_json_line(line: &str) -> Result<Value, String> {
    let v: Value =
        serde_json::from_str(line).map_err(|e| format!("log line is not JSON ({e}): {line}"))?;
    for key in ["level", "msg", "time"] {
        if !v.get(key).is_some_and(Value::is_string) {
            return Err(format!("log line lacks string field `{key}`: {line}"));
        }
    }
    let time = v["time"].as_str().unwrap_or_default();
    if !is_rfc3339(time) {
        return Err(format!("log line time `{time}` is not RFC 3339: {line}"));
    }
    Ok(v)
}

/// True for `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    if b.len() < 20
        || !(digits(0..4)
            && digits(5..7)
            && digits(8..10)
            && digits(11..13)
            && digits(14..16)
            && digits(17..19))
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return false;
    }
    let mut i = 19;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    match &b[i..] {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_rfc3339_and_rejects_others() {
        assert!(is_rfc3339("2026-11-24T15:14:37Z"));
        assert!(is_rfc3339("2026-11-24T15:14:37.123456789+01:00"));
        assert!(!is_rfc3339("2026-11-24 15:14:37Z"));
        assert!(!is_rfc3339("2026-11-24T15:14:37"));
        assert!(!is_rfc3339("1732461277"));
        assert!(!is_rfc3339("2026-11-24T15:14:37.Z"));
    }

    #[test]
    fn json_line_needs_level_msg_time() {
        let ok =
            r#"{"level":"error","msg":"container does not exist","time":"2026-11-24T15:14:37Z"}"#;
        assert_eq!(parse_json_line(ok).expect("valid")["level"], "error");
        assert!(parse_json_line(r#"{"level":"error","msg":"x"}"#).is_err());
        assert!(parse_json_line("time=\"x\" level=error msg=\"y\"").is_err());
    }
}
