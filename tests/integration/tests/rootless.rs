//! Rootless containers: the runtime run by an unprivileged user (created here, with
//! /etc/subuid and /etc/subgid ranges) through `runuser`. Checked from inside (uid_map, ids,
//! owners of files written through a bind mount) and from outside (host uid of the
//! processes, the state root under $XDG_RUNTIME_DIR, nothing left behind).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kapsel_integration::command::Cmd;
use kapsel_integration::{ctx, procfs, Bundle, Ctx, Output};
use serde_json::{json, Value};

/// The test user; created once and reused (idempotent), never a real person's account.
const USER: &str = "kapsel-it";
/// Its subordinate ids in /etc/subuid and /etc/subgid.
const SUB_START: u32 = 300_000;
const SUB_COUNT: u32 = 65_536;

/// Rootless tests run one at a time: each checks that no process of the user is left.
static SERIAL: Mutex<()> = Mutex::new(());

/// The test user's ids.
#[derive(Debug, Clone, Copy)]
struct UserIds {
    uid: u32,
    gid: u32,
}

/// Creates the user and its subordinate ranges unless they exist.
fn ensure_user() -> Result<UserIds, String> {
    let has_user = Command::new("id")
        .args(["-u", USER])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_user {
        run_tool(
            "useradd",
            &[
                // Only the ranges added below, not useradd's automatic ones.
                "-K",
                "SUB_UID_COUNT=0",
                "-K",
                "SUB_GID_COUNT=0",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                "--user-group",
                USER,
            ],
        )?;
    }
    let range = format!("{SUB_START}-{}", SUB_START + SUB_COUNT - 1);
    for (file, flag) in [
        ("/etc/subuid", "--add-subuids"),
        ("/etc/subgid", "--add-subgids"),
    ] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let entry = format!("{USER}:{SUB_START}:{SUB_COUNT}");
        if !text.lines().any(|l| l == entry) {
            run_tool("usermod", &[flag, &range, USER])?;
        }
    }
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, USER])
            .output()
            .map_err(|e| format!("run id: {e}"))?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|e| format!("`id {flag} {USER}`: {e}"))
    };
    Ok(UserIds {
        uid: id("-u")?,
        gid: id("-g")?,
    })
}

