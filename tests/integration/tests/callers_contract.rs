//! What podman, conmon and buildah rely on, checked without them (the scenarios in
//! scripts/callers/ run the real callers): see ../shared/callers/CONTRACT.md.
//! - A `cgroup` mount without a cgroup namespace (podman on cgroup v1) shows the container's
//!   own cgroup, so the limits a program reads there are its own.
//! - Rootless podman runs the runtime as uid 0 of podman's user namespace, with
//!   XDG_RUNTIME_DIR set, and no --root: the state goes under $XDG_RUNTIME_DIR, and
//!   `exec` enters a pid namespace the runtime cannot leave again.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use kapsel_integration::ctx;
use serde_json::{json, Value};

#[test]
fn cgroup_mount_without_a_cgroup_namespace_shows_the_containers_own_limits() {
    let Some(mut t) =
        ctx!("cgroup_mount_without_a_cgroup_namespace_shows_the_containers_own_limits")
    else {
        return;
    };
    if !Path::new("/sys/fs/cgroup/pids/pids.max").exists()
        && !Path::new("/sys/fs/cgroup/pids").is_dir()
        && t.skip("no cgroup v1 pids hierarchy on this host")
    {
        return;
    }
    let mut b = t.bundle();
    b.remove_namespace("cgroup");
    b.set("/linux/resources/pids", json!({"limit": 42}));
    let out = t.sh_output(
        &mut b,
        "echo pids.max=$(cat /sys/fs/cgroup/pids/pids.max); \
         mkdir /sys/fs/cgroup/pids/sub 2>/dev/null && echo mkdir=yes || echo mkdir=refused",
    );
    assert!(
        out.contains("pids.max=42"),
        "the container should read its own pids limit: {out}"
    );
    // The spec asks for a read-only mount: the bind of the container's cgroup stays so.
    assert!(
        out.contains("mkdir=refused"),
        "read-only cgroup mount: {out}"
    );
}

/// `kapsel ARGS` run the way rootless podman runs it: in the user namespace of `holder`,
/// as its uid 0, with only XDG_RUNTIME_DIR (and PATH) in the environment.
fn in_userns(rt: &Path, holder: u32, xdg: &Path, args: &[&str]) -> Command {
    let mut c = Command::new("nsenter");
    c.arg("--user")
        .arg(format!("--target={holder}"))
        .arg("env")
        .arg("-i")
        .arg("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
        .arg(format!("XDG_RUNTIME_DIR={}", xdg.display()))
        .arg(rt)
        .args(args);
    c
}

#[track_caller]
fn ok(c: &mut Command) -> Output {
    let out = c.output().unwrap_or_else(|e| panic!("{c:?}: {e}"));
    assert!(
        out.status.success(),
        "{c:?}: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Deletes the container the way it was created (same namespace, no --root), whatever the
/// test's outcome: the context's own clean-up looks under its --root only.
struct DeleteInUserns<'a> {
    rt: &'a Path,
    holder: u32,
    xdg: &'a Path,
    id: &'a str,
}

impl Drop for DeleteInUserns<'_> {
    fn drop(&mut self) {
        let args = ["delete", "--force", self.id];
        let _ = in_userns(self.rt, self.holder, self.xdg, &args).output();
    }
}

#[test]
fn uid0_of_a_user_namespace_keeps_state_under_xdg_runtime_dir_and_execs() {
    let Some(mut t) = ctx!("uid0_of_a_user_namespace_keeps_state_under_xdg_runtime_dir_and_execs")
    else {
        return;
    };
    // podman's pause process: a user namespace mapping root, held open by a sleeper.
    let mut holder = Command::new("unshare");
    holder.args(["--user", "--map-root-user", "sleep", "1000"]);
    let holder = t.spawn_helper(holder);
    let joined = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        std::fs::read_to_string(format!("/proc/{holder}/uid_map"))
            .is_ok_and(|m| m.split_whitespace().collect::<Vec<_>>() == ["0", "0", "1"])
    });
    assert!(joined, "unshare --user --map-root-user did not map root");

    let xdg = t.work().join("xdg");
    std::fs::create_dir(&xdg).unwrap();
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    // As in podman's rootless spec: no resources (no cgroups to write), and only the
    // namespace's own group ids (devpts gid=5 is not mapped).
    b.remove("/linux/resources");
    let mounts: Vec<Value> = b.config["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let mut m = m.clone();
            if let Some(opts) = m["options"].as_array_mut() {
                opts.retain(|o| o != "gid=5");
            }
            m
        })
        .collect();
    b.set("/mounts", Value::Array(mounts));
    b.write();
    let id = t.id("userns-uid0");
    let rt = t.rt.path.clone();
    // The container inherits create's stdout and stderr: files, not pipes we would wait on.
    let stdout = t.stdout_path(&id);
    let stderr = t.work().join("create.stderr");
    let bundle = b.dir.to_string_lossy().into_owned();
    let pid_file = t.pid_file(&id).to_string_lossy().into_owned();
    let create = ["create", "--bundle", &bundle, "--pid-file", &pid_file, &id];
    let _guard = DeleteInUserns {
        rt: &rt,
        holder,
        xdg: &xdg,
        id: &id,
    };
    let status = in_userns(&rt, holder, &xdg, &create)
        .stdin(Stdio::null())
        .stdout(File::create(&stdout).unwrap())
        .stderr(File::create(&stderr).unwrap())
        .status()
        .unwrap();
    assert!(
        status.success(),
        "create in the user namespace: {status}: {}",
        std::fs::read_to_string(&stderr).unwrap_or_default()
    );
    let state_dir = xdg.join(t.rt.name()).join(&id);
    assert!(
        state_dir.is_dir(),
        "no --root: the state should be in {}",
        state_dir.display()
    );
    ok(&mut in_userns(&rt, holder, &xdg, &["start", &id]));
    let init = t.track_pid_file(&id).expect("create wrote no pid file");
    let exec = ok(&mut in_userns(
        &rt,
        holder,
        &xdg,
        &["exec", &id, "readlink", "/proc/self/ns/pid"],
    ));
    let want = std::fs::read_link(format!("/proc/{init}/ns/pid")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&exec.stdout).trim(),
        want.to_string_lossy(),
        "exec should run in the container's pid namespace"
    );
    ok(&mut in_userns(&rt, holder, &xdg, &["kill", &id, "9"]));
    let gone = (0..100).any(|_| {
        let out = in_userns(&rt, holder, &xdg, &["delete", "--force", &id]).output();
        std::thread::sleep(Duration::from_millis(20));
        out.is_ok_and(|o| o.status.success()) && !state_dir.exists()
    });
    assert!(gone, "delete --force left {}", state_dir.display());
}
