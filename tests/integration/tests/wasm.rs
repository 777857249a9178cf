//! The wasm handler (run.oci.handler=wasm, module.wasm.image/variant=compat): a
//! wasm32-wasip1 module built from tests/integration/wasm/wprobe.rs runs as the
//! container's process with its args, env, cwd, stdio, clocks and random; it reads and
//! writes the rootfs and nothing above it; its exit status is the container's; memory
//! limits and `kill` end it as they end any process. Skipped when the runtime under test
//! has no wasm handler (kapsel without `--features wasm`, runc).

use std::time::Duration;

use kapsel_integration::cgroupfs::CgroupDirs;
use kapsel_integration::{ctx, wasm, Bundle, Ctx};
use serde_json::json;

const MIB: u64 = 1 << 20;

/// A bundle whose process is the test module at `/wprobe.wasm` with `args`, selected by
/// `annotation` (key, value).
fn wasm_bundle(
    t: &Ctx,
    module: &std::path::Path,
    annotation: (&str, &str),
    args: &[&str],
) -> Bundle {
    let mut b = t.bundle();
    std::fs::copy(module, b.rootfs().join("wprobe.wasm")).expect("copy module into rootfs");
    let mut argv = vec!["/wprobe.wasm"];
    argv.extend_from_slice(args);
    b.args(&argv);
    b.set("/annotations", json!({ annotation.0: annotation.1 }));
    b
}

#[test]
fn wasm_hello_gets_args_env_cwd_and_stdio() {
    let Some(mut t) = ctx!("wasm_hello_gets_args_env_cwd_and_stdio") else {
        return;
    };
    let Some(module) = wasm::module(&mut t) else {
        return;
    };
    for annotation in [
        ("run.oci.handler", "wasm"),
        ("run.oci.handler", "wasm-smart"),
        ("module.wasm.image/variant", "compat"),
        ("module.wasm.image/variant", "compat-smart"),
    ] {
        let mut b = wasm_bundle(&t, &module, annotation, &["hello", "a b", "c"]);
        std::fs::create_dir_all(b.rootfs().join("work")).expect("mkdir work");
        std::fs::write(b.rootfs().join("work/here.txt"), "in the cwd\n").expect("write");
        b.set("/process/cwd", json!("/work"));
        b.set("/process/env", json!(["PATH=/bin", "GREETING=hi there"]));
        let id = t.id("hello");
        let out = t.run(&b, &id);
        assert_eq!(out.code, Some(0), "{annotation:?}: {}", out.describe());
        let want = "hello from wasm\nargs=hello,a b,c\nGREETING=hi there\ncwd-file=in the cwd\n";
        assert_eq!(out.stdout, want, "{annotation:?}: {}", out.describe());
        assert!(out.stderr.contains("to stderr"), "{}", out.describe());
    }
}

#[test]
fn wasm_smart_variants_leave_native_programs_native() {
    let Some(mut t) = ctx!("wasm_smart_variants_leave_native_programs_native") else {
        return;
    };
    if wasm::module(&mut t).is_none() {
        return;
    }
    for annotation in [
        ("run.oci.handler", "wasm-smart"),
        ("module.wasm.image/variant", "compat-smart"),
    ] {
        let mut b = t.bundle();
        b.sh("echo native");
        b.set("/annotations", json!({ annotation.0: annotation.1 }));
        let id = t.id("smart");
        let out = t.run(&b, &id);
        assert_eq!(out.stdout, "native\n", "{annotation:?}: {}", out.describe());
    }
}

#[test]
fn wasm_clocks_and_random_work() {
    let Some(mut t) = ctx!("wasm_clocks_and_random_work") else {
        return;
    };
    let Some(module) = wasm::module(&mut t) else {
        return;
    };
    let b = wasm_bundle(&t, &module, ("run.oci.handler", "wasm"), &["clock"]);
    let id = t.id("clock");
    let out = t.run(&b, &id);
    assert_eq!(
        out.stdout,
        "slept>=50=true wall>2020=true random=true\n",
        "{}",
        out.describe()
    );
}

#[test]
fn wasm_reads_and_writes_the_rootfs_and_nothing_above_it() {
    let Some(mut t) = ctx!("wasm_reads_and_writes_the_rootfs_and_nothing_above_it") else {
        return;
    };
    let Some(module) = wasm::module(&mut t) else {
        return;
    };
    let mut b = wasm_bundle(&t, &module, ("run.oci.handler", "wasm"), &["files"]);
    std::fs::write(b.rootfs().join("etc/marker"), "inside the rootfs\n").expect("marker");
    std::fs::create_dir_all(b.rootfs().join("data")).expect("mkdir data");
    // Above the container's root: the bundle dir, and the dir above it.
    std::fs::write(b.dir.join("outside.txt"), "HOST FILE\n").expect("outside");
    std::fs::write(b.dir.join("../outside.txt"), "HOST FILE\n").expect("outside");
    b.set("/root/readonly", json!(false));
    let id = t.id("files");
    let out = t.run(&b, &id);
    assert_eq!(out.code, Some(0), "{}", out.describe());
    assert!(
        out.stdout.contains("read-back=written by wasm\n"),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout.contains("marker=inside the rootfs\n"),
        "{}",
        out.describe()
    );
    assert!(
        out.stdout.contains("listing=out.txt\n"),
        "{}",
        out.describe()
    );
    assert!(out.stdout.contains("removed=true\n"), "{}", out.describe());
    assert!(!out.stdout.contains("HOST FILE"), "{}", out.describe());
    for p in [
        "/../outside.txt",
        "../outside.txt",
        "../../outside.txt",
        "/proc/self/root/outside.txt",
    ] {
        assert!(
            out.stdout.contains(&format!("escape {p}: refused")),
            "{p}: {}",
            out.describe()
        );
    }
    // Its directory was made in the rootfs, on the host's side of it.
    assert!(b.rootfs().join("data/sub").is_dir());
}

