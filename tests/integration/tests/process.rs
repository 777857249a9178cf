//! The user process as seen from inside: hostname, pid namespace view, user ids, umask, env,
//! cwd, and the file descriptors it inherits (none but stdio, --preserve-fds, LISTEN_FDS).

use kapsel_integration::{ctx, Bundle, Ctx};
use serde_json::json;
use std::path::Path;

/// A tmpfs at /tmp so that tests can write inside a read-only rootfs.
fn writable_tmp(b: &mut Bundle) {
    b.push_mount(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["mode=1777"]}));
}

/// `status:` lines of /proc/self/status, e.g. "Uid" -> "1000 1000 1000 1000".
fn status_field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// req: cfg-hostname
// spec: hostname
#[test]
fn hostname_is_set_in_a_private_uts_namespace() {
    let Some(mut t) = ctx!("hostname_is_set_in_a_private_uts_namespace") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/hostname", json!("kt-host"));
    let out = t.sh_output(&mut b, "hostname; cat /proc/sys/kernel/hostname");
    assert_eq!(out, "kt-host\nkt-host\n");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("host hostname");
    assert_ne!(host.trim(), "kt-host", "the host's hostname changed");
}

// req: cfg-domainname
// spec: domainname
#[test]
fn domainname_is_set() {
    let Some(mut t) = ctx!("domainname_is_set") else {
        return;
    };
    if t.kapsel_only("1.1 ignores `domainname`") {
        return;
    }
    let mut b = t.bundle();
    b.set("/domainname", json!("kt-domain"));
    let out = t.sh_output(&mut b, "cat /proc/sys/kernel/domainname");
    assert_eq!(out, "kt-domain\n");
}

#[test]
fn ps_shows_only_the_containers_processes_with_pid_1() {
    let Some(mut t) = ctx!("ps_shows_only_the_containers_processes_with_pid_1") else {
        return;
    };
    let mut b = t.bundle();
    let out = t.sh_output(&mut b, "sleep 100 & ps; true");
    let rows: Vec<(u32, &str)> = out
        .lines()
        .skip(1)
        .filter_map(|l| {
            let (pid, rest) = l.trim_start().split_once(' ')?;
            Some((pid.parse().ok()?, rest))
        })
        .collect();
    assert_eq!(rows.len(), 3, "expected sh, sleep and ps only:\n{out}");
    assert!(
        rows.iter()
            .any(|(pid, cmd)| *pid == 1 && cmd.contains("sh -c")),
        "pid 1 is the shell:\n{out}"
    );
    assert!(
        rows.iter().any(|(_, cmd)| cmd.contains("sleep 100")),
        "{out}"
    );
    assert!(
        rows.iter().all(|(pid, _)| *pid < 100),
        "host pids leaked in:\n{out}"
    );
}

// spec: process.user.umask
// req: cfg-user-ids
// spec: process.user.uid, process.user.gid, process.user.umask, process.user.additionalGids
#[test]
fn user_uid_gid_additional_gids_and_umask() {
    let Some(mut t) = ctx!("user_uid_gid_additional_gids_and_umask") else {
        return;
    };
    let mut b = t.bundle();
    writable_tmp(&mut b);
    b.set(
        "/process/user",
        json!({"uid": 1000, "gid": 1001, "additionalGids": [10, 20], "umask": 0o027}),
    );
    let out = t.sh_output(
        &mut b,
        "cat /proc/self/status; touch /tmp/f; stat -c 'mode=%a owner=%u:%g' /tmp/f",
    );
    assert_eq!(status_field(&out, "Uid"), "1000 1000 1000 1000", "{out}");
    assert_eq!(status_field(&out, "Gid"), "1001 1001 1001 1001", "{out}");
    let groups_line = status_field(&out, "Groups");
    let mut groups: Vec<&str> = groups_line.split(' ').collect();
    groups.sort();
    assert_eq!(groups, ["10", "20"], "{out}");
    assert_eq!(status_field(&out, "Umask"), "0027", "{out}");
    assert!(
        out.contains("mode=640 owner=1000:1001"),
        "umask applied to new files: {out}"
    );
}

