//! Known runtime escapes, each attempted from inside real containers: re-opening the runtime
//! binary for writing through /proc/<pid>/exe (CVE-2019-5736), host directories reached
//! through descriptors of a runtime process or a `cwd` of /proc/self/fd/N (CVE-2024-21626),
//! symlinks and a symlink race on mount destinations, /proc and /dev (CVE-2021-30465 family),
//! writes to /proc/sys, /proc/sysrq-trigger and /sys, reads of masked paths, and mount,
//! unshare, keyctl, ptrace and open_by_handle_at under the default configuration and profile.
//!
//! The attacker is often a second container sharing the victim's pid namespace (as the
//! containers of a pod do): it sees the victim's processes while the runtime still owns them.

use std::os::unix::fs::MetadataExt;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kapsel_integration::{attack, ctx, procfs, Bundle, Ctx};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use serde_json::{json, Value};

const WAIT: Duration = Duration::from_secs(10);

/// `dev:ino` of a file, as `stat -L -c %d:%i` prints it inside a container.
fn dev_ino(path: &Path) -> String {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("stat `{}`: {e}", path.display()));
    format!("{}:{}", m.dev(), m.ino())
}

/// A private copy of the runtime binary for the victim's runtime processes: opening it for
/// writing can then never make a parallel test's exec fail (ETXTBSY), and a successful attack
/// damages nothing shared. The attack only opens, it never writes.
fn runtime_copy(t: &Ctx) -> PathBuf {
    let copy = t.work().join(format!("{}-under-attack", t.rt.name()));
    std::fs::copy(&t.rt.path, &copy)
        .unwrap_or_else(|e| panic!("copy `{}`: {e}", t.rt.path.display()));
    copy
}

/// A host dir bind-mounted at /shared, through which the test and an attacker talk.
fn shared_dir(t: &Ctx, b: &mut Bundle, tag: &str) -> PathBuf {
    let dir = t.work().join(format!("shared-{tag}"));
    std::fs::create_dir_all(&dir).expect("mkdir shared dir");
    b.push_mount(
        json!({"destination": "/shared", "type": "bind", "source": dir,
                        "options": ["rbind"]}),
    );
    dir
}

/// Waits (bounded) until `cond` holds; false on timeout.
fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}

/// A busybox loop that waits (at most 10 s) for /shared/<name> to exist.
fn await_file(name: &str) -> String {
    format!(
        "i=0; while [ ! -e /shared/{name} ] && [ $i -lt 1000 ]; do sleep 0.01; i=$((i+1)); done\n"
    )
}

/// The CVE-2019-5736 attacker: opens /proc/<target>/exe read-only (allowed while the file
/// runs), reports what it holds, and once told to, re-opens that descriptor for writing
/// (O_APPEND, nothing written) and reports the `dev:ino` it got, or `refused`.
fn exe_attacker_script() -> String {
    format!(
        "{wait_target}pid=$(cat /shared/target)\n\
         if (exec 3</proc/$pid/exe) 2>/dev/null; then exec 3</proc/$pid/exe; \
         echo \"held $(stat -L -c %d:%i /proc/self/fd/3)\" >/shared/held.tmp; \
         else echo denied >/shared/held.tmp; fi\n\
         mv /shared/held.tmp /shared/held\n\
         {wait_go}w=$(exec 4>>/proc/self/fd/3 && stat -L -c %d:%i /proc/self/fd/4)\n\
         echo \"reopened ${{w:-refused}}\" >/shared/result.tmp; mv /shared/result.tmp /shared/result\n\
         exec sleep 1000\n",
        wait_target = await_file("target"),
        wait_go = await_file("go"),
    )
}

/// Runs `attack` beside an attacker container (running `script`) in the pid namespace of the
/// victim; they talk through the shared dir passed to `attack`. Before returning, even when
/// `attack` panics, the victim is thawed and every other process of its pid namespace killed
/// and reaped: its init cannot finish dying while one of them is an unreaped zombie of ours.
fn with_attacker<R>(
    t: &mut Ctx,
    (victim_id, victim_pid): (&str, i32),
    script: &str,
    attack: impl FnOnce(&mut Ctx, &Path) -> R,
) -> R {
    let mut b = t.bundle();
    b.namespace("pid", Some(&format!("/proc/{victim_pid}/ns/pid")));
    let shared = shared_dir(t, &mut b, "attacker");
    b.sh(script);
    let id = t.id("attacker");
    t.create_and_start(&b, &id);
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| attack(t, &shared)));
    let _ = t.cmd(&["delete", "--force", &id]);
    let _ = t.cmd(&["resume", victim_id]);
    let ns = procfs::link(victim_pid, "ns/pid");
    let others: Vec<i32> = procfs::pids()
        .into_iter()
        .filter(|p| *p != victim_pid && ns.is_some() && procfs::link(*p, "ns/pid") == ns)
        .collect();
    for pid in &others {
        let _ = nix::sys::signal::kill(Pid::from_raw(*pid), Signal::SIGKILL);
    }
    for pid in others {
        let _ = procfs::reap(pid, Duration::from_secs(2));
    }
    result.unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The attack's verdict: a write-open of the runtime binary is an escape.
