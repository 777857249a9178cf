//! The commands that act on a container's cgroup, checked against the kernel's files: the
//! process is in its cgroup before `start`, `cgroupsPath` forms, `pause`/`resume`, `ps`,
//! `events`, `kill --all`, `update` (flags, `-r FILE`, `-r -`), and `delete` removing every
//! cgroup dir however the container ended; refused commands change nothing.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kapsel_integration::cgroupfs::CgroupDirs;
use kapsel_integration::{ctx, procfs, Ctx, Output};
use serde_json::{json, Value};

const SECS5: Duration = Duration::from_secs(5);
const MIB: u64 = 1 << 20;

/// The container's init pid and cgroups, read once `create` returned.
#[track_caller]
fn init_and_dirs(t: &Ctx, id: &str) -> (i32, CgroupDirs) {
    let pid = t.state_ok(id)["pid"].as_i64().expect("numeric pid") as i32;
    (pid, CgroupDirs::of(pid))
}

#[track_caller]
fn assert_removed(id: &str, dirs: &CgroupDirs) {
    let left = dirs.remaining();
    assert!(left.is_empty(), "`{id}`: cgroup dirs left: {left:?}");
}

/// Asserts a refusal: non-zero exit and an error line holding one of `phrases`; kapsel's is
/// the only line and reads `container <ID>: <verb>: ...` with the verb once.
#[track_caller]
fn refused(t: &Ctx, out: &Output, id: &str, verb: &str, phrases: &[&str]) {
    out.failed();
    let last = out.last_stderr_line().to_lowercase();
    assert!(
        phrases.iter().any(|p| last.contains(p)),
        "the error should say one of {phrases:?}: {}",
        out.describe()
    );
    if t.checks_kapsel_only(&format!(
        "`{verb}` prints one `container {id}: {verb}:` line"
    )) {
        let line = out.last_stderr_line();
        assert!(
            out.stderr_lines().len() == 1
                && line.starts_with(&format!("container {id}: {verb}: "))
                && !line.contains(&format!(": {verb}: {verb}:")),
            "want one line `container {id}: {verb}: <what>: <why>`: {}",
            out.describe()
        );
    }
}

/// Counts in /dev/kt-count, replacing the file whole (a freeze between the truncation and the
/// write of `echo >` would leave it empty, which TCG's slow guest hit).
const COUNTER: &str = "i=0; while :; do i=$((i+1)); echo $i > /dev/kt-count.new; \
                       mv /dev/kt-count.new /dev/kt-count; sleep 0.02; done";

