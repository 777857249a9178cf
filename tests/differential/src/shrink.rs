//! Shrinking a case to a minimal config that still shows a difference: greedily removes
//! members and array elements (whole subtrees first), keeping each removal after which
//! kapsel still differs from the reference on the fact. The probe's own arguments that make it
//! report and exit (the binary, the id token, `wait:term`) and the config's required
//! fields stay.

use serde_json::Value;

use crate::batch::{run_case, Env};
use crate::gen::Case;

const KEEP: [&str; 5] = [
    "/ociVersion",
    "/root",
    "/root/path",
    "/process",
    "/process/args",
];

/// True when `fact` is a difference on `config`, judged as a batch judges it (crun as the
/// reference where the allow-list says so).
pub fn differs(env: &Env, config: &Value, fact: &str) -> Result<bool, String> {
    let case = Case {
        seed: 0,
        origin: "shrink".into(),
        config: config.clone(),
        hostile: Vec::new(),
    };
    let r = run_case(env, &case);
    if let Some(e) = r.error {
        return Err(e);
    }
    Ok(r.diffs
        .iter()
        .any(|j| crate::allow::glob(fact, &j.diff.key)))
}

/// The smallest config found that still shows `fact`; `progress` hears each kept removal.
pub fn shrink(
    env: &Env,
    config: &Value,
    fact: &str,
    mut progress: impl FnMut(&str),
) -> Result<Value, String> {
    if !differs(env, config, fact)? {
        return Err(format!("the config shows no difference on `{fact}`"));
    }
    let mut current = config.clone();
    loop {
        let mut changed = false;
        for path in candidates(&current) {
            let Some(smaller) = without(&current, &path) else {
                continue;
            };
            if differs(env, &smaller, fact)? {
                progress(&path);
                current = smaller;
                changed = true;
            }
        }
        if !changed {
            return Ok(current);
        }
    }
}

/// Every removable path, shallow first; array elements from the last, so that removing one
/// leaves the others' indices valid within a pass.
fn candidates(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(v, "", 0, &mut out);
    out.sort_by(|a, b| a.1.cmp(&b.1).then(b.2.cmp(&a.2)));
    out.into_iter()
        .map(|(p, _, _)| p)
        .filter(|p| !KEEP.contains(&p.as_str()))
        .collect()
}

fn walk(v: &Value, path: &str, depth: usize, out: &mut Vec<(String, usize, usize)>) {
    match v {
        Value::Object(o) => {
            for (k, child) in o {
                let p = format!("{path}/{}", k.replace('~', "~0").replace('/', "~1"));
                out.push((p.clone(), depth, 0));
                walk(child, &p, depth + 1, out);
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                let p = format!("{path}/{i}");
                let essential = path == "/process/args"
                    && (i == 0
                        || child
                            .as_str()
                            .is_some_and(|s| s.starts_with("token:") || s == "wait:term"));
                if !essential {
                    out.push((p.clone(), depth, i));
                }
                walk(child, &p, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// `v` without the member or element at `path`, None when there is none.
fn without(v: &Value, path: &str) -> Option<Value> {
    let (parent, last) = path.rsplit_once('/')?;
    let mut copy = v.clone();
    let node = copy.pointer_mut(parent)?;
    let key = last.replace("~1", "/").replace("~0", "~");
    match node {
        Value::Object(o) => o.remove(&key).map(|_| ()),
        Value::Array(a) => {
            let i: usize = key.parse().ok()?;
            (i < a.len()).then(|| {
                a.remove(i);
            })
        }
        _ => None,
    }?;
    Some(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn candidates_keep_the_essentials_and_go_shallow_first() {
        let v = json!({ "ociVersion": "1", "process": { "args": ["/probe", "token:@ID@", "fds", "wait:term"], "env": ["A=1"] }, "mounts": [{ "destination": "/a" }, { "destination": "/b" }] });
        let c = candidates(&v);
        assert_eq!(c[0], "/mounts");
        assert!(c.contains(&"/process/args/2".to_string()));
        assert!(!c
            .iter()
            .any(|p| p == "/process/args/0" || p == "/process/args/1" || p == "/process/args/3"));
        let i1 = c.iter().position(|p| p == "/mounts/1").unwrap();
        let i0 = c.iter().position(|p| p == "/mounts/0").unwrap();
        assert!(i1 < i0);
        assert_eq!(
            without(&v, "/mounts/0").unwrap()["mounts"],
            json!([{ "destination": "/b" }])
        );
        assert!(without(&v, "/nothing").is_none());
    }
}
