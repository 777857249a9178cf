//! Namespaces: created new, shared with the host when omitted, joined by path (another
//! container's or an `unshare` process's), and the time namespace's offsets.

use std::process::Command;
use std::time::{Duration, Instant};

use kapsel_integration::{ctx, procfs};
use serde_json::json;

const KINDS: [(&str, &str); 6] = [
    ("pid", "pid"),
    ("mount", "mnt"),
    ("uts", "uts"),
    ("ipc", "ipc"),
    ("network", "net"),
    ("cgroup", "cgroup"),
];

fn host_ns(link: &str) -> String {
    procfs::link(std::process::id() as i32, &format!("ns/{link}"))
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Shell that prints `<link> <target>` for each namespace link of the container's init.
fn print_ns_script() -> String {
    KINDS
        .iter()
        .map(|(_, link)| format!("echo {link} $(readlink /proc/self/ns/{link});"))
        .collect()
}

fn ns_of(output: &str, link: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{link} ")))
        .unwrap_or_default()
        .to_string()
}

// req: lnx-ns-new-when-no-path, lnx-ns-types
// spec: linux.namespaces
#[test]
fn every_namespace_is_new() {
    let Some(mut t) = ctx!("every_namespace_is_new") else {
        return;
    };
    let mut b = t.bundle();
    for (kind, _) in KINDS {
        b.namespace(kind, None);
    }
    let out = t.sh_output(&mut b, &print_ns_script());
    for (kind, link) in KINDS {
        let inside = ns_of(&out, link);
        assert!(inside.starts_with(link), "no {link} link inside:\n{out}");
        assert_ne!(inside, host_ns(link), "{kind} namespace is the host's");
    }
}

// req: lnx-ns-inherit-unlisted
// Each namespace type in turn is left out of the config (the mount namespace too: the
// requirement names no exception) and must be the host's, while the listed ones are new.
#[test]
fn each_omitted_namespace_type_is_the_hosts() {
    let Some(mut t) = ctx!("each_omitted_namespace_type_is_the_hosts") else {
        return;
    };
    for (omitted, omitted_link) in KINDS {
        let mut b = t.bundle();
        for (kind, _) in KINDS {
            b.namespace(kind, None);
        }
        b.remove_namespace(omitted);
        if !t.rt.is_kapsel {
            // runc 1.1 refuses masked and read-only paths without a mount namespace of
            // the container's own; kapsel masks them under the rootfs on the host.
            b.remove("/linux/maskedPaths");
            b.remove("/linux/readonlyPaths");
        }
        if omitted == "uts" {
            // A hostname needs a UTS namespace of its own (runc's rule too).
            b.remove("/hostname");
        }
        let out = t.sh_output(&mut b, &print_ns_script());
        for (_, link) in KINDS {
            let inside = ns_of(&out, link);
            if link == omitted_link {
                assert_eq!(
                    inside,
                    host_ns(link),
                    "{omitted} omitted, yet not the host's:\n{out}"
                );
            } else {
                assert_ne!(
                    inside,
                    host_ns(link),
                    "{link} listed, yet the host's ({omitted} omitted):\n{out}"
                );
            }
        }
    }
}

#[test]
fn omitted_namespaces_are_the_hosts() {
    let Some(mut t) = ctx!("omitted_namespaces_are_the_hosts") else {
        return;
    };
    let mut b = t.bundle();
    for kind in ["network", "ipc", "cgroup"] {
        b.remove_namespace(kind);
    }
    let out = t.sh_output(&mut b, &print_ns_script());
    for link in ["net", "ipc", "cgroup"] {
        assert_eq!(
            ns_of(&out, link),
            host_ns(link),
            "{link} should be shared:\n{out}"
        );
    }
    assert_ne!(ns_of(&out, "uts"), host_ns("uts"));
}

// req: lnx-ns-path-join
#[test]
fn joins_another_containers_uts_and_network_by_path() {
    let Some(mut t) = ctx!("joins_another_containers_uts_and_network_by_path") else {
        return;
    };
    let mut owner = t.bundle();
    owner.set("/hostname", json!("ns-owner"));
    owner.args(&["sleep", "1000"]);
    let owner_id = t.id("owner");
    t.create(&owner, &owner_id).ok();
    let pid = t.footprint(&owner_id).pid;

    let mut joiner = t.bundle();
    joiner.remove("/hostname");
    joiner.namespace("uts", Some(&format!("/proc/{pid}/ns/uts")));
    joiner.namespace("network", Some(&format!("/proc/{pid}/ns/net")));
    let out = t.sh_output(
        &mut joiner,
        "hostname; readlink /proc/self/ns/net; readlink /proc/self/ns/ipc",
    );
    let lines: Vec<&str> = out.lines().collect();
    let owner_net = procfs::link(pid, "ns/net").expect("owner netns");
    let owner_ipc = procfs::link(pid, "ns/ipc").expect("owner ipcns");
    assert_eq!(lines.first(), Some(&"ns-owner"), "{out}");
    assert_eq!(lines.get(1).copied(), owner_net.to_str(), "{out}");
    assert_ne!(
        lines.get(2).copied(),
        owner_ipc.to_str(),
        "ipc was not asked to be joined: {out}"
    );
    t.cmd(&["delete", "--force", &owner_id]).ok();
}

// req: lnx-ns-path-join
// spec: linux.namespaces
#[test]
fn joins_the_namespaces_of_an_unshare_process() {
    let Some(mut t) = ctx!("joins_the_namespaces_of_an_unshare_process") else {
        return;
    };
    let mut unshare = Command::new("unshare");
    unshare.args(["--ipc", "--net", "sleep", "1000"]);
    let pid = t.spawn_helper(unshare) as i32;
    let deadline = Instant::now() + Duration::from_secs(5);
    while procfs::link(pid, "ns/net").map(|l| l.to_string_lossy().into_owned())
        == Some(host_ns("net"))
    {
        assert!(
            Instant::now() < deadline,
            "unshare did not enter a new netns"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let mut b = t.bundle();
    b.namespace("ipc", Some(&format!("/proc/{pid}/ns/ipc")));
    b.namespace("network", Some(&format!("/proc/{pid}/ns/net")));
    let out = t.sh_output(
        &mut b,
        "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc",
    );
    let want = format!(
        "{}\n{}\n",
        procfs::link(pid, "ns/net").expect("net").display(),
        procfs::link(pid, "ns/ipc").expect("ipc").display()
    );
    assert_eq!(out, want);
}

// req: lnx-ns-path-join
// The types the other join tests leave out: mount, cgroup and time, each joined from an
// `unshare` process (the time namespace its children get).
#[test]
fn joins_mount_cgroup_and_time_namespaces_by_path() {
    let Some(mut t) = ctx!("joins_mount_cgroup_and_time_namespaces_by_path") else {
        return;
    };
    for (kind, flag, link, theirs) in [
        ("mount", "--mount", "mnt", "mnt"),
        ("cgroup", "--cgroup", "cgroup", "cgroup"),
        ("time", "--time", "time", "time_for_children"),
    ] {
        if kind == "time" {
            if !std::path::Path::new("/proc/self/ns/time").exists() {
                t.skip("the kernel has no time namespace");
                continue;
            }
            if !t.checks_kapsel_only("a time namespace joined (1.1.5 knows no time namespace)") {
                continue;
            }
        }
        let mut unshare = Command::new("unshare");
        unshare.args([flag, "sleep", "1000"]);
        let pid = t.spawn_helper(unshare) as i32;
        let target =
            || procfs::link(pid, &format!("ns/{theirs}")).map(|l| l.to_string_lossy().into_owned());
        let deadline = Instant::now() + Duration::from_secs(5);
        while target() == Some(host_ns(link)) || target().is_none() {
            assert!(Instant::now() < deadline, "unshare {flag} did not move");
            std::thread::sleep(Duration::from_millis(5));
        }
        let want = target().expect("the helper's namespace");
        let mut b = t.bundle();
        b.namespace(kind, Some(&format!("/proc/{pid}/ns/{theirs}")));
        let out = t.sh_output(&mut b, &format!("readlink /proc/self/ns/{link}"));
        assert_eq!(out.trim(), want, "{kind} joined by path");
    }
}

// spec: linux.timeOffsets
// req: lnx-ns-types
// spec: linux.timeOffsets
#[test]
fn time_namespace_applies_time_offsets() {
    let Some(mut t) = ctx!("time_namespace_applies_time_offsets") else {
        return;
    };
    if !std::path::Path::new("/proc/self/ns/time").exists() {
        t.skip("the kernel has no time namespace");
        return;
    }
    if t.kapsel_only("1.1 has no time namespace support") {
        return;
    }
    let mut b = t.bundle();
    b.namespace("time", None);
    b.set(
        "/linux/timeOffsets",
        json!({"monotonic": {"secs": 86400, "nanosecs": 0}, "boottime": {"secs": 172800, "nanosecs": 500}}),
    );
    let out = t.sh_output(
        &mut b,
        "cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime; readlink /proc/self/ns/time",
    );
    let offsets: Vec<Vec<&str>> = out
        .lines()
        .take(2)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(offsets.contains(&vec!["monotonic", "86400", "0"]), "{out}");
    assert!(
        offsets.contains(&vec!["boottime", "172800", "500"]),
        "{out}"
    );
    let uptime: u64 = out
        .lines()
        .nth(2)
        .and_then(|l| l.parse().ok())
        .expect("uptime");
    assert!(
        uptime >= 172800,
        "boottime offset not visible in /proc/uptime: {out}"
    );
    assert_ne!(
        out.lines().nth(3),
        Some(host_ns("time").as_str()),
        "time ns is the host's: {out}"
    );
}

// req: lnx-ns-path-join
#[test]
fn joins_another_containers_pid_namespace() {
    let Some(mut t) = ctx!("joins_another_containers_pid_namespace") else {
        return;
    };
    let mut owner = t.bundle();
    owner.args(&["sleep", "1000"]);
    let owner_id = t.id("pidowner");
    t.create_and_start(&owner, &owner_id);
    let pid = t.footprint(&owner_id).pid;

    let mut joiner = t.bundle();
    joiner.namespace("pid", Some(&format!("/proc/{pid}/ns/pid")));
    let out = t.sh_output(&mut joiner, "echo self=$$; readlink /proc/self/ns/pid; ps");
    let owner_pidns = procfs::link(pid, "ns/pid").expect("owner pidns");
    assert!(
        out.contains(&format!("\n{}\n", owner_pidns.display())),
        "{out}"
    );
    assert!(
        !out.contains("self=1\n"),
        "the joiner is not its namespace's init: {out}"
    );
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("1 ") && l.contains("sleep 1000")),
        "the owner's init is pid 1 in the joined namespace:\n{out}"
    );
    t.cmd(&["delete", "--force", &owner_id]).ok();
}

/// The host's mount table lines at or below `dir`.
fn mounts_under(dir: &std::path::Path) -> Vec<String> {
    kapsel_integration::mountinfo::read_self()
        .into_iter()
        .filter(|m| m.mount_point.starts_with(dir))
        .map(|m| m.mount_point.display().to_string())
        .collect()
}

/// The host's `/` line of mountinfo (its propagation must not change).
fn host_root_line() -> String {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.split(' ').nth(4) == Some("/"))
        .unwrap_or_default()
        .to_string()
}

