//! One case under one runtime, the way callers drive a runtime: `create` (with a console
//! socket when the config asks for a terminal), `state`, `start`, the probe's report, `state`,
//! `ps`, `kill TERM`, the container's exit status, `state`, `delete`; then what the hooks
//! recorded, what a joined namespace kept and what is left on the host. Every step's exit
//! status is kept (a hung step is `timeout`), nothing panics on a runtime's behaviour.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::wait::WaitStatus;
use serde_json::Value;

use crate::world::{tree, World};
use kapsel_integration::cgroupfs::CgroupDirs;
use kapsel_integration::command::Cmd;
use kapsel_integration::console::ConsoleSocket;
use kapsel_integration::scratch::Scratch;
use kapsel_integration::{mountinfo, procfs};

/// How a verb ended and what it said (the text is shown, never compared).
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// `0`, `1`..., `signal`, `timeout`.
    pub code: String,
    /// The runtime's stderr.
    pub stderr: String,
    /// How long it took.
    pub took: Duration,
}

/// Everything observed in one run.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// Verb -> how it ended.
    pub steps: BTreeMap<String, Step>,
    /// `state` output after create, start and the exit.
    pub states: BTreeMap<String, Value>,
    /// The probe's report.
    pub probe: Option<Value>,
    /// The report of the probe run by `exec` in the running container.
    pub exec_probe: Option<Value>,
    /// The container's stdout (or terminal), for findings.
    pub output: String,
    /// How the container process ended (`exit 0`, `signal SIGSYS`...).
    pub container_exit: String,
    /// Limits and paths of the container's cgroups while it ran.
    pub cgroups: BTreeMap<String, String>,
    /// Hook name -> (where it recorded, the state it got).
    pub hooks: BTreeMap<String, (String, Option<Value>)>,
    /// Hook names in the order they ran, per place.
    pub hook_order: BTreeMap<String, String>,
    /// What a joined namespace kept after the run.
    pub joined: BTreeMap<String, String>,
    /// What is left on the host after delete.
    pub left: BTreeMap<String, String>,
    /// `ps` while running: the number of processes.
    pub ps: String,
    /// Namespace inodes of the runtime's "host" (the holder) and of the helper, by kind.
    pub ns_host: BTreeMap<String, String>,
    /// Namespace inodes of the helper whose namespaces the config joins.
    pub ns_helper: BTreeMap<String, String>,
}

const KINDS: [&str; 8] = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];

/// Runs the lifecycle in `w`, then the commands with hostile ids.
pub fn run(w: &World, hostile: &[(String, String)]) -> Record {
    let mut rec = Record::default();
    let holder = w.holder_pid();
    for kind in KINDS {
        if let Some(l) = procfs::link(holder, &format!("ns/{kind}")) {
            rec.ns_host.insert(kind.into(), inode(&l));
        }
        if let Some(h) = w
            .helper_pid
            .and_then(|p| procfs::link(p, &format!("ns/{kind}")))
        {
            rec.ns_helper.insert(kind.into(), inode(&h));
        }
    }
    let rootfs = w.rootfs();
    let before = Before {
        mounts: holder_mounts(holder),
        supers: superblocks(holder),
        tree: tree(&rootfs),
    };
    let stdout = w.dir.join("container.out");
    let pid_file = w.dir.join("container.pid");
    let terminal = w.config["process"]["terminal"] == true;
    let sock_dir = terminal.then(|| Scratch::new(&std::env::temp_dir(), "dfc"));
    let socket = sock_dir.as_ref().map(|d| ConsoleSocket::listen(d.path()));
    let id = w.id.as_str();

    let mut create = w
        .rt_cmd(&["create", "--bundle"])
        .arg(&w.bundle)
        .arg("--pid-file")
        .arg(&pid_file);
    if let Some(s) = &socket {
        create = create.arg("--console-socket").arg(s.path());
    }
    let created = step(&mut rec, "create", create.arg(id).stdout_to(&stdout), 30);
    let mut pid = None;
    let mut recorded_dirs = Vec::new();
    if created {
        pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<i32>().ok());
        state(&mut rec, w, "created");
        if let Some(p) = pid {
            recorded_dirs = cgroup_facts(p, &mut rec.cgroups);
        }
        let mut received = socket.and_then(|s| s.received().ok());
        let output_path = received
            .as_ref()
            .map(|r| r.output_path().to_path_buf())
            .unwrap_or_else(|| stdout.clone());
        if step(&mut rec, "start", w.rt_cmd(&["start", id]), 30) {
            rec.probe = wait_report(&output_path, pid);
            state(&mut rec, w, "running");
            let ps = w
                .rt_cmd(&["ps", "--format", "json", id])
                .timeout(Duration::from_secs(10))
                .try_run();
            rec.ps = match ps {
                Ok(o) if o.success() => serde_json::from_str::<Value>(&o.stdout)
                    .ok()
                    .and_then(|v| v.as_array().map(|a| a.len().to_string()))
                    .unwrap_or_else(|| "not JSON".into()),
                Ok(o) => format!("exit {:?}", o.code),
                Err(_) => "timeout".into(),
            };
        }
        if rec.probe.is_some() {
            exec_probe(&mut rec, w);
        }
        step(&mut rec, "kill", w.rt_cmd(&["kill", id, "TERM"]), 10);
        rec.container_exit = match pid {
            Some(p) => exit_of(p),
            None => "no pid".into(),
        };
        state(&mut rec, w, "stopped");
        step(&mut rec, "delete", w.rt_cmd(&["delete", id]), 30);
        rec.output = match received.take() {
            Some(r) => r.output_within(Duration::from_secs(2)),
            None => {
                String::from_utf8_lossy(&std::fs::read(&stdout).unwrap_or_default()).into_owned()
            }
        };
    } else {
        step(
            &mut rec,
            "state-after-failed-create",
            w.rt_cmd(&["state", id]),
            10,
        );
    }
    hooks(&mut rec, w, &rootfs);
    joined(&mut rec, w);
    leftovers(&mut rec, w, &before, &rootfs, &recorded_dirs);
    for (verb, hostile_id) in hostile {
        hostile_command(&mut rec, w, verb, hostile_id);
    }
    cleanup(w, pid, &recorded_dirs);
    rec
}

