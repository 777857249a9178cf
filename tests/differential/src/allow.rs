//! The allow-list: docs/differences.md explains, in prose, each place where kapsel
//! deliberately differs from runc, and carries the machine-readable rules in fenced blocks.
//! A block ```` ```allowed ```` holds deliberate differences; a block ```` ```open ````
//! holds known defects still to fix (reported as such, so that only new differences fail
//! the run). One rule per line, tab-separated (the reference is runc, or crun, below):
//!
//! ```text
//! name  fact-glob  kapsel-glob  reference-glob  when
//! ```
//!
//! A block ```` ```crun-reference ```` names configs runc cannot serve as the reference
//! (a feature runc 1.1 lacks or gets wrong); kapsel is compared with crun on them:
//!
//! ```text
//! name  when
//! ```
//!
//! Globs use `*` for any text. `when` is `*` or comma-separated conditions, all of which must
//! hold: on the config, `POINTER` (present, not null/false/empty), `!POINTER` (absent) and
//! `POINTER=GLOB` (or `GLOB|GLOB...`), where a pointer segment `*` matches any array element or member (e.g.
//! `!/linux/namespaces/*/type=mount`: no mount namespace); `origin~TEXT` (the case's origin
//! contains TEXT); `against=crun` (crun is the reference); and on a run's facts,
//! `kapsel:KEY=GLOB` or `runc:KEY=GLOB`.

use serde_json::Value;

use crate::compare::Difference;
use crate::facts::Facts;

/// Deliberate or known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A deliberate difference, explained.
    Allowed,
    /// A known defect, to be fixed.
    Open,
    /// Not a rule: a new difference that a second run of the case did not show again.
    Unstable,
}

/// One rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name (a heading in the document explains it).
    pub name: String,
    /// Allowed or open.
    pub kind: Kind,
    fact: String,
    kapsel: String,
    reference: String,
    when: Vec<String>,
}

/// A kind of config on which crun is the reference.
#[derive(Debug, Clone)]
pub struct CrunReference {
    /// Its name.
    pub name: String,
    when: Vec<String>,
}

/// Every rule of a document.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    /// The rules in document order.
    pub rules: Vec<Rule>,
    /// Configs on which crun is the reference.
    pub crun_reference: Vec<CrunReference>,
}

impl AllowList {
    /// Parses the fenced `allowed`, `open` and `crun-reference` blocks of `text`.
    pub fn parse(text: &str) -> Result<AllowList, String> {
        let mut list = AllowList::default();
        let mut block: Option<&str> = None;
        for (n, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if let Some(info) = trimmed.strip_prefix("```") {
                block = match (block, info.trim()) {
                    (None, b @ ("allowed" | "open" | "crun-reference")) => Some(b),
                    _ => None,
                };
                continue;
            }
            let Some(b) = block else {
                continue;
            };
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let cols: Vec<&str> = line.split('\t').map(str::trim).collect();
            match (b, &cols[..]) {
                ("crun-reference", [name, when]) => list.crun_reference.push(CrunReference {
                    name: name.to_string(),
                    when: conditions(when),
                }),
                ("allowed" | "open", [name, fact, kapsel, reference, when]) => {
                    list.rules.push(Rule {
                        name: name.to_string(),
                        kind: if b == "open" {
                            Kind::Open
                        } else {
                            Kind::Allowed
                        },
                        fact: fact.to_string(),
                        kapsel: kapsel.to_string(),
                        reference: reference.to_string(),
                        when: conditions(when),
                    })
                }
                _ => {
                    return Err(format!(
                        "line {}: a `{b}` rule has {} tab-separated columns, want {}",
                        n + 1,
                        cols.len(),
                        if b == "crun-reference" {
                            "2 (name when)"
                        } else {
                            "5 (name fact kapsel reference when)"
                        }
                    ))
                }
            }
        }
        Ok(list)
    }