fn run_tool(tool: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(tool)
        .args(args)
        .output()
        .map_err(|e| format!("run {tool}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{tool} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// One rootless test's world: the user, its XDG_RUNTIME_DIR and a writable dir of its own,
/// and the containers it made (force-deleted as the user when dropped, before the Ctx).
struct Rootless {
    ids: UserIds,
    runtime: PathBuf,
    state_name: String,
    xdg: PathBuf,
    home: PathBuf,
    out_dir: PathBuf,
    containers: Vec<String>,
    pids: Vec<i32>,
    _serial: MutexGuard<'static, ()>,
}

impl Rootless {
    /// Sets up the user (skipping the test when that is impossible).
    fn new(t: &Ctx) -> Option<Rootless> {
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        if !Path::new("/usr/sbin/runuser").exists() {
            t.skip("runuser (util-linux) is missing");
            return None;
        }
        let ids = match ensure_user() {
            Ok(ids) => ids,
            Err(why) => {
                t.skip(&format!("cannot create the test user: {why}"));
                return None;
            }
        };
        let owned_dir = |name: &str| {
            let dir = t.work().join(name);
            std::fs::create_dir_all(&dir).expect("mkdir");
            nix::unistd::chown(&dir, Some(ids.uid.into()), Some(ids.gid.into()))
                .unwrap_or_else(|e| panic!("chown `{}`: {e}", dir.display()));
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).expect("chmod");
            dir
        };
        let state_name = if t.rt.is_kapsel {
            "kapsel".to_string()
        } else {
            t.rt.name()
        };
        Some(Rootless {
            ids,
            runtime: t.rt.path.clone(),
            state_name,
            xdg: owned_dir("xdg"),
            home: owned_dir("home"),
            out_dir: t.work().to_path_buf(),
            containers: Vec::new(),
            pids: Vec::new(),
            _serial: serial,
        })
    }

    /// `runuser -u USER -- RUNTIME` with only PATH, HOME and XDG_RUNTIME_DIR set.
    fn rt(&self) -> Cmd {
        self.rt_via(&[])
    }

    /// Like [`Rootless::rt`], after `wrapper` (e.g. an `unshare` command line).
    fn rt_via(&self, wrapper: &[&str]) -> Cmd {
        let (program, rest) = match wrapper.split_first() {
            Some((p, rest)) => (Path::new(*p), rest),
            None => (Path::new("/usr/sbin/runuser"), &[][..]),
        };
        let mut cmd = Cmd::new(program, &self.out_dir).args(rest);
        if !wrapper.is_empty() {
            cmd = cmd.arg("/usr/sbin/runuser");
        }
        cmd.clear_env()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", self.home.to_str().unwrap_or("/"))
            .env("XDG_RUNTIME_DIR", self.xdg.to_str().unwrap_or(""))
            .args(["-u", USER, "--"])
            .arg(&self.runtime)
    }

    /// `runuser -u USER -- unshare ... -- RUNTIME`: the runtime as root of a user
    /// namespace that maps the user to 0 and its subordinate ids from 1, which is where
    /// `podman unshare` and rootless podman run it.
    fn rt_in_podman_like_userns(&self) -> Cmd {
        let ranges = |flag: &str| format!("--map-{flag}={SUB_START},1,{SUB_COUNT}");
        Cmd::new(Path::new("/usr/sbin/runuser"), &self.out_dir)
            .clear_env()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", self.home.to_str().unwrap_or("/"))
            .env("XDG_RUNTIME_DIR", self.xdg.to_str().unwrap_or(""))
            .args([
                "-u",
                USER,
                "--",
                "/usr/bin/unshare",
                "--map-user=0",
                "--map-group=0",
            ])
            .arg(ranges("users"))
            .arg(ranges("groups"))
            .arg("--")
            .arg(&self.runtime)
    }

    /// Registers a container id for clean-up as the user.
    fn track(&mut self, id: &str) {
        self.containers.push(id.to_string());
    }

    /// The default state root of the runtime for this user.
    fn state_root(&self) -> PathBuf {
        self.xdg.join(&self.state_name)
    }

    /// A path in the user's own dir (for pid files).
    fn home_file(&self, name: &str) -> PathBuf {
        self.home.join(name)
    }

    /// True when `uid` is one of the host ids the user's containers may run as.
    fn owns_uid(&self, uid: u32) -> bool {
        uid == self.ids.uid || (SUB_START..SUB_START + SUB_COUNT).contains(&uid)
    }

    /// Host processes running as the user or one of its subordinate uids.
    fn processes(&self) -> Vec<i32> {
        procfs::pids()
            .into_iter()
            .filter(|p| procfs::is_alive(*p) && host_uid(*p).is_some_and(|u| self.owns_uid(u)))
            .collect()
    }

    /// Asserts that `id` left nothing: no entry in the user's state root, no process of the
    /// user (waiting a little for the container's last processes to be reaped).
    #[track_caller]
    fn assert_no_leftovers(&mut self, id: &str) {
        for pid in std::mem::take(&mut self.pids) {
            let _ = procfs::reap(pid, Duration::from_secs(5));
        }
        let entries: Vec<String> = std::fs::read_dir(self.state_root())
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.contains(id))
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            entries.is_empty(),
            "`{}` still holds {entries:?}",
            self.state_root().display()
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut left = self.processes();
        while !left.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            left = self.processes();
        }
        let described: Vec<String> = left.iter().map(|p| describe(*p)).collect();
        assert!(
            described.is_empty(),
            "processes of {USER} left: {described:?}"
        );
    }
}

impl Drop for Rootless {
    fn drop(&mut self) {
        for id in std::mem::take(&mut self.containers) {
            let _ = self
                .rt()
                .args(["delete", "--force", id.as_str()])
                .timeout(Duration::from_secs(10))
                .run();
        }
        // Whatever is still running as the test user was started by this test.
        for pid in self.processes() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        for pid in self.pids.iter().copied().chain(self.processes()) {
            let _ = procfs::reap(pid, Duration::from_secs(2));
        }
    }
}