#[track_caller]
fn assert_binary_not_reopened(shared: &Path, binary: &Path, how: &str) {
    let held = std::fs::read_to_string(shared.join("held")).unwrap_or_default();
    let result = std::fs::read_to_string(shared.join("result")).unwrap_or_default();
    let target = dev_ino(binary);
    let reopened = result.trim().strip_prefix("reopened ").unwrap_or("");
    assert_ne!(
        reopened,
        target,
        "{how}: a container process re-opened the runtime binary `{}` ({target}) for writing \
         through /proc/<pid>/exe (CVE-2019-5736); it first held: {}",
        binary.display(),
        held.trim()
    );
}

#[test]
fn runtime_binary_is_not_writable_through_the_exe_of_a_created_container() {
    let Some(mut t) = ctx!("runtime_binary_is_not_writable_through_the_exe_of_a_created_container")
    else {
        return;
    };
    let original = t.rt.path.clone();
    let copy = runtime_copy(&t);
    t.rt.path = copy.clone();
    let mut victim = t.bundle();
    victim.args(&["sleep", "1000"]);
    let victim_id = t.id("victim");
    t.create(&victim, &victim_id).ok();
    let victim_pid = t.state_ok(&victim_id)["pid"].as_i64().expect("pid") as i32;
    t.rt.path = original.clone();

    let shared = with_attacker(
        &mut t,
        (&victim_id, victim_pid),
        &exe_attacker_script(),
        |t, shared| {
            // The victim's init is pid 1 of the namespace both containers share.
            std::fs::write(shared.join("target"), "1").expect("write target");
            t.wait_for_file(&shared.join("held"), "\n", WAIT);
            t.rt.path = copy.clone();
            let started = t.cmd(&["start", &victim_id]);
            t.rt.path = original;
            started.ok();
            assert!(
                wait_until(WAIT, || !runs(&copy)),
                "the runtime binary still runs after `start`"
            );
            std::fs::write(shared.join("go"), "").expect("write go");
            t.wait_for_file(&shared.join("result"), "\n", WAIT);
            shared.to_path_buf()
        },
    );
    assert_binary_not_reopened(&shared, &copy, "init of a created container");
}

/// True while some process runs `binary`.
/// By file identity, so that a bind mount of the binary counts too.
fn runs(binary: &Path) -> bool {
    let id = file_id(binary);
    procfs::pids().into_iter().any(|p| exe_id(p) == id)
}

/// (dev, ino) of a file.
fn file_id(path: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// (dev, ino) of what a process runs; None once it is gone or a zombie.
fn exe_id(pid: i32) -> Option<(u64, u64)> {
    file_id(Path::new(&format!("/proc/{pid}/exe")))
}

/// exe, cmdline, state and parent of a process, for failure messages.
fn describe_process(pid: i32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    format!(
        "pid {pid} exe {:?} cmdline `{}` state {:?} parent {:?}",
        procfs::link(pid, "exe"),
        String::from_utf8_lossy(&cmdline)
            .replace('\0', " ")
            .trim_end(),
        procfs::state_char(pid),
        procfs::ppid(pid)
    )
}

/// The pid of a host process as its own pid namespace numbers it (last field of NSpid).
fn inner_pid(pid: i32) -> Option<String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("NSpid:"))?;
    line.split_whitespace().last().map(str::to_string)
}

/// How long the exec'd process is held in its last set-up steps.
const HOLD_US: u32 = 1_500_000;

/// `RUNTIME exec --detach ID sleep 1000` in the background under strace, which delays the
/// process's umask(2): the step after the capabilities are dropped and the user is set, just
/// before execve. Every exec has that window; the delay only holds it open. Returns the pid.
fn spawn_held_exec(t: &mut Ctx, runtime: &Path, id: &str) -> i32 {
    let mut exec = Command::new("strace");
    exec.args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=umask", "-e"])
        .arg(format!("inject=umask:delay_enter={HOLD_US}"))
        .arg(runtime)
        .arg("--root")
        .arg(t.root())
        .args(["exec", "--detach", id, "sleep", "1000"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(t.work().join("exec.out")).expect("create exec.out"))
        .stderr(std::fs::File::create(t.work().join("exec.err")).expect("create exec.err"));
    t.spawn_helper(exec) as i32
}

#[test]
fn runtime_binary_is_not_writable_through_the_exe_of_an_exec_before_its_execve() {
    let Some(mut t) =
        ctx!("runtime_binary_is_not_writable_through_the_exe_of_an_exec_before_its_execve")
    else {
        return;
    };
    if Command::new("strace").arg("-V").output().is_err() {
        t.skip("needs strace (apt-get install strace) to hold the exec'd process");
        return;
    }
    let mut victim = t.bundle();
    victim.args(&["sleep", "1000"]);
    let victim_id = t.id("victim");
    let victim_pid = t.create_and_start(&victim, &victim_id);
    // Every bundle's busybox is a hard link of the base's: one identity for all.
    let busybox = file_id(&victim.rootfs().join("bin/busybox"));
    let copy = runtime_copy(&t);
    let victim_ref = (victim_id.as_str(), victim_pid);
    let outcome = with_attacker(&mut t, victim_ref, &exe_attacker_script(), |t, shared| {
        spawn_held_exec(t, &copy, &victim_id);
        let ns = procfs::link(victim_pid, "ns/pid");
        // The exec'd process: in the victim's pid namespace, alive (zombies have no exe)
        // and not yet running busybox.
        let mut held = None;
        wait_until(WAIT, || {
            held = procfs::pids().into_iter().find(|p| {
                procfs::link(*p, "ns/pid") == ns && exe_id(*p).is_some_and(|e| Some(e) != busybox)
            });
            held.is_some()
        });
        let Some(held) = held else {
            return Err("the exec'd process was not seen before its execve".to_string());
        };
        // Attack once it holds the container's capabilities (at the delayed umask): before
        // that it has more than the attacker, and the kernel refuses the attacker its exe.
        let caps = |pid: i32| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            status
                .lines()
                .find(|l| l.starts_with("CapPrm:"))
                .map(str::to_string)
        };
        let want = caps(victim_pid);
        if !wait_until(WAIT, || caps(held) == want) {
            return Err(format!(
                "the exec'd process never dropped to the container's capabilities: {}",
                describe_process(held)
            ));
        }
        let target = inner_pid(held).expect("NSpid of the exec'd process");
        std::fs::write(shared.join("target"), target).expect("write target");
        t.wait_for_file(&shared.join("held"), "\n", WAIT);
        assert!(
            wait_until(WAIT, || exe_id(held) == busybox),
            "the exec'd process never executed `sleep`: {}",
            describe_process(held)
        );
        assert!(
            wait_until(WAIT, || !runs(&copy)),
            "`exec --detach` still runs after its process executed"
        );
        std::fs::write(shared.join("go"), "").expect("write go");
        t.wait_for_file(&shared.join("result"), "\n", WAIT);
        Ok(shared.to_path_buf())
    });
    match outcome {
        Ok(shared) => {
            assert_binary_not_reopened(&shared, &copy, "process of `exec` before its execve")
        }
        Err(reason) => {
            t.skip(&reason);
        }
    }
}