    /// The crun-reference entry that covers a case, if any.
    pub fn crun_reference(&self, case: &Context) -> Option<&CrunReference> {
        self.crun_reference
            .iter()
            .find(|r| r.when.iter().all(|c| condition(c, case)))
    }

    /// The first rule that explains `d` in a case with `config` and `origin`, whose runs had
    /// the facts `kapsel` and `runc`.
    pub fn explain(&self, d: &Difference, case: &Context) -> Option<&Rule> {
        self.rules.iter().find(|r| {
            glob(&r.fact, &d.key)
                && glob(&r.kapsel, &d.kapsel)
                && glob(&r.reference, d.reference())
                && r.when.iter().all(|c| condition(c, case))
        })
    }
}

fn conditions(when: &str) -> Vec<String> {
    if when == "*" {
        Vec::new()
    } else {
        when.split(',').map(|c| c.trim().to_string()).collect()
    }
}

/// What a rule's conditions look at.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The case's config (with placeholders).
    pub config: &'a Value,
    /// The case's origin.
    pub origin: &'a str,
    /// kapsel's facts.
    pub kapsel: &'a Facts,
    /// runc's facts.
    pub runc: &'a Facts,
    /// Whom kapsel is compared with.
    pub against: crate::compare::Against,
}

/// `*` matches any text (also none); everything else literally.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || text.len() < first.len() + last.len() || !text.ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

fn condition(c: &str, case: &Context) -> bool {
    if let Some(text) = c.strip_prefix("origin~") {
        return case.origin.contains(text);
    }
    if let Some(name) = c.strip_prefix("against=") {
        return format!("{:?}", case.against).eq_ignore_ascii_case(name);
    }
    for (prefix, facts) in [("kapsel:", case.kapsel), ("runc:", case.runc)] {
        if let Some(rest) = c.strip_prefix(prefix) {
            let (key, want) = rest.split_once('=').unwrap_or((rest, "*"));
            return facts.get(key).is_some_and(|v| glob(want, v));
        }
    }
    let config = case.config;
    let (negate, c) = match c.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, c),
    };
    let (pointer, want) = match c.split_once('=') {
        Some((p, v)) => (p, Some(v)),
        None => (c, None),
    };
    let segments: Vec<&str> = pointer.split('/').skip(1).collect();
    let found = values_at(config, &segments)
        .into_iter()
        .any(|v| match want {
            Some(w) => {
                let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                w.split('|').any(|alt| glob(alt, &text))
            }
            None => {
                !matches!(v, Value::Null | Value::Bool(false))
                    && v.as_array().is_none_or(|a| !a.is_empty())
                    && v.as_object().is_none_or(|o| !o.is_empty())
            }
        });
    found != negate
}

