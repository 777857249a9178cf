//! `checkpoint` and `restore` (CRIU). The full round trips run in the pure-v2 VM
//! (tests/vm/guest-tests/checks/80-criu.full.sh), where criu works; here the bad inputs,
//! which must fail with one line and leave the host as it was, and a round trip that
//! prints SKIP with criu's own reason where `criu check` fails (criu 3.17 on a 6.18
//! kernel).

use std::process::Command;
use std::time::Duration;

use kapsel_integration::{ctx, Ctx, Output};

/// Why criu cannot checkpoint on this host, or None when `criu check` passes.
fn criu_unusable() -> Option<String> {
    match Command::new("criu").arg("check").output() {
        Err(e) => Some(format!("criu not runnable: {e}")),
        Ok(o) if o.status.success() => None,
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stderr).into_owned()
                + &String::from_utf8_lossy(&o.stdout);
            let line = text
                .lines()
                .rev()
                .find(|l| l.contains("Error"))
                .or(text.lines().last())
                .unwrap_or("")
                .to_string();
            Some(format!("`criu check` fails here: {line}"))
        }
    }
}

#[track_caller]
fn one_line(t: &Ctx, out: &Output, id: &str, needles: &[&str]) {
    out.failed();
    assert_eq!(out.stderr_lines().len(), 1, "one line: {}", out.describe());
    if t.rt.is_kapsel {
        let line = out.last_stderr_line();
        assert!(
            line.starts_with(&format!("container {id}: ")),
            "{}",
            out.describe()
        );
        for n in needles {
            assert!(line.contains(n), "should name `{n}`: {}", out.describe());
        }
    }
}

#[test]
fn checkpoint_without_criu_is_one_line_and_the_container_runs_on() {
    let Some(mut t) = ctx!("checkpoint_without_criu_is_one_line_and_the_container_runs_on") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("nocriu");
    t.create_and_start(&b, &id);
    let images = t.work().join("images-nocriu");
    let out = t
        .rt()
        .args(["--criu", "/nonexistent/criu", "checkpoint", "--image-path"])
        .arg(&images)
        .arg(&id)
        .run();
    one_line(&t, &out, &id, &["/nonexistent/criu", "not found"]);
    t.wait_status(&id, "running", Duration::from_secs(2));
    assert!(
        !images.exists(),
        "no image directory is made before criu answers"
    );
}

#[test]
fn checkpoint_of_a_created_container_is_refused() {
    let Some(mut t) = ctx!("checkpoint_of_a_created_container_is_refused") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("ckcreated");
    t.create(&b, &id).ok();
    let images = t.work().join("images-created");
    let out = t
        .rt()
        .args(["checkpoint", "--image-path"])
        .arg(&images)
        .arg(&id)
        .run();
    one_line(&t, &out, &id, &["created"]);
    t.wait_status(&id, "created", Duration::from_secs(2));
}

/// `restore` (with `args` before `--bundle`) from an image directory that does not exist:
/// one line naming it, nothing left.
fn restore_from_missing_images(name: &str, args: &[&str]) {
    let Some(mut t) = ctx!(name) else {
        return;
    };
    let b = t.bundle();
    b.write();
    let id = t.id("rsmissing");
    let images = t.work().join("no-such-images");
    let out = t
        .rt()
        .args(["restore", "--image-path"])
        .arg(&images)
        .args(args)
        .arg("--bundle")
        .arg(&b.dir)
        .arg(&id)
        .run();
    let path = images.to_str().expect("utf-8").to_string();
    one_line(&t, &out, &id, &[&path]);
    t.assert_no_leftovers(&id, &b, None);
}

#[test]
fn restore_from_a_missing_image_dir_leaves_nothing() {
    restore_from_missing_images(
        "restore_from_a_missing_image_dir_leaves_nothing",
        &["--detach"],
    );
}

/// go-runc (containerd's runc shim: `ctr containers restore`, Kubernetes' restore) passes
/// `-no-subreaper` with one dash, which runc's urfave/cli reads as `--no-subreaper`: the
/// restore must get as far as the images (here: missing), not stop at the command line.
#[test]
fn restore_takes_go_runcs_one_dash_option() {
    restore_from_missing_images(
        "restore_takes_go_runcs_one_dash_option",
        &["--detach", "-no-subreaper"],
    );
}

#[test]
fn restore_into_an_existing_id_is_refused() {
    let Some(mut t) = ctx!("restore_into_an_existing_id_is_refused") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("rsexists");
    t.create_and_start(&b, &id);
    let images = t.work().join("images-exists");
    std::fs::create_dir_all(&images).expect("mkdir");
    let out = t
        .rt()
        .args(["restore", "--detach", "--image-path"])
        .arg(&images)
        .arg("--bundle")
        .arg(&b.dir)
        .arg(&id)
        .run();
    one_line(&t, &out, &id, &["exists"]);
    t.wait_status(&id, "running", Duration::from_secs(2));
}

// spec: checkpoint
#[test]
fn checkpoint_and_restore_round_trip() {
    let Some(mut t) = ctx!("checkpoint_and_restore_round_trip") else {
        return;
    };
    if let Some(why) = criu_unusable() {
        if t.skip(&why) {
            return;
        }
    }
    // Reached only where criu works (the VM runs the full set in 80-criu.full.sh).
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("ckround");
    t.create_and_start(&b, &id);
    let images = t.work().join("images-round");
    let out = t
        .rt()
        .args(["checkpoint", "--image-path"])
        .arg(&images)
        .arg(&id)
        .run();
    out.ok();
    let out = t
        .rt()
        .args(["restore", "--detach", "--image-path"])
        .arg(&images)
        .arg("--bundle")
        .arg(&b.dir)
        .arg(&id)
        .run();
    out.ok();
    t.wait_status(&id, "running", Duration::from_secs(10));
}