// Defect: a config without a mount namespace was refused ("a mount namespace is
// required"); runc runs it and leaves the container's mounts on the host for good. kapsel
// runs it in the host's mount namespace (chroot, the host's `/` untouched), `exec` lands in
// the container's root, and `delete` detaches every mount the container made while a
// mount that was under the rootfs before create stays.
#[test]
fn without_a_mount_namespace_mounts_land_on_the_host_and_delete_detaches_them() {
    let Some(mut t) =
        ctx!("without_a_mount_namespace_mounts_land_on_the_host_and_delete_detaches_them")
    else {
        return;
    };
    let mut b = t.bundle();
    b.remove_namespace("mount");
    b.args(&["sleep", "1000"]);
    if !t.rt.is_kapsel {
        // runc 1.1 refuses masked and read-only paths without a mount namespace of
        // the container's own; kapsel masks them under the rootfs on the host.
        b.remove("/linux/maskedPaths");
        b.remove("/linux/readonlyPaths");
    }

    // The caller's own mount under the rootfs (an image's overlay, say): not ours.
    let rootfs = b.rootfs();
    let theirs = rootfs.join("mnt");
    std::fs::create_dir_all(&theirs).expect("mkdir mnt");
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "callers-tmpfs"])
        .arg(&theirs)
        .status()
        .expect("mount");
    assert!(status.success(), "mount tmpfs on {}", theirs.display());
    std::fs::write(theirs.join("marker"), "theirs").expect("marker");
    let root_before = host_root_line();
    let before = mounts_under(&rootfs);
    let id = t.id("nomnt");
    t.create(&b, &id).ok();
    t.cmd(&["start", &id]).ok();
    let during = mounts_under(&rootfs);
    assert!(
        during.len() > before.len(),
        "the container's mounts should be on the host: before {before:?}, during {during:?}"
    );
    assert_eq!(host_root_line(), root_before, "the host's / changed");
    let exec = t.cmd(&[
        "exec",
        &id,
        "sh",
        "-c",
        "test -f /bin/busybox && cat /mnt/marker",
    ]);
    if exec.success()
        || t.checks_kapsel_only("runc 1.1.5 execs in the host's root, not the container's")
    {
        exec.ok();
        assert_eq!(
            exec.stdout.trim(),
            "theirs",
            "exec is not in the container's root"
        );
    }
    t.cmd(&["kill", &id, "KILL"]).ok();
    t.wait_status(&id, "stopped", Duration::from_secs(5));
    let delete = t.cmd(&["delete", &id]);
    delete.ok();
    let after = mounts_under(&rootfs);
    let leaked = !t.checks_kapsel_only("runc leaves the container's mounts on the host");
    if !leaked {
        assert_eq!(after, before, "delete left mounts (or took the caller's)");
        assert_eq!(
            std::fs::read_to_string(theirs.join("marker")).unwrap_or_default(),
            "theirs",
            "the caller's mount under the rootfs is gone"
        );
    }
    for m in mounts_under(&rootfs).iter().rev() {
        let _ = Command::new("umount").args(["-l", m]).status();
    }
}

