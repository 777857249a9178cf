//! A run's record as flat facts (`key -> value` strings) that can be compared across
//! runtimes: what legitimately differs per run is normalised — the container id, bundle,
//! run dir and state root become `ID`, `BUNDLE`, `RUN`, `STATE`; pids, namespace inodes
//! (as `host`, `joined` or `new`), mount ids and peer-group numbers, pipe and socket
//! inodes, timestamps and the runtime's own spec version are dropped or reduced to shape.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::lifecycle::Record;
use crate::world::World;
use kapsel_integration::mountinfo;

/// key -> normalised value.
pub type Facts = BTreeMap<String, String>;

/// Replaces a run's own names with placeholders.
#[derive(Debug, Clone)]
pub struct Norm {
    pairs: Vec<(String, &'static str)>,
}

impl Norm {
    /// The names of `w`.
    pub fn of(w: &World) -> Norm {
        let mut pairs = vec![
            (w.bundle.display().to_string(), "BUNDLE"),
            (w.root.display().to_string(), "STATE"),
            (w.dir.display().to_string(), "RUN"),
            (w.id.clone(), "ID"),
        ];
        // Longest first, so the bundle inside the run dir becomes BUNDLE, not RUN/bundle.
        pairs.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        Norm { pairs }
    }

    /// `s` with the run's names replaced.
    pub fn apply(&self, s: &str) -> String {
        let mut out = s.to_string();
        for (from, to) in &self.pairs {
            if !from.is_empty() {
                out = out.replace(from.as_str(), to);
            }
        }
        out
    }
}

/// The facts of one run.
pub fn of(rec: &Record, w: &World) -> Facts {
    let n = Norm::of(w);
    let mut f = Facts::new();
    for (verb, step) in &rec.steps {
        f.insert(format!("exit.{verb}"), step.code.clone());
    }
    if !rec.container_exit.is_empty() {
        f.insert("container.exit".into(), rec.container_exit.clone());
    }
    for (when, state) in &rec.states {
        state_facts(&mut f, &format!("state.{when}"), state, &n);
    }
    if rec.steps.get("start").is_some_and(|s| s.code == "0") {
        f.insert("probe.reported".into(), rec.probe.is_some().to_string());
        f.insert("ps.count".into(), rec.ps.clone());
    }
    if let Some(p) = &rec.probe {
        probe_facts(&mut f, p, rec, &n, w.rt.hide_unified);
    }
    if let Some(p) = &rec.exec_probe {
        // What an exec'd process gets that may differ from the container's first process.
        const EXEC: [&str; 9] = [
            "probe.status.",
            "probe.rlimit.",
            "probe.env",
            "probe.cwd",
            "probe.umask",
            "probe.ns.",
            "probe.cgroup",
            "probe.fd.",
            "probe.oom_score_adj",
        ];
        let mut e = Facts::new();
        probe_facts(&mut e, p, rec, &n, w.rt.hide_unified);
        for (k, v) in e {
            if EXEC.iter().any(|p| k.starts_with(p)) {
                f.insert(format!("exec.{k}"), v);
            }
        }
    }
    for (k, v) in &rec.cgroups {
        if w.rt.hide_unified && k.starts_with("unified.") {
            continue;
        }
        f.insert(format!("cgroup.{k}"), n.apply(v));
    }
    for (name, (place, state)) in &rec.hooks {
        f.insert(format!("hooks.{name}"), place.clone());
        if let Some(s) = state {
            hook_state(&mut f, &format!("hooks.{name}"), s, &n);
        }
    }
    for (place, order) in &rec.hook_order {
        f.insert(format!("hooks.order.{place}"), order.clone());
    }
    for (k, v) in &rec.joined {
        f.insert(format!("joined.{k}"), v.clone());
    }
    for (k, v) in &rec.left {
        let v = n.apply(v);
        f.insert(
            format!("left.{k}"),
            if v.is_empty() { "nothing".into() } else { v },
        );
    }
    f
}

fn state_facts(f: &mut Facts, prefix: &str, state: &Value, n: &Norm) {
    let Some(obj) = state.as_object() else {
        f.insert(prefix.to_string(), n.apply(&state.to_string()));
        return;
    };
    let mut keys: Vec<&String> = obj.keys().collect();
    keys.sort();
    f.insert(
        format!("{prefix}.keys"),
        keys.iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(","),
    );
    for (k, v) in obj {
        let value = match k.as_str() {
            "pid" => match v.as_i64() {
                Some(p) if p > 0 => "positive".into(),
                other => format!("{other:?}"),
            },
            "created" => {
                if v.as_str()
                    .is_some_and(|s| s.len() >= 20 && s.as_bytes()[4] == b'-')
                {
                    "RFC 3339".into()
                } else {
                    v.to_string()
                }
            }
            // The spec version each runtime implements; they differ by design.
            "ociVersion" => "present".into(),
            _ => n.apply(&v.to_string()),
        };
        f.insert(format!("{prefix}.{k}"), value);
    }
}

/// The state a hook got: its status and pid, the spec's other members as one value, and the
/// names of members beyond the spec's.
fn hook_state(f: &mut Facts, prefix: &str, state: &Value, n: &Norm) {
    const SPEC: [&str; 6] = ["ociVersion", "id", "status", "pid", "bundle", "annotations"];
    let Some(obj) = state.as_object() else {
        f.insert(format!("{prefix}.state"), n.apply(&state.to_string()));
        return;
    };
    f.insert(
        format!("{prefix}.status"),
        obj.get("status")
            .map_or("<absent>".into(), |v| v.to_string()),
    );
    let pid = match obj.get("pid").map(|p| p.as_i64()) {
        None => "<absent>".to_string(),
        Some(Some(p)) if p > 0 => "positive".into(),
        Some(other) => format!("{other:?}"),
    };
    f.insert(format!("{prefix}.pid"), pid);
    let spec: serde_json::Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| {
            SPEC.contains(&k.as_str()) && !["status", "pid", "ociVersion"].contains(&k.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    f.insert(
        format!("{prefix}.state"),
        n.apply(&Value::Object(spec).to_string()),
    );
    let extra: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !SPEC.contains(k))
        .collect();
    f.insert(
        format!("{prefix}.extra"),
        if extra.is_empty() {
            "none".into()
        } else {
            extra.join(",")
        },
    );
}

fn probe_facts(f: &mut Facts, p: &Value, rec: &Record, n: &Norm, hide_unified: bool) {
    let s = |v: &Value| {
        n.apply(
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
                .as_str(),
        )
    };
    f.insert(
        "probe.pid".into(),
        if p["pid"] == 1 { "1" } else { "not 1" }.into(),
    );
    f.insert(
        "probe.ppid".into(),
        if p["ppid"] == 0 { "0" } else { "not 0" }.into(),
    );
    for k in [
        "umask",
        "cwd",
        "hostname",
        "domainname",
        "isatty",
        "oom_score_adj",
    ] {
        f.insert(format!("probe.{k}"), s(&p[k]));
    }
    for (k, v) in p["status"].as_object().into_iter().flatten() {
        f.insert(format!("probe.status.{k}"), s(v));
    }
    for (k, v) in p["rlimits"].as_object().into_iter().flatten() {
        f.insert(format!("probe.rlimit.{k}"), v.to_string());
    }
    for (kind, v) in p["ns"].as_object().into_iter().flatten() {
        let ino = v.as_u64().map(|i| format!("{kind}:[{i}]"));
        let rel = match ino {
            None => "none".to_string(),
            Some(i) if rec.ns_host.get(kind) == Some(&i) => "host".into(),
            Some(i) if rec.ns_helper.get(kind) == Some(&i) => "joined".into(),
            Some(_) => "new".into(),
        };
        f.insert(format!("probe.ns.{kind}"), rel);
    }
    let args: Vec<String> = p["args"].as_array().into_iter().flatten().map(s).collect();
    f.insert("probe.args".into(), args.join(" "));
    let env: Vec<String> = p["env"].as_array().into_iter().flatten().map(s).collect();
    f.insert("probe.env".into(), env.join(" "));
    let mut cg: Vec<String> = p["cgroup"]
        .as_array()
        .into_iter()
        .flatten()
        .map(s)
        .collect();
    cg.sort();
    // The cgroup2 line of a hybrid host is a fact of its own (crun runs where it is hidden).
    if let Some(i) = cg.iter().position(|l| l.starts_with("0::")) {
        let line = cg.remove(i);
        if !hide_unified {
            f.insert("probe.cgroup.unified".into(), line);
        }
    }
    f.insert("probe.cgroup".into(), cg.join(" "));
    let lines: Vec<String> = p["mountinfo"]
        .as_array()
        .into_iter()
        .flatten()
        .map(s)
        .collect();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for m in mountinfo::parse(&lines.join("\n")) {
        let point = m.mount_point.display().to_string();
        if hide_unified && point == "/sys/fs/cgroup/unified" {
            continue;
        }
        // Which name a runtime gives a cgroup mount's source is its own choice.
        let source = if m.fstype.starts_with("cgroup") || point.starts_with("/sys/fs/cgroup") {
            "-".to_string()
        } else {
            m.source.clone()
        };
        let nth = seen.entry(point.clone()).or_default();
        *nth += 1;
        let key = if *nth == 1 {
            point
        } else {
            format!("{point}#{nth}")
        };
        let propagation: Vec<&str> = m
            .optional
            .iter()
            .map(|o| o.split(':').next().unwrap_or(""))
            .collect();
        f.insert(
            format!("probe.mount.{key}"),
            format!(
                "{} {} root={} {} [{}] {}",
                m.fstype,
                source,
                m.root.display(),
                m.options.join(","),
                propagation.join(","),
                m.super_options.join(",")
            ),
        );
    }
    // Only the loopback of the network: in the host's namespace the other interfaces are the
    // machine's, and come and go with its other users.
    if let Some(lo) = p["net"].get("lo") {
        f.insert("probe.net.lo".into(), s(lo));
    }
    for section in ["sysctl", "stat", "read", "try", "dev"] {
        for (k, v) in p[section].as_object().into_iter().flatten() {
            f.insert(format!("probe.{section}.{k}"), s(v));
        }
    }
    for (fd, target) in p["fds"].as_object().into_iter().flatten() {
        let t = s(target);
        let t = match t.split_once(":[") {
            Some((kind, _)) if t.ends_with(']') => kind.to_string(),
            _ => numbered_outputs(&t),
        };
        f.insert(format!("probe.fd.{fd}"), t);
    }
}

/// The harness's own output files `cmd-<n>.stderr` without their sequence number.
fn numbered_outputs(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("cmd-") {
        out.push_str(&rest[..i + 4]);
        rest = rest[i + 4..].trim_start_matches(|c: char| c.is_ascii_digit());
        out.push('N');
    }
    out.push_str(rest);
    out
}
