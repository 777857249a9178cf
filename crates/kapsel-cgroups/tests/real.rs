//! Tests against the running kernel's cgroups. They need root; without it, or without the
//! kernel feature, each prints `SKIP <name>: <reason>` and returns. Every cgroup they make lives
//! under `/kapsel-test-<pid>-<name>` and is removed again.

use kapsel_cgroups::{detect, CgroupError, FreezerState, Host, Layout, LayoutKind, Manager};
use nix::sys::signal::Signal;
use oci_spec::runtime::LinuxResources;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn host_layout(test: &str) -> Option<(Host, Layout)> {
    if !nix::unistd::geteuid().is_root() {
        println!("SKIP {test}: needs root");
        return None;
    }
    let host = Host::system();
    match detect(&host.root, &host.mountinfo) {
        Ok(layout) => Some((host, layout)),
        Err(e) => {
            println!("SKIP {test}: {e}");
            None
        }
    }
}

/// A created manager whose cgroups are destroyed on drop (also when the test fails).
struct Cgroup(Manager);

impl Cgroup {
    fn new(host: &Host, layout: &Layout, test: &str) -> Self {
        let path = format!("/kapsel-test-{}-{test}", std::process::id());
        let mut m = Manager::new(host, layout, Some(&path), test, false, false).unwrap();
        m.create().unwrap();
        Cgroup(m)
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        let _ = self.0.kill_all(Signal::SIGKILL);
        self.0.destroy().unwrap();
    }
}

/// A child that waits for a line on stdin, then runs `script`: it joins the cgroup first.
struct Gated(Child);

impl Gated {
    fn new(script: &str) -> Self {
        let child = Command::new("sh")
            .args(["-c", &format!("read go; {script}")])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        Gated(child)
    }

    fn pid(&self) -> i32 {
        self.0.id() as i32
    }

    fn go(&mut self) {
        self.0.stdin.take().unwrap().write_all(b"go\n").unwrap();
    }

    /// Waits for the exit; returns (stdout + stderr, exit code or 128+signal).
    fn finish(mut self) -> (String, i32) {
        use std::os::unix::process::ExitStatusExt;
        let status = self.0.wait().unwrap();
        let mut out = String::new();
        self.0
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        self.0
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let code = status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
        (out, code)
    }
}

impl Drop for Gated {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// utime + stime of `pid` in clock ticks (proc(5), fields 14 and 15).
fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split(' ').collect();
    fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap()
        .trim()
        .to_string()
}

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).unwrap()
}

fn v1_dir(m: &Manager, controller: &str) -> PathBuf {
    m.paths().v1[controller].clone()
}

#[test]
fn a_new_process_joins_every_hierarchy_itself() {
    use kapsel_sys::process::{clone_fork, Forked};
    let Some((host, layout)) = host_layout("a_new_process_joins_every_hierarchy_itself") else {
        return;
    };
    let cg = Cgroup::new(&host, &layout, "selfjoin");
    let join = cg.0.self_join().unwrap();
    // Born in the unified directory (CLONE_INTO_CGROUP), joins the v1 ones itself.
    let pid = match clone_fork(0, join.clone_into()).unwrap() {
        Forked::Child => {
            if join.join().is_err() {
                std::process::exit(1);
            }
            loop {
                nix::unistd::pause();
            }
        }
        Forked::Parent(pid) => pid,
    };
    drop(join);
    let child = nix::unistd::Pid::from_raw(pid);
    let name = format!("/kapsel-test-{}-selfjoin", std::process::id());
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut dirs: Vec<&Path> = cg.0.paths().dirs();
    while !dirs.is_empty() && Instant::now() < deadline {
        dirs.retain(|d| {
            !std::fs::read_to_string(d.join("cgroup.procs"))
                .unwrap()
                .lines()
                .any(|l| l == pid.to_string())
        });
        std::thread::sleep(Duration::from_millis(5));
    }
    let membership = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let _ = nix::sys::signal::kill(child, Signal::SIGKILL);
    let _ = nix::sys::wait::waitpid(child, None);
    assert!(dirs.is_empty(), "not in {dirs:?}:\n{membership}");
    assert!(membership.contains(&name), "{membership}");
}