// req: cfg-process-env-args-cwd
// spec: process.env
#[test]
fn env_is_exactly_the_configs() {
    let Some(mut t) = ctx!("env_is_exactly_the_configs") else {
        return;
    };
    let mut b = t.bundle();
    b.set(
        "/process/env",
        json!(["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY="]),
    );
    b.args(&["env"]);
    let id = t.id("env");
    b.write();
    let out = t
        .rt()
        .env("KAPSEL_ITEST_LEAK", "1")
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .run();
    out.ok();
    let vars: Vec<&str> = out.stdout.lines().collect();
    for want in ["PATH=/bin:/usr/bin", "FOO=bar baz", "EMPTY="] {
        assert!(vars.contains(&want), "missing `{want}`:\n{}", out.stdout);
    }
    assert!(
        !out.stdout.contains("KAPSEL_ITEST_LEAK"),
        "the runtime's env leaked in:\n{}",
        out.stdout
    );
}

// req: cfg-process-env-args-cwd
// spec: process.cwd
#[test]
fn cwd_is_the_configs() {
    let Some(mut t) = ctx!("cwd_is_the_configs") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/process/cwd", json!("/home/user"));
    assert_eq!(t.sh_output(&mut b, "pwd"), "/home/user\n");
}

/// `ls -l /proc/self/fd` run as pid 1: the fd numbers with a readable target (the one ls uses
/// to read the directory has none by the time it is printed, or points at the fd dir).
fn open_fds(t: &mut Ctx, b: &mut Bundle, setup: &str, extra: &[&str]) -> Vec<u32> {
    b.args(&["ls", "-l", "/proc/self/fd"]);
    b.write();
    let id = t.id("fds");
    let out = t
        .rt()
        .shell_setup(setup)
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .args(extra)
        .arg(&id)
        .run();
    out.ok();
    fd_numbers(&out.stdout)
}

/// The fds listed by `ls -l /proc/self/fd`, without the one ls reads the directory with.
fn fd_numbers(ls_output: &str) -> Vec<u32> {
    ls_output
        .lines()
        .filter_map(|l| {
            let (left, target) = l.split_once(" -> ")?;
            (!target.contains("/fd")).then_some(())?;
            left.split_whitespace().last()?.parse().ok()
        })
        .collect()
}

#[test]
fn only_stdio_is_open_in_the_container() {
    let Some(mut t) = ctx!("only_stdio_is_open_in_the_container") else {
        return;
    };
    let mut b = t.bundle();
    // Callers such as buildah leak fds into the runtime; none may reach the container.
    let fds = open_fds(
        &mut t,
        &mut b,
        "exec 3</dev/null 5</etc/hostname 9</dev/null",
        &[],
    );
    assert_eq!(fds, [0, 1, 2]);
}

#[test]
fn preserve_fds_passes_exactly_n_more() {
    let Some(mut t) = ctx!("preserve_fds_passes_exactly_n_more") else {
        return;
    };
    let mut b = t.bundle();
    let fds = open_fds(
        &mut t,
        &mut b,
        "exec 3</etc/hostname 4</etc/hostname 5</dev/null",
        &["--preserve-fds", "2"],
    );
    assert_eq!(fds, [0, 1, 2, 3, 4]);
}

