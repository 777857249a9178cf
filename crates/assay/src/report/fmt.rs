//! Small text helpers for the report: escaping and number formatting.

/// Escapes text for HTML and SVG content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number with about three significant digits, thousands unseparated.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// An axis tick: like [`num`] without trailing zeros.
pub fn tick(v: f64) -> String {
    let t = num(v);
    if t.contains('.') {
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        t
    }
}

/// A ratio as `×1.23`.
pub fn times(r: f64) -> String {
    format!("×{r:.2}")
}

/// A comparison as `×0.42 [0.40–0.45]`, with ` ≈` when it is not significant.
pub fn ratio_text(c: &super::analysis::Comparison) -> String {
    let ci =
        c.ci.map_or(String::new(), |(lo, hi)| format!(" [{lo:.2}–{hi:.2}]"));
    let same = if c.significant() { "" } else { " ≈" };
    format!("{}{ci}{same}", times(c.ratio))
}

/// One fixed colour per runtime name, the same in every report: the usual runtimes have
/// their own, others one picked by their name; the host is grey. A CRI column
/// (`cd/kapsel`) takes its handler's colour.
pub fn colour(name: &str) -> &'static str {
    const KNOWN: [(&str, &str); 6] = [
        ("runc", "#1f77b4"),
        ("crun", "#ff7f0e"),
        ("kapsel", "#2ca02c"),
        ("youki", "#9467bd"),
        ("runsc", "#8c564b"),
        ("host", "#888888"),
    ];
    const OTHERS: [&str; 5] = ["#d62728", "#e377c2", "#17becf", "#bcbd22", "#393b79"];
    let base = name.rsplit('/').next().unwrap_or(name);
    KNOWN
        .iter()
        .find(|(n, _)| *n == base)
        .map(|(_, c)| *c)
        .unwrap_or_else(|| OTHERS[(crate::stats::seed_of(base) % OTHERS.len() as u64) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn colours_follow_the_name_not_the_column() {
        assert_eq!(colour("kapsel"), "#2ca02c");
        assert_eq!(colour("cd/kapsel"), colour("kapsel"));
        assert_eq!(colour("host"), "#888888");
        assert_eq!(colour("mine"), colour("mine"));
    }

    #[test]
    fn numbers() {
        assert_eq!(num(102.4), "102");
        assert_eq!(num(48.83), "48.8");
        assert_eq!(num(4.826), "4.83");
        assert_eq!(num(0.1234), "0.123");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(f64::NAN), "n/a");
        assert_eq!(times(0.4766), "×0.48");
        assert_eq!(
            (tick(5.0), tick(2.5), tick(120.0)),
            ("5".into(), "2.5".into(), "120".into())
        );
    }
}