/// The directories of the shared libraries (and loader) `binary` needs, from ldd(1).
fn library_dirs(binary: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(binary).output();
    let text = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let mut dirs: Vec<PathBuf> = text
        .split_whitespace()
        .filter(|w| w.starts_with('/'))
        .filter_map(|w| Path::new(w).parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// The processes of the pid namespace of `init` whose command line starts with `prefix`.
fn in_pidns_with_cmdline(init: i32, prefix: &str) -> Option<i32> {
    let ns = procfs::link(init, "ns/pid");
    procfs::pids().into_iter().find(|p| {
        procfs::link(*p, "ns/pid") == ns
            && std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.starts_with(prefix.as_bytes()))
    })
}

#[test]
fn runtime_binary_is_not_writable_after_exec_of_a_proc_self_exe_script() {
    let Some(mut t) = ctx!("runtime_binary_is_not_writable_after_exec_of_a_proc_self_exe_script")
    else {
        return;
    };
    if Command::new("strace").arg("-V").output().is_err() {
        t.skip("needs strace (apt-get install strace) to hold the re-executed runtime");
        return;
    }
    // The original attack: the image's entry point is a script whose interpreter is
    // /proc/self/exe, so the runtime's own process, exec'ing it, runs the runtime binary
    // again inside the container; the container's init waits for it.
    let mut b = t.bundle();
    let shared = shared_dir(&t, &mut b, "self");
    let evil = b.rootfs().join("evil");
    std::fs::write(&evil, "#!/proc/self/exe\n").expect("write /evil");
    std::fs::set_permissions(&evil, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod /evil");
    let copy = runtime_copy(&t);
    // An image has a libc: give this one the host's, so a dynamic runtime binary can run.
    for dir in library_dirs(&copy) {
        b.push_mount(json!({"destination": dir, "type": "bind", "source": dir,
                            "options": ["rbind", "ro"]}));
    }
    b.sh(&exe_attacker_script());
    let id = t.id("selfexe");
    let init = t.create_and_start(&b, &id);
    // strace holds every exit of the runtime's processes, the re-executed one included.
    let mut exec = Command::new("strace");
    exec.args([
        "-f",
        "-qq",
        "-o",
        "/dev/null",
        "-e",
        "trace=exit_group",
        "-e",
    ])
    .arg(format!("inject=exit_group:delay_enter={HOLD_US}"))
    .arg(&copy)
    .arg("--root")
    .arg(t.root())
    .args(["exec", &id, "/evil"])
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    t.spawn_helper(exec);
    let mut rerun = None;
    wait_until(WAIT, || {
        rerun = in_pidns_with_cmdline(init, "/proc/self/exe");
        rerun.is_some()
    });
    let Some(rerun) = rerun else {
        t.skip("the /proc/self/exe interpreter was not seen running");
        return;
    };
    let target = inner_pid(rerun).expect("NSpid of the re-executed runtime");
    std::fs::write(shared.join("target"), target).expect("write target");
    t.wait_for_file(&shared.join("held"), "\n", WAIT);
    assert!(
        wait_until(WAIT, || !runs(&copy)),
        "the runtime binary still runs after the exec"
    );
    std::fs::write(shared.join("go"), "").expect("write go");
    t.wait_for_file(&shared.join("result"), "\n", WAIT);
    assert_binary_not_reopened(&shared, &copy, "runtime re-executed by `#!/proc/self/exe`");
}

/// A host dir holding a marker file whose content must never reach a container.
fn host_secret_dir(t: &Ctx) -> (PathBuf, String) {
    let dir = t.work().join("host-secret");
    std::fs::create_dir_all(&dir).expect("mkdir host secret dir");
    let secret = format!("host-secret-{}", std::process::id());
    std::fs::write(dir.join("marker"), &secret).expect("write marker");
    (dir, secret)
}

#[test]
fn a_created_containers_descriptors_give_no_way_to_the_host() {
    let Some(mut t) = ctx!("a_created_containers_descriptors_give_no_way_to_the_host") else {
        return;
    };
    let (secret_dir, secret) = host_secret_dir(&t);
    let mut victim = t.bundle();
    victim.args(&["sleep", "1000"]);
    let victim_id = t.id("victim");
    // Callers leak descriptors into the runtime (buildah does); one is a host directory.
    let leak = t
        .rt()
        .shell_setup(&format!("exec 7<'{}'", secret_dir.display()));
    t.create_cmd(&victim, &victim_id, leak)
        .arg(&victim_id)
        .run()
        .ok();
    let victim_pid = t.track_pid_file(&victim_id).expect("pid file");
    // A directory the victim's init (pid 1 here) holds, other than its own root, is a path
    // out of the container: `..` from it climbs the host's tree.
    let script = format!(
        "{}for f in /proc/1/fd/* /proc/1/cwd; do \
           if [ -d \"$f/\" ] && [ \"$(stat -L -c %d:%i \"$f\")\" != \"$(stat -L -c %d:%i /proc/1/root)\" ]; then \
             echo \"dir $f -> $(readlink \"$f\"): $(ls -a \"$f/\" 2>&1 | head -5 | tr '\\n' ' ')\"; fi; \
           cat \"$f/marker\" 2>/dev/null; \
         done >/shared/found.tmp 2>&1; mv /shared/found.tmp /shared/found; exec sleep 1000\n",
        await_file("go")
    );
    let found = with_attacker(&mut t, (&victim_id, victim_pid), &script, |t, shared| {
        std::fs::write(shared.join("go"), "").expect("write go");
        wait_found(t, shared)
    });
    assert!(
        !found.contains(&secret),
        "a container read a host file through a descriptor of a created container's init \
         (CVE-2024-21626):\n{found}"
    );
    assert!(
        !found.contains("dir "),
        "a container can open host directories held by a created container's init \
         (CVE-2024-21626):\n{found}"
    );
}

#[track_caller]
fn wait_found(t: &Ctx, shared: &Path) -> String {
    let path = shared.join("found");
    assert!(
        wait_until(WAIT, || path.exists()),
        "the attacker reported nothing"
    );
    t.wait_for_file(&path, "", WAIT)
}

/// The `dev:ino` a container process reaches by climbing `..` from its cwd 40 times, then that
/// of its `/`: equal unless the cwd lies outside the container's root.
const CLIMB: &str = "stat -c %d:%i ../../../../../../../../../../../../../../../../../../../../\
                     ../../../../../../../../../../../../../../../../../../../..; stat -c %d:%i /";

/// Checks the output of a process that started with a cwd of /proc/self/fd/N.
#[track_caller]
fn assert_cwd_inside(out: &str, secret: &str, what: &str) {
    assert!(
        !out.contains(secret),
        "{what}: the process read a host file from its cwd (CVE-2024-21626):\n{out}"
    );
    let lines: Vec<&str> = out.lines().rev().take(2).collect();
    if let [root, climbed] = lines[..] {
        assert_eq!(
            climbed, root,
            "{what}: climbing `..` from the cwd leaves the container's root (CVE-2024-21626):\n{out}"
        );
    }
}

#[test]
fn process_cwd_through_proc_self_fd_stays_in_the_container() {
    let Some(mut t) = ctx!("process_cwd_through_proc_self_fd_stays_in_the_container") else {
        return;
    };
    let (secret_dir, secret) = host_secret_dir(&t);
    let leak = format!("exec 7<'{0}' 8<'{0}'", secret_dir.display());
    for n in 3..=12 {
        for cwd in [
            format!("/proc/self/fd/{n}"),
            format!("/proc/self/fd/{n}/../.."),
        ] {
            let mut b = t.bundle();
            b.set("/process/cwd", json!(cwd));
            b.sh(&format!("cat marker 2>/dev/null; {CLIMB}"));
            b.write();
            let id = t.id("cwdfd");
            let out = t
                .rt()
                .shell_setup(&leak)
                .args(["run", "--bundle"])
                .arg(&b.dir)
                .arg(&id)
                .run();
            // Refusing the cwd is as good as resolving it inside the rootfs.
            if out.success() {
                assert_cwd_inside(&out.stdout, &secret, &format!("process.cwd `{cwd}`"));
            }
        }
    }
}

#[test]
fn exec_cwd_through_proc_self_fd_stays_in_the_container() {
    let Some(mut t) = ctx!("exec_cwd_through_proc_self_fd_stays_in_the_container") else {
        return;
    };
    let (secret_dir, secret) = host_secret_dir(&t);
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("cwdexec");
    t.create_and_start(&b, &id);
    let leak = format!("exec 7<'{0}' 8<'{0}'", secret_dir.display());
    for n in 3..=12 {
        let cwd = format!("/proc/self/fd/{n}");
        let out = t
            .rt()
            .shell_setup(&leak)
            .args(["exec", "--cwd", &cwd, &id, "sh", "-c"])
            .arg(format!("cat marker 2>/dev/null; {CLIMB}"))
            .run();
        if out.success() {
            assert_cwd_inside(&out.stdout, &secret, &format!("exec --cwd {cwd}"));
        }
    }
}

#[test]
fn exec_gets_no_leaked_descriptor() {
    let Some(mut t) = ctx!("exec_gets_no_leaked_descriptor") else {
        return;
    };
    let (secret_dir, _) = host_secret_dir(&t);
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("fdexec");
    t.create_and_start(&b, &id);
    let out = t
        .rt()
        .shell_setup(&format!(
            "exec 5<'{0}' 7<'{0}' 9</dev/null",
            secret_dir.display()
        ))
        .args(["exec", &id, "ls", "-l", "/proc/self/fd"])
        .run();
    out.ok();
    // The descriptor ls reads the directory with points into /proc.
    let fds: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once(" -> "))
        .filter(|(_, target)| !target.contains("/fd"))
        .filter_map(|(left, _)| left.split_whitespace().last())
        .collect();
    assert_eq!(fds, ["0", "1", "2"], "{}", out.stdout);
}

/// A relative symlink target that climbs out of `rootfs` from `depth` levels below it and
/// ends at the host path `target`.
fn escaping_link(rootfs: &Path, depth: usize, target: &Path) -> String {
    let ups = "../".repeat(rootfs.components().count() + depth + 2);
    format!(
        "{ups}{}",
        target.strip_prefix("/").expect("absolute").display()
    )
}

/// What the runtime left in a host dir that must stay empty (entries, mounts), if anything.
fn host_dir_changes(dir: &Path, what: &str) -> Option<String> {
    let entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read `{}`: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    if !entries.is_empty() {
        return Some(format!(
            "{what}: the runtime wrote into the host dir `{}`: {entries:?}",
            dir.display()
        ));
    }
    let mounted = kapsel_integration::mountinfo::read_self()
        .into_iter()
        .any(|m| m.mount_point.starts_with(dir));
    mounted.then(|| {
        format!(
            "{what}: something is mounted on the host at `{}`",
            dir.display()
        )
    })
}

#[track_caller]
fn assert_untouched(dir: &Path, what: &str) {
    if let Some(problem) = host_dir_changes(dir, what) {
        panic!("{problem}");
    }
}

#[test]
fn proc_and_dev_symlinked_out_of_the_rootfs_stay_inside() {
    let Some(mut t) = ctx!("proc_and_dev_symlinked_out_of_the_rootfs_stay_inside") else {
        return;
    };
    let b = t.bundle();
    let rootfs = b.rootfs();
    let mut targets = Vec::new();
    for name in ["proc", "dev", "sys"] {
        let target = t.work().join(format!("host-{name}"));
        std::fs::create_dir_all(&target).expect("mkdir host target");
        std::fs::remove_dir(rootfs.join(name)).expect("rmdir rootfs dir");
        // An absolute link (with `..`) for /proc, relative ones for the others.
        let link = if name == "proc" {
            format!("/{}", escaping_link(&rootfs, 0, &target))
        } else {
            escaping_link(&rootfs, 0, &target)
        };
        std::os::unix::fs::symlink(link, rootfs.join(name)).expect("symlink");
        targets.push((name, target));
    }
    let mut b = b.clone();
    b.sh("ls /proc/self/ >/dev/null && ls /dev/null >/dev/null && echo inside");
    let id = t.id("links");
    let out = t.run(&b, &id);
    for (name, target) in &targets {
        assert_untouched(target, &format!("/{name} symlinked out of the rootfs"));
    }
    // Refusing is fine; running means the mounts landed inside the rootfs.
    if out.success() {
        assert_eq!(out.stdout, "inside\n", "{}", out.describe());
    }
}

#[test]
fn bind_mount_onto_a_symlink_to_a_host_file_stays_inside() {
    let Some(mut t) = ctx!("bind_mount_onto_a_symlink_to_a_host_file_stays_inside") else {
        return;
    };
    let host_file = t.work().join("host-file");
    std::fs::write(&host_file, "host content\n").expect("write host file");
    let source = t.work().join("source-file");
    std::fs::write(&source, "container content\n").expect("write source");
    let mut b = t.bundle();
    let rootfs = b.rootfs();
    std::os::unix::fs::symlink(
        escaping_link(&rootfs, 1, &host_file),
        rootfs.join("etc/evil"),
    )
    .expect("symlink");
    std::os::unix::fs::symlink(
        format!("/{}", escaping_link(&rootfs, 1, &host_file)),
        rootfs.join("etc/evil-abs"),
    )
    .expect("symlink");
    for dest in ["/etc/evil", "/etc/evil-abs"] {
        b.push_mount(
            json!({"destination": dest, "type": "bind", "source": source,
                            "options": ["bind", "ro"]}),
        );
    }
    b.sh("cat /etc/evil /etc/evil-abs");
    let id = t.id("filelink");
    let out = t.run(&b, &id);
    let content = std::fs::read_to_string(&host_file).expect("read host file");
    assert_eq!(
        content, "host content\n",
        "the runtime changed a host file through a symlinked mount destination"
    );
    let mounted = kapsel_integration::mountinfo::read_self()
        .into_iter()
        .any(|m| m.mount_point == host_file);
    assert!(!mounted, "the host file got a mount on the host");
    if out.success() {
        assert_eq!(
            out.stdout,
            "container content\ncontainer content\n",
            "{}",
            out.describe()
        );
    }
}

#[test]
fn a_symlink_race_on_a_mount_destination_stays_inside() {
    let Some(mut t) = ctx!("a_symlink_race_on_a_mount_destination_stays_inside") else {
        return;
    };
    let target = t.work().join("host-race-target");
    std::fs::create_dir_all(&target).expect("mkdir host target");
    let mut b = t.bundle();
    let rootfs = b.rootfs();
    std::fs::create_dir(rootfs.join("race")).expect("mkdir race");
    std::fs::create_dir(rootfs.join("race/sub")).expect("mkdir race/sub");
    std::os::unix::fs::symlink(escaping_link(&rootfs, 0, &target), rootfs.join("race-alt"))
        .expect("symlink");
    b.push_mount(
        json!({"destination": "/race/sub", "type": "tmpfs", "source": "tmpfs",
                        "options": ["size=1m"]}),
    );
    b.args(&["true"]);
    // Swap the directory and the symlink back and forth while containers are created.
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let stop = Arc::clone(&stop);
        let (a, alt) = (rootfs.join("race"), rootfs.join("race-alt"));
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                nix::fcntl::renameat2(
                    nix::fcntl::AT_FDCWD,
                    &a,
                    nix::fcntl::AT_FDCWD,
                    &alt,
                    nix::fcntl::RenameFlags::RENAME_EXCHANGE,
                )
                .expect("renameat2 RENAME_EXCHANGE");
                swaps += 1;
            }
            swaps
        })
    };
    let mut ran = 0;
    for _ in 0..10 {
        let id = t.id("race");
        if t.run(&b, &id).success() {
            ran += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = flipper.join().expect("flipper thread");
    let what = format!("{ran} of 10 runs during {swaps} swaps of a dir and a symlink");
    if let Some(problem) = host_dir_changes(&target, &what) {
        // runc 1.1.5 creates mount points through a swapped symlink (CVE-2024-45310).
        if t.checks_kapsel_only(&format!("known race of this runc: {problem}")) {
            panic!("{problem}");
        }
    }
}

#[test]
fn kernel_interfaces_are_read_only_and_masked_paths_empty() {
    let Some(mut t) = ctx!("kernel_interfaces_are_read_only_and_masked_paths_empty") else {
        return;
    };
    let mut b = t.bundle();
    // `: >` opens for writing and writes nothing, so a failing test changes no host setting.
    let script = "for f in /proc/sys/vm/swappiness /proc/sys/kernel/core_pattern /proc/sysrq-trigger \
                 /sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/uevent_helper \
                 /sys/fs/cgroup/cgroup.procs; do \
            [ -e $f ] || continue; \
            if (: >$f) 2>/dev/null; then echo \"writable $f\"; else echo \"refused $f\"; fi; \
          done; \
          for d in /sys/kernel /sys/fs/cgroup /proc/sys/kernel /sys/firmware; do \
            if touch $d/kapsel-probe 2>/dev/null; then echo \"created $d\"; else echo \"refused $d\"; fi; \
          done; \
          for f in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do \
            [ -e $f ] && echo \"read $f $(head -c 64 $f | wc -c)\"; \
          done; \
          echo \"firmware $(ls -A /sys/firmware | wc -l)\"";
    let out = t.sh_output(&mut b, script);
    assert!(
        out.contains("refused /proc/sys/vm/swappiness") && out.contains("firmware "),
        "the probe did not run to its end:\n{out}"
    );
    let bad: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.starts_with("writable")
                || l.starts_with("created")
                || (l.starts_with("read ") && !l.ends_with(" 0"))
                || (l.starts_with("firmware") && l != &"firmware 0")
        })
        .collect();
    assert!(
        bad.is_empty(),
        "kernel interfaces reachable from the default config: {bad:?}\n{out}"
    );
}

