//! Hooks of every kind, some failing. Each hook is `/bin/sh -c` with a script that saves the
//! state it got on stdin and appends its name to an order file, in the bundle when the bundle
//! is reachable from where it runs, else in the container's root (`/.hooks/`), and exits
//! with its code. poststart and poststop lists often start with a failing hook, followed by
//! one that records it ran (the spec: the remaining hooks MUST still run).

use serde_json::{json, Value};

use super::{array, Sources};
use crate::rng::Rng;

const KINDS: [&str; 6] = [
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// A hook named `<kind>-<index>` that records its state and exits `code`.
pub fn recorder(kind: &str, index: usize, code: u8) -> Value {
    let name = format!("{kind}-{index}");
    // `/.hooks` exists only in the container's rootfs (world.rs makes it): a hook that runs
    // where the bundle is not reachable records there, and nowhere on the host.
    let script = format!(
        "(cat > @BUNDLE@/hooks/{name}.json || cat > /.hooks/{name}.json) 2>/dev/null; \
         (echo {name} >> @BUNDLE@/hooks/order || echo {name} >> /.hooks/order) 2>/dev/null; \
         exit {code}"
    );
    json!({ "path": "/bin/sh", "args": ["sh", "-c", script] })
}

/// Adds hooks to one to three kinds.
pub fn vary(r: &mut Rng, config: &mut Value, _: &Sources) {
    let n = r.range(1, 3) as usize;
    for _ in 0..n {
        let kind = *r.pick(&KINDS);
        let list = array(config, &format!("/hooks/{kind}"));
        let after_run = kind == "poststart" || kind == "poststop";
        let count = r.range(1, 3) as usize;
        for i in 0..count {
            let index = list.len();
            let fails = if after_run {
                i == 0 && count > 1 && r.chance(70)
            } else {
                r.chance(5)
            };
            let mut hook = recorder(kind, index, if fails { *r.pick(&[1, 3]) } else { 0 });
            if r.chance(20) {
                hook["timeout"] = json!(r.range(5, 30));
            }
            if r.chance(20) {
                hook["env"] = json!(["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOOK=1"]);
            }
            list.push(hook);
        }
    }
}