/// Runs `verb` with a hostile id next to a victim directory and records the exit status and
/// what of the run's dirs survived (nothing outside the run dir is ever named).
fn hostile_command(rec: &mut Record, w: &World, verb: &str, id: &str) {
    let victim = w.dir.join("victim");
    let run_marker = w.dir.join("run-marker");
    let made = std::fs::create_dir_all(&victim)
        .and_then(|()| std::fs::write(victim.join("keep"), "keep\n"))
        .and_then(|()| std::fs::write(&run_marker, "keep\n"))
        .and_then(|()| std::fs::create_dir_all(&w.root));
    if let Err(e) = made {
        rec.left.insert(
            format!("hostile.{verb} {id:?}"),
            format!("set-up failed: {e}"),
        );
        return;
    }
    let id_arg = id.replace("@RUN@", &w.dir.to_string_lossy());
    let mut args: Vec<String> = verb.split(' ').map(str::to_string).collect();
    if args[0] == "create" {
        args.extend(["--bundle".into(), w.bundle.display().to_string()]);
    }
    args.push(id_arg);
    match args[0].as_str() {
        "kill" => args.push("KILL".into()),
        "exec" => args.push("/probe".into()),
        _ => {}
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let code = match w.rt_cmd(&argv).timeout(Duration::from_secs(10)).try_run() {
        Ok(o) => o.code.map_or("signal".into(), |c| c.to_string()),
        Err(_) => "timeout".into(),
    };
    let kept = |p: &Path| if p.exists() { "kept" } else { "GONE" };
    rec.left.insert(
        format!("hostile.{verb} {id:?}"),
        format!(
            "exit {code}; victim {}, state root {}, run dir {}",
            kept(&victim.join("keep")),
            kept(&w.root),
            kept(&run_marker)
        ),
    );
}

fn inode(link: &Path) -> String {
    link.to_string_lossy().into_owned()
}

/// Runs `cmd`, records it under `verb`, returns true on exit 0.
fn step(rec: &mut Record, verb: &str, cmd: Cmd, timeout_s: u64) -> bool {
    let started = Instant::now();
    let s = match cmd.timeout(Duration::from_secs(timeout_s)).try_run() {
        Ok(out) => Step {
            code: out.code.map_or_else(|| "signal".into(), |c| c.to_string()),
            stderr: out.stderr,
            took: started.elapsed(),
        },
        Err(e) => Step {
            code: "timeout".into(),
            stderr: e,
            took: started.elapsed(),
        },
    };
    let ok = s.code == "0";
    rec.steps.insert(verb.to_string(), s);
    ok
}

fn state(rec: &mut Record, w: &World, when: &str) {
    let out = w
        .rt_cmd(&["state", &w.id])
        .timeout(Duration::from_secs(10))
        .try_run();
    let value = match out {
        Ok(o) if o.success() => {
            serde_json::from_str(&o.stdout).unwrap_or(Value::String("not JSON".into()))
        }
        Ok(o) => Value::String(format!(
            "exit {}",
            o.code.map_or("signal".into(), |c| c.to_string())
        )),
        Err(_) => Value::String("timeout".into()),
    };
    rec.states.insert(when.to_string(), value);
}

/// `exec ID /probe fds` in the running container: a second process, which callers start
/// with `exec` (podman exec, kubectl exec, docker exec), and its own view.
fn exec_probe(rec: &mut Record, w: &World) {
    let token = format!("token:{}", w.id);
    let out = w
        .rt_cmd(&["exec", &w.id, "/probe", &token, "fds"])
        .timeout(Duration::from_secs(15))
        .try_run();
    let (code, stdout, stderr) = match out {
        Ok(o) => (
            o.code.map_or("signal".into(), |c| c.to_string()),
            o.stdout,
            o.stderr,
        ),
        Err(e) => ("timeout".into(), String::new(), e),
    };
    rec.exec_probe = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .and_then(|l| serde_json::from_str(l).ok());
    rec.steps.insert(
        "exec".into(),
        Step {
            code,
            stderr,
            took: Duration::ZERO,
        },
    );
}

/// Polls the container's output for the probe's JSON line until the process dies or 10 s.
fn wait_report(path: &Path, pid: Option<i32>) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
        for line in text.lines().rev() {
            let line = line.trim_end_matches('\r');
            if line.starts_with('{') && line.ends_with('}') {
                if let Ok(v) = serde_json::from_str(line) {
                    return Some(v);
                }
            }
        }
        let dead = pid.is_some_and(|p| !procfs::is_alive(p));
        if Instant::now() > deadline || (dead && Instant::now() + Duration::from_secs(9) > deadline)
        {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// How the container's process ended (it is ours to reap: the harness is a subreaper).
fn exit_of(pid: i32) -> String {
    match procfs::reap(pid, Duration::from_secs(10)) {
        Some(WaitStatus::Exited(_, code)) => format!("exit {code}"),
        Some(WaitStatus::Signaled(_, sig, _)) => format!("signal {sig:?}"),
        Some(other) => format!("{other:?}"),
        None if procfs::is_alive(pid) => "still running".into(),
        None => "gone (not our child)".into(),
    }
}

/// Controllers and the files read from each while the container runs.
const CGROUP_FILES: [(&str, &[&str]); 8] = [
    (
        "memory",
        &[
            "memory.limit_in_bytes",
            "memory.memsw.limit_in_bytes",
            "memory.soft_limit_in_bytes",
            "memory.swappiness",
            "memory.oom_control",
            "memory.kmem.limit_in_bytes",
            "memory.kmem.tcp.limit_in_bytes",
        ],
    ),
    (
        "cpu",
        &[
            "cpu.shares",
            "cpu.cfs_quota_us",
            "cpu.cfs_period_us",
            "cpu.cfs_burst_us",
            "cpu.idle",
        ],
    ),
    ("cpuset", &["cpuset.cpus", "cpuset.mems"]),
    ("pids", &["pids.max"]),
    ("blkio", &["blkio.weight", "blkio.bfq.weight"]),
    ("devices", &["devices.list"]),
    ("freezer", &["freezer.state"]),
    ("cpuacct", &[]),
];

/// Reads the container's cgroup paths and limits; returns its directories that are not the
/// harness's own (those a runtime must remove).
fn cgroup_facts(pid: i32, out: &mut BTreeMap<String, String>) -> Vec<PathBuf> {
    let theirs = std::panic::catch_unwind(|| CgroupDirs::of(pid));
    let ours = CgroupDirs::of_self();
    let Ok(theirs) = theirs else {
        out.insert("cgroup".into(), "unreadable".into());
        return Vec::new();
    };
    for (controller, files) in CGROUP_FILES {
        let Some(dir) = theirs.v1(controller) else {
            continue;
        };
        out.insert(
            format!("{controller}.path"),
            relative(dir, ours.v1(controller)),
        );
        for file in files {
            if let Some(v) = theirs.read(controller, file) {
                if *file == "devices.list" {
                    // A set, one fact per rule (the kernel keeps the order rules came in).
                    for rule in v.lines() {
                        out.insert(format!("devices.rule {rule}"), "listed".into());
                    }
                    continue;
                }
                let v = if *file == "memory.oom_control" {
                    v.lines().next().unwrap_or("").to_string()
                } else {
                    v.lines().collect::<Vec<_>>().join(";")
                };
                out.insert(format!("{controller}.{file}"), v);
            }
        }
    }
    if let Some(dir) = theirs.unified() {
        out.insert("unified.path".into(), relative(dir, ours.unified()));
        if let Ok(v) = std::fs::read_to_string(dir.join("cgroup.max.descendants")) {
            out.insert(
                "unified.cgroup.max.descendants".into(),
                v.trim().to_string(),
            );
        }
    }
    let own: Vec<&Path> = ours.all();
    theirs
        .all()
        .into_iter()
        .filter(|d| !own.contains(d))
        .map(Path::to_path_buf)
        .collect()
}

fn relative(dir: &Path, own: Option<&Path>) -> String {
    match own.and_then(|o| dir.strip_prefix(o).ok()) {
        Some(rel) => format!("SELF/{}", rel.display()),
        None => dir.display().to_string(),
    }
}

fn hooks(rec: &mut Record, w: &World, rootfs: &Path) {
    for (place, dir, prefix) in [
        ("host", w.bundle.join("hooks"), ""),
        ("container", rootfs.join(".hooks"), ""),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(prefix) else {
                continue;
            };
            if let Some(hook) = rest.strip_suffix(".json") {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                rec.hooks.insert(
                    hook.to_string(),
                    (place.to_string(), serde_json::from_str(&text).ok()),
                );
            } else if rest == "order" {
                let text = std::fs::read_to_string(e.path()).unwrap_or_default();
                rec.hook_order.insert(
                    place.to_string(),
                    text.split_whitespace().collect::<Vec<_>>().join(","),
                );
            }
        }
    }
}

/// What the runtime did to namespaces it joined: the helper's hostname and loopback flags.
fn joined(rec: &mut Record, w: &World) {
    let Some(pid) = w.helper_pid else {
        return;
    };
    let run = |args: &[&str]| {
        Cmd::new(Path::new("nsenter"), &w.dir)
            .args(["-t", &pid.to_string()])
            .args(args)
            .timeout(Duration::from_secs(5))
            .try_run()
            .map(|o| o.stdout.trim().to_string())
            .unwrap_or_default()
    };
    rec.joined
        .insert("uts.hostname".into(), run(&["-u", "hostname"]));
    let link = run(&["-n", "ip", "-o", "link", "show", "lo"]);
    let flags = link.split(['<', '>']).nth(1).unwrap_or("").to_string();
    rec.joined.insert("net.lo".into(), flags);
}

/// Mount points (with fs type and per-mount options) in the holder's namespace.
fn holder_mounts(pid: i32) -> Vec<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
    let mut out: Vec<String> = mountinfo::parse(&text)
        .iter()
        .map(|m| {
            format!(
                "{} {} {}",
                m.mount_point.display(),
                m.fstype,
                m.options.join(",")
            )
        })
        .collect();
    out.sort();
    out
}