/// The real uid of a host process.
fn host_uid(pid: i32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn describe(pid: i32) -> String {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    format!(
        "{pid} (`{}`, uid {:?})",
        String::from_utf8_lossy(&cmdline).replace('\0', " ").trim(),
        host_uid(pid)
    )
}

/// A bundle whose config is what `RUNTIME spec --rootless` wrote for the user, made
/// non-interactive, with a dir of the user's bind-mounted at /data.
fn rootless_bundle(t: &Ctx, u: &Rootless) -> (Bundle, PathBuf) {
    let spec_dir = u.home.join("spec");
    let _ = std::fs::remove_dir_all(&spec_dir);
    std::fs::create_dir(&spec_dir).expect("mkdir spec dir");
    nix::unistd::chown(&spec_dir, Some(u.ids.uid.into()), Some(u.ids.gid.into()))
        .expect("chown spec dir");
    u.rt()
        .args(["spec", "--rootless", "--bundle"])
        .arg(&spec_dir)
        .run()
        .ok();
    let text = std::fs::read_to_string(spec_dir.join("config.json")).expect("read spec");
    let mut b = t.bundle();
    b.config = serde_json::from_str(&text).expect("spec --rootless wrote JSON");
    b.set("/process/terminal", json!(false));
    let data = u.home.join("data");
    std::fs::create_dir(&data).expect("mkdir data");
    nix::unistd::chown(&data, Some(u.ids.uid.into()), Some(u.ids.gid.into())).expect("chown");
    // The user's container may not create a mount point in the root-owned rootfs.
    std::fs::create_dir(b.rootfs().join("data")).expect("mkdir rootfs/data");
    b.push_mount(json!({"destination": "/data", "type": "bind",
                        "source": data.to_str().unwrap(), "options": ["rbind", "rw"]}));
    (b, data)
}

/// `run --bundle B ID` as the user, foreground.
fn run_as_user(u: &mut Rootless, b: &Bundle, id: &str) -> Output {
    b.write();
    u.track(id);
    u.rt()
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(id)
        .timeout(Duration::from_secs(20))
        .run()
}

fn map_lines(text: &str) -> Vec<Vec<u32>> {
    text.lines()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect()
        })
        .filter(|f: &Vec<u32>| f.len() == 3)
        .collect()
}

fn owner(path: &Path) -> (u32, u32) {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("stat `{}`: {e}", path.display()));
    (m.uid(), m.gid())
}

#[test]
fn rootless_spec_maps_the_calling_user_to_root() {
    let Some(t) = ctx!("rootless_spec_maps_the_calling_user_to_root") else {
        return;
    };
    let Some(u) = Rootless::new(&t) else { return };
    let (b, _) = rootless_bundle(&t, &u);
    let linux = &b.config["linux"];
    assert_eq!(
        linux["uidMappings"],
        json!([{"containerID": 0, "hostID": u.ids.uid, "size": 1}])
    );
    assert_eq!(
        linux["gidMappings"],
        json!([{"containerID": 0, "hostID": u.ids.gid, "size": 1}])
    );
    let kinds: Vec<&str> = linux["namespaces"]
        .as_array()
        .map(|l| l.iter().filter_map(|n| n["type"].as_str()).collect())
        .unwrap_or_default();
    assert!(kinds.contains(&"user"), "no user namespace: {kinds:?}");
}

#[test]
fn rootless_run_maps_the_user_to_root_inside() {
    let Some(mut t) = ctx!("rootless_run_maps_the_user_to_root_inside") else {
        return;
    };
    let Some(mut u) = Rootless::new(&t) else {
        return;
    };
    let (mut b, data) = rootless_bundle(&t, &u);
    b.sh(
        "cat /proc/self/uid_map /proc/self/gid_map; cat /proc/self/setgroups; id -u; id -g; \
         touch /data/by-root",
    );
    let id = t.id("run");
    let out = run_as_user(&mut u, &b, &id);
    out.ok();
    let (uid, gid) = (u.ids.uid, u.ids.gid);
    assert_eq!(
        map_lines(&out.stdout),
        [vec![0, uid, 1], vec![0, gid, 1]],
        "{}",
        out.describe()
    );
    // An unprivileged writer of gid_map must have denied setgroups (user_namespaces(7)).
    assert!(out.stdout.ends_with("deny\n0\n0\n"), "{}", out.describe());
    assert_eq!(owner(&data.join("by-root")), (uid, gid));
    // No cgroup hierarchy here is delegated to (owned by) the new user: kapsel must say it
    // runs without cgroups rather than fail or stay silent.
    let delegated = ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .iter()
        .any(|d| std::fs::metadata(d).is_ok_and(|m| m.uid() == uid));
    if !delegated && t.checks_kapsel_only("a warning that cgroups are skipped") {
        let warnings = out
            .stderr_lines()
            .iter()
            .filter(|l| l.to_lowercase().contains("cgroup"))
            .count();
        assert_eq!(
            warnings,
            1,
            "one warning that cgroups are skipped, printed once: {}",
            out.describe()
        );
    }
    u.assert_no_leftovers(&id);
}