#[test]
fn preserved_fds_are_readable() {
    let Some(mut t) = ctx!("preserved_fds_are_readable") else {
        return;
    };
    let mut b = t.bundle();
    let file = t.work().join("three");
    std::fs::write(&file, "content of fd 3\n").expect("write");
    b.sh("cat <&3");
    b.write();
    let id = t.id("fd3");
    let out = t
        .rt()
        .shell_setup(&format!("exec 3<'{}'", file.display()))
        .args(["run", "--preserve-fds", "1", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .run();
    out.ok();
    assert_eq!(out.stdout, "content of fd 3\n");
}

#[test]
fn listen_fds_are_passed_through() {
    let Some(mut t) = ctx!("listen_fds_are_passed_through") else {
        return;
    };
    let mut b = t.bundle();
    let file = t.work().join("socket-stand-in");
    std::fs::write(&file, "activated\n").expect("write");
    b.sh("cat <&3; echo LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID");
    b.write();
    let id = t.id("listen");
    // LISTEN_PID must name the runtime itself: the shell's pid, which exec keeps.
    let out = t
        .rt()
        .shell_setup(&format!(
            "exec 3<'{}'; export LISTEN_FDS=1 LISTEN_PID=$$",
            file.display()
        ))
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .run();
    out.ok();
    assert_eq!(out.stdout, "activated\nLISTEN_FDS=1 LISTEN_PID=1\n");
}

#[test]
fn stdio_is_inherited_without_a_terminal() {
    let Some(mut t) = ctx!("stdio_is_inherited_without_a_terminal") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("cat; echo to-stderr >&2; exit 5");
    b.write();
    let input = t.work().join("stdin.txt");
    std::fs::write(&input, "piped input\n").expect("write stdin");
    let id = t.id("stdio");
    let out = t
        .rt()
        .stdin_from(&input)
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .run();
    assert_eq!(out.code, Some(5), "{}", out.describe());
    assert_eq!(out.stdout, "piped input\n");
    assert!(out.stderr.contains("to-stderr\n"), "{}", out.describe());
}

/// Stdio on the caller's /dev/null (conmon's stdin for every non-interactive podman
/// container) is the container's own /dev/null once it runs, as runc re-opens it: a file
/// of a mount outside the container's mount namespace cannot be checkpointed by criu.
#[test]
fn stdio_on_the_hosts_dev_null_is_the_containers_own() {
    let Some(mut t) = ctx!("stdio_on_the_hosts_dev_null_is_the_containers_own") else {
        return;
    };
    let mut b = t.bundle();
    // sed and awk inherit the shell's stdin: /proc/self/fdinfo/0 is the container's fd 0.
    b.sh(concat!(
        "m=$(sed -n 's/^mnt_id:[[:space:]]*//p' /proc/self/fdinfo/0); ",
        "echo \"$(readlink /proc/self/fd/0) $(awk -v m=\"$m\" '$1 == m {print \"mounted in the container at\", $5}' /proc/self/mountinfo)\""
    ));
    // create + start: the container inherits the runtime's stdio (`run` in the
    // foreground hands runc's container pipes of its own).
    let id = t.id("devnull");
    let cmd = t.rt().stdin_from(Path::new("/dev/null"));
    t.create_cmd(&b, &id, cmd).arg(&id).run().ok();
    t.track_pid_file(&id);
    t.cmd(&["start", &id]).ok();
    let seen = t.wait_for_file(
        &t.stdout_path(&id),
        "/dev/null",
        std::time::Duration::from_secs(10),
    );
    assert_eq!(seen.trim(), "/dev/null mounted in the container at /dev");
}

#[test]
fn create_preserves_fds_for_start() {
    let Some(mut t) = ctx!("create_preserves_fds_for_start") else {
        return;
    };
    let mut b = t.bundle();
    let file = t.work().join("four");
    std::fs::write(&file, "content of fd 4\n").expect("write");
    // exec: a shell's own pipes would show up in a listing of its fds.
    b.sh("cat <&4; exec ls -l /proc/self/fd");
    let id = t.id("createfds");
    let cmd = t
        .create_cmd(
            &b,
            &id,
            t.rt().shell_setup(&format!(
                "exec 3</dev/null 4<'{}' 5</dev/null",
                file.display()
            )),
        )
        .args(["--preserve-fds", "2"])
        .arg(&id);
    cmd.run().ok();
    t.track_pid_file(&id).expect("pid file");
    t.cmd(&["start", &id]).ok();
    t.wait_status(&id, "stopped", std::time::Duration::from_secs(5));
    let out = t.container_stdout(&id);
    assert!(out.starts_with("content of fd 4\n"), "{out}");
    assert_eq!(fd_numbers(&out), [0, 1, 2, 3, 4], "{out}");
    t.cmd(&["delete", &id]).ok();
}
