//! User namespaces run by root: multi-range `linux.uidMappings`/`gidMappings` written before
//! the process runs, the other namespaces owned by the new user namespace, file ownership
//! through the mapping, /sys, cgroup and device mounts that work inside it, joining one by
//! path, exec into it, and invalid mappings refused with nothing left behind.

use std::os::unix::fs::MetadataExt;
use std::process::Command;
use std::time::Duration;

use kapsel_integration::{ctx, procfs, Bundle, Ctx};
use serde_json::{json, Value};

/// Host ids: container uid 0..1000 -> 200000.., 1000..1100 -> 210000..; gids likewise from
/// 220000 and 230000. Nobody on the host uses these ranges.
const UID_MAPS: [(u32, u32, u32); 2] = [(0, 200_000, 1000), (1000, 210_000, 100)];
const GID_MAPS: [(u32, u32, u32); 2] = [(0, 220_000, 1000), (1000, 230_000, 100)];

/// How long one `exec` may take before the test fails.
const EXEC_TIMEOUT: Duration = Duration::from_secs(10);

fn mappings(ranges: &[(u32, u32, u32)]) -> Value {
    ranges
        .iter()
        .map(|(c, h, s)| json!({"containerID": c, "hostID": h, "size": s}))
        .collect()
}

/// A bundle with a new user namespace mapped by UID_MAPS/GID_MAPS; every other namespace
/// of the default config stays (and is then owned by the new user namespace).
fn userns_bundle(t: &Ctx) -> Bundle {
    let mut b = t.bundle();
    b.namespace("user", None);
    b.set("/linux/uidMappings", mappings(&UID_MAPS));
    b.set("/linux/gidMappings", mappings(&GID_MAPS));
    b
}

/// The lines of a uid_map/gid_map text as (inside, outside, count) triples.
fn map_lines(text: &str) -> Vec<(u32, u32, u32)> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<u32> = l
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            (f.len() == 3).then(|| (f[0], f[1], f[2]))
        })
        .collect()
}

/// A `Key:` line of /proc/<pid>/status, whitespace-normalised.
fn status_field(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(|v| v.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The text after `<tag>=` on a line of `out`, e.g. section(out, "uid_map").
fn section<'a>(out: &'a str, tag: &str) -> &'a str {
    out.split(&format!("=={tag}==\n"))
        .nth(1)
        .and_then(|rest| rest.split("==").next())
        .unwrap_or("")
}

// spec: linux.uidMappings, linux.gidMappings
#[test]
fn multi_range_mappings_are_written_before_the_process_runs() {
    let Some(mut t) = ctx!("multi_range_mappings_are_written_before_the_process_runs") else {
        return;
    };
    let mut b = userns_bundle(&t);
    let out = t.sh_output(
        &mut b,
        "echo ==uid_map==; cat /proc/self/uid_map; echo ==gid_map==; cat /proc/self/gid_map; \
         echo ==setgroups==; cat /proc/self/setgroups; echo ==status==; cat /proc/self/status; \
         echo ==end==",
    );
    assert_eq!(map_lines(section(&out, "uid_map")), UID_MAPS, "{out}");
    assert_eq!(map_lines(section(&out, "gid_map")), GID_MAPS, "{out}");
    assert_eq!(section(&out, "setgroups").trim(), "allow", "{out}");
    let status = section(&out, "status");
    assert_eq!(status_field(status, "Uid"), "0 0 0 0", "{out}");
    assert_eq!(status_field(status, "Gid"), "0 0 0 0", "{out}");
}

#[test]
fn the_process_runs_as_mapped_host_ids() {
    let Some(mut t) = ctx!("the_process_runs_as_mapped_host_ids") else {
        return;
    };
    let mut b = userns_bundle(&t);
    b.args(&["sleep", "1000"]);
    b.set(
        "/process/user",
        json!({"uid": 1005, "gid": 1007, "additionalGids": [1001, 3]}),
    );
    let id = t.id("ids");
    let pid = t.create_and_start(&b, &id);
    let host = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("init status");
    assert_eq!(status_field(&host, "Uid"), "210005 210005 210005 210005");
    assert_eq!(status_field(&host, "Gid"), "230007 230007 230007 230007");
    let mut groups: Vec<String> = status_field(&host, "Groups")
        .split(' ')
        .map(str::to_string)
        .collect();
    groups.sort();
    assert_eq!(
        groups,
        ["220003", "230001"],
        "supplementary groups on the host"
    );
    let uid_map = std::fs::read_to_string(format!("/proc/{pid}/uid_map")).expect("uid_map");
    assert_eq!(map_lines(&uid_map), UID_MAPS);
    let fp = t.footprint(&id);
    t.cmd(&["delete", "--force", &id]).ok();
    t.assert_no_leftovers(&id, &b, Some(&fp));
}