/// `create --bundle B --pid-file F ID` as the user; returns the init's host pid.
#[track_caller]
fn create_as_user(t: &Ctx, u: &mut Rootless, b: &Bundle, id: &str) -> i32 {
    b.write();
    u.track(id);
    let pid_file = u.home_file(&format!("{id}.pid"));
    u.rt()
        .args(["create", "--bundle"])
        .arg(&b.dir)
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(id)
        .stdout_to(&t.stdout_path(id))
        .run()
        .ok();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    u.pids.push(pid);
    pid
}

/// `state ID` as the user, parsed.
#[track_caller]
fn state_as_user(u: &Rootless, id: &str) -> Value {
    let out = u.rt().args(["state", id]).run();
    out.ok();
    serde_json::from_str(&out.stdout).expect("state JSON")
}

/// The uid and gid mappings: the user as root, then its subordinate range from 1.
fn map_subordinate_ids(b: &mut Bundle, ids: UserIds) {
    for (field, own) in [("uidMappings", ids.uid), ("gidMappings", ids.gid)] {
        b.set(
            &format!("/linux/{field}"),
            json!([{"containerID": 0, "hostID": own, "size": 1},
                   {"containerID": 1, "hostID": SUB_START, "size": SUB_COUNT}]),
        );
    }
}

#[test]
fn rootless_lifecycle_create_start_kill_delete() {
    let Some(mut t) = ctx!("rootless_lifecycle_create_start_kill_delete") else {
        return;
    };
    let Some(mut u) = Rootless::new(&t) else {
        return;
    };
    let (mut b, _) = rootless_bundle(&t, &u);
    b.args(&["sleep", "1000"]);
    let id = t.id("life");
    let pid = create_as_user(&t, &mut u, &b, &id);
    assert_eq!(
        host_uid(pid),
        Some(u.ids.uid),
        "the container init runs as the user on the host"
    );
    assert!(
        u.state_root().join(&id).exists(),
        "no state under `{}` (the default state root for the user)",
        u.state_root().display()
    );
    assert_eq!(state_as_user(&u, &id)["status"], "created");
    u.rt().args(["start", &id]).run().ok();
    assert_eq!(state_as_user(&u, &id)["status"], "running");
    u.rt().args(["kill", &id, "KILL"]).run().ok();
    let deadline = Instant::now() + Duration::from_secs(5);
    while state_as_user(&u, &id)["status"] != "stopped" {
        assert!(Instant::now() < deadline, "not stopped after kill");
        std::thread::sleep(Duration::from_millis(10));
    }
    u.rt().args(["delete", &id]).run().ok();
    u.assert_no_leftovers(&id);
}

#[test]
fn rootless_exec_joins_the_container_and_runs_as_mapped_ids() {
    let Some(mut t) = ctx!("rootless_exec_joins_the_container_and_runs_as_mapped_ids") else {
        return;
    };
    let Some(mut u) = Rootless::new(&t) else {
        return;
    };
    if !Path::new("/usr/bin/newuidmap").exists() {
        t.skip("newuidmap is missing (apt-get install uidmap)");
        return;
    }
    let (mut b, _) = rootless_bundle(&t, &u);
    map_subordinate_ids(&mut b, u.ids);
    b.args(&["sleep", "1000"]);
    let id = t.id("exec");
    let init = create_as_user(&t, &mut u, &b, &id);
    u.rt().args(["start", &id]).run().ok();
    let out = u
        .rt()
        .args([
            "exec",
            &id,
            "sh",
            "-c",
            "id -u; readlink /proc/self/ns/user",
        ])
        .timeout(Duration::from_secs(10))
        .run();
    out.ok();
    let user_ns = procfs::link(init, "ns/user").expect("init user ns");
    assert_eq!(
        out.stdout,
        format!("0\n{}\n", user_ns.display()),
        "{}",
        out.describe()
    );
    let pid_file = u.home_file("exec.pid");
    u.rt()
        .args(["exec", "-d", "--user", "1000:1000", "--pid-file"])
        .arg(&pid_file)
        .args([id.as_str(), "sleep", "1000"])
        .timeout(Duration::from_secs(10))
        .run()
        .ok();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("exec pid file")
        .trim()
        .parse()
        .expect("pid");
    u.pids.push(pid);
    assert_eq!(
        host_uid(pid),
        Some(SUB_START + 999),
        "uid 1000 of the container is subordinate uid {} on the host",
        SUB_START + 999
    );
    // Reap the exec'd process (we are its subreaper) so that the pid namespace can die.
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    let _ = procfs::reap(pid, Duration::from_secs(5));
    u.rt().args(["delete", "--force", &id]).run().ok();
    u.assert_no_leftovers(&id);
}

