//! Hostile input: config.json that is huge, deeply nested, has duplicate keys, wrong types,
//! NUL bytes or absurd numbers; mount destinations climbing out with `..`; tampered and
//! truncated state files; ids with control characters. Each is refused with one clear line
//! (or handled), never a crash, never a write outside the state root or the rootfs.
//! (errors.rs covers malformed JSON, missing fields and plain invalid ids; escapes.rs covers
//! symlinks that point out of the rootfs.)

use kapsel_integration::{ctx, Bundle, Ctx, Output};
use serde_json::{json, Value};

/// Exit 1 (never a signal or a panic), exactly one stderr line; kapsel's starts with the
/// container prefix and names each of `names`.
#[track_caller]
fn refused(t: &Ctx, out: &Output, names: &[&str]) {
    if t.rt.is_kapsel {
        out.refused_naming(names).refused_naming(&["container "]);
    } else {
        out.refused_naming(&[]);
    }
}

/// `create` of config.json written verbatim from `text`.
fn create_text(t: &mut Ctx, b: &Bundle, id: &str, text: &[u8]) -> Output {
    std::fs::write(b.dir.join("config.json"), text).expect("write config.json");
    t.rt()
        .args(["create", "--bundle"])
        .arg(&b.dir)
        .arg(id)
        .run()
}

fn config_text(b: &Bundle) -> String {
    serde_json::to_string(&b.config).expect("config JSON")
}

#[test]
fn absurd_values_wrong_types_and_nul_bytes_name_their_field() {
    let Some(mut t) = ctx!("absurd_values_wrong_types_and_nul_bytes_name_their_field") else {
        return;
    };
    if t.kapsel_only("names the field of each refused value") {
        return;
    }
    let cases: [(&str, Value, &str); 12] = [
        ("/process/user/uid", json!(-1), "process.user.uid"),
        ("/process/user/uid", json!(1u64 << 32), "process.user.uid"),
        ("/process/user/uid", json!("zero"), "process.user.uid"),
        ("/process/args", json!("sh"), "process.args"),
        (
            "/process/oomScoreAdj",
            json!(1u64 << 40),
            "process.oomScoreAdj",
        ),
        (
            "/linux/resources/memory/limit",
            json!(u64::MAX),
            "linux.resources.memory.limit",
        ),
        (
            "/linux/resources/pids/limit",
            json!(-5),
            "linux.resources.pids.limit",
        ),
        (
            "/linux/resources/cpu/shares",
            json!(u64::MAX),
            "linux.resources.cpu.shares",
        ),
        ("/hostname", json!("a\0b"), "hostname"),
        ("/process/args", json!(["sh", "a\0b"]), "process.args[1]"),
        ("/process/cwd", json!("/\0x"), "process.cwd"),
        ("/annotations", json!({"k\0": "v"}), "annotations"),
    ];
    for (pointer, value, field) in cases {
        let mut b = t.bundle();
        b.set(pointer, value.clone());
        let id = t.id("absurd");
        let out = t.create(&b, &id);
        refused(&t, &out, &[&id, field]);
        assert!(
            !out.stderr.contains('\0'),
            "a NUL byte reached the error line"
        );
        t.assert_no_leftovers(&id, &b, None);
    }
}

#[test]
fn duplicate_keys_deep_nesting_truncation_and_garbage_are_refused() {
    let Some(mut t) = ctx!("duplicate_keys_deep_nesting_truncation_and_garbage_are_refused") else {
        return;
    };
    let b = t.bundle();
    let text = config_text(&b);
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "duplicate",
            format!("{{\"hostname\":\"a\",{}", &text[1..]).into_bytes(),
        ),
        (
            "nested",
            format!("{{\"annotations\":{deep},{}", &text[1..]).into_bytes(),
        ),
        ("truncated", text.as_bytes()[..text.len() / 2].to_vec()),
        (
            "garbage",
            (0..4096u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
                .collect(),
        ),
    ];
    for (tag, bytes) in cases {
        let id = t.id(tag);
        let out = create_text(&mut t, &b, &id, &bytes);
        refused(&t, &out, &[&id, "config.json"]);
        t.assert_no_leftovers(&id, &b, None);
    }
}