/// What the host looked like before a run.
struct Before {
    /// The holder's mounts (point, type, options).
    mounts: Vec<String>,
    /// Each mount point's superblock options.
    supers: BTreeMap<String, String>,
    /// The rootfs tree.
    tree: BTreeMap<String, String>,
}

/// Each mount point of `pid`'s namespace with its superblock options.
fn superblocks(pid: i32) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap_or_default();
    mountinfo::parse(&text)
        .into_iter()
        .map(|m| {
            (
                m.mount_point.display().to_string(),
                m.super_options.join(","),
            )
        })
        .collect()
}

fn leftovers(rec: &mut Record, w: &World, before: &Before, rootfs: &Path, dirs: &[PathBuf]) {
    let state: Vec<String> = tree(&w.root).keys().cloned().collect();
    rec.left.insert("state".into(), state.join(" "));
    // Only mounts in the run's own dirs: the holder's copy of the host's other mounts may
    // change under it (other users of this machine), which says nothing about the runtime.
    let run_dir = w.dir.display().to_string();
    let ours = |m: &&String| m.starts_with(&run_dir);
    let after = holder_mounts(w.holder_pid());
    let new: Vec<&String> = after
        .iter()
        .filter(|m| !before.mounts.contains(m))
        .filter(ours)
        .collect();
    let gone: Vec<&String> = before
        .mounts
        .iter()
        .filter(|m| !after.contains(m))
        .filter(ours)
        .collect();
    let mounts = new
        .iter()
        .map(|m| format!("+{m}"))
        .chain(gone.iter().map(|m| format!("-{m}")))
        .collect::<Vec<_>>();
    rec.left.insert("mounts".into(), mounts.join("; "));
    // A filesystem a runtime remounted (read-only, say) changes for every mount of it, the
    // host's included.
    let mut now = superblocks(w.holder_pid());
    let changed: Vec<String> = before
        .supers
        .iter()
        .filter_map(|(point, was)| {
            let is = now.remove(point)?;
            (is != *was).then(|| format!("{point}: {was} -> {is}"))
        })
        .collect();
    rec.left.insert("superblocks".into(), changed.join("; "));
    let tree_after = tree(rootfs);
    let mut changes = Vec::new();
    let mut mount_points = Vec::new();
    for (path, what) in &tree_after {
        if path.starts_with("/.hooks") {
            continue;
        }
        match before.tree.get(path) {
            // Directories and empty files made as mount points: every runtime makes them
            // (with modes of its own choosing), so only their paths count.
            None if what.starts_with("d ") || what.starts_with("f ") => {
                mount_points.push(path.clone())
            }
            None => changes.push(format!("+{path} {what}")),
            Some(old) if old != what => changes.push(format!("~{path} {old} -> {what}")),
            _ => {}
        }
    }
    rec.left
        .insert("rootfs.mountpoints".into(), mount_points.join(" "));
    changes.extend(
        before
            .tree
            .keys()
            .filter(|p| !tree_after.contains_key(*p))
            .map(|p| format!("-{p}")),
    );
    rec.left.insert("rootfs".into(), changes.join("; "));
    let mut cgroups: Vec<String> = dirs
        .iter()
        .filter(|d| d.is_dir())
        .map(|d| d.display().to_string())
        .collect();
    for d in default_cgroup_dirs(w) {
        let s = d.display().to_string();
        if d.is_dir() && !cgroups.contains(&s) {
            cgroups.push(s);
        }
    }
    cgroups.sort();
    rec.left.insert("cgroups".into(), cgroups.join(" "));
    let procs: Vec<String> = processes_naming(&w.id)
        .into_iter()
        .map(|(_, cmd)| cmd)
        .collect();
    rec.left.insert("processes".into(), procs.join("; "));
}