#[test]
fn rootless_multi_range_mapping_uses_subordinate_ids() {
    let Some(mut t) = ctx!("rootless_multi_range_mapping_uses_subordinate_ids") else {
        return;
    };
    let Some(mut u) = Rootless::new(&t) else {
        return;
    };
    if !Path::new("/usr/bin/newuidmap").exists() {
        t.skip("newuidmap is missing (apt-get install uidmap)");
        return;
    }
    let (mut b, data) = rootless_bundle(&t, &u);
    let (uid, gid) = (u.ids.uid, u.ids.gid);
    map_subordinate_ids(&mut b, u.ids);
    let caps = json!(["CAP_CHOWN", "CAP_SETUID", "CAP_SETGID"]);
    b.set(
        "/process/capabilities",
        json!({"bounding": caps, "effective": caps, "permitted": caps}),
    );
    b.sh(
        "cat /proc/self/uid_map; touch /data/by-root /data/by-1000 && chown 1000:1000 /data/by-1000",
    );
    let id = t.id("multi");
    let out = run_as_user(&mut u, &b, &id);
    out.ok();
    assert_eq!(
        map_lines(&out.stdout),
        [vec![0, uid, 1], vec![1, SUB_START, SUB_COUNT]],
        "{}",
        out.describe()
    );
    assert_eq!(owner(&data.join("by-root")), (uid, gid));
    assert_eq!(
        owner(&data.join("by-1000")),
        (SUB_START + 999, SUB_START + 999)
    );
    u.assert_no_leftovers(&id);
}

#[test]
fn rootless_mapping_outside_the_subordinate_ranges_is_refused() {
    let Some(mut t) = ctx!("rootless_mapping_outside_the_subordinate_ranges_is_refused") else {
        return;
    };
    let Some(mut u) = Rootless::new(&t) else {
        return;
    };
    let (mut b, _) = rootless_bundle(&t, &u);
    b.set(
        "/linux/uidMappings",
        json!([{"containerID": 0, "hostID": u.ids.uid, "size": 1},
               {"containerID": 1, "hostID": SUB_START + SUB_COUNT + 1000, "size": 10}]),
    );
    b.args(&["echo", "ran"]);
    let id = t.id("notsub");
    let out = run_as_user(&mut u, &b, &id);
    out.failed();
    assert!(!out.stdout.contains("ran"), "{}", out.describe());
    if t.checks_kapsel_only("a one-line error naming newuidmap") {
        assert_eq!(out.stderr_lines().len(), 1, "{}", out.describe());
        out.err_mentions("newuidmap");
    }
    u.assert_no_leftovers(&id);
}