/// Reads a counter the container keeps in its /dev (a tmpfs only it has), through its root.
fn counter(pid: i32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/root/dev/kt-count"))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Waits until the counter can be read and exceeds `above`; returns it.
#[track_caller]
fn counter_above(pid: i32, above: u64, timeout: Duration) -> u64 {
    let deadline = Instant::now() + timeout;
    loop {
        match counter(pid) {
            Some(n) if n > above => return n,
            seen => assert!(
                Instant::now() < deadline,
                "counter stuck at {seen:?} (wanted > {above}) after {timeout:?}"
            ),
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until `controller`'s cgroup.procs lists `n` processes; returns them.
#[track_caller]
fn wait_procs(dirs: &CgroupDirs, controller: &str, n: usize) -> Vec<i32> {
    let deadline = Instant::now() + SECS5;
    loop {
        let procs = dirs.procs(controller);
        if procs.len() == n {
            return procs;
        }
        assert!(
            Instant::now() < deadline,
            "{controller} cgroup.procs holds {procs:?}, wanted {n} processes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn create_puts_the_init_in_its_cgroups_before_start() {
    let Some(mut t) = ctx!("create_puts_the_init_in_its_cgroups_before_start") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("join");
    t.create(&b, &id).ok();
    let (pid, dirs) = init_and_dirs(&t, &id);
    let own = CgroupDirs::default_for(&id);
    let mut want: Vec<PathBuf> = own.all().iter().map(|d| d.to_path_buf()).collect();
    let mut theirs: Vec<PathBuf> = dirs.all().iter().map(|d| d.to_path_buf()).collect();
    theirs.sort();
    want.sort();
    assert_eq!(
        theirs, want,
        "the default cgroup is the id below the runtime's own cgroup in every hierarchy (its parent on pure v2; the harness's scope under systemd)"
    );
    // (pure v2 has no v1 controller: the unified directory below is the one)
    for controller in ["memory", "pids", "cpu", "freezer", "devices"]
        .into_iter()
        .filter(|_| !dirs.pure_v2())
    {
        assert!(
            dirs.procs(controller).contains(&pid),
            "created init {pid} is not in its {controller} cgroup yet"
        );
    }
    if let Some(unified) = dirs.unified() {
        let procs = std::fs::read_to_string(unified.join("cgroup.procs")).unwrap_or_default();
        assert!(
            procs.lines().any(|l| l.trim() == pid.to_string()),
            "created init {pid} is not in `{}`",
            unified.display()
        );
    }
    t.cmd(&["delete", "--force", &id]).ok();
    assert_removed(&id, &dirs);
}

/// Removes `rel` below each of `roots` and then its parents up to the root, where empty (a
/// runtime may leave the parents it made).
fn remove_everywhere(roots: &[PathBuf], rel: &Path) {
    for root in roots {
        let mut dir = root.join(rel);
        while dir.starts_with(root) && dir != *root {
            let _ = std::fs::remove_dir(&dir);
            dir.pop();
        }
    }
}

// req: lnx-cgroups-path
// spec: linux.cgroupsPath
#[test]
fn cgroups_path_absolute_and_relative() {
    let Some(mut t) = ctx!("cgroups_path_absolute_and_relative") else {
        return;
    };
    if t.systemd_driver() {
        systemd_cgroups_path_forms(&mut t);
        return;
    }
    let own = CgroupDirs::relative_base();
    // Hierarchy roots: the mount points (our v1 cgroups may be nested, e.g. memory).
    let roots: Vec<PathBuf> = if own.pure_v2() {
        vec![PathBuf::from("/sys/fs/cgroup")]
    } else {
        own.all()
            .iter()
            .filter_map(|d| {
                d.ancestors()
                    .find(|a| a.parent() == Some(Path::new("/sys/fs/cgroup")))
                    .map(Path::to_path_buf)
            })
            .collect()
    };
    for (tag, absolute) in [("abs", true), ("rel", false)] {
        let mut b = t.bundle();
        b.args(&["sleep", "1000"]);
        let id = t.id(tag);
        let rel = PathBuf::from(format!("kt-{id}")).join("leaf");
        let path = if absolute {
            format!("/{}", rel.display())
        } else {
            rel.display().to_string()
        };
        b.set("/linux/cgroupsPath", json!(path));
        t.create(&b, &id).ok();
        let (_, dirs) = init_and_dirs(&t, &id);
        let bases: Vec<&Path> = if absolute {
            roots.iter().map(PathBuf::as_path).collect()
        } else {
            own.all()
        };
        let mut want: Vec<PathBuf> = bases.iter().map(|d| d.join(&rel)).collect();
        let mut got: Vec<PathBuf> = dirs.all().iter().map(|d| d.to_path_buf()).collect();
        want.sort();
        got.sort();
        t.cmd(&["delete", "--force", &id]).ok();
        let parents: Vec<PathBuf> = dirs
            .all()
            .iter()
            .filter_map(|d| d.parent())
            .filter(|p| p.exists())
            .map(Path::to_path_buf)
            .collect();
        let left = dirs.remaining();
        // The same value, again: the same place in the hierarchy.
        let mut again = t.bundle();
        again.args(&["sleep", "1000"]);
        again.set("/linux/cgroupsPath", json!(path));
        let id2 = t.id(tag);
        t.create(&again, &id2).ok();
        let (_, dirs2) = init_and_dirs(&t, &id2);
        let mut got2: Vec<PathBuf> = dirs2.all().iter().map(|d| d.to_path_buf()).collect();
        got2.sort();
        t.cmd(&["delete", "--force", &id2]).ok();
        remove_everywhere(&roots, &rel);
        remove_everywhere(
            &own.all()
                .iter()
                .map(|d| d.to_path_buf())
                .collect::<Vec<_>>(),
            &rel,
        );
        assert_eq!(got, want, "cgroupsPath `{path}`");
        assert_eq!(got2, got, "cgroupsPath `{path}` a second time");
        assert!(left.is_empty(), "cgroupsPath `{path}`: dirs left: {left:?}");
        if t.checks_kapsel_only("delete removes the parent dirs create made") {
            assert!(
                parents.is_empty(),
                "cgroupsPath `{path}`: parents left: {parents:?}"
            );
        }
    }
}

/// Stops a slice the test named (systemd keeps a slice a scope made until it is stopped).
struct StopSlice(String);

impl Drop for StopSlice {
    fn drop(&mut self) {
        let _ = Command::new("systemctl")
            .args(["stop", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

/// `cgroupsPath` as `slice:prefix:name` under the systemd driver: the scope `prefix-name.scope`
/// in the slice (nested slices: `a-b.slice` is `a.slice/a-b.slice`), `system.slice` for an
/// empty slice; the same value a second time gives the same place, and delete removes the
/// scope's cgroup.
fn systemd_cgroups_path_forms(t: &mut Ctx) {
    let root = PathBuf::from("/sys/fs/cgroup");
    for tag in ["nested", "noslice"] {
        let id = t.id(tag);
        let flat = id.replace('-', "_");
        let (path, want, slice) = if tag == "nested" {
            let slice = format!("kt-{flat}.slice");
            (
                format!("{slice}:kt:{id}"),
                root.join(format!("kt.slice/{slice}/kt-{id}.scope")),
                Some(slice),
            )
        } else {
            (
                format!(":kt:{id}"),
                root.join(format!("system.slice/kt-{id}.scope")),
                None,
            )
        };
        let _stop = slice.map(StopSlice);
        let mut got = Vec::new();
        for (n, id) in [id.clone(), t.id(tag)].iter().enumerate() {
            let mut b = t.bundle();
            b.args(&["sleep", "1000"]);
            // The second container takes the same unit name: the first must be gone.
            b.set("/linux/cgroupsPath", json!(path));
            t.create(&b, id).ok();
            let (_, dirs) = init_and_dirs(t, id);
            t.cmd(&["delete", "--force", id]).ok();
            assert!(
                dirs.remaining().is_empty(),
                "cgroupsPath `{path}` (container {n}): dirs left: {:?}",
                dirs.remaining()
            );
            got.push(dirs.unified().map(Path::to_path_buf));
        }
        assert_eq!(got[0].as_ref(), Some(&want), "cgroupsPath `{path}`");
        assert_eq!(got[1], got[0], "cgroupsPath `{path}` a second time");
    }
}

/// v1's freezer.state (`FROZEN`, `THAWED`); on v2 the same words from cgroup.freeze (what
/// was asked) and cgroup.events `frozen` (what the kernel reached), which must agree.
#[track_caller]
fn freezer_state(dirs: &CgroupDirs) -> String {
    if !dirs.is_v2("freezer") {
        return dirs.value("freezer", "freezer.state");
    }
    let asked = dirs.value("freezer", "cgroup.freeze");
    let reached = dirs.key("freezer", "cgroup.events", "frozen");
    match (asked.as_str(), reached) {
        ("1", Some(1)) => "FROZEN".into(),
        ("0", Some(0)) => "THAWED".into(),
        _ => format!("cgroup.freeze {asked}, cgroup.events frozen {reached:?}"),
    }
}

#[test]
fn pause_stops_a_counter_and_resume_continues_it() {
    let Some(mut t) = ctx!("pause_stops_a_counter_and_resume_continues_it") else {
        return;
    };
    let mut b = t.bundle();
    b.sh(COUNTER);
    let id = t.id("pause");
    let pid = t.create_and_start(&b, &id);
    let (_, dirs) = init_and_dirs(&t, &id);
    counter_above(pid, 2, SECS5);

    t.cmd(&["pause", &id]).ok();
    assert_eq!(t.state_ok(&id)["status"], "paused");
    let list = t.cmd(&["list", "--format", "json"]);
    let listed: Value = serde_json::from_str(&list.ok().stdout).expect("list json");
    let entry = listed
        .as_array()
        .and_then(|l| l.iter().find(|c| c["id"] == id.as_str()))
        .cloned()
        .unwrap_or_default();
    assert_eq!(entry["status"], "paused", "list: {listed}");
    assert_eq!(freezer_state(&dirs), "FROZEN");
    let frozen = counter(pid).expect("counter readable while paused");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(counter(pid), Some(frozen), "the counter moved while paused");

    // Limits can change while paused, and the container stays paused.
    t.cmd(&["update", "--pids-limit", "33", &id]).ok();
    assert_eq!(dirs.value("pids", "pids.max"), "33");
    assert_eq!(t.state_ok(&id)["status"], "paused");

    t.cmd(&["resume", &id]).ok();
    assert_eq!(t.state_ok(&id)["status"], "running");
    assert_eq!(freezer_state(&dirs), "THAWED");
    counter_above(pid, frozen + 2, SECS5);

    // A paused container can still be force-deleted, leaving nothing.
    t.cmd(&["pause", &id]).ok();
    t.cmd(&["delete", "--force", &id]).ok();
    assert!(procfs::reap(pid, SECS5).is_some() || !procfs::is_alive(pid));
    assert_removed(&id, &dirs);
}

#[test]
fn pause_resume_update_refuse_the_wrong_state() {
    let Some(mut t) = ctx!("pause_resume_update_refuse_the_wrong_state") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("states");
    let pid = t.create_and_start(&b, &id);
    let (_, dirs) = init_and_dirs(&t, &id);
    let out = t.cmd(&["resume", &id]);
    refused(&t, &out, &id, "resume", &["not paused"]);
    assert_eq!(t.state_ok(&id)["status"], "running");

    t.cmd(&["kill", &id, "KILL"]).ok();
    t.wait_status(&id, "stopped", SECS5);
    procfs::reap(pid, SECS5);
    let limit_file = dirs.name("memory", "memory.limit_in_bytes", "memory.max");
    let limit = dirs.read("memory", limit_file);
    // systemd removes a scope's cgroup with its last process: nothing to read back then.
    let gone = t.systemd_driver() && dirs.remaining().is_empty();
    if gone {
        eprintln!(
            "NOTE {}: the stopped container's scope is gone (systemd), its limit is not read back",
            t.name
        );
    }
    assert!(gone || limit.is_some(), "no `{limit_file}`");
    for (verb, args) in [
        ("pause", vec!["pause", id.as_str()]),
        ("update", vec!["update", "--memory", "50m", id.as_str()]),
        ("events", vec!["events", "--stats", id.as_str()]),
    ] {
        let out = t.cmd(&args);
        refused(&t, &out, &id, verb, &["not running", "stopped"]);
    }
    assert_eq!(t.state_ok(&id)["status"], "stopped");
    assert_eq!(
        dirs.read("memory", limit_file),
        limit,
        "a refused update changed the limit"
    );
    t.cmd(&["delete", &id]).ok();
    assert_removed(&id, &dirs);
}

#[test]
fn ps_lists_the_processes_in_the_cgroup() {
    let Some(mut t) = ctx!("ps_lists_the_processes_in_the_cgroup") else {
        return;
    };
    let mut b = t.bundle();
    // Two children, one of them re-parented to init by a double fork.
    b.sh("sleep 1001 & (sleep 1002 &); wait");
    let id = t.id("ps");
    let pid = t.create_and_start(&b, &id);
    let (_, dirs) = init_and_dirs(&t, &id);
    // Three processes, two of them sleeps: the subshell of `( ... &)` is briefly a
    // third process before its sleep exists.
    let deadline = Instant::now() + SECS5;
    let procs = loop {
        let procs = wait_procs(&dirs, "pids", 3);
        let comm = |p: &i32| std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
        if procs.iter().filter(|p| comm(p).trim() == "sleep").count() == 2 {
            break procs;
        }
        assert!(Instant::now() < deadline, "no two sleeps in {procs:?}");
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(procs.contains(&pid), "{procs:?}");

    let json_out = t.cmd(&["ps", "--format", "json", &id]);
    let mut listed: Vec<i32> = serde_json::from_str(&json_out.ok().stdout)
        .unwrap_or_else(|e| panic!("ps json ({e}): {}", json_out.describe()));
    listed.sort_unstable();
    assert_eq!(listed, procs, "ps --format json vs cgroup.procs");

    let table = t.cmd(&["ps", &id]);
    let text = &table.ok().stdout;
    let header = text.lines().next().unwrap_or("");
    assert!(header.contains("PID") && header.contains("CMD"), "{text}");
    for (p, cmd) in procs.iter().zip(["", "sleep 100", "sleep 100"]) {
        assert!(
            text.lines()
                .any(|l| l.split_whitespace().nth(1) == Some(&p.to_string()) && l.contains(cmd)),
            "no row for pid {p}:\n{text}"
        );
    }
    assert_eq!(text.lines().count(), 4, "a header and three rows:\n{text}");

    // A process started by exec joins the same cgroup and shows up too.
    let exec_pid_file = t.work().join("exec.pid");
    t.rt()
        .args(["exec", "--detach", "--pid-file"])
        .arg(&exec_pid_file)
        .args([&id, "sleep", "1003"])
        .run()
        .ok();
    let exec_pid: i32 = std::fs::read_to_string(&exec_pid_file)
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .expect("exec wrote its pid file");
    let with_exec = wait_procs(&dirs, "pids", 4);
    let json_out = t.cmd(&["ps", "--format", "json", &id]);
    let mut listed: Vec<i32> = serde_json::from_str(&json_out.ok().stdout)
        .unwrap_or_else(|e| panic!("ps json ({e}): {}", json_out.describe()));
    listed.sort_unstable();
    assert_eq!(listed, with_exec, "ps after exec vs cgroup.procs");
    assert!(
        listed.contains(&exec_pid),
        "{listed:?} lacks exec'd {exec_pid}"
    );
    // The exec'd process is our child (we are its subreaper): reap it, or the runtime's
    // delete would wait for its zombie to leave the cgroup.
    t.cmd(&["kill", "--all", &id, "KILL"]).ok();
    assert!(
        procfs::reap(exec_pid, SECS5).is_some(),
        "exec'd {exec_pid} not reaped"
    );
    t.wait_status(&id, "stopped", SECS5);
    t.cmd(&["delete", &id]).ok();
    assert_removed(&id, &dirs);
}

#[test]
fn events_stats_report_live_usage() {
    let Some(mut t) = ctx!("events_stats_report_live_usage") else {
        return;
    };
    let limit = 64 * MIB;
    let mut b = t.bundle();
    // Holds 30 MiB (the pattern and two copies) while blocked reading from `sleep`: two
    // processes, as sh execs awk and popen's sh execs sleep.
    b.sh(r#"awk 'BEGIN { s = sprintf("%10485760s", ""); a[1] = s; a[2] = s; print "held"; fflush(); while (("sleep 1000" | getline x) > 0) {} }'"#);
    b.set("/linux/resources/memory", json!({"limit": limit}));
    let id = t.id("stats");
    t.create_and_start(&b, &id);
    let (_, dirs) = init_and_dirs(&t, &id);
    t.wait_for_file(&t.stdout_path(&id), "held", SECS5);
    let procs = wait_procs(&dirs, "pids", 2);

    let out = t.cmd(&["events", "--stats", &id]);
    let event: Value = serde_json::from_str(out.ok().stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "events --stats is not one JSON object ({e}): {}",
            out.describe()
        )
    });
    let usage_name = dirs.name("memory", "memory.usage_in_bytes", "memory.current");
    let usage_file: u64 = dirs
        .value("memory", usage_name)
        .parse()
        .expect("memory usage");
    assert_eq!(event["type"], "stats");
    assert_eq!(event["id"], id.as_str());
    let data = &event["data"];
    let usage = data["memory"]["usage"]["usage"].as_u64().unwrap_or(0);
    assert!(
        (30 * MIB..limit).contains(&usage),
        "memory usage {usage} should hold the 30 MiB and stay below the limit: {data}"
    );
    assert!(
        usage.abs_diff(usage_file) < 8 * MIB,
        "stats usage {usage} vs {usage_name} {usage_file}"
    );
    assert_eq!(data["memory"]["usage"]["limit"].as_u64(), Some(limit));
    assert_eq!(data["pids"]["current"].as_u64(), Some(procs.len() as u64));
    let cpu = data["cpu"]["usage"]["total"].as_u64().unwrap_or(0);
    let cpu_file = dirs.cpu_usage().expect("cpu usage").as_nanos() as u64;
    assert!(
        cpu > 1_000_000 && cpu <= cpu_file,
        "cpu total {cpu} ns (allocating 30 MiB takes over 1 ms; the cgroup says {cpu_file})"
    );
}

#[test]
fn events_stream_stats_every_interval() {
    let Some(mut t) = ctx!("events_stream_stats_every_interval") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("while [ ! -e /dev/kt-stop ]; do sleep 0.05; done");
    let id = t.id("stream");
    let pid = t.create_and_start(&b, &id);
    let out_path = t.work().join("events.out");
    let mut events = t.rt_command();
    events
        .args(["events", "--interval", "200ms", &id])
        .stdout(File::create(&out_path).expect("events output file"))
        .stderr(Stdio::null());
    let events_pid = t.spawn_helper(events) as i32;
    let deadline = Instant::now() + SECS5;
    let lines = loop {
        let text = std::fs::read_to_string(&out_path).unwrap_or_default();
        // Complete lines only: the one being written may be read half-way (a stats line
        // of ~1.7 KB goes out in more than one write under TCG's slow guest).
        let lines: Vec<Value> = text
            .split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect();
        if lines.len() >= 4 || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        lines.len() >= 4,
        "4 stats events within 5 s at 200ms: {lines:?}"
    );
    for line in &lines {
        assert_eq!(line["type"], "stats", "{line}");
        assert_eq!(line["id"], id.as_str(), "{line}");
        assert!(
            line["data"]["cpu"]["usage"]["total"].as_u64().is_some(),
            "{line}"
        );
    }
    std::fs::write(format!("/proc/{pid}/root/dev/kt-stop"), "").expect("stop the container");
    t.wait_status(&id, "stopped", SECS5);
    if t.checks_kapsel_only("events exits when the container stops") {
        let deadline = Instant::now() + SECS5;
        while procfs::is_alive(events_pid) {
            assert!(
                Instant::now() < deadline,
                "`events` still runs after the container stopped"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn kill_all_signals_every_process_in_the_cgroup() {
    let Some(mut t) = ctx!("kill_all_signals_every_process_in_the_cgroup") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("sleep 1001 & (sleep 1002 &); (sleep 1003 &); wait");
    let id = t.id("killall");
    t.create_and_start(&b, &id);
    let (_, dirs) = init_and_dirs(&t, &id);
    let procs = wait_procs(&dirs, "pids", 4);
    let started: Vec<(i32, Option<u64>)> =
        procs.iter().map(|&p| (p, procfs::start_ticks(p))).collect();

    t.cmd(&["kill", "--all", &id, "KILL"]).ok();
    t.wait_status(&id, "stopped", SECS5);
    let deadline = Instant::now() + SECS5;
    for (p, ticks) in started {
        while procfs::is_alive(p) && procfs::start_ticks(p) == ticks {
            assert!(Instant::now() < deadline, "process {p} survived kill --all");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    assert_eq!(dirs.procs("pids"), Vec::<i32>::new());
    t.cmd(&["delete", &id]).ok();
    assert_removed(&id, &dirs);
}

#[test]
fn kill_all_with_term_reaches_the_processes_init_does_not_forward_to() {
    let Some(mut t) = ctx!("kill_all_with_term_reaches_the_processes_init_does_not_forward_to")
    else {
        return;
    };
    let mut b = t.bundle();
    // As pid 1 without a handler, sleep ignores SIGTERM; the other two do not.
    b.sh("sleep 1001 & sleep 1002 & exec sleep 1000");
    let id = t.id("killterm");
    let pid = t.create_and_start(&b, &id);
    let (_, dirs) = init_and_dirs(&t, &id);
    wait_procs(&dirs, "pids", 3);

    t.cmd(&["kill", "--all", &id, "TERM"]).ok();
    assert_eq!(
        wait_procs(&dirs, "pids", 1),
        vec![pid],
        "only the init survives kill --all TERM"
    );
    assert_eq!(t.state_ok(&id)["status"], "running");
    t.cmd(&["delete", "--force", &id]).ok();
    assert_removed(&id, &dirs);
}

// req: rt-delete-removes-resources
#[test]
fn delete_removes_the_cgroups_however_the_container_ended() {
    let Some(mut t) = ctx!("delete_removes_the_cgroups_however_the_container_ended") else {
        return;
    };
    // (tag, script, how it ends)
    for (tag, script) in [
        ("kill9", "sleep 1001 & sleep 1000"),
        ("exited", "sleep 0.1 & exit 0"),
        ("created", "sleep 1000"),
    ] {
        let mut b = t.bundle();
        b.sh(script);
        b.set("/linux/resources/pids", json!({"limit": 20}));
        let id = t.id(tag);
        t.create(&b, &id).ok();
        let (pid, dirs) = init_and_dirs(&t, &id);
        match tag {
            "kill9" => {
                t.cmd(&["start", &id]).ok();
                wait_procs(&dirs, "pids", 2);
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                )
                .expect("kill -9 the container init from the host");
                t.wait_status(&id, "stopped", SECS5);
                t.cmd(&["delete", &id]).ok();
            }
            "exited" => {
                t.cmd(&["start", &id]).ok();
                t.wait_status(&id, "stopped", SECS5);
                t.cmd(&["delete", &id]).ok();
            }
            _ => {
                t.cmd(&["delete", "--force", &id]).ok();
            }
        }
        procfs::reap(pid, SECS5);
        assert_removed(&id, &dirs);
        t.assert_no_leftovers(&id, &b, None);
    }
}

/// The files `update` may touch, to compare before and after a refused update.
fn limits(dirs: &CgroupDirs) -> Vec<Option<String>> {
    [
        ("memory", "memory.limit_in_bytes", "memory.max"),
        ("memory", "memory.soft_limit_in_bytes", "memory.low"),
        ("memory", "memory.memsw.limit_in_bytes", "memory.swap.max"),
        ("cpu", "cpu.shares", "cpu.weight"),
        ("cpu", "cpu.cfs_quota_us", "cpu.max"),
        ("cpu", "cpu.cfs_period_us", "cpu.max"),
        ("cpuset", "cpuset.cpus", "cpuset.cpus"),
        ("pids", "pids.max", "pids.max"),
    ]
    .iter()
    .map(|(c, v1, v2)| {
        let file = dirs.name(c, v1, v2);
        let value = dirs.read(c, file);
        assert!(value.is_some(), "no `{file}` in the container's cgroup");
        value
    })
    .collect()
}

#[track_caller]
fn assert_files(dirs: &CgroupDirs, want: &[(&str, &str, String)]) {
    for (controller, file, value) in want {
        assert_eq!(
            dirs.read(controller, file).as_deref(),
            Some(value.as_str()),
            "{controller}/{file}"
        );
    }
}

/// cpu.shares, cpu.cfs_quota_us and cpu.cfs_period_us (v1), or what v2 has for them:
/// cpu.weight (runc 1.1's linear map of shares: 300 -> 12, 400 -> 16, 700 -> 27) and cpu.max
/// (`$QUOTA $PERIOD`, `max` for -1).
fn cpu_files(
    dirs: &CgroupDirs,
    shares: u64,
    quota: &str,
    period: &str,
) -> Vec<(&'static str, &'static str, String)> {
    if dirs.is_v2("cpu") {
        let weight = match shares {
            300 => 12,
            400 => 16,
            700 => 27,
            other => panic!("no v2 weight written down for shares {other}"),
        };
        let quota = if quota == "-1" { "max" } else { quota };
        vec![
            ("cpu", "cpu.weight", weight.to_string()),
            ("cpu", "cpu.max", format!("{quota} {period}")),
        ]
    } else {
        vec![
            ("cpu", "cpu.shares", shares.to_string()),
            ("cpu", "cpu.cfs_quota_us", quota.to_string()),
            ("cpu", "cpu.cfs_period_us", period.to_string()),
        ]
    }
}

/// memory.limit_in_bytes, memory.memsw.limit_in_bytes and memory.soft_limit_in_bytes (v1), or
/// memory.max, memory.swap.max (memory+swap less memory) and memory.low (v2).
fn memory_files(
    dirs: &CgroupDirs,
    limit: u64,
    with_swap: u64,
    reservation: u64,
) -> Vec<(&'static str, &'static str, String)> {
    if dirs.is_v2("memory") {
        vec![
            ("memory", "memory.max", limit.to_string()),
            ("memory", "memory.swap.max", (with_swap - limit).to_string()),
            ("memory", "memory.low", reservation.to_string()),
        ]
    } else {
        vec![
            ("memory", "memory.limit_in_bytes", limit.to_string()),
            (
                "memory",
                "memory.memsw.limit_in_bytes",
                with_swap.to_string(),
            ),
            (
                "memory",
                "memory.soft_limit_in_bytes",
                reservation.to_string(),
            ),
        ]
    }
}

#[test]
fn update_from_flags_a_file_and_stdin() {
    let Some(mut t) = ctx!("update_from_flags_a_file_and_stdin") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("update");
    t.create_and_start(&b, &id);
    let (_, dirs) = init_and_dirs(&t, &id);
    // Realtime limits exist on v1 only; on v2 kapsel refuses them (runc 1.1 drops them).
    let v2 = dirs.is_v2("cpu");
    let mut flags = vec![
        "update",
        "--memory",
        "50m",
        "--memory-swap",
        "60m",
        "--memory-reservation",
        "20m",
        "--cpu-share",
        "300",
        "--cpu-period",
        "20000",
        "--cpu-quota",
        "5000",
        "--pids-limit",
        "30",
        "--cpuset-cpus",
        "0",
        "--cpuset-mems",
        "0",
    ];
    if !v2 {
        flags.extend(["--cpu-rt-period", "400000", "--cpu-rt-runtime", "8000"]);
    }
    flags.push(&id);
    t.cmd(&flags).ok();
    let mut want = memory_files(&dirs, 50 * MIB, 60 * MIB, 20 * MIB);
    want.extend(cpu_files(&dirs, 300, "5000", "20000"));
    want.extend([
        ("pids", "pids.max", "30".into()),
        ("cpuset", "cpuset.cpus", "0".into()),
        ("cpuset", "cpuset.mems", "0".into()),
    ]);
    if !v2 {
        want.extend([
            ("cpu", "cpu.rt_period_us", "400000".into()),
            ("cpu", "cpu.rt_runtime_us", "8000".into()),
        ]);
    }
    assert_files(&dirs, &want);
    if v2 && t.checks_kapsel_only("realtime limits are refused on cgroup v2") {
        let out = t.cmd(&[
            "update",
            "--cpu-rt-period",
            "400000",
            "--pids-limit",
            "31",
            &id,
        ]);
        refused(&t, &out, &id, "update", &["realtime"]);
        assert_files(&dirs, &[("pids", "pids.max", "30".into())]);
    }

    let file = t.work().join("resources.json");
    std::fs::write(
        &file,
        json!({"memory": {"limit": 40 * MIB, "swap": 40 * MIB}, "pids": {"limit": 20},
               "cpu": {"quota": 10000}})
        .to_string(),
    )
    .expect("write resources.json");
    t.rt().args(["update", "-r"]).arg(&file).arg(&id).run().ok();
    let mut want = memory_files(&dirs, 40 * MIB, 40 * MIB, 20 * MIB);
    want.extend(cpu_files(&dirs, 300, "10000", "20000"));
    want.push(("pids", "pids.max", "20".into()));
    assert_files(&dirs, &want);

    std::fs::write(
        &file,
        json!({"cpu": {"shares": 700, "quota": -1}}).to_string(),
    )
    .expect("write resources.json");
    t.rt()
        .args(["update", "-r", "-", &id])
        .stdin_from(&file)
        .run()
        .ok();
    let mut want = cpu_files(&dirs, 700, "-1", "20000");
    want.push(("pids", "pids.max", "20".into()));
    assert_files(&dirs, &want);
    t.cmd(&["update", "--pids-limit", "-1", &id]).ok();
    assert_files(&dirs, &[("pids", "pids.max", "max".into())]);
    if t.checks_kapsel_only("`--cpu-shares` (runc 1.1 spells it `--cpu-share`)") {
        t.cmd(&["update", "--cpu-shares", "400", &id]).ok();
        assert_files(&dirs, &cpu_files(&dirs, 400, "-1", "20000")[..1]);
    }
}

/// The limits `limits_stay_through_updates_of_other_limits` sets: memory (limit,
/// memory+swap, reservation), cpu shares and pids; the quota (5000 per 20000) and the cpuset
/// (cpu 0) stay as created.
#[derive(Clone, Copy)]
struct Limits {
    memory: (u64, u64, u64),
    shares: u64,
    pids: u64,
}

/// Every limit in force, as `assert_files` wants them.
fn all_limits(dirs: &CgroupDirs, l: Limits) -> Vec<(&'static str, &'static str, String)> {
    let mut want = memory_files(dirs, l.memory.0, l.memory.1, l.memory.2);
    want.extend(cpu_files(dirs, l.shares, "5000", "20000"));
    want.push(("pids", "pids.max", l.pids.to_string()));
    want.push(("cpuset", "cpuset.cpus", "0".into()));
    want
}

#[track_caller]
fn assert_limits(dirs: &CgroupDirs, l: Limits, after: &str) {
    for (controller, file, value) in all_limits(dirs, l) {
        assert_eq!(
            dirs.read(controller, file).as_deref(),
            Some(value.as_str()),
            "{controller}/{file} after {after}"
        );
    }
}

// Each limit stays as it was when `update` changes another one, and under the systemd driver
// when systemd applies the unit's properties again (`systemctl daemon-reload`, or a property
// of the same controller set by a later update): systemd then writes every file of that
// controller from the unit's properties, so a limit kapsel wrote only into the file would
// fall back to systemd's default.
#[test]
fn limits_stay_through_updates_of_other_limits() {
    let Some(mut t) = ctx!("limits_stay_through_updates_of_other_limits") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b.set(
        "/linux/resources",
        json!({"memory": {"limit": 64 * MIB, "swap": 96 * MIB, "reservation": 20 * MIB},
               "cpu": {"shares": 300, "quota": 5000, "period": 20000, "cpus": "0"},
               "pids": {"limit": 30}}),
    );
    let id = t.id("keep");
    t.create_and_start(&b, &id);
    let (_, dirs) = init_and_dirs(&t, &id);
    let mut l = Limits {
        memory: (64 * MIB, 96 * MIB, 20 * MIB),
        shares: 300,
        pids: 30,
    };
    assert_limits(&dirs, l, "create");
    let reload = |t: &Ctx, l: Limits| {
        if t.systemd_driver() {
            let status = Command::new("systemctl")
                .arg("daemon-reload")
                .status()
                .expect("run systemctl daemon-reload");
            assert!(status.success(), "systemctl daemon-reload: {status}");
            assert_limits(&dirs, l, "`systemctl daemon-reload`");
        }
    };
    reload(&t, l);
    let steps: [&[&str]; 4] = [
        &["--memory-reservation", "10m"],
        &["--pids-limit", "40"],
        &["--cpu-share", "700"],
        &["--memory", "80m", "--memory-swap", "100m"],
    ];
    for flags in steps {
        match flags[0] {
            "--memory-reservation" => l.memory.2 = 10 * MIB,
            "--pids-limit" => l.pids = 40,
            "--cpu-share" => l.shares = 700,
            _ => l.memory = (80 * MIB, 100 * MIB, l.memory.2),
        }
        let mut argv = vec!["update"];
        argv.extend(flags);
        argv.push(&id);
        t.cmd(&argv).ok();
        assert_limits(&dirs, l, &format!("`update {flags:?}`"));
    }
    reload(&t, l);
    t.cmd(&["delete", "--force", &id]).ok();
    assert_removed(&id, &dirs);
}

#[test]
fn update_refuses_bad_values_and_changes_nothing() {
    let Some(mut t) = ctx!("update_refuses_bad_values_and_changes_nothing") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b.set(
        "/linux/resources",
        json!({"devices": [{"allow": false, "access": "rwm"}],
               "memory": {"limit": 64 * MIB}, "pids": {"limit": 40}}),
    );
    let id = t.id("badvalues");
    t.create_and_start(&b, &id);
    let (_, dirs) = init_and_dirs(&t, &id);
    let before = limits(&dirs);
    let bad_json = t.work().join("bad.json");
    std::fs::write(&bad_json, "{\"memory\": {\"limit\": ").expect("write bad.json");
    let missing = t.work().join("missing.json");
    // (words of which the error must hold one, arguments)
    let cases: Vec<(&[&str], Vec<String>)> = vec![
        (&["abc"], vec!["--memory".into(), "abc".into()]),
        (&["x"], vec!["--pids-limit".into(), "x".into()]),
        (&["cpus"], vec!["--cpuset-cpus".into(), "0-z".into()]),
        // Well-formed, but no such cpu: the kernel refuses the write.
        (&["cpus"], vec!["--cpuset-cpus".into(), "4000".into()]),
        (
            &["bad.json", "EOF"],
            vec!["-r".into(), bad_json.display().to_string()],
        ),
        (
            &["missing.json"],
            vec!["-r".into(), missing.display().to_string()],
        ),
        // Both together: the first write would succeed and the second fail.
        (
            &["memory"],
            vec![
                "--pids-limit".into(),
                "10".into(),
                "--memory".into(),
                "-7".into(),
            ],
        ),
    ];
    // Every case runs; the problems are reported together.
    let mut problems = Vec::new();
    for (phrases, args) in cases {
        let mut argv: Vec<&str> = vec!["update"];
        argv.extend(args.iter().map(String::as_str));
        argv.push(&id);
        let out = t.cmd(&argv);
        if out.success() || out.code.is_none() {
            problems.push(format!("not refused: {}", out.describe()));
        }
        if !out
            .stderr_lines()
            .iter()
            .any(|l| phrases.iter().any(|p| l.contains(p)))
        {
            problems.push(format!(
                "the error should mention one of {phrases:?}: {}",
                out.describe()
            ));
        }
        let line = out.last_stderr_line();
        if t.checks_kapsel_only(&format!("update {args:?} prints one line"))
            && (out.stderr_lines().len() != 1 || line.contains(": update: update:"))
        {
            problems.push(format!(
                "want one clear line (the verb once): {}",
                out.describe()
            ));
        }
        if limits(&dirs) != before {
            problems.push(format!("update {args:?} changed a limit file"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(t.state_ok(&id)["status"], "running");
}

/// Runs the runtime in a private mount namespace where /sys/fs/cgroup is only this machine's
/// cgroup2 hierarchy (no controllers enabled), so the v2-only paths run for real: the eBPF
/// device filter, cgroup.freeze and cgroup.kill.
const V2_VIEW: &str = "#!/bin/sh\nexec unshare -m --propagation private sh -c \
    'umount -l /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec \"$@\"' \
    sh \"$@\"\n";

/// Kills what is left in a cgroup2 dir and removes it, should the test fail half-way (the
/// context's own clean-up runs the runtime in the host's view, where that dir is elsewhere).
struct V2Dir(PathBuf);

impl Drop for V2Dir {
    fn drop(&mut self) {
        if self.0.is_dir() {
            let _ = std::fs::write(self.0.join("cgroup.kill"), "1");
            let deadline = Instant::now() + SECS5;
            while std::fs::remove_dir(&self.0).is_err() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

#[test]
fn v2_view_device_filter_freeze_and_kill() {
    let Some(mut t) = ctx!("v2_view_device_filter_freeze_and_kill") else {
        return;
    };
    let unified = Path::new("/sys/fs/cgroup/unified");
    let mounts = kapsel_integration::mountinfo::read_self();
    let is_cgroup2 = kapsel_integration::mountinfo::find(&mounts, "/sys/fs/cgroup/unified")
        .is_some_and(|m| m.fstype == "cgroup2");
    if !is_cgroup2 && t.skip("no cgroup2 mounted at /sys/fs/cgroup/unified") {
        return;
    }
    let wrapper = t.work().join("v2-view.sh");
    std::fs::write(&wrapper, V2_VIEW).expect("write the v2 view wrapper");
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod the wrapper");
    let v2 = |t: &Ctx| {
        kapsel_integration::command::Cmd::new(&wrapper, t.work())
            .arg(&t.rt.path)
            .arg("--root")
            .arg(t.root())
    };

    let mut b = t.bundle();
    for set in ["bounding", "effective", "permitted"] {
        let pointer = format!("/process/capabilities/{set}");
        let mut caps = b.config.pointer(&pointer).cloned().unwrap_or(json!([]));
        if let Some(list) = caps.as_array_mut() {
            list.push(json!("CAP_MKNOD"));
        }
        b.set(&pointer, caps);
    }
    b.set(
        "/linux/resources/devices",
        json!([{"allow": false, "access": "rwm"}]),
    );
    b.sh(
        "mknod /dev/kt-sda b 8 0; head -c1 /dev/kt-sda 2>&1 >/dev/null | sed 's/^/sda=/'; \
          echo x >/dev/null && echo null=ok; \
          i=0; while :; do i=$((i+1)); echo $i > /dev/kt-count.new; \
          mv /dev/kt-count.new /dev/kt-count; sleep 0.02; done",
    );
    let id = t.id("v2");
    let create = t.create_cmd(&b, &id, v2(&t)).arg(&id).run();
    create.ok();
    let pid = t.track_pid_file(&id).expect("create wrote a pid file");
    let dir = CgroupDirs::of(pid)
        .unified()
        .map(Path::to_path_buf)
        .expect("a cgroup2 dir");
    let _guard = V2Dir(dir.clone());
    assert_eq!(dir, unified.join(&id), "the v2 view's default path");
    let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    assert_eq!(procs.trim(), pid.to_string(), "init joined before start");

    v2(&t).args(["start", &id]).run().ok();
    let out = t.wait_for_file(&t.stdout_path(&id), "null=ok", SECS5);
    assert!(
        out.contains("sda=head: /dev/kt-sda: Operation not permitted\n"),
        "the eBPF filter refuses b 8:0:\n{out}"
    );
    counter_above(pid, 2, SECS5);

    v2(&t).args(["pause", &id]).run().ok();
    let events = std::fs::read_to_string(dir.join("cgroup.events")).unwrap_or_default();
    assert!(events.contains("frozen 1"), "cgroup.events: {events}");
    let status = v2(&t).args(["state", &id]).run();
    let state: Value = serde_json::from_str(&status.ok().stdout).expect("state json");
    assert_eq!(state["status"], "paused");
    let frozen = counter(pid).expect("counter readable while frozen");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(counter(pid), Some(frozen), "the counter moved while frozen");
    v2(&t).args(["resume", &id]).run().ok();
    let events = std::fs::read_to_string(dir.join("cgroup.events")).unwrap_or_default();
    assert!(events.contains("frozen 0"), "cgroup.events: {events}");
    counter_above(pid, frozen + 2, SECS5);

    v2(&t).args(["kill", "--all", &id, "KILL"]).run().ok();
    assert!(
        procfs::reap(pid, SECS5).is_some() || !procfs::is_alive(pid),
        "init {pid} survived kill --all"
    );
    let deadline = Instant::now() + SECS5;
    while !std::fs::read_to_string(dir.join("cgroup.procs"))
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        assert!(
            Instant::now() < deadline,
            "processes left in `{}`",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    v2(&t).args(["delete", &id]).run().ok();
    assert!(!dir.exists(), "`{}` left after delete", dir.display());
}

#[test]
fn systemd_cgroup_driver_without_systemd_is_a_clear_error() {
    let Some(mut t) = ctx!("systemd_cgroup_driver_without_systemd_is_a_clear_error") else {
        return;
    };
    if Path::new("/run/systemd/system").exists() && t.skip("systemd is running here") {
        return;
    }
    for (tag, form, phrase) in [
        ("sd-ok", "system.slice:kt:{id}", "systemd"),
        ("sd-bad", "no-colons", "slice:prefix:name"),
    ] {
        let mut b = t.bundle();
        b.args(&["true"]);
        let id = t.id(tag);
        b.set("/linux/cgroupsPath", json!(form.replace("{id}", &id)));
        let cmd = t.rt().arg("--systemd-cgroup");
        let out = t.create_cmd(&b, &id, cmd).arg(&id).run();
        refused(&t, &out, &id, "create", &[phrase]);
        t.assert_no_leftovers(&id, &b, None);
    }
}

// req: lnx-memory-check-before-update
#[test]
fn update_below_usage_is_refused_and_the_limit_kept() {
    let Some(mut t) = ctx!("update_below_usage_is_refused_and_the_limit_kept") else {
        return;
    };
    let limit = 64 * MIB;
    let mut b = t.bundle();
    b.args(&[
        "awk",
        r#"BEGIN { s = sprintf("%10485760s", ""); a[1] = s; a[2] = s; print "held"; fflush(); while (("sleep 1000" | getline x) > 0) {} }"#,
    ]);
    b.set(
        "/linux/resources/memory",
        json!({"limit": limit, "checkBeforeUpdate": true}),
    );
    let id = t.id("belowuse");
    t.create_and_start(&b, &id);
    let (_, dirs) = init_and_dirs(&t, &id);
    t.wait_for_file(&t.stdout_path(&id), "held", SECS5);
    let procs = wait_procs(&dirs, "pids", 2);

    let file = t.work().join("lower.json");
    std::fs::write(
        &file,
        json!({"memory": {"limit": 10 * MIB, "checkBeforeUpdate": true}}).to_string(),
    )
    .expect("write lower.json");
    let flag = t.cmd(&["update", "--memory", "10m", &id]);
    let stdin = t
        .rt()
        .args(["update", "-r", "-", &id])
        .stdin_from(&file)
        .run();
    for (how, out) in [("from create", &flag), ("in the update", &stdin)] {
        out.failed();
        assert_eq!(
            dirs.value(
                "memory",
                dirs.name("memory", "memory.limit_in_bytes", "memory.max")
            ),
            limit.to_string(),
            "a refused update ({how}) changed the limit"
        );
        if t.checks_kapsel_only(&format!("checkBeforeUpdate {how} refuses before writing")) {
            assert!(
                out.stderr_lines().len() == 1 && out.last_stderr_line().contains("usage"),
                "checkBeforeUpdate {how}: one line naming the usage: {}",
                out.describe()
            );
        }
    }
    assert_eq!(
        dirs.procs("pids"),
        procs,
        "the refused update killed nothing"
    );
}
