//! Facts of kapsel against a reference's, with the third runtime's beside them: every key
//! whose value differs is a difference. The reference is runc (the runtime-spec is the law,
//! runc the tie-breaker), or crun for configs runc cannot serve (a feature runc 1.1 lacks or
//! gets wrong, listed in docs/differences.md). When the runtimes already disagree on whether
//! create or start works, the facts that follow from it (what the probe saw, the state, the
//! cgroup, the hooks that ran) are left out: the disagreement is one difference, not fifty.

use std::collections::BTreeSet;

use crate::facts::Facts;

/// The runtime kapsel is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Against {
    /// runc, the default.
    Runc,
    /// crun, for configs runc cannot serve.
    Crun,
}

/// One fact on which kapsel and the reference disagree.
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
    /// Which of the two is the reference.
    pub against: Against,
}

impl Difference {
    /// The reference's value.
    pub fn reference(&self) -> &str {
        match self.against {
            Against::Runc => &self.runc,
            Against::Crun => &self.crun,
        }
    }

    /// Whom the third runtime sides with.
    pub fn side(&self) -> &'static str {
        let (third, name) = match self.against {
            Against::Runc => (&self.crun, "crun"),
            Against::Crun => (&self.runc, "runc"),
        };
        match (
            third == &self.kapsel,
            third.as_str() == self.reference(),
            third == "n/a",
            name,
        ) {
            (_, _, true, _) => "crun not run",
            (true, _, _, "crun") => "crun agrees with kapsel",
            (true, _, _, _) => "runc agrees with kapsel",
            (_, true, _, "crun") => "crun agrees with runc",
            (_, true, _, _) => "runc agrees with crun",
            _ => "all three differ",
        }
    }
}

/// Keys still compared when create or start already went differently: what is left on the
/// host (but not in the rootfs: how far a failed create got is not compared) and what the
/// commands with hostile ids did.
const AFTER_LIFECYCLE_SPLIT: [&str; 5] = [
    "left.state",
    "left.mounts",
    "left.cgroups",
    "left.processes",
    "left.hostile",
];

/// The path through the lifecycle in one value: `create 0, start 0, reported true, container
/// exit 0`.
fn lifecycle(f: &Facts) -> String {
    [
        ("exit.create", "create"),
        ("exit.start", "start"),
        ("probe.reported", "reported"),
        ("container.exit", "container"),
    ]
    .iter()
    .filter_map(|(k, label)| Some(format!("{label} {}", f.get(*k)?)))
    .collect::<Vec<_>>()
    .join(", ")
}

/// The differences between kapsel's facts and the reference's (`against`).
pub fn compare(
    kapsel: &Facts,
    runc: &Facts,
    crun: Option<&Facts>,
    against: Against,
) -> Vec<Difference> {
    let reference = match (against, crun) {
        (Against::Crun, Some(c)) => c,
        _ => runc,
    };
    let against = if std::ptr::eq(reference, runc) {
        Against::Runc
    } else {
        Against::Crun
    };
    let get = |f: &Facts, k: &str| f.get(k).cloned().unwrap_or_else(|| "<absent>".into());
    let value = |f: &Facts, k: &str| {
        if k == "lifecycle" {
            lifecycle(f)
        } else {
            get(f, k)
        }
    };
    let difference = |k: &str| Difference {
        key: k.to_string(),
        kapsel: value(kapsel, k),
        runc: value(runc, k),
        crun: crun.map_or_else(|| "n/a".into(), |c| value(c, k)),
        against,
    };
    // Whether the probe ran and reported is part of the lifecycle: a container whose program
    // did not run has no view to compare.
    let split = ["exit.create", "exit.start", "probe.reported"]
        .iter()
        .any(|k| get(kapsel, k) != get(reference, k));
    let failed = [kapsel, reference]
        .iter()
        .any(|f| get(f, "exit.create") != "0");
    // With crun as the reference, a fact runc judged (it created the container) and on which
    // it agrees with kapsel is no difference; crun's view of the hybrid cgroup2 mount is
    // hidden, so facts about it are not compared.
    let runc_judged = get(runc, "exit.create") == "0";
    let judged_by_crun = |k: &str| {
        against == Against::Crun
            && (k.contains("unified") || (runc_judged && get(runc, k) == get(kapsel, k)))
    };
    let keys: BTreeSet<&String> = kapsel.keys().chain(reference.keys()).collect();
    let mut out: Vec<Difference> = Vec::new();
    // With crun as the reference, runc taking the same path as kapsel settles the lifecycle
    // (crun exits 255 where runc and kapsel exit 1).
    if split && !(against == Against::Crun && lifecycle(runc) == lifecycle(kapsel)) {
        out.push(difference("lifecycle"));
    }
    out.extend(
        keys.into_iter()
            .filter(|k| !split || AFTER_LIFECYCLE_SPLIT.iter().any(|p| k.starts_with(p)))
            // How far a failed create got (its mount points, the hooks it ran, what it set in a
            // joined namespace) is not compared.
            .filter(|k| {
                !failed
                    || !["left.rootfs", "hooks.", "joined."]
                        .iter()
                        .any(|p| k.starts_with(p))
            })
            .filter(|k| get(kapsel, k) != get(reference, k) && !judged_by_crun(k))
            .map(|k| difference(k)),
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
        assert!(compare(&f, &f, Some(&f), Against::Runc).is_empty());
    }

    #[test]
    fn a_differing_value_and_a_missing_key_are_differences() {
        let k = facts(&[("exit.create", "0"), ("probe.net.lo", "8")]);
        let r = facts(&[
            ("exit.create", "0"),
            ("probe.net.lo", "73"),
            ("probe.fd.3", "x"),
        ]);
        let d = compare(&k, &r, Some(&r), Against::Runc);
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
        let d = compare(&k, &r, None, Against::Runc);
        let keys: Vec<&str> = d.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["lifecycle", "left.state"]);
        assert_eq!(d[0].kapsel, "create 1");
        assert_eq!(d[0].runc, "create 0, start 0, container exit 0");
    }

    #[test]
    fn with_crun_as_reference_runc_agreeing_with_kapsel_settles_a_fact() {
        let k = facts(&[("exit.create", "0"), ("probe.a", "1"), ("probe.b", "1")]);
        let r = facts(&[("exit.create", "0"), ("probe.a", "1"), ("probe.b", "3")]);
        let c = facts(&[("exit.create", "0"), ("probe.a", "2"), ("probe.b", "2")]);
        let keys: Vec<String> = compare(&k, &r, Some(&c), Against::Crun)
            .into_iter()
            .map(|d| d.key)
            .collect();
        assert_eq!(keys, ["probe.b"]);
    }

    #[test]
    fn crun_can_be_the_reference() {
        let k = facts(&[("exit.create", "0"), ("probe.uid", "0")]);
        let r = facts(&[("exit.create", "1")]);
        let c = facts(&[("exit.create", "0"), ("probe.uid", "1")]);
        let d = compare(&k, &r, Some(&c), Against::Crun);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].key, "probe.uid");
        assert_eq!(d[0].reference(), "1");
        assert_eq!(d[0].side(), "all three differ");
    }
}