#[test]
fn rootless_missing_id_map_helpers_are_a_clear_error() {
    let Some(mut t) = ctx!("rootless_missing_id_map_helpers_are_a_clear_error") else {
        return;
    };
    let Some(mut u) = Rootless::new(&t) else {
        return;
    };
    let (mut b, _) = rootless_bundle(&t, &u);
    b.set(
        "/linux/uidMappings",
        json!([{"containerID": 0, "hostID": u.ids.uid, "size": 1},
               {"containerID": 1, "hostID": SUB_START, "size": 10}]),
    );
    b.args(&["echo", "ran"]);
    b.write();
    let id = t.id("nohelper");
    u.track(&id);
    // A private mount namespace where an empty tmpfs hides /usr/bin (and /bin with it on a
    // merged-/usr system): newuidmap and newgidmap are gone for this command only.
    let out = u
        .rt_via(&[
            "/usr/bin/unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            "mount -t tmpfs tmpfs /usr/bin && exec \"$@\"",
            "sh",
        ])
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .timeout(Duration::from_secs(20))
        .run();
    out.failed();
    assert!(!out.stdout.contains("ran"), "{}", out.describe());
    if t.checks_kapsel_only("a one-line error naming the missing helper") {
        assert_eq!(out.stderr_lines().len(), 1, "{}", out.describe());
        out.err_mentions("newuidmap");
    }
    u.assert_no_leftovers(&id);
}

