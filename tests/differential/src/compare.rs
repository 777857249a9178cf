//! Facts of kapsel against runc's (the reference), with crun's beside them: every key whose
//! value differs is a difference. When the runtimes already disagree on whether create or
//! start works, the facts that follow from it (what the probe saw, the state, the cgroup)
//! are left out: the disagreement is one difference, not fifty.

use std::collections::BTreeSet;

use crate::facts::Facts;

/// One fact on which kapsel and runc disagree.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    /// The fact's key (`exit.create`, `probe.net.lo`, `left.mounts`...).
    pub key: String,
    /// kapsel's value (`<absent>` when it has none).
    pub kapsel: String,
    /// runc's value.
    pub runc: String,
    /// crun's value, or `n/a` when crun was not run.
    pub crun: String,
}

impl Difference {
    /// Whom crun sides with: `crun=kapsel`, `crun=runc` or `all differ`.
    pub fn side(&self) -> &'static str {
        if self.crun == self.kapsel {
            "crun agrees with kapsel"
        } else if self.crun == self.runc {
            "crun agrees with runc"
        } else if self.crun == "n/a" {
            "crun not run"
        } else {
            "all three differ"
        }
    }
}

/// Keys still compared when create or start already went differently: what is left on the
/// host (but not in the rootfs: how far a failed create got is not compared).
const AFTER_LIFECYCLE_SPLIT: [&str; 4] = [
    "left.state",
    "left.mounts",
    "left.cgroups",
    "left.processes",
];

/// The path through the lifecycle in one value: `create 0, start 0, container exit 0`.
fn lifecycle(f: &Facts) -> String {
    [
        ("exit.create", "create"),
        ("exit.start", "start"),
        ("container.exit", "container"),
    ]
    .iter()
    .filter_map(|(k, label)| Some(format!("{label} {}", f.get(*k)?)))
    .collect::<Vec<_>>()
    .join(", ")
}

/// The differences between kapsel's and runc's facts.
pub fn compare(kapsel: &Facts, runc: &Facts, crun: Option<&Facts>) -> Vec<Difference> {
    let get = |f: &Facts, k: &str| f.get(k).cloned().unwrap_or_else(|| "<absent>".into());
    let split = ["exit.create", "exit.start"]
        .iter()
        .any(|k| get(kapsel, k) != get(runc, k));
    let failed = [kapsel, runc].iter().any(|f| get(f, "exit.create") != "0");
    let probe_split = get(kapsel, "probe.reported") != get(runc, "probe.reported");
    let keys: BTreeSet<&String> = kapsel.keys().chain(runc.keys()).collect();
    let mut out: Vec<Difference> = Vec::new();
    if split {
        out.push(Difference {
            key: "lifecycle".into(),
            kapsel: lifecycle(kapsel),
            runc: lifecycle(runc),
            crun: crun.map_or_else(|| "n/a".into(), lifecycle),
        });
    }
    out.extend(
        keys.into_iter()
            .filter(|k| !split || AFTER_LIFECYCLE_SPLIT.contains(&k.as_str()))
            .filter(|k| !failed || !k.starts_with("left.rootfs"))
            .filter(|k| !probe_split || !k.starts_with("probe.") || *k == "probe.reported")
            .filter(|k| get(kapsel, k) != get(runc, k))
            .map(|k| Difference {
                key: k.clone(),
                kapsel: get(kapsel, k),
                runc: get(runc, k),
                crun: crun.map_or_else(|| "n/a".into(), |c| get(c, k)),
            }),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(pairs: &[(&str, &str)]) -> Facts {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn equal_facts_have_no_difference() {
        let f = facts(&[("exit.create", "0"), ("probe.hostname", "box")]);
        assert!(compare(&f, &f, Some(&f)).is_empty());
    }

    #[test]
    fn a_differing_value_and_a_missing_key_are_differences() {
        let k = facts(&[("exit.create", "0"), ("probe.net.lo", "8")]);
        let r = facts(&[
            ("exit.create", "0"),
            ("probe.net.lo", "73"),
            ("probe.fd.3", "x"),
        ]);
        let d = compare(&k, &r, Some(&r));
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].key, "probe.fd.3");
        assert_eq!(d[0].kapsel, "<absent>");
        assert_eq!(d[1].side(), "crun agrees with runc");
    }

    #[test]
    fn a_failed_create_is_one_lifecycle_difference_plus_host_leftovers() {
        let k = facts(&[
            ("exit.create", "1"),
            ("left.state", "nothing"),
            ("left.rootfs", "+/x"),
        ]);
        let r = facts(&[
            ("exit.create", "0"),
            ("exit.start", "0"),
            ("container.exit", "exit 0"),
            ("probe.hostname", "box"),
            ("hooks.prestart-0.ran", "host"),
            ("left.state", "ID"),
            ("left.rootfs", "nothing"),
        ]);
        let d = compare(&k, &r, None);
        let keys: Vec<&str> = d.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["lifecycle", "left.state"]);
        assert_eq!(d[0].kapsel, "create 1");
        assert_eq!(d[0].runc, "create 0, start 0, container exit 0");
    }
}