#[test]
fn limits_are_written_and_read_back() {
    let Some((host, layout)) = host_layout("limits_are_written_and_read_back") else {
        return;
    };
    let cg = Cgroup::new(&host, &layout, "limits");
    let mut child = Gated::new("exec sleep 30");
    cg.0.add_pid(child.pid()).unwrap();
    child.go();
    let ignored = cg
        .0
        .apply(&resources(
            r#"{"memory":{"limit":104857600,"reservation":52428800,"swappiness":10},"pids":{"limit":64},
            "cpu":{"shares":512,"quota":20000,"period":100000,"cpus":"0"}}"#,
        ))
        .unwrap();
    assert!(ignored.is_empty(), "{ignored:?}");
    match layout.kind {
        LayoutKind::V1 | LayoutKind::Hybrid => {
            let mem = v1_dir(&cg.0, "memory");
            // the kernel rounds to whole pages
            assert_eq!(read(&mem, "memory.limit_in_bytes"), "104857600");
            assert_eq!(read(&mem, "memory.soft_limit_in_bytes"), "52428800");
            assert_eq!(read(&mem, "memory.swappiness"), "10");
            assert_eq!(read(&v1_dir(&cg.0, "pids"), "pids.max"), "64");
            let cpu = v1_dir(&cg.0, "cpu");
            assert_eq!(read(&cpu, "cpu.shares"), "512");
            assert_eq!(read(&cpu, "cpu.cfs_quota_us"), "20000");
            assert_eq!(read(&cpu, "cpu.cfs_period_us"), "100000");
            assert_eq!(read(&v1_dir(&cg.0, "cpuset"), "cpuset.cpus"), "0");
            assert!(read(&mem, "cgroup.procs")
                .lines()
                .any(|p| p == child.pid().to_string()));
        }
        LayoutKind::V2 => {
            let dir = cg.0.paths().unified.clone().unwrap();
            assert_eq!(read(&dir, "memory.max"), "104857600");
            assert_eq!(read(&dir, "memory.low"), "52428800");
            assert_eq!(read(&dir, "pids.max"), "64");
            assert_eq!(read(&dir, "cpu.weight"), "20");
            assert_eq!(read(&dir, "cpu.max"), "20000 100000");
        }
    }
    // the process is pinned to cpu 0
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.pid())).unwrap();
    assert!(
        status.lines().any(|l| l == "Cpus_allowed_list:\t0"),
        "{status}"
    );
    assert_eq!(cg.0.pids().unwrap(), vec![child.pid()]);
}