#[test]
fn rootless_network_namespace_has_only_lo() {
    let Some(mut t) = ctx!("rootless_network_namespace_has_only_lo") else {
        return;
    };
    let Some(mut u) = Rootless::new(&t) else {
        return;
    };
    let (mut b, _) = rootless_bundle(&t, &u);
    b.namespace("network", None);
    b.sh("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
    let id = t.id("net");
    let out = run_as_user(&mut u, &b, &id);
    out.ok();
    assert_eq!(out.stdout, "lo\n", "{}", out.describe());
    u.assert_no_leftovers(&id);
}

/// A cgroup subtree delegated to the test user in every mounted hierarchy (the dir and its
/// process files chowned, as a login manager does); removed when dropped.
struct Delegation {
    name: String,
    dirs: Vec<PathBuf>,
}

impl Delegation {
    fn new(ids: UserIds) -> Delegation {
        let name = format!("kapsel-it-deleg-{}", std::process::id());
        let mut dirs = Vec::new();
        let mounts = std::fs::read_dir("/sys/fs/cgroup").map(|d| d.filter_map(Result::ok));
        for mount in mounts.into_iter().flatten().map(|e| e.path()) {
            if !mount.join("cgroup.procs").exists() {
                continue;
            }
            let dir = mount.join(&name);
            std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir `{}`: {e}", dir.display()));
            dirs.push(dir.clone());
            // A new v1 cpuset starts with no cpus or mems.
            for file in ["cpuset.cpus", "cpuset.mems"] {
                if let Ok(value) = std::fs::read_to_string(mount.join(file)) {
                    let _ = std::fs::write(dir.join(file), value.trim());
                }
            }
            for file in ["", "cgroup.procs", "tasks", "cgroup.subtree_control"] {
                let path = dir.join(file);
                if path.exists() {
                    nix::unistd::chown(&path, Some(ids.uid.into()), Some(ids.gid.into()))
                        .unwrap_or_else(|e| panic!("chown `{}`: {e}", path.display()));
                }
            }
        }
        Delegation { name, dirs }
    }

    /// Sub-cgroups left inside the delegated dirs.
    fn children(&self) -> Vec<PathBuf> {
        self.dirs
            .iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flat_map(|d| d.filter_map(Result::ok).map(|e| e.path()))
            .filter(|p| p.is_dir())
            .collect()
    }
}

impl Drop for Delegation {
    fn drop(&mut self) {
        let mut children = self.children();
        children.sort_by_key(|p| std::cmp::Reverse(p.components().count()));
        for dir in children.iter().chain(self.dirs.iter()) {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[test]
fn rootless_uses_a_delegated_cgroup_subtree() {
    let Some(mut t) = ctx!("rootless_uses_a_delegated_cgroup_subtree") else {
        return;
    };
    // Declared before `u`, so dropped after it: the containers go before their cgroup dirs.
    let delegation: Delegation;
    let Some(mut u) = Rootless::new(&t) else {
        return;
    };
    let (mut b, _) = rootless_bundle(&t, &u);
    b.args(&["sleep", "1000"]);
    let id = t.id("deleg");
    delegation = Delegation::new(u.ids);
    let pids_dir = delegation
        .dirs
        .iter()
        .find(|d| d.parent().is_some_and(|p| p.ends_with("pids")))
        .cloned();
    let Some(pids_dir) = pids_dir else {
        t.skip("no cgroup v1 `pids` hierarchy to delegate");
        return;
    };
    b.set(
        "/linux/cgroupsPath",
        json!(format!("/{}/{id}", delegation.name)),
    );
    b.set("/linux/resources/pids/limit", json!(42));
    b.write();
    u.track(&id);
    let pid_file = u.home_file("deleg.pid");
    // As under a login manager, the user's runtime starts inside its delegated v2 subtree:
    // cgroup v2 lets it move processes only between cgroups below a common ancestor it may
    // write to.
    let unified = delegation
        .dirs
        .iter()
        .find(|d| d.parent().is_some_and(|p| p.ends_with("unified")))
        .map(|d| d.join("cgroup.procs"));
    let enter = unified.map_or_else(String::new, |procs| {
        format!("echo $$ > '{}' && ", procs.display())
    });
    let out = u
        .rt_via(&["/bin/sh", "-c", &format!("{enter}exec \"$@\""), "sh"])
        .args(["create", "--bundle"])
        .arg(&b.dir)
        .arg("--pid-file")
        .arg(&pid_file)
        .arg(&id)
        .stdout_to(&t.stdout_path(&id))
        .run();
    out.ok();
    let pid: i32 = std::fs::read_to_string(&pid_file)
        .expect("pid file")
        .trim()
        .parse()
        .expect("pid");
    u.pids.push(pid);
    assert!(
        !out.stderr.to_lowercase().contains("cgroups not used"),
        "cgroups skipped although a writable subtree is delegated: {}",
        out.describe()
    );
    let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
    let want = format!("/{}/{id}", delegation.name);
    assert!(
        cgroup
            .lines()
            .any(|l| l.contains(":pids:") && l.ends_with(&want)),
        "the container is not in `{want}` of the pids hierarchy:\n{cgroup}"
    );
    let limit = std::fs::read_to_string(pids_dir.join(&id).join("pids.max")).unwrap_or_default();
    assert_eq!(limit.trim(), "42", "pids limit of the delegated cgroup");
    u.rt().args(["delete", "--force", &id]).run().ok();
    u.assert_no_leftovers(&id);
    assert_eq!(
        delegation.children(),
        Vec::<PathBuf>::new(),
        "cgroups left inside the delegated subtree"
    );
}

// Defect: rootless `podman run --userns=keep-id` / `--uidmap` failed with `newuidmap: uid
// range [0-1001) -> [1-1002) not allowed`: the runtime, root of podman's user namespace,
// may write such maps itself (its ids 1.. are mapped), but kapsel only did so as root of
// the initial namespace and otherwise called newuidmap, which checks /etc/subuid against
// ids that are not host ids. runc writes the map directly when it can.
#[test]
fn rootless_maps_written_directly_inside_a_podman_like_user_namespace() {
    let Some(mut t) = ctx!("rootless_maps_written_directly_inside_a_podman_like_user_namespace")
    else {
        return;
    };
    let Some(mut u) = Rootless::new(&t) else {
        return;
    };
    if !Path::new("/usr/bin/newuidmap").exists() {
        t.skip("newuidmap is missing (apt-get install uidmap): unshare needs it for the outer namespace");
        return;
    }
    let (mut b, _) = rootless_bundle(&t, &u);
    for field in ["uidMappings", "gidMappings"] {
        b.set(
            &format!("/linux/{field}"),
            json!([{"containerID": 0, "hostID": 1, "size": 1000}]),
        );
    }
    // The user's /data dir (mode 700, owned by the user) is out of these ids' reach.
    if let Some(mounts) = b.config["mounts"].as_array_mut() {
        mounts.retain(|m| m["destination"] != "/data");
    }
    b.sh("cat /proc/self/uid_map /proc/self/gid_map; id -u");
    b.write();
    let id = t.id("keepid");
    u.track(&id);
    let out = u
        .rt_in_podman_like_userns()
        .args(["run", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .timeout(Duration::from_secs(20))
        .run();
    if !out.success()
        && !t.checks_kapsel_only("runc 1.1.5 fails to setns to its mount namespace there")
    {
        return;
    }
    out.ok();
    assert_eq!(
        map_lines(&out.stdout),
        [vec![0, 1, 1000], vec![0, 1, 1000]],
        "{}",
        out.describe()
    );
    assert_eq!(out.stdout.lines().last(), Some("0"), "{}", out.describe());
    u.assert_no_leftovers(&id);
}
