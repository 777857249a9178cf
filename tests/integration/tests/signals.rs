//! Signals: `run` forwards SIGTERM, SIGINT, SIGHUP and SIGWINCH to the container and exits
//! with its status; a closed stdout (SIGPIPE) leaves no state behind.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kapsel_integration::{ctx, procfs, Bundle, Ctx};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

const SECS10: Duration = Duration::from_secs(10);

/// `RUNTIME --root ROOT run --bundle B ID` started in the background, stdout to a file.
fn spawn_run(t: &Ctx, b: &Bundle, id: &str, stdout: Stdio) -> std::process::Child {
    b.write();
    Command::new(&t.rt.path)
        .arg("--root")
        .arg(t.root())
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn run")
}

fn wait_child(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + SECS10;
    loop {
        if let Some(status) = child.try_wait().expect("wait run") {
            return status;
        }
        assert!(Instant::now() < deadline, "run did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn run_forwards_term_int_hup_and_winch_and_exits_with_the_status() {
    let Some(mut t) = ctx!("run_forwards_term_int_hup_and_winch_and_exits_with_the_status") else {
        return;
    };
    let script = "trap 'echo got-TERM; exit 7' TERM; trap 'echo got-INT; exit 8' INT; \
                  trap 'echo got-HUP; exit 9' HUP; trap 'echo got-WINCH' WINCH; \
                  echo ready; while :; do sleep 0.05; done";
    let cases = [
        (vec![Signal::SIGTERM], "got-TERM", 7),
        (vec![Signal::SIGINT], "got-INT", 8),
        (vec![Signal::SIGHUP], "got-HUP", 9),
        (vec![Signal::SIGWINCH, Signal::SIGTERM], "got-WINCH", 7),
    ];
    for (signals, want, code) in cases {
        let mut b = t.bundle();
        b.sh(script);
        let id = t.id("sig");
        let out = t.work().join(format!("{id}.out"));
        let file = std::fs::File::create(&out).expect("stdout file");
        let mut child = spawn_run(&t, &b, &id, file.into());
        t.wait_for_file(&out, "ready", SECS10);
        for s in &signals {
            kill(Pid::from_raw(child.id() as i32), *s).expect("signal run");
            if *s == Signal::SIGWINCH {
                t.wait_for_file(&out, want, SECS10);
            }
        }
        let status = wait_child(&mut child);
        let text = std::fs::read_to_string(&out).unwrap_or_default();
        assert!(text.contains(want), "{signals:?}: output {text:?}");
        assert_eq!(
            status.code(),
            Some(code),
            "{signals:?}: run's status, output {text:?}"
        );
        t.assert_no_leftovers(&id, &b, None);
    }
}

#[test]
fn a_closed_stdout_leaves_no_state() {
    let Some(mut t) = ctx!("a_closed_stdout_leaves_no_state") else {
        return;
    };
    // A container process writes into a pipe nobody reads: it dies of SIGPIPE (not pid 1,
    // which the kernel spares from signals it does not handle), run reports 141.
    let mut b = t.bundle();
    b.sh("yes flood; exit $?");
    let id = t.id("pipe");
    let (read, write) = nix::unistd::pipe().expect("pipe");
    drop(read);
    let mut child = spawn_run(&t, &b, &id, Stdio::from(write));
    let status = wait_child(&mut child);
    assert_eq!(status.code(), Some(128 + 13), "run's status: {status:?}");
    t.assert_no_leftovers(&id, &b, None);

    // The runtime's own output into a closed pipe: no panic, the container is untouched.
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("quiet");
    t.create(&b, &id).ok();
    for args in [
        vec!["state", id.as_str()],
        vec!["list"],
        vec!["ps", id.as_str()],
    ] {
        let (read, write) = nix::unistd::pipe().expect("pipe");
        drop(read);
        let status = Command::new(&t.rt.path)
            .arg("--root")
            .arg(t.root())
            .args(&args)
            .stdout(Stdio::from(write))
            .stderr(Stdio::null())
            .status()
            .expect("run the runtime");
        // Panics abort (SIGABRT); an error exit or dying of SIGPIPE is fine.
        assert!(
            status.code().is_some_and(|c| c <= 1) || status.signal() == Some(13),
            "{args:?} on a closed stdout: {status:?}"
        );
    }
    let state = t.state_ok(&id);
    assert_eq!(state["status"], "created", "{state}");
    let fp = t.footprint(&id);
    t.cmd(&["delete", "--force", &id]).ok();
    procfs::reap(fp.pid, SECS10);
    t.assert_no_leftovers(&id, &b, Some(&fp));
}

/// Signals the caller ignores (a shell's `trap '' SIG`, nohup's SIGHUP) are the only
/// dispositions execve passes on: the container's process and an exec'd one must start
/// with none ignored and none blocked, as under runc.
#[test]
fn signals_the_caller_ignores_are_not_ignored_in_the_container() {
    let Some(mut t) = ctx!("signals_the_caller_ignores_are_not_ignored_in_the_container") else {
        return;
    };
    // runc 1.1.5 leaves signal 32 ignored when its caller ignored it (the Go runtime's
    // own); every runtime must reset the standard signals 1-31.
    let all = t.checks_kapsel_only("signals 32-64 the caller ignored are reset too");
    let checked: u64 = if all { u64::MAX } else { 0x7fff_ffff };
    let status_masks = |out: &str| -> (u64, u64) {
        let field = |name: &str| {
            out.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
                .unwrap_or_else(|| panic!("no {name} in {out}"))
        };
        (field("SigIgn:") & checked, field("SigBlk:") & checked)
    };
    let none = (0, 0);

    let mut b = t.bundle();
    b.args(&["cat", "/proc/self/status"]);
    b.write();
    let id = t.id("ign");
    let out = t
        .rt()
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .shell_setup("trap '' HUP INT QUIT USR1 USR2 TERM")
        .run();
    out.ok();
    assert_eq!(status_masks(&out.stdout), none, "run: {}", out.stdout);

    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("ign-exec");
    t.create_and_start(&b, &id);
    let out = t
        .rt()
        .args(["exec", &id, "cat", "/proc/self/status"])
        .shell_setup("trap '' HUP INT USR1 PIPE")
        .run();
    out.ok();
    assert_eq!(status_masks(&out.stdout), none, "exec: {}", out.stdout);
    t.cmd(&["delete", "--force", &id]).ok();
}