#[test]
fn huge_and_deep_but_valid_configs_are_handled() {
    let Some(mut t) = ctx!("huge_and_deep_but_valid_configs_are_handled") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["true"]);
    // 16 MiB of annotation and 100k levels in a field nobody reads: no stack overflow.
    b.set("/annotations", json!({"big": "x".repeat(16 << 20)}));
    let deep = "[".repeat(100_000) + &"]".repeat(100_000);
    let text = format!("{{\"x-extension\":{deep},{}", &config_text(&b)[1..]);
    let id = t.id("huge");
    let out = create_text(&mut t, &b, &id, text.as_bytes());
    if out.success() {
        t.track_pid_file(&id);
        assert_eq!(t.state_ok(&id)["status"], "created");
        t.cmd(&["delete", "--force", &id]).ok();
    } else {
        refused(&t, &out, &[&id]);
    }
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn mount_destinations_climbing_with_dotdot_stay_in_the_rootfs() {
    let Some(mut t) = ctx!("mount_destinations_climbing_with_dotdot_stay_in_the_rootfs") else {
        return;
    };
    let mut b = t.bundle();
    let name = format!("kapsel-dotdot-{}", std::process::id());
    let dest = format!("/../../../../../../../{name}");
    b.push_mount(json!({"destination": dest, "type": "tmpfs", "source": "tmpfs"}));
    let out = t.sh_output(&mut b, &format!("grep -c ' /{name} ' /proc/mounts"));
    assert_eq!(out.trim(), "1", "the tmpfs lands at /{name} inside");
    assert!(
        !std::path::Path::new("/").join(&name).exists(),
        "a dir appeared on the host"
    );
    assert!(!t.work().join(&name).exists() && !b.dir.join(&name).exists());
    assert!(b.rootfs().join(&name).is_dir(), "created inside the rootfs");
}

#[test]
fn tampered_and_truncated_state_files_give_clear_errors() {
    let Some(mut t) = ctx!("tampered_and_truncated_state_files_give_clear_errors") else {
        return;
    };
    if t.kapsel_only("its state file layout is its own") {
        return;
    }
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("tamper");
    t.create(&b, &id).ok();
    let fp = t.footprint(&id);
    let file = t.root().join(&id).join("state.json");
    let original = std::fs::read(&file).expect("state file");
    let mut state: Value = serde_json::from_slice(&original).expect("state JSON");

    std::fs::write(&file, &original[..original.len() / 2]).expect("truncate");
    let out = t.cmd(&["state", &id]);
    refused(&t, &out, &[&id, "corrupt", "state.json"]);
    assert!(t.cmd(&["list", "-q"]).ok().stdout.lines().all(|l| l != id));

    // Another live process's pid (ours) with the container's start time: not the container.
    state["pid"] = json!(std::process::id());
    std::fs::write(&file, state.to_string()).expect("tamper pid");
    assert_eq!(t.state_ok(&id)["status"], "stopped");
    refused(&t, &t.cmd(&["kill", &id, "KILL"]), &[&id, "not running"]);

    // cgroup paths outside any cgroup filesystem: kill --all and delete refuse to touch
    // them (a `cgroup.kill` there would otherwise be written).
    let victim = t.work().join("victim");
    std::fs::create_dir(&victim).expect("victim dir");
    std::fs::write(victim.join("cgroup.kill"), "").expect("decoy cgroup.kill");
    state["pid"] = json!(fp.pid);
    state["cgroup"]["unified"] = json!(victim);
    std::fs::write(&file, state.to_string()).expect("tamper cgroup");
    let kill_all = t.cmd(&["kill", "--all", &id, "KILL"]);
    refused(&t, &kill_all, &[&id, "not on a cgroup filesystem"]);
    assert_eq!(
        std::fs::read_to_string(victim.join("cgroup.kill"))
            .ok()
            .as_deref(),
        Some("")
    );
    refused(
        &t,
        &t.cmd(&["delete", "--force", &id]),
        &[&id, "not on a cgroup filesystem"],
    );
    assert!(
        victim.is_dir(),
        "delete removed a directory named by a tampered state"
    );

    std::fs::write(&file, &original).expect("restore");
    t.cmd(&["delete", "--force", &id]).ok();
    t.assert_no_leftovers(&id, &b, Some(&fp));
}

#[test]
fn ids_with_control_characters_are_refused_on_one_line() {
    let Some(t) = ctx!("ids_with_control_characters_are_refused_on_one_line") else {
        return;
    };
    let b = t.bundle();
    b.write();
    for id in ["a\nb", "a\rb", "\x1b[31mred", "a\tb", "a\x7fb", "a b", "é"] {
        let create = t
            .rt()
            .args(["create", "--bundle"])
            .arg(&b.dir)
            .arg(id)
            .run();
        for out in [
            create,
            t.cmd(&["state", id]),
            t.cmd(&["delete", "--force", id]),
        ] {
            if out.success() {
                continue; // delete --force of an id that does not exist succeeds
            }
            refused(&t, &out, &[]);
            assert!(
                !out.stderr.contains('\x1b'),
                "a raw escape reached the terminal"
            );
        }
        let left: Vec<_> = std::fs::read_dir(t.root())
            .map(|d| d.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "id {id:?} left {left:?}");
    }
}