fn values_at<'a>(v: &'a Value, segments: &[&str]) -> Vec<&'a Value> {
    let Some((first, rest)) = segments.split_first() else {
        return vec![v];
    };
    let children: Vec<&Value> = match (*first, v) {
        ("*", Value::Array(a)) => a.iter().collect(),
        ("*", Value::Object(o)) => o.values().collect(),
        (key, Value::Object(o)) => o.get(key).into_iter().collect(),
        (idx, Value::Array(a)) => idx
            .parse::<usize>()
            .ok()
            .and_then(|i| a.get(i))
            .into_iter()
            .collect(),
        _ => Vec::new(),
    };
    children
        .into_iter()
        .flat_map(|c| values_at(c, rest))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::Against;
    use serde_json::json;

    #[test]
    fn globs() {
        assert!(glob("probe.mount.*", "probe.mount./sys"));
        assert!(glob("*", ""));
        assert!(glob("a*c*e", "abcde"));
        assert!(!glob("a*c*e", "abde"));
        assert!(glob("exit.create", "exit.create"));
        assert!(!glob("exit.create", "exit.created"));
        assert!(!glob("ab*ba", "aba"));
    }

    fn ctx<'a>(config: &'a Value, origin: &'a str, k: &'a Facts, r: &'a Facts) -> Context<'a> {
        Context {
            config,
            origin,
            kapsel: k,
            runc: r,
            against: Against::Runc,
        }
    }

    #[test]
    fn rules_match_on_fact_values_and_config() {
        let doc = "prose\n```allowed\n# comment\nno-mnt\tleft.mounts\tnothing\t*\t!/linux/namespaces/*/type=mount\n```\n\
                   ```open\nlo\tprobe.net.lo\t8\t73\t/linux/namespaces/*/type=network\n```\n";
        let list = AllowList::parse(doc).unwrap();
        assert_eq!(list.rules.len(), 2);
        let none = Facts::new();
        let d = Difference {
            key: "left.mounts".into(),
            kapsel: "nothing".into(),
            runc: "+/x".into(),
            crun: "n/a".into(),
            against: Against::Runc,
        };
        let with_mnt = json!({ "linux": { "namespaces": [{ "type": "mount" }] } });
        let without = json!({ "linux": { "namespaces": [{ "type": "pid" }] } });
        assert!(list
            .explain(&d, &ctx(&with_mnt, "", &none, &none))
            .is_none());
        assert_eq!(
            list.explain(&d, &ctx(&without, "", &none, &none))
                .unwrap()
                .name,
            "no-mnt"
        );
        let lo = Difference {
            key: "probe.net.lo".into(),
            kapsel: "8".into(),
            runc: "73".into(),
            crun: "73".into(),
            against: Against::Runc,
        };
        let net = json!({ "linux": { "namespaces": [{ "type": "network" }] } });
        let rule = list.explain(&lo, &ctx(&net, "", &none, &none)).unwrap();
        assert_eq!(rule.kind, Kind::Open);
        assert!(list
            .explain(&lo, &ctx(&without, "", &none, &none))
            .is_none());
    }

    #[test]
    fn crun_reference_blocks() {
        let doc = "```crun-reference\ntime-ns\t/linux/namespaces/*/type=time\n```\n";
        let list = AllowList::parse(doc).unwrap();
        let none = Facts::new();
        let time = json!({ "linux": { "namespaces": [{ "type": "time" }] } });
        assert_eq!(
            list.crun_reference(&ctx(&time, "", &none, &none))
                .unwrap()
                .name,
            "time-ns"
        );
        assert!(list
            .crun_reference(&ctx(&json!({}), "", &none, &none))
            .is_none());
        assert!(AllowList::parse("```crun-reference\na\tb\tc\n```\n").is_err());
    }

    #[test]
    fn a_malformed_rule_is_an_error() {
        assert!(AllowList::parse("```allowed\nonly\ttwo\n```\n").is_err());
    }

    #[test]
    fn origin_value_and_fact_conditions() {
        let none = Facts::new();
        let c = json!({ "process": { "terminal": true }, "linux": {} });
        assert!(condition(
            "origin~edge:args",
            &ctx(&c, "runc-spec+edge:args-directory", &none, &none)
        ));
        assert!(condition(
            "/process/terminal=true",
            &ctx(&c, "", &none, &none)
        ));
        assert!(!condition(
            "/process/terminal",
            &ctx(
                &json!({ "process": { "terminal": false } }),
                "",
                &none,
                &none
            )
        ));
        assert!(condition("!/linux/seccomp", &ctx(&c, "", &none, &none)));
        let m = json!({ "mounts": [{ "destination": "/proc/sys/net" }] });
        assert!(condition(
            "/mounts/*/destination=/proc/*",
            &ctx(&m, "", &none, &none)
        ));
        assert!(!condition(
            "!/mounts/*/destination=/proc/*",
            &ctx(&m, "", &none, &none)
        ));
        let runc: Facts = [("exit.create".to_string(), "1".to_string())].into();
        assert!(condition("runc:exit.create=1", &ctx(&c, "", &none, &runc)));
        assert!(!condition(
            "kapsel:exit.create=1",
            &ctx(&c, "", &none, &runc)
        ));
        assert!(condition("runc:exit.create", &ctx(&c, "", &none, &runc)));
    }
}