/// The default seccomp profile shipped with kapsel (crates/kapsel-seccomp/profiles).
fn default_profile() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../crates/kapsel-seccomp/profiles/default.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read `{}`: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse `{}`: {e}", path.display()))
}

/// Puts the attack program at /attack in the bundle's rootfs, or says why it cannot.
fn install_attack(b: &Bundle) -> Result<(), String> {
    attack::install(Path::new(env!("CARGO_TARGET_TMPDIR")), &b.rootfs())
}

#[test]
fn default_profile_blocks_mount_unshare_keyctl_ptrace_and_handles() {
    let Some(mut t) = ctx!("default_profile_blocks_mount_unshare_keyctl_ptrace_and_handles") else {
        return;
    };
    let mut b = t.bundle();
    if let Err(reason) = install_attack(&b) {
        t.skip(&reason);
        return;
    }
    b.set("/linux/seccomp", default_profile());
    let host_pid = std::process::id();
    let script = format!(
        "grep -E '^(Seccomp|NoNewPrivs):' /proc/self/status; \
         for c in 'mount -t tmpfs none /mnt' 'umount /proc' 'unshare -m true' 'unshare -U true' \
                  'unshare -n true' 'nsenter -t 1 -m true' 'chroot / true' \
                  'mount -o remount,rw /sys'; do \
           if $c 2>/dev/null; then echo \"allowed: $c\"; else echo \"denied: $c\"; fi; \
         done; \
         /attack keyctl add_key ptrace:{host_pid} open_by_handle_at unshare32"
    );
    let out = t.sh_output(&mut b, &script);
    assert!(out.contains("Seccomp:\t2"), "no filter in place:\n{out}");
    let allowed: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.starts_with("allowed") || l.ends_with(": ok") || l.ends_with("unknown attack")
        })
        .collect();
    assert!(
        allowed.is_empty(),
        "escape primitives allowed under the default profile: {allowed:?}\n{out}"
    );
    for what in ["keyctl", "add_key", "open_by_handle_at", "unshare32"] {
        assert!(
            out.contains(&format!("{what}: EPERM")),
            "{what} should fail with the profile's EPERM:\n{out}"
        );
    }
    // The host pid does not exist in the container's pid namespace.
    assert!(
        out.contains(&format!("ptrace:{host_pid}: ESRCH")),
        "ptrace of a host pid:\n{out}"
    );
}