/// Where a runtime puts the container's cgroup by default (the id below the caller's
/// cgroup) and the config's absolute cgroupsPath, in every hierarchy.
fn default_cgroup_dirs(w: &World) -> Vec<PathBuf> {
    let own = CgroupDirs::of_self();
    let mut dirs: Vec<PathBuf> = own
        .join(&w.id)
        .all()
        .into_iter()
        .map(Path::to_path_buf)
        .collect();
    if let Some(path) = w.config["linux"]["cgroupsPath"].as_str() {
        if path.starts_with('/') {
            let roots = CgroupDirs::of(1);
            dirs.extend(
                roots
                    .join(path.trim_start_matches('/'))
                    .all()
                    .into_iter()
                    .map(Path::to_path_buf),
            );
        }
    }
    dirs
}

/// Live (not zombie) processes whose command line names `id` (the probe carries it as
/// `token:<id>`), with that command line.
fn processes_naming(id: &str) -> Vec<(i32, String)> {
    procfs::pids()
        .into_iter()
        .filter(|p| *p != std::process::id() as i32)
        .filter_map(|p| {
            let cmd = std::fs::read(format!("/proc/{p}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            (cmd.contains(id) && procfs::is_alive(p) && !cmd.starts_with("nsenter"))
                .then(|| (p, cmd.trim().to_string()))
        })
        .collect()
}

/// Leaves nothing of the run: force delete, kill what names the id, reap, remove its cgroups.
fn cleanup(w: &World, pid: Option<i32>, dirs: &[PathBuf]) {
    let _ = w
        .rt_cmd(&["delete", "--force", &w.id])
        .timeout(Duration::from_secs(20))
        .try_run();
    for (p, _) in processes_naming(&w.id) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(p),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = procfs::reap(p, Duration::from_secs(2));
    }
    if let Some(p) = pid {
        if procfs::is_alive(p) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = procfs::reap(p, Duration::from_secs(2));
    }
    let mut all: Vec<PathBuf> = dirs.to_vec();
    all.extend(default_cgroup_dirs(w).into_iter().filter(|d| d.is_dir()));
    // Deepest first; a dir still holding processes stays (and shows in the next leftovers).
    all.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in all {
        for p in std::fs::read_to_string(d.join("cgroup.procs"))
            .unwrap_or_default()
            .lines()
        {
            if let Ok(p) = p.trim().parse::<i32>() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(p),
                    nix::sys::signal::Signal::SIGKILL,
                );
                let _ = procfs::reap(p, Duration::from_millis(500));
            }
        }
        let _ = std::fs::remove_dir(&d);
    }
}