/// A snapshot of every path below `dir` (names and file contents), to prove nothing changed.
fn tree(dir: &std::path::Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).expect("lstat");
            let what = if meta.is_dir() {
                stack.push(p.clone());
                "dir".to_string()
            } else if meta.file_type().is_symlink() {
                format!("-> {}", std::fs::read_link(&p).expect("readlink").display())
            } else {
                std::fs::read_to_string(&p).unwrap_or_default()
            };
            out.push((p.display().to_string(), what));
        }
    }
    out.sort();
    out
}

// Defect: `delete -f ../x` removed whatever path the id named (the id was checked by create
// alone). Every verb must refuse an id that is not one path component before it builds a
// path, and the host (the state root's neighbours, a directory kapsel did not make in the
// state root, a symlink in it) must be exactly as before.
#[test]
fn every_verb_refuses_hostile_ids_and_touches_nothing() {
    let Some(t) = ctx!("every_verb_refuses_hostile_ids_and_touches_nothing") else {
        return;
    };
    let b = t.bundle();
    b.write();
    let victim = t.work().join("victim");
    std::fs::create_dir_all(victim.join("sub")).expect("victim");
    std::fs::write(victim.join("sub/keep"), "keep").expect("victim file");
    std::fs::create_dir_all(t.root()).expect("root");
    std::fs::write(t.work().join("neighbour"), "n").expect("neighbour");
    let victim_abs = victim.display().to_string();
    let before = tree(t.work());
    let hostile = [
        "",
        ".",
        "..",
        "../victim",
        "../..",
        "a/b",
        "./x",
        "victim/../..",
        victim_abs.as_str(),
    ];
    let bundle = b.dir.display().to_string();
    for id in hostile {
        let verbs: Vec<Vec<&str>> = vec![
            vec!["state", id],
            vec!["start", id],
            vec!["kill", id, "9"],
            vec!["kill", "--all", id, "9"],
            vec!["delete", id],
            vec!["delete", "--force", id],
            vec!["exec", id, "true"],
            vec!["pause", id],
            vec!["resume", id],
            vec!["ps", id],
            vec!["ps", "--format", "json", id],
            vec!["update", "--pids-limit", "10", id],
            vec!["events", "--stats", id],
            vec!["checkpoint", id],
            vec!["create", "--bundle", &bundle, id],
            vec!["run", "--bundle", &bundle, id],
        ];
        for argv in verbs {
            let out = t.cmd(&argv);
            out.failed();
            assert_eq!(out.stderr_lines().len(), 1, "{}", out.describe());
            if t.rt.is_kapsel {
                out.err_mentions("invalid container ID format");
            } else {
                out.err_mentions("id");
            }
            assert_eq!(tree(t.work()), before, "{argv:?} changed the host");
        }
    }
    assert!(victim.join("sub/keep").exists(), "the victim is gone");
}

// `delete --force` of a directory in the state root that kapsel did not make (no state,
// foreign files) or of a symlink there removes nothing that is not kapsel's own.
#[test]
fn delete_force_removes_only_what_kapsel_made() {
    let Some(t) = ctx!("delete_force_removes_only_what_kapsel_made") else {
        return;
    };
    if t.kapsel_only("runc removes a state-less directory recursively (docs/differences.md)") {
        return;
    }
    std::fs::create_dir_all(t.root().join("foreign")).expect("foreign");
    std::fs::write(t.root().join("foreign/data"), "mine").expect("foreign file");
    let target = t.work().join("elsewhere");
    std::fs::create_dir_all(&target).expect("elsewhere");
    std::fs::write(target.join("data"), "mine").expect("elsewhere file");
    std::os::unix::fs::symlink(&target, t.root().join("link")).expect("symlink");
    let before = tree(t.work());
    for id in ["foreign", "link"] {
        let out = t.cmd(&["delete", "--force", id]);
        out.refused_naming(&[&format!("container {id}: delete: ")]);
        assert_eq!(tree(t.work()), before, "delete -f {id} changed the host");
    }
    // A directory that holds only what an interrupted create leaves is removed.
    std::fs::create_dir(t.root().join("halfmade")).expect("halfmade");
    std::fs::write(t.root().join("halfmade/.state.json.tmp"), "{").expect("tmp");
    t.cmd(&["delete", "--force", "halfmade"]).ok();
    assert!(!t.root().join("halfmade").exists());
}