/// The pids in `cgroup.procs` of the cgroups `dirs` names, except zombies.
fn live_members(dirs: &kapsel_integration::cgroupfs::CgroupDirs) -> Vec<i32> {
    let mut pids: Vec<i32> = dirs
        .all()
        .iter()
        .flat_map(|d| {
            std::fs::read_to_string(d.join("cgroup.procs"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| l.parse().ok())
                .collect::<Vec<i32>>()
        })
        .filter(|p| procfs::state_char(*p).is_some_and(|c| c != 'Z'))
        .collect();
    pids.sort_unstable();
    pids.dedup();
    pids
}

// Defect: a stopped container that shares another's pid namespace (a pod's, `--pid
// container:X`) keeps the processes its init left; `kill --all ID 9` signalled nothing
// and `delete` retried for 20 s, then failed EBUSY on the cgroup. runc kills everything in
// the cgroup whenever it exists, and on delete when the pid namespace is not the
// container's own.
#[test]
fn leftovers_of_a_stopped_container_in_a_shared_pid_namespace_are_killed() {
    let Some(mut t) = ctx!("leftovers_of_a_stopped_container_in_a_shared_pid_namespace_are_killed")
    else {
        return;
    };
    let mut owner = t.bundle();
    owner.args(&["sleep", "1000"]);
    let owner_id = t.id("pidowner");
    t.create(&owner, &owner_id).ok();
    t.cmd(&["start", &owner_id]).ok();
    let owner_pid = t.footprint(&owner_id).pid;
    for with_kill_all in [true, false] {
        let mut b = t.bundle();
        b.namespace("pid", Some(&format!("/proc/{owner_pid}/ns/pid")));
        b.sh("sleep 1000 & sleep 1");
        let id = t.id("sharer");
        t.create(&b, &id).ok();
        let pid = t.footprint(&id).pid;
        let dirs = kapsel_integration::cgroupfs::CgroupDirs::of(pid);
        t.cmd(&["start", &id]).ok();
        t.wait_status(&id, "stopped", Duration::from_secs(10));
        // We are its subreaper: until we reap it, the owner's pid namespace cannot end.
        procfs::reap(pid, Duration::from_secs(5));
        let left = live_members(&dirs);
        assert!(
            !left.is_empty(),
            "the background sleep should outlive the init"
        );
        if with_kill_all {
            t.cmd(&["kill", "--all", &id, "9"]).ok();
            let deadline = Instant::now() + Duration::from_secs(5);
            while !live_members(&dirs).is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            assert_eq!(
                live_members(&dirs),
                Vec::<i32>::new(),
                "kill --all left processes"
            );
        }
        let started = Instant::now();
        t.cmd(&["delete", &id]).ok();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "delete took {:?} (it retried on a busy cgroup)",
            started.elapsed()
        );
        for p in left {
            assert!(
                procfs::state_char(p).is_none_or(|c| c == 'Z'),
                "process {p} of {id} survived delete"
            );
        }
        assert!(
            dirs.remaining().is_empty(),
            "cgroup left: {:?}",
            dirs.remaining()
        );
    }
    t.cmd(&["kill", &owner_id, "KILL"]).ok();
    t.wait_status(&owner_id, "stopped", Duration::from_secs(10));
    t.cmd(&["delete", &owner_id]).ok();
}

// Defect: `lo` stayed down in a new network namespace (flags 0x8); runc and crun bring it
// up (0x9), and podman --network none, pods without a network and `ctr run` rely on it.
#[test]
fn a_new_network_namespace_has_its_loopback_up() {
    let Some(mut t) = ctx!("a_new_network_namespace_has_its_loopback_up") else {
        return;
    };
    let mut b = t.bundle();
    b.namespace("network", None);
    // A listener and a client on 127.0.0.1 inside: only an up loopback carries it.
    let out = t.sh_output(
        &mut b,
        "cat /sys/class/net/lo/flags; nc -l -p 7777 -e echo over-lo & sleep 0.3; \
         nc -w 2 127.0.0.1 7777 </dev/null; wait",
    );
    let flags = out.lines().next().unwrap_or_default();
    let flags = u32::from_str_radix(flags.trim_start_matches("0x"), 16).unwrap_or(0);
    assert_eq!(flags & 1, 1, "lo is down: flags {flags:#x}\n{out}");
    assert!(
        out.contains("over-lo"),
        "nothing came over 127.0.0.1:\n{out}"
    );
}