#[test]
fn wasm_exit_status_is_the_containers() {
    let Some(mut t) = ctx!("wasm_exit_status_is_the_containers") else {
        return;
    };
    let Some(module) = wasm::module(&mut t) else {
        return;
    };
    for code in [0, 3, 42] {
        let b = wasm_bundle(
            &t,
            &module,
            ("run.oci.handler", "wasm"),
            &["exit", &code.to_string()],
        );
        let id = t.id("exit");
        let out = t.run(&b, &id);
        assert_eq!(out.code, Some(code), "{}", out.describe());
        assert_eq!(out.stdout, format!("exiting with {code}\n"));
    }
    // A trap (an out-of-bounds index panics, and a panic aborts with `unreachable`).
    let b = wasm_bundle(&t, &module, ("run.oci.handler", "wasm"), &["trap"]);
    let id = t.id("trap");
    let out = t.run(&b, &id);
    assert_eq!(out.code, Some(1), "{}", out.describe());
    out.err_mentions("trap");
    // And `create` + `start`: the state and the exit status through the pid.
    let b = wasm_bundle(&t, &module, ("run.oci.handler", "wasm"), &["exit", "5"]);
    let id = t.id("exit-created");
    t.create(&b, &id).ok();
    assert_eq!(t.state_ok(&id)["status"], "created");
    t.cmd(&["start", &id]).ok();
    t.wait_status(&id, "stopped", Duration::from_secs(10));
    assert_eq!(t.container_stdout(&id), "exiting with 5\n");
}

#[test]
fn wasm_module_that_is_missing_or_not_wasm_fails_start_with_one_line() {
    let Some(mut t) = ctx!("wasm_module_that_is_missing_or_not_wasm_fails_start_with_one_line")
    else {
        return;
    };
    let Some(module) = wasm::module(&mut t) else {
        return;
    };
    if t.kapsel_only("words its own errors") {
        return;
    }
    let mut b = wasm_bundle(&t, &module, ("run.oci.handler", "wasm"), &["hello"]);
    b.args(&["/missing.wasm"]);
    let id = t.id("missing");
    let out = t.run(&b, &id);
    assert_ne!(out.code, Some(0), "{}", out.describe());
    out.err_mentions("/missing.wasm");
    let mut b = wasm_bundle(&t, &module, ("run.oci.handler", "wasm"), &["hello"]);
    b.args(&["/bin/busybox"]);
    let id = t.id("notwasm");
    let out = t.run(&b, &id);
    assert_ne!(out.code, Some(0), "{}", out.describe());
    out.err_mentions("not a WebAssembly module");
    // An unknown handler is refused at create, as crun refuses it.
    let mut b = t.bundle();
    b.set("/annotations", json!({"run.oci.handler": "nosuch"}));
    let id = t.id("nosuch");
    let out = t.create(&b, &id);
    out.failed();
    out.err_mentions("invalid handler specified `nosuch`");
}

#[test]
fn wasm_memory_eater_is_oom_killed_under_the_memory_limit() {
    let Some(mut t) = ctx!("wasm_memory_eater_is_oom_killed_under_the_memory_limit") else {
        return;
    };
    let Some(module) = wasm::module(&mut t) else {
        return;
    };
    let mut b = wasm_bundle(&t, &module, ("run.oci.handler", "wasm"), &["eat"]);
    b.set(
        "/linux/resources/memory",
        json!({"limit": 96 * MIB, "swap": 96 * MIB}),
    );
    let id = t.id("eat");
    let out = t.run(&b, &id);
    assert_eq!(out.code, Some(137), "{}", out.describe());
    let ate: Vec<u64> = out
        .stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ate ")?.strip_suffix(" MiB")?.parse().ok())
        .collect();
    let most = ate.iter().max().copied().unwrap_or(0);
    assert!(
        (32..=96).contains(&most),
        "the module got near the 96 MiB limit, not past it: {}",
        out.describe()
    );
}

#[test]
fn wasm_busy_loop_is_ended_by_kill() {
    let Some(mut t) = ctx!("wasm_busy_loop_is_ended_by_kill") else {
        return;
    };
    let Some(module) = wasm::module(&mut t) else {
        return;
    };
    let mut b = wasm_bundle(&t, &module, ("run.oci.handler", "wasm"), &["spin"]);
    b.set("/linux/resources/pids", json!({"limit": 8}));
    let id = t.id("spin");
    let pid = t.create_and_start(&b, &id);
    t.wait_for_file(&t.stdout_path(&id), "spinning", Duration::from_secs(10));
    assert_eq!(t.state_ok(&id)["status"], "running");
    // The pids limit is on the module's process as on any other.
    let dirs = CgroupDirs::of(pid);
    assert_eq!(dirs.value("pids", "pids.max"), "8");
    t.cmd(&["kill", &id, "KILL"]).ok();
    t.wait_status(&id, "stopped", Duration::from_secs(10));
    t.cmd(&["delete", &id]).ok();
}
