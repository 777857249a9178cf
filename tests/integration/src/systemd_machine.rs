//! A real systemd to test the systemd cgroup driver against, on a host that does not boot
//! with it: systemd runs as PID 1 of its own pid, mount and cgroup namespaces, on a private
//! /run and /proc and a cgroup2 mount of a fresh cgroup of ours (no v1 hierarchies, so it
//! runs in unified mode), with a target that starts nothing. Commands run "on the machine"
//! through nsenter, the way a runtime on a systemd host would run. Dropping it kills the
//! namespace (systemd and everything it holds) and removes its cgroups.

use crate::command::Cmd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SYSTEMD: &str = "/lib/systemd/systemd";

const BOOT: &str = r#"set -e
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/systemd/system
printf '[Unit]\nDescription=kapsel test machine\nDefaultDependencies=no\n' > /run/systemd/system/kapsel-idle.target
mount -t proc proc /proc
umount -R /sys/fs/cgroup
mount -t cgroup2 cgroup2 /sys/fs/cgroup
exec env container=kapsel-test "$0" --system --unit=kapsel-idle.target --log-target=null
"#;

pub struct SystemdMachine {
    child: Child,
    /// systemd's pid on the host.
    pub pid: i32,
    /// The machine's root cgroup on the host (its cgroup namespace root).
    pub cgroup: PathBuf,
}

/// The host's cgroup2 mount point, if any (`/sys/fs/cgroup/unified` on hybrid hosts).
fn cgroup2_mount() -> Option<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    text.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        (right.split(' ').next() == Some("cgroup2"))
            .then(|| PathBuf::from(left.split(' ').nth(4).unwrap_or("")))
    })
}

impl SystemdMachine {
    /// Boots the machine, or says why it cannot (the test then skips with that reason).
    pub fn boot(tag: &str) -> Result<SystemdMachine, String> {
        if !Path::new(SYSTEMD).exists() {
            return Err(format!("{SYSTEMD} is missing (apt-get install systemd)"));
        }
        let mount = cgroup2_mount().ok_or("no cgroup2 mount on this host")?;
        let cgroup = mount.join(format!("kapsel-it-systemd-{}-{tag}", std::process::id()));
        std::fs::create_dir(&cgroup).map_err(|e| format!("mkdir `{}`: {e}", cgroup.display()))?;
        // The shell joins the fresh cgroup, then unshare makes it the cgroup namespace root.
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(format!(
                "echo $$ > {}/cgroup.procs && exec unshare --pid --fork --mount --cgroup \
                 --kill-child /bin/sh -c '{}' {SYSTEMD}",
                cgroup.display(),
                BOOT.replace('\'', r"'\''")
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn unshare: {e}"))?;
        let mut machine = SystemdMachine {
            pid: 0,
            cgroup,
            child,
        };
        let unshare = machine.child.id();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            let children =
                std::fs::read_to_string(format!("/proc/{unshare}/task/{unshare}/children"))
                    .unwrap_or_default();
            if let Some(pid) = children
                .split_whitespace()
                .next()
                .and_then(|p| p.parse().ok())
            {
                machine.pid = pid;
                if Path::new(&format!("/proc/{pid}/root/run/systemd/private")).exists() {
                    return Ok(machine);
                }
            }
            if let Ok(Some(status)) = machine.child.try_wait() {
                return Err(format!(
                    "systemd in its namespaces exited at once: {status}"
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("systemd did not open /run/systemd/private within 15 s".to_string())
    }

    /// `program args...` run on the machine (its mount, cgroup and pid namespaces).
    pub fn cmd(&self, program: &Path, out_dir: &Path) -> Cmd {
        Cmd::new(Path::new("/usr/bin/nsenter"), out_dir)
            .args(["-t", &self.pid.to_string(), "-m", "-C", "-p", "--"])
            .arg(program)
            .env("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/run/systemd/private")
    }

    /// `systemctl show UNIT -p NAME` for each name, as `NAME=value` lines.
    pub fn show(&self, unit: &str, props: &[&str], out_dir: &Path) -> String {
        let mut cmd = self
            .cmd(Path::new("/bin/systemctl"), out_dir)
            .args(["show", unit]);
        for p in props {
            cmd = cmd.args(["-p", p]);
        }
        cmd.run().stdout
    }

    /// The host directory of a cgroup path as the machine sees it.
    pub fn host_dir(&self, inner: &str) -> PathBuf {
        self.cgroup.join(inner.trim_start_matches('/'))
    }
}

impl Drop for SystemdMachine {
    fn drop(&mut self) {
        // SIGKILL to PID 1 of the namespace kills everything in it.
        if self.pid > 0 {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut dirs: Vec<PathBuf> = walk(&self.cgroup);
            dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
            let all_gone = dirs.iter().all(|d| std::fs::remove_dir(d).is_ok());
            if all_gone || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                out.extend(walk(&e.path()));
            }
        }
    }
    out
}
