//! Checks that a container left nothing on the host: no state, no process, no namespace
//! holder, no mount, no cgroup dir.

use std::path::Path;
use std::time::Duration;

use crate::bundle::Bundle;
use crate::cgroupfs::CgroupDirs;
use crate::context::Ctx;
use crate::mountinfo;
use crate::procfs;

const NAMESPACES: [&str; 6] = ["mnt", "pid", "net", "uts", "ipc", "cgroup"];

/// What identifies a live container on the host: its init pid and the namespaces it has that
/// this test process does not share.
#[derive(Debug, Clone)]
pub struct Footprint {
    /// The container's init pid on the host.
    pub pid: i32,
    /// (kind, `kind:[inode]`) of each namespace that differs from ours.
    pub namespaces: Vec<(String, String)>,
    /// (pid, start ticks) of every process in one of those namespaces when the footprint was
    /// taken. A freed namespace's inode number is reused by containers of tests running in
    /// parallel, so only these processes can count as holders later.
    pub members: Vec<(i32, u64)>,
}

impl Footprint {
    /// Reads the namespaces of `pid` (which must be alive).
    #[track_caller]
    pub fn of(pid: i32) -> Footprint {
        let namespaces: Vec<(String, String)> = NAMESPACES
            .iter()
            .filter_map(|kind| {
                let theirs = procfs::link(pid, &format!("ns/{kind}"))?;
                let ours = procfs::link(std::process::id() as i32, &format!("ns/{kind}"));
                (Some(&theirs) != ours.as_ref())
                    .then(|| (kind.to_string(), theirs.to_string_lossy().into_owned()))
            })
            .collect();
        assert!(procfs::is_alive(pid), "container pid {pid} is not alive");
        let members = procfs::pids()
            .into_iter()
            .filter(|p| {
                namespaces.iter().any(|(kind, ns)| {
                    procfs::link(*p, &format!("ns/{kind}"))
                        .is_some_and(|l| l.to_string_lossy() == *ns)
                })
            })
            .filter_map(|p| Some((p, procfs::start_ticks(p)?)))
            .collect();
        Footprint {
            pid,
            namespaces,
            members,
        }
    }
}

impl Ctx {
    /// The footprint of a created or running container, from its state pid.
    #[track_caller]
    pub fn footprint(&mut self, id: &str) -> Footprint {
        let pid = self.state_ok(id)["pid"]
            .as_i64()
            .unwrap_or_else(|| panic!("state of `{id}` has no numeric pid"))
            as i32;
        assert!(pid > 0, "state of `{id}` has pid {pid}");
        self.track_pid(pid);
        Footprint::of(pid)
    }

    /// Asserts that `id` left nothing behind: `state` fails, `list` omits it, no entry for
    /// it under the state root, no process with its namespaces or with cwd/root in the bundle,
    /// no mount under the bundle or the state root, no cgroup dir named after it, and its init
    /// (when known) is dead (and reaped if it was our child).
    #[track_caller]
    pub fn assert_no_leftovers(
        &mut self,
        id: &str,
        bundle: &Bundle,
        footprint: Option<&Footprint>,
    ) {
        let mut problems = Vec::new();
        if let Ok(state) = self.state(id) {
            problems.push(format!("`state {id}` still succeeds: {state}"));
        }
        let list = self.cmd(&["list", "-q"]);
        if list.stdout.lines().any(|l| l.trim() == id) {
            problems.push(format!("`list -q` still shows `{id}`"));
        }
        problems.extend(entries_naming(self.root(), id));
        if let Some(fp) = footprint {
            if procfs::reap(fp.pid, Duration::from_secs(5)).is_none() && procfs::is_alive(fp.pid) {
                problems.push(format!("container init {} is still alive", fp.pid));
            }
            problems.extend(namespace_holders(fp));
        }
        problems.extend(processes_inside(&bundle.dir));
        for dir in [bundle.dir.as_path(), self.root()] {
            for m in mountinfo::read_self() {
                if m.mount_point.starts_with(dir) {
                    problems.push(format!("mount left at `{}`", m.mount_point.display()));
                }
            }
        }
        problems.extend(cgroup_dirs(id));
        assert!(
            problems.is_empty(),
            "leftovers of `{id}`:\n  {}",
            problems.join("\n  ")
        );
    }
}

fn entries_naming(root: &Path, id: &str) -> Vec<String> {
    std::fs::read_dir(root)
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().contains(id))
                .map(|e| format!("state root still holds `{}`", e.path().display()))
                .collect()
        })
        .unwrap_or_default()
}

fn namespace_holders(fp: &Footprint) -> Vec<String> {
    let mut found = Vec::new();
    for &(pid, started) in &fp.members {
        if !procfs::is_alive(pid) || procfs::start_ticks(pid) != Some(started) {
            continue;
        }
        for (kind, ns) in &fp.namespaces {
            if procfs::link(pid, &format!("ns/{kind}")).is_some_and(|l| l.to_string_lossy() == *ns)
            {
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                found.push(format!(
                    "process {pid} (`{}`, parent {:?}) is still in the container's {kind} namespace {ns}",
                    String::from_utf8_lossy(&cmdline).replace('\0', " ").trim_end(),
                    procfs::ppid(pid)
                ));
            }
        }
    }
    found
}

fn processes_inside(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for pid in procfs::pids() {
        for what in ["cwd", "root"] {
            if procfs::link(pid, what).is_some_and(|l| l.starts_with(dir)) {
                found.push(format!(
                    "process {pid} has its {what} in `{}`",
                    dir.display()
                ));
            }
        }
    }
    found
}

fn cgroup_dirs(id: &str) -> Vec<String> {
    // A runtime's default cgroup for `id` is below the caller's own cgroup (runc's rule;
    // below its parent on pure v2); under the systemd driver the harness's scope, or the
    // runtimes' own default scopes for a bundle written without the harness's path.
    let mut dirs = vec![CgroupDirs::default_for(id)];
    if crate::runtime::systemd_cgroup() {
        dirs.extend(
            ["kapsel", "runc", "crun"]
                .map(|prefix| CgroupDirs::at(format!("system.slice/{prefix}-{id}.scope"))),
        );
    }
    dirs.iter()
        .flat_map(CgroupDirs::remaining)
        .map(|p| format!("cgroup dir left at `{}`", p.display()))
        .collect()
}
