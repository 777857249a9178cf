//! operations.wasm.hello: the start-up of a WebAssembly container against the same program
//! run natively. A hello world (below) is built with rustc twice, for `wasm32-wasip1` and
//! as a static native binary; each sample `run`s both in the same rootfs, the module with
//! `run.oci.handler=wasm` (crun's and kapsel's annotation), and reports both times and
//! their ratio. A runtime without a wasm handler (runc; crun built without `+WASM`, as
//! Debian's) is skipped with what it says about itself.

use std::path::{Path, PathBuf};

use crate::error::Failure;
use crate::runtime::{which, Runtime};
use crate::spec::ProcessPlan;

use super::container::{self, Guard};
use super::ctx::{ms, Ctx, RunOutcome, RunResult};

/// The program: the same source for both builds.
const HELLO_RS: &str = r#"fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    println!("hello world {}", args.join(" "));
}
"#;

pub fn hello(ctx: &Ctx, rt: &Runtime) -> RunResult {
    if let Err(why) = wasm_support(ctx, rt) {
        return Ok(RunOutcome::Skip(why));
    }
    let (module, native) = match ctx.wasm_hello.get_or_init(|| build(ctx)) {
        Ok(p) => p,
        Err(why) => return Ok(RunOutcome::Skip(why.clone())),
    };
    let copy = |file: &Path, name: &str| {
        ctx.bundles
            .add_file(file, name)
            .map_err(|e| Failure::new("copy the hello world into the rootfs", e))
    };
    let (module, native) = (copy(module, "hello.wasm")?, copy(native, "hello-native")?);
    let wasm = ProcessPlan {
        args: vec![module, "from".into(), "wasm".into()],
        annotations: vec![("run.oci.handler".into(), "wasm".into())],
        ..Default::default()
    };
    let native = ProcessPlan {
        args: vec![native, "from".into(), "native".into()],
        ..Default::default()
    };
    let w = timed_run(ctx, rt, &wasm, "hello world from wasm")?;
    let n = timed_run(ctx, rt, &native, "hello world from native")?;
    Ok(RunOutcome::Values(vec![w, n, w / n]))
}

/// `run` of `plan` to its exit, in ms; its output must hold `want` (the program ran).
fn timed_run(ctx: &Ctx, rt: &Runtime, plan: &ProcessPlan, want: &str) -> Result<f64, Failure> {
    let b = container::bundle(ctx, plan)?;
    let mut g = Guard::new(ctx, rt);
    ctx.before_timed()?;
    let out = container::run(ctx, rt, &g.id, &b)?;
    g.disarm();
    if !out.stdout.contains(want) {
        return Err(Failure::new(
            format!("{} run {}", rt.name, plan.args[0]),
            format!("no `{want}` in its output: {:?}", out.stdout),
        ));
    }
    Ok(ms(out.elapsed))
}

/// Whether the runtime has a wasm handler: an annotation `*.wasm: true` in its `features`
/// (kapsel: `org.kapsel.wasm`, crun: `run.oci.crun.wasm`) or `+WASM` in its `--version`
/// (crun's build flags); otherwise the reason, quoting what it said.
fn wasm_support(ctx: &Ctx, rt: &Runtime) -> Result<(), String> {
    let features = ctx.exec.run_unchecked(&rt.argv(&["features"]), None);
    if let Ok(out) = &features {
        if features_say_wasm(&out.stdout) {
            return Ok(());
        }
    }
    let version = ctx
        .exec
        .run_unchecked(&rt.version_argv(), None)
        .map(|o| o.stdout)
        .unwrap_or_default();
    if version.contains("+WASM") {
        return Ok(());
    }
    let flags = version
        .lines()
        .find(|l| l.starts_with('+'))
        .map(|l| format!(" (`--version`: {l})"))
        .unwrap_or_default();
    Err(format!("{} has no wasm handler{flags}", rt.name))
}

fn features_say_wasm(json: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(json) else {
        return false;
    };
    v["annotations"].as_object().is_some_and(|a| {
        a.iter()
            .any(|(k, v)| k.ends_with(".wasm") && v.as_str() == Some("true"))
    })
}

/// Builds the hello world for wasm32-wasip1 and as a static native binary in the scratch
/// folder; the reason when rustc or its wasm target is missing.
fn build(ctx: &Ctx) -> Result<(PathBuf, PathBuf), String> {
    let rustc = std::env::var("RUSTC")
        .ok()
        .and_then(|r| which(&r))
        .or_else(|| which("rustc"))
        .ok_or("rustc is not installed (the hello world is built from source)")?;
    let dir = ctx.exec.scratch().join("wasm-hello");
    std::fs::create_dir_all(&dir).map_err(|e| format!("create `{}`: {e}", dir.display()))?;
    let src = dir.join("hello.rs");
    std::fs::write(&src, HELLO_RS).map_err(|e| format!("write `{}`: {e}", src.display()))?;
    let module = dir.join("hello.wasm");
    let native = dir.join("hello-native");
    let base = |out: &Path| {
        vec![
            rustc.display().to_string(),
            "--edition".into(),
            "2021".into(),
            "-C".into(),
            "opt-level=2".into(),
            "-C".into(),
            "strip=symbols".into(),
            "-o".into(),
            out.display().to_string(),
            src.display().to_string(),
        ]
    };
    let mut wasm = base(&module);
    wasm.extend(["--target".into(), "wasm32-wasip1".into()]);
    let mut host = base(&native);
    host.extend(["-C".into(), "target-feature=+crt-static".into()]);
    for (argv, what) in [
        (wasm, "for wasm32-wasip1 (rustup target add wasm32-wasip1)"),
        (host, "as a static native binary"),
    ] {
        let out = ctx
            .exec
            .run_unchecked(&argv, None)
            .map_err(|e| e.to_string())?;
        if !out.exit.success() {
            let err = out.stderr.lines().next().unwrap_or("").to_string();
            return Err(format!("rustc cannot build the hello world {what}: {err}"));
        }
    }
    Ok((module, native))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_handlers_in_features() {
        let kapsel = r#"{"ociVersionMin":"1.0.0","annotations":{"org.kapsel.wasm":"true"}}"#;
        assert!(features_say_wasm(kapsel));
        let crun = r#"{"annotations":{"run.oci.crun.wasm":"true","run.oci.crun.checkpoint.enabled":"true"}}"#;
        assert!(features_say_wasm(crun));
        let without = r#"{"annotations":{"org.kapsel.wasm":"false"}}"#;
        assert!(!features_say_wasm(without));
        assert!(!features_say_wasm(r#"{"ociVersionMax":"1.2.0"}"#));
        assert!(!features_say_wasm("not json"));
    }
}