#[test]
fn files_created_inside_belong_to_mapped_host_ids() {
    let Some(mut t) = ctx!("files_created_inside_belong_to_mapped_host_ids") else {
        return;
    };
    let data = t.work().join("data");
    std::fs::create_dir(&data).expect("mkdir data");
    nix::unistd::chown(&data, Some(200_000.into()), Some(220_000.into())).expect("chown data");
    std::fs::write(data.join("from-host"), "x").expect("write host file");
    let mut b = userns_bundle(&t);
    // Root of the container may not create the mount point in the host-owned rootfs.
    std::fs::create_dir(b.rootfs().join("data")).expect("mkdir rootfs/data");
    let caps = json!(["CAP_CHOWN"]);
    b.set(
        "/process/capabilities",
        json!({"bounding": caps, "effective": caps, "permitted": caps}),
    );
    b.push_mount(json!({"destination": "/data", "type": "bind",
                        "source": data.to_str().unwrap(), "options": ["rbind", "rw"]}));
    let out = t.sh_output(
        &mut b,
        "touch /data/by-root && touch /data/by-1005 && chown 1005:1002 /data/by-1005 && \
         stat -c '%u:%g' /data/from-host",
    );
    // A host file owned by an unmapped id (0) shows as the overflow ids.
    assert_eq!(out, "65534:65534\n", "owner of the host's file inside");
    let owner = |name: &str| {
        let m = std::fs::metadata(data.join(name)).unwrap_or_else(|e| panic!("stat {name}: {e}"));
        (m.uid(), m.gid())
    };
    assert_eq!(owner("by-root"), (200_000, 220_000));
    assert_eq!(owner("by-1005"), (210_005, 230_002));
}

#[test]
fn namespaces_are_owned_by_the_new_user_namespace() {
    let Some(mut t) = ctx!("namespaces_are_owned_by_the_new_user_namespace") else {
        return;
    };
    let mut b = userns_bundle(&t);
    for kind in ["pid", "mount", "uts", "ipc", "network", "cgroup"] {
        b.namespace(kind, None);
    }
    let caps = json!(["CAP_SYS_ADMIN", "CAP_NET_ADMIN"]);
    b.set(
        "/process/capabilities",
        json!({"bounding": caps, "effective": caps, "permitted": caps}),
    );
    b.args(&["sleep", "1000"]);
    let id = t.id("owned");
    let pid = t.create_and_start(&b, &id);
    let user_ns = procfs::link(pid, "ns/user").expect("user ns link");
    let user_ino = user_ns
        .to_string_lossy()
        .trim_start_matches("user:[")
        .trim_end_matches(']')
        .to_string();
    // Root of the container (host uid 200000) may act on what its user namespace owns.
    let out = t
        .rt()
        .args([
            "exec",
            &id,
            "sh",
            "-c",
            "hostname kt-owned && hostname && mount -t tmpfs none /mnt && echo mounted && \
             ip link set lo up && echo lo-up",
        ])
        .timeout(EXEC_TIMEOUT)
        .run();
    out.ok();
    assert_eq!(
        out.stdout,
        "kt-owned\nmounted\nlo-up\n",
        "{}",
        out.describe()
    );
    let lsns = Command::new("lsns")
        .args(["-n", "-o", "TYPE,ONS", "-p", &pid.to_string()])
        .output();
    let Some(lsns) = lsns.ok().filter(|o| o.status.success()) else {
        t.skip("lsns (util-linux) cannot report owner namespaces here");
        return;
    };
    let text = String::from_utf8_lossy(&lsns.stdout);
    for kind in ["mnt", "uts", "ipc", "net", "pid", "cgroup"] {
        let owner = text
            .lines()
            .find_map(|l| l.strip_prefix(kind).map(str::trim))
            .unwrap_or_default();
        assert_eq!(
            owner, user_ino,
            "the container's {kind} namespace is not owned by its user namespace:\n{text}"
        );
    }
    t.cmd(&["delete", "--force", &id]).ok();
}

