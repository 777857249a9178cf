//! Glob patterns on benchmark names: `*` matches any run of characters (dots included),
//! `?` any one character; everything else matches itself.

use crate::error::Error;

/// Whether `name` matches `pattern` as a whole.
pub fn matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Iterative matcher with backtracking to the last `*`.
    let (mut pi, mut ni) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ni));
            pi += 1;
        } else if let Some((sp, sn)) = star {
            pi = sp + 1;
            ni = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Whether `name` is selected by `patterns`; a pattern without a wildcard also selects
/// every name below it (`operations` selects `operations.container.create`).
pub fn selected(patterns: &[String], name: &str) -> bool {
    patterns.is_empty()
        || patterns.iter().any(|p| {
            matches(p, name) || (!p.contains(['*', '?']) && name.starts_with(&format!("{p}.")))
        })
}

/// The patterns that select none of `names`: a typo among good patterns must not pass
/// silently.
pub fn unmatched<'p>(patterns: &'p [String], names: &[&str]) -> Vec<&'p str> {
    patterns
        .iter()
        .filter(|p| !names.iter().any(|n| selected(std::slice::from_ref(*p), n)))
        .map(String::as_str)
        .collect()
}

/// An error naming every pattern that selects nothing, or `Ok`.
pub fn check(patterns: &[String], names: &[&str], list_cmd: &'static str) -> Result<(), Error> {
    let bad = unmatched(patterns, names);
    if bad.is_empty() {
        return Ok(());
    }
    Err(Error::Unmatched {
        patterns: bad.iter().map(|p| p.to_string()).collect(),
        list_cmd,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_that_select_nothing_are_named() {
        let names = ["operations.container.create", "scalability.concurrent.n5"];
        let pats = vec![
            "operations".to_string(),
            "scalabilty".to_string(),
            "*.n5".to_string(),
        ];
        assert_eq!(unmatched(&pats, &names), ["scalabilty"]);
        let e = check(&pats, &names, "assay list").unwrap_err().to_string();
        assert_eq!(
            e,
            "suites: `scalabilty` matches no benchmark (see `assay list`)"
        );
        assert!(check(&[], &names, "assay list").is_ok());
    }

    #[test]
    fn literal_and_wildcards() {
        assert!(matches(
            "operations.container.create",
            "operations.container.create"
        ));
        assert!(!matches(
            "operations.container.create",
            "operations.container.created"
        ));
        assert!(matches("operations.*", "operations.container.create"));
        assert!(matches("*.lifecycle", "operations.container.lifecycle"));
        assert!(matches("*.container.*", "operations.container.kill"));
        assert!(matches("scalability.*.n?", "scalability.concurrent.n5"));
        assert!(!matches("scalability.*.n?", "scalability.concurrent.n50"));
        assert!(matches("*", ""));
        assert!(!matches("a*b", "acbd"));
    }

    #[test]
    fn prefixes_select_subtrees() {
        let pats = vec!["operations".to_string()];
        assert!(selected(&pats, "operations.container.create"));
        assert!(!selected(&pats, "operationsx.container.create"));
        assert!(selected(&[], "anything"));
        assert!(!selected(
            &["limits.*".to_string()],
            "operations.runtime.version"
        ));
    }
}