#[test]
fn update_grows_memory_and_swap_in_the_right_order_and_refuses_bad_input() {
    let Some((host, layout)) =
        host_layout("update_grows_memory_and_swap_in_the_right_order_and_refuses_bad_input")
    else {
        return;
    };
    if layout.kind == LayoutKind::V2 || layout.v1_hierarchy("memory").is_none() {
        println!("SKIP update_grows_memory_and_swap_in_the_right_order_and_refuses_bad_input: needs the v1 memory controller");
        return;
    }
    let cg = Cgroup::new(&host, &layout, "update");
    let mem = v1_dir(&cg.0, "memory");
    if !mem.join("memory.memsw.limit_in_bytes").exists() {
        println!("SKIP update_grows_memory_and_swap_in_the_right_order_and_refuses_bad_input: no swap accounting");
        return;
    }
    cg.0.apply(&resources(
        r#"{"memory":{"limit":50000000,"swap":100003840}}"#,
    ))
    .unwrap();
    // memory+swap must grow before memory may exceed the old memory+swap
    cg.0.update(&resources(
        r#"{"memory":{"limit":200003584,"swap":400003072}}"#,
    ))
    .unwrap();
    assert_eq!(read(&mem, "memory.limit_in_bytes"), "200003584");
    assert_eq!(read(&mem, "memory.memsw.limit_in_bytes"), "400003072");
    // and shrink in the other order
    cg.0.update(&resources(
        r#"{"memory":{"limit":50003968,"swap":60002304}}"#,
    ))
    .unwrap();
    assert_eq!(read(&mem, "memory.limit_in_bytes"), "50003968");
    assert_eq!(read(&mem, "memory.memsw.limit_in_bytes"), "60002304");
    let err =
        cg.0.update(&resources(r#"{"memory":{"limit":-7},"pids":{"limit":3}}"#))
            .unwrap_err();
    assert!(matches!(err, CgroupError::Invalid { .. }), "{err}");
    assert_eq!(read(&mem, "memory.limit_in_bytes"), "50003968");
    assert_eq!(read(&v1_dir(&cg.0, "pids"), "pids.max"), "max");
}

#[test]
fn freeze_stops_cpu_time_and_thaw_resumes_it() {
    let Some((host, layout)) = host_layout("freeze_stops_cpu_time_and_thaw_resumes_it") else {
        return;
    };
    let cg = Cgroup::new(&host, &layout, "freeze");
    let mut child = Gated::new("while :; do :; done");
    cg.0.add_pid(child.pid()).unwrap();
    child.go();
    std::thread::sleep(Duration::from_millis(100));
    cg.0.freeze().unwrap();
    assert_eq!(cg.0.freezer_state().unwrap(), FreezerState::Frozen);
    let frozen_at = cpu_ticks(child.pid());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(cpu_ticks(child.pid()), frozen_at, "a frozen process ran");
    cg.0.thaw().unwrap();
    assert_eq!(cg.0.freezer_state().unwrap(), FreezerState::Thawed);
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        cpu_ticks(child.pid()) > frozen_at,
        "the thawed process did not run"
    );
}

#[test]
fn kill_all_reaches_every_process_and_destroy_leaves_nothing() {
    let Some((host, layout)) =
        host_layout("kill_all_reaches_every_process_and_destroy_leaves_nothing")
    else {
        return;
    };
    let cg = Cgroup::new(&host, &layout, "killall");
    let mut child = Gated::new("sleep 30 & sleep 30 & wait");
    cg.0.add_pid(child.pid()).unwrap();
    child.go();
    let start = Instant::now();
    while cg.0.pids().unwrap().len() < 3 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(cg.0.pids().unwrap().len(), 3);
    cg.0.kill_all(Signal::SIGKILL).unwrap();
    let (_, code) = child.finish();
    assert_eq!(code, 128 + 9);
    let dirs: Vec<PathBuf> =
        cg.0.paths()
            .dirs()
            .iter()
            .map(|d| d.to_path_buf())
            .collect();
    cg.0.destroy().unwrap();
    for dir in &dirs {
        assert!(!dir.exists(), "{} survived destroy", dir.display());
        // the parent `/kapsel-test-...` made by create is gone as well: it is the dir itself here
    }
    // idempotent
    cg.0.destroy().unwrap();
}

#[test]
fn destroy_works_after_the_processes_exited_on_their_own() {
    let Some((host, layout)) = host_layout("destroy_works_after_the_processes_exited_on_their_own")
    else {
        return;
    };
    let path = format!("/kapsel-test-{}-nested/a/b", std::process::id());
    let mut m = Manager::new(&host, &layout, Some(&path), "x", false, false).unwrap();
    m.create().unwrap();
    let mut child = Gated::new("exit 3");
    m.add_pid(child.pid()).unwrap();
    child.go();
    assert_eq!(child.finish().1, 3);
    let tops = m.paths().created.clone();
    assert!(!tops.is_empty());
    m.destroy().unwrap();
    for top in tops {
        assert!(!top.exists(), "{} survived destroy", top.display());
    }
}

#[test]
fn stats_report_real_usage() {
    let Some((host, layout)) = host_layout("stats_report_real_usage") else {
        return;
    };
    let cg = Cgroup::new(&host, &layout, "stats");
    cg.0.apply(&resources(r#"{"pids":{"limit":50}}"#)).unwrap();
    let mut child = Gated::new("x=0; while [ $x -lt 20000 ]; do x=$((x+1)); done; sleep 30");
    cg.0.add_pid(child.pid()).unwrap();
    child.go();
    std::thread::sleep(Duration::from_millis(300));
    let stats = cg.0.stats().unwrap();
    assert!(stats.cpu.usage.total > 0, "{stats:?}");
    assert_eq!(stats.pids.current, 2);
    assert_eq!(stats.pids.limit, 50);
    if layout.kind != LayoutKind::V2
        || cg
            .0
            .paths()
            .unified
            .as_ref()
            .unwrap()
            .join("memory.current")
            .exists()
    {
        assert!(stats.memory.usage.usage > 0, "{stats:?}");
    }
}

#[test]
fn a_memory_eater_is_oom_killed_and_the_kill_is_reported() {
    let Some((host, layout)) = host_layout("a_memory_eater_is_oom_killed_and_the_kill_is_reported")
    else {
        return;
    };
    let cg = Cgroup::new(&host, &layout, "oom");
    if let Err(e) = cg.0.apply(&resources(r#"{"memory":{"limit":33554432}}"#)) {
        println!("SKIP a_memory_eater_is_oom_killed_and_the_kill_is_reported: {e}");
        return;
    }
    let mut watcher = cg.0.oom_watcher().unwrap();
    // doubles a string until the 32 MiB limit stops it
    let mut child = Gated::new("x=0123456789abcdef; while :; do x=$x$x; done");
    cg.0.add_pid(child.pid()).unwrap();
    child.go();
    let (_, code) = child.finish();
    assert_eq!(code, 128 + 9, "the eater was not OOM-killed");
    let mut kills = 0;
    let start = Instant::now();
    while kills == 0 && start.elapsed() < Duration::from_secs(5) {
        kills += watcher.wait(Duration::from_millis(500)).unwrap();
    }
    assert!(kills >= 1);
}

/// A child that opens /dev/null, then /dev/kmsg (not among the devices every container
/// gets), and says which worked.
fn probe_devices(cg: &Manager) -> String {
    let mut child = Gated::new(
        "(exec 3</dev/null) 2>/dev/null && echo null-ok || echo null-denied; \
         (exec 3</dev/kmsg) 2>/dev/null && echo kmsg-ok || echo kmsg-denied",
    );
    cg.add_pid(child.pid()).unwrap();
    child.go();
    child.finish().0
}

const DENY_ALL_ALLOW_NULL: &str = r#"{"devices":[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"}]}"#;

#[test]
fn device_rules_allow_null_and_deny_kmsg() {
    let Some((host, layout)) = host_layout("device_rules_allow_null_and_deny_kmsg") else {
        return;
    };
    let cg = Cgroup::new(&host, &layout, "devices");
    cg.0.apply(&resources(DENY_ALL_ALLOW_NULL)).unwrap();
    assert_eq!(probe_devices(&cg.0), "null-ok\nkmsg-denied\n");
}

/// The v2 code paths for real on this host's cgroup2 mount, even when it is the hybrid
/// `unified` mount without controllers: CLONE_INTO_CGROUP fd, freeze, eBPF device filter,
/// cgroup.kill, and a clear error for a limit whose controller is not enabled.
#[test]
fn v2_freeze_device_filter_and_kill_on_the_cgroup2_mount() {
    let Some((host, layout)) = host_layout("v2_freeze_device_filter_and_kill_on_the_cgroup2_mount")
    else {
        return;
    };
    let Some(unified) = layout.unified.clone() else {
        println!("SKIP v2_freeze_device_filter_and_kill_on_the_cgroup2_mount: no cgroup2 mount");
        return;
    };
    let v2_host = Host {
        root: unified,
        ..host
    };
    let v2_layout = detect(&v2_host.root, &v2_host.mountinfo).unwrap();
    assert_eq!(v2_layout.kind, LayoutKind::V2);
    let cg = Cgroup::new(&v2_host, &v2_layout, "v2");
    let dir = cg.0.paths().unified.clone().unwrap();
    assert!(cg.0.self_join().unwrap().clone_into().is_some());

    // device filter
    cg.0.apply(&resources(DENY_ALL_ALLOW_NULL)).unwrap();
    assert_eq!(
        kapsel_cgroups::v2::devices::attached(&dir).unwrap().len(),
        1
    );
    assert_eq!(probe_devices(&cg.0), "null-ok\nkmsg-denied\n");
    // a new rule set replaces the program instead of stacking on it
    cg.0.apply(&resources(r#"{"devices":[{"allow":true,"access":"rwm"}]}"#))
        .unwrap();
    assert_eq!(
        kapsel_cgroups::v2::devices::attached(&dir).unwrap().len(),
        1
    );
    assert_eq!(probe_devices(&cg.0), "null-ok\nkmsg-ok\n");

    // freeze via cgroup.freeze
    let mut child = Gated::new("while :; do :; done");
    cg.0.add_pid(child.pid()).unwrap();
    child.go();
    std::thread::sleep(Duration::from_millis(100));
    cg.0.freeze().unwrap();
    assert_eq!(read(&dir, "cgroup.freeze"), "1");
    let frozen_at = cpu_ticks(child.pid());
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(cpu_ticks(child.pid()), frozen_at);
    cg.0.thaw().unwrap();

    // a limit whose controller is not enabled here fails, naming the file
    if !dir.join("memory.max").exists() {
        let err =
            cg.0.update(&resources(r#"{"memory":{"limit":1048576}}"#))
                .unwrap_err()
                .to_string();
        assert!(err.starts_with("write `1048576` to `"), "{err}");
        assert!(
            err.ends_with("memory.max`: No such file or directory (ENOENT)"),
            "{err}"
        );
    }

    // cgroup.kill
    if dir.join("cgroup.kill").exists() {
        cg.0.kill_all(Signal::SIGKILL).unwrap();
        assert_eq!(child.finish().1, 128 + 9);
    }
}

/// Nanoseconds of CPU the cgroup used during `window`.
fn cpu_used(cg: &Manager, window: Duration) -> f64 {
    let before = cg.stats().unwrap().cpu.usage.total;
    std::thread::sleep(window);
    (cg.stats().unwrap().cpu.usage.total - before) as f64
}

#[test]
fn a_cpu_quota_of_ten_percent_holds_and_update_lifts_it() {
    let Some((host, layout)) = host_layout("a_cpu_quota_of_ten_percent_holds_and_update_lifts_it")
    else {
        return;
    };
    let cg = Cgroup::new(&host, &layout, "quota");
    cg.0.apply(&resources(r#"{"cpu":{"quota":1000,"period":10000}}"#))
        .unwrap();
    let mut child = Gated::new("while :; do :; done");
    cg.0.add_pid(child.pid()).unwrap();
    child.go();
    let window = Duration::from_secs(2);
    let limited = cpu_used(&cg.0, window) / window.as_nanos() as f64;
    // 10% of one core, with room for a noisy shared machine
    assert!(
        (0.03..=0.2).contains(&limited),
        "limited share {limited:.3}"
    );
    cg.0.update(&resources(r#"{"cpu":{"quota":10000,"period":10000}}"#))
        .unwrap();
    let throttled = || cg.0.stats().unwrap().cpu.throttling.throttled_periods;
    let throttled_before = throttled();
    let lifted = cpu_used(&cg.0, window) / window.as_nanos() as f64;
    let throttled_after = throttled();
    // On a busy machine the loop may not get a whole core after the update, but it is
    // no longer throttled: either is the evidence that the cap was lifted.
    assert!(
        lifted > 3.0 * limited || throttled_after == throttled_before,
        "after update {lifted:.3} (throttled {throttled_before} -> {throttled_after}), before {limited:.3}"
    );
    println!("cpu share: quota 1000/10000 -> {limited:.3}, 10000/10000 -> {lifted:.3}");
}

#[test]
fn a_fork_bomb_stops_at_the_pids_limit() {
    let Some((host, layout)) = host_layout("a_fork_bomb_stops_at_the_pids_limit") else {
        return;
    };
    let cg = Cgroup::new(&host, &layout, "forkbomb");
    cg.0.apply(&resources(r#"{"pids":{"limit":64}}"#)).unwrap();
    let mut child = Gated::new(
        "i=0; while [ $i -lt 200 ]; do (sleep 30 &) 2>/dev/null; i=$((i+1)); done; echo done",
    );
    cg.0.add_pid(child.pid()).unwrap();
    child.go();
    let start = Instant::now();
    let mut peak = 0;
    while start.elapsed() < Duration::from_secs(2) {
        peak = peak.max(cg.0.pids().unwrap().len());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(peak <= 64, "{peak} processes under a limit of 64");
    assert!(peak >= 60, "the bomb never reached the limit ({peak})");
    // the host can still fork
    assert!(Command::new("true").status().unwrap().success());
    cg.0.kill_all(Signal::SIGKILL).unwrap();
}

#[test]
fn kill_all_with_sigterm_freezes_signals_and_thaws() {
    let Some((host, layout)) = host_layout("kill_all_with_sigterm_freezes_signals_and_thaws")
    else {
        return;
    };
    let cg = Cgroup::new(&host, &layout, "sigterm");
    let mut child = Gated::new("sleep 30");
    cg.0.add_pid(child.pid()).unwrap();
    child.go();
    std::thread::sleep(Duration::from_millis(50));
    cg.0.kill_all(Signal::SIGTERM).unwrap();
    assert_eq!(child.finish().1, 128 + 15);
    assert_eq!(cg.0.freezer_state().unwrap(), FreezerState::Thawed);
}