#[test]
fn readonly_root_cannot_be_remounted_writable() {
    let Some(mut t) = ctx!("readonly_root_cannot_be_remounted_writable") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/root/readonly", json!(true));
    let out = t.sh_output(
        &mut b,
        "mount -o remount,rw / 2>/dev/null && echo remounted; \
         touch /kapsel-probe 2>/dev/null && echo wrote; \
         mount -o remount,rw,bind / 2>/dev/null && echo rebound; echo end",
    );
    assert_eq!(out, "end\n", "a read-only root became writable");
    assert!(!b.rootfs().join("kapsel-probe").exists());
}

#[test]
fn seccomp_rules_hold_for_the_i386_and_x32_syscall_abis() {
    let Some(mut t) = ctx!("seccomp_rules_hold_for_the_i386_and_x32_syscall_abis") else {
        return;
    };
    if !cfg!(target_arch = "x86_64") && t.skip("the i386 and x32 ABIs are x86_64's") {
        return;
    }
    let mut b = t.bundle();
    if let Err(reason) = install_attack(&b) {
        t.skip(&reason);
        return;
    }
    b.push_mount(json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"}));
    let args = [
        "/attack",
        "mkdir:/tmp/a",
        "mkdir32:/tmp/b",
        "mkdirx32:/tmp/c",
    ];
    // Without a filter: which ABIs this kernel has (i386 needs CONFIG_IA32_EMULATION).
    b.args(&args);
    let id = t.id("abis");
    let plain = t.run(&b, &id);
    plain.ok();
    b.set(
        "/linux/seccomp",
        json!({"defaultAction": "SCMP_ACT_ALLOW",
               "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
               "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                             "errnoRet": 13}]}),
    );
    let id = t.id("abis");
    let filtered = t.run(&b, &id);
    filtered.ok();
    let out = &filtered.stdout;
    for what in ["mkdir:/tmp/a", "mkdir32:/tmp/b", "mkdirx32:/tmp/c"] {
        let available = plain.stdout.contains(&format!("{what}: ok"));
        if available {
            assert!(
                out.contains(&format!("{what}: EACCES")),
                "the rule on mkdir must hold for `{what}`:\n{out}"
            );
        } else {
            assert!(!out.contains(&format!("{what}: ok")), "{out}");
        }
    }
    assert!(
        plain.stdout.contains("mkdir:/tmp/a: ok"),
        "the unfiltered run: {}",
        plain.stdout
    );
}

// Defect: writes to /proc followed what a config mounted there. A host directory bound at
// /proc/sys/net/ipv4 holding `ip_forward -> /proc/sys/kernel/core_pattern` with the sysctl
// net.ipv4.ip_forward set the host's core_pattern (CVE-2025-52881 class). Nothing but procfs
// may be mounted at /proc, and under it only the files lxcfs emulates (runc's rule): each
// is refused at create with one line naming the entry, directly or through an image
// symlink, and the host's core_pattern stays.
#[test]
fn mounts_over_or_inside_proc_are_refused() {
    let Some(mut t) = ctx!("mounts_over_or_inside_proc_are_refused") else {
        return;
    };
    let core_pattern =
        std::fs::read_to_string("/proc/sys/kernel/core_pattern").expect("core_pattern");
    let decoy = t.work().join("ipv4");
    std::fs::create_dir_all(&decoy).expect("decoy dir");
    std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", decoy.join("ip_forward"))
        .expect("decoy link");
    let decoy = decoy.display().to_string();
    let cases: [(&str, Value, &str); 4] = [
        (
            "bind-over-proc-sys",
            json!({"destination": "/proc/sys/net/ipv4", "type": "bind", "source": decoy, "options": ["rbind"]}),
            "/proc/sys/net/ipv4",
        ),
        (
            "tmpfs-inside-proc",
            json!({"destination": "/proc/acpi/x", "type": "tmpfs", "source": "tmpfs"}),
            "/proc/acpi/x",
        ),
        (
            "bind-at-proc",
            json!({"destination": "/proc", "type": "bind", "source": decoy, "options": ["rbind"]}),
            "/proc",
        ),
        (
            "through-an-image-symlink",
            json!({"destination": "/sneaky/net/ipv4", "type": "bind", "source": decoy, "options": ["rbind"]}),
            "/proc/sys/net/ipv4",
        ),
    ];
    for (tag, mount, resolved) in cases {
        let mut b = t.bundle();
        b.namespace("network", None);
        let _ = std::fs::remove_file(b.rootfs().join("sneaky"));
        std::os::unix::fs::symlink("/proc/sys", b.rootfs().join("sneaky")).expect("image link");
        b.set("/linux/sysctl", json!({"net.ipv4.ip_forward": "1"}));
        let i = b.push_mount(mount);
        b.args(&["true"]);
        let id = t.id(tag);
        let out = t.create(&b, &id);
        if t.rt.is_kapsel {
            out.create_refused(&id, &[&format!("mounts[{i}]"), resolved, "/proc"]);
        } else {
            out.failed();
        }
        t.assert_no_leftovers(&id, &b, None);
        assert_eq!(
            std::fs::read_to_string("/proc/sys/kernel/core_pattern").expect("core_pattern"),
            core_pattern,
            "{tag}: the host's core_pattern changed"
        );
    }
    // lxcfs's files are allowed (a bind of a host file over /proc/meminfo).
    let mut b = t.bundle();
    let fake = t.work().join("meminfo");
    std::fs::write(&fake, "MemTotal: 1 kB\n").expect("fake meminfo");
    b.push_mount(json!({"destination": "/proc/meminfo", "type": "bind",
                        "source": fake.display().to_string(), "options": ["bind", "ro"]}));
    let out = t.sh_output(&mut b, "head -1 /proc/meminfo");
    assert_eq!(out.trim(), "MemTotal: 1 kB");
}

// The same class without a mount: an image whose /proc (no procfs mounted there by the
// config) holds a dangling `sys/net/ipv4/ip_forward -> /etc/evil`. The sysctl goes to the
// real procfs of the container's own network namespace, and nothing is created through
// the link (a plain path write made /etc/evil, mode 0666).
#[test]
fn sysctl_writes_go_to_a_verified_procfs_not_the_images_proc() {
    let Some(mut t) = ctx!("sysctl_writes_go_to_a_verified_procfs_not_the_images_proc") else {
        return;
    };
    let mut b = t.bundle();
    b.namespace("network", None);
    if let Some(mounts) = b.config["mounts"].as_array_mut() {
        mounts.retain(|m| m["destination"] != "/proc");
    }
    b.remove("/linux/maskedPaths");
    b.remove("/linux/readonlyPaths");
    let fake = b.rootfs().join("proc/sys/net/ipv4");
    std::fs::create_dir_all(&fake).expect("image proc dir");
    std::os::unix::fs::symlink("/etc/evil", fake.join("ip_forward")).expect("image link");
    b.set("/linux/sysctl", json!({"net.ipv4.ip_forward": "1"}));
    // Writable, so that a write through the link would land.
    b.set("/root/readonly", json!(false));
    b.args(&["true"]);
    let id = t.id("imgproc");
    let out = t.run(&b, &id);
    let created = b.rootfs().join("etc/evil").exists();
    if !created || t.checks_kapsel_only("runc 1.1.5 writes through the image's /proc") {
        out.ok();
        assert!(
            !created,
            "the sysctl write created /etc/evil through the image's link"
        );
    }
}

/// An immutable runtime binary (`chattr +i`) is not a reason to skip the guard: a
/// container granted CAP_LINUX_IMMUTABLE (without a user namespace) could clear the flag
/// through /proc/<pid>/exe of a process still running the runtime's code, and then open
/// the binary for writing. Only a read-only mount stops that; the guard must run. Here
/// the host's root plays the container with that capability, against the init of a
/// created container (runtime code until `start`).
#[test]
fn an_immutable_runtime_binary_is_still_guarded() {
    let Some(mut t) = ctx!("an_immutable_runtime_binary_is_still_guarded") else {
        return;
    };
    let original = t.rt.path.clone();
    let copy = runtime_copy(&t);
    let chattr = |flag: &str, path: &Path| {
        Command::new("chattr")
            .arg(flag)
            .arg(path)
            .stderr(Stdio::piped())
            .output()
    };
    match chattr("+i", &copy) {
        Ok(o) if o.status.success() => {}
        Ok(o) => {
            t.skip(&format!(
                "chattr +i on {}: {}",
                copy.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            ));
            return;
        }
        Err(e) => {
            t.skip(&format!("chattr (e2fsprogs) cannot run: {e}"));
            return;
        }
    }
    t.rt.path = copy.clone();
    let mut victim = t.bundle();
    victim.args(&["sleep", "1000"]);
    let id = t.id("immutable");
    let created = t.create(&victim, &id);
    let pid = t.state(&id).ok().and_then(|s| s["pid"].as_i64());
    let exe = pid.map(|p| PathBuf::from(format!("/proc/{p}/exe")));
    // chattr does not follow the magic link: clear FS_IMMUTABLE_FL with the ioctls.
    let clear = "import fcntl, os, struct, sys\n\
                 fd = os.open(sys.argv[1], os.O_RDONLY)\n\
                 buf = bytearray(8)\n\
                 fcntl.ioctl(fd, 0x80086601, buf)\n\
                 flags = struct.unpack_from('i', buf)[0] & ~0x10\n\
                 fcntl.ioctl(fd, 0x40086602, struct.pack('i', flags) + bytes(4))\n";
    let cleared = exe.as_ref().map(|e| {
        Command::new("python3")
            .args(["-c", clear])
            .arg(e)
            .stderr(Stdio::piped())
            .output()
    });
    let reopened = exe
        .as_ref()
        .map(|e| std::fs::OpenOptions::new().append(true).open(e).is_ok());
    let _ = t.cmd(&["delete", "--force", &id]);
    t.rt.path = original;
    let _ = chattr("-i", &copy);
    created.ok();
    let cleared = cleared
        .expect("the created container has a pid")
        .expect("python3 runs");
    assert!(
        !cleared.status.success(),
        "the immutable flag of the runtime binary was cleared through /proc/<pid>/exe of a \
         created container: the binary was not re-executed from a read-only mount"
    );
    assert_eq!(
        reopened,
        Some(false),
        "the runtime binary re-opened for writing"
    );
}