#[test]
fn sysfs_and_cgroup_mounts_work_in_a_user_namespace() {
    let Some(mut t) = ctx!("sysfs_and_cgroup_mounts_work_in_a_user_namespace") else {
        return;
    };
    let mut b = userns_bundle(&t);
    for kind in ["network", "cgroup"] {
        b.namespace(kind, None);
    }
    let has_cgroup_mount = b.config["mounts"]
        .as_array()
        .is_some_and(|m| m.iter().any(|m| m["destination"] == "/sys/fs/cgroup"));
    if !has_cgroup_mount {
        b.push_mount(json!({"destination": "/sys/fs/cgroup", "type": "cgroup",
                            "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "ro"]}));
    }
    let out = t.sh_output(
        &mut b,
        "ls /sys/class/net; echo ==; ls /sys/fs/cgroup | wc -l; grep -c ' /sys/fs/cgroup' /proc/self/mountinfo",
    );
    let (net, cgroup) = out.split_once("==\n").expect("separator");
    assert_eq!(net, "lo\n", "a new network namespace's sysfs shows only lo");
    let counts: Vec<u32> = cgroup
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert!(
        counts.len() == 2 && counts.iter().all(|c| *c > 0),
        "/sys/fs/cgroup is empty or not mounted inside:\n{out}"
    );
}

#[test]
fn devices_work_in_a_user_namespace() {
    let Some(mut t) = ctx!("devices_work_in_a_user_namespace") else {
        return;
    };
    // mknod is not allowed in a user namespace: the node comes from the host's, which must
    // exist; /dev/net/tun also needs its parent dir made.
    if !std::path::Path::new("/dev/net/tun").exists() {
        t.skip("the host has no /dev/net/tun");
        return;
    }
    let mut b = userns_bundle(&t);
    b.set(
        "/linux/devices",
        json!([{"path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200,
                "fileMode": 438, "uid": 0, "gid": 0}]),
    );
    let mut rules = b.config["linux"]["resources"]["devices"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    rules.push(json!({"allow": true, "type": "c", "major": 10, "minor": 200, "access": "rwm"}));
    b.set("/linux/resources/devices", Value::Array(rules));
    let out = t.sh_output(
        &mut b,
        "echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c && \
         exec 3<>/dev/net/tun && echo tun-opened && stat -c '%F %t:%T' /dev/net/tun /dev/null",
    );
    let lines: Vec<&str> = out.lines().map(str::trim).collect();
    assert_eq!(
        lines,
        [
            "4",
            "4",
            "tun-opened",
            "character special file a:c8",
            "character special file 1:3"
        ],
        "{out}"
    );
}

// req: lnx-ns-path-join
#[test]
fn joins_a_user_namespace_by_path() {
    let Some(mut t) = ctx!("joins_a_user_namespace_by_path") else {
        return;
    };
    let mut owner = userns_bundle(&t);
    owner.args(&["sleep", "1000"]);
    let owner_id = t.id("owner");
    let pid = t.create_and_start(&owner, &owner_id);
    let owner_user = procfs::link(pid, "ns/user").expect("owner user ns");
    let owner_net = procfs::link(pid, "ns/net").expect("owner net ns");

    let mut joiner = t.bundle();
    joiner.namespace("user", Some(&format!("/proc/{pid}/ns/user")));
    joiner.namespace("network", Some(&format!("/proc/{pid}/ns/net")));
    joiner.set("/hostname", json!("kt-joiner"));
    if !t.checks_kapsel_only("runc 1.1 wants the mappings repeated when joining by path") {
        joiner.set("/linux/uidMappings", mappings(&UID_MAPS));
        joiner.set("/linux/gidMappings", mappings(&GID_MAPS));
    }
    let out = t.sh_output(
        &mut joiner,
        "readlink /proc/self/ns/user; readlink /proc/self/ns/net; hostname; id -u; \
         cat /proc/self/uid_map",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.first().copied(), owner_user.to_str(), "{out}");
    assert_eq!(lines.get(1).copied(), owner_net.to_str(), "{out}");
    assert_eq!(lines.get(2..4), Some(&["kt-joiner", "0"][..]), "{out}");
    assert_eq!(map_lines(&lines[4.min(lines.len())..].join("\n")), UID_MAPS);
    t.cmd(&["delete", "--force", &owner_id]).ok();
}

#[test]
fn exec_joins_the_user_namespace_first() {
    let Some(mut t) = ctx!("exec_joins_the_user_namespace_first") else {
        return;
    };
    let mut b = userns_bundle(&t);
    b.args(&["sleep", "1000"]);
    let id = t.id("exec");
    let pid = t.create_and_start(&b, &id);
    let user_ns = procfs::link(pid, "ns/user").expect("user ns");
    let out = t
        .rt()
        .args([
            "exec",
            &id,
            "sh",
            "-c",
            "readlink /proc/self/ns/user; id -u; cat /proc/self/uid_map",
        ])
        .timeout(EXEC_TIMEOUT)
        .run();
    out.ok();
    let (first, rest) = out.stdout.split_once('\n').unwrap_or_default();
    assert_eq!(Some(first), user_ns.to_str(), "{}", out.describe());
    assert!(rest.starts_with("0\n"), "{}", out.describe());
    assert_eq!(map_lines(rest), UID_MAPS, "{}", out.describe());

    // In every cgroup of the container, the cgroup2 one too (it stayed in the hybrid
    // hierarchy's root: the intermediate took its own join for a birth in the directory).
    let init_cgroups = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("cgroup");
    let exec_pid = t.spawn_helper({
        let mut c = std::process::Command::new(&t.rt.path);
        c.arg("--root")
            .arg(t.root())
            .args(["exec", &id, "sleep", "1000"]);
        c
    });
    let deadline = std::time::Instant::now() + EXEC_TIMEOUT;
    let exec_cgroups = loop {
        // The helper is the runtime; the process it starts is its child.
        let child = std::fs::read_to_string(format!("/proc/{exec_pid}/task/{exec_pid}/children"))
            .unwrap_or_default();
        if let Some(c) = child.split_whitespace().next() {
            let text = std::fs::read_to_string(format!("/proc/{c}/cgroup")).unwrap_or_default();
            let cmd = std::fs::read(format!("/proc/{c}/cmdline")).unwrap_or_default();
            if cmd.starts_with(b"sleep") {
                break text;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the exec'd sleep never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        exec_cgroups, init_cgroups,
        "the exec'd process is not in the container's cgroups"
    );

    let out = t
        .rt()
        .args([
            "exec",
            "--user",
            "1005:1005",
            &id,
            "cat",
            "/proc/self/status",
        ])
        .timeout(EXEC_TIMEOUT)
        .run();
    out.ok();
    assert_eq!(status_field(&out.stdout, "Uid"), "1005 1005 1005 1005");

    // uid 5000 has no mapping: setuid fails, nothing runs.
    let out = t
        .rt()
        .args(["exec", "--user", "5000", &id, "echo", "ran"])
        .timeout(EXEC_TIMEOUT)
        .run();
    out.failed();
    assert!(!out.stdout.contains("ran"), "{}", out.describe());
    if t.checks_kapsel_only("a one-line error") {
        assert_eq!(out.stderr_lines().len(), 1, "{}", out.describe());
    }
    t.cmd(&["delete", "--force", &id]).ok();
}

/// Creates with the bundle as given; expects a failure naming `field` (kapsel) and nothing
/// left behind.
#[track_caller]
fn assert_refused(t: &mut Ctx, b: &Bundle, tag: &str, field: &str) {
    let id = t.id(tag);
    let out = t.create(b, &id);
    out.failed();
    if t.checks_kapsel_only(&format!("a one-line error naming `{field}`")) {
        assert_eq!(out.stderr_lines().len(), 1, "{}", out.describe());
        out.err_mentions(field);
    }
    t.assert_no_leftovers(&id, b, None);
}

// req: rt-errors-leave-nothing
#[test]
fn invalid_mappings_are_refused_and_leave_nothing() {
    let Some(mut t) = ctx!("invalid_mappings_are_refused_and_leave_nothing") else {
        return;
    };
    let mut b = userns_bundle(&t);
    b.set(
        "/linux/uidMappings",
        mappings(&[(0, 200_000, 1000), (500, 300_000, 10)]),
    );
    assert_refused(&mut t, &b, "overlap-inside", "linux.uidMappings");

    let mut b = userns_bundle(&t);
    b.set(
        "/linux/gidMappings",
        mappings(&[(0, 220_000, 1000), (2000, 220_500, 10)]),
    );
    assert_refused(&mut t, &b, "overlap-outside", "linux.gidMappings");

    let mut b = userns_bundle(&t);
    b.set("/linux/uidMappings", mappings(&[(0, 200_000, 0)]));
    assert_refused(&mut t, &b, "size0", "linux.uidMappings");

    let mut b = userns_bundle(&t);
    b.remove("/linux/gidMappings");
    assert_refused(&mut t, &b, "nogid", "gidMappings");

    if t.checks_kapsel_only("runc 1.1 ignores mappings without a user namespace") {
        let mut b = userns_bundle(&t);
        b.remove_namespace("user");
        assert_refused(&mut t, &b, "nouserns", "user");
    }
}
