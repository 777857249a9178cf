//! The root filesystem and `mounts`, checked through the container's own
//! /proc/self/mountinfo: bind/rbind, ro, nosuid/nodev/noexec, atime, tmpfs data, propagation,
//! recursive options, creation of missing destinations, order, symlinks that try to escape the
//! rootfs, root.readonly and --no-pivot.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kapsel_integration::mountinfo;
use kapsel_integration::{ctx, Ctx};
use serde_json::{json, Value};

/// A host dir with one file, for bind sources.
fn source_dir(t: &Ctx, name: &str) -> PathBuf {
    let dir = t.work().join(name);
    std::fs::create_dir_all(&dir).expect("mkdir source");
    std::fs::write(dir.join("hello"), "hello from the host\n").expect("write source file");
    dir
}

/// A host dir with a tmpfs mounted at `sub` (detached by the test's clean-up).
fn source_with_submount(t: &Ctx, name: &str) -> PathBuf {
    let dir = source_dir(t, name);
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir sub");
    nix::mount::mount(
        Some("tmpfs"),
        &dir.join("sub"),
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .expect("mount tmpfs on the host source's sub dir");
    dir
}

fn bind(source: &Path, dest: &str, options: &[&str]) -> Value {
    json!({"destination": dest, "type": "bind", "source": source, "options": options})
}

fn tmpfs(dest: &str, options: &[&str]) -> Value {
    json!({"destination": dest, "type": "tmpfs", "source": "tmpfs", "options": options})
}

// spec: mounts.destination, mounts.source, mounts.options
#[test]
fn bind_ro_into_missing_destinations_dir_and_file() {
    let Some(mut t) = ctx!("bind_ro_into_missing_destinations_dir_and_file") else {
        return;
    };
    let src = source_dir(&t, "src");
    let mut b = t.bundle();
    b.push_mount(bind(&src, "/mnt/deep/bind", &["bind", "ro"]));
    b.push_mount(bind(&src.join("hello"), "/etc/bound.txt", &["bind", "ro"]));
    let (out, mounts) = mountinfo::after_script(
        &mut t,
        &mut b,
        "cat /mnt/deep/bind/hello /etc/bound.txt; touch /mnt/deep/bind/new 2>/dev/null || echo write-refused",
    );
    assert_eq!(
        out,
        "hello from the host\nhello from the host\nwrite-refused\n"
    );
    assert!(mountinfo::expect(&mounts, "/mnt/deep/bind").has("ro"));
    assert!(mountinfo::expect(&mounts, "/etc/bound.txt").has("ro"));
    assert!(!src.join("new").exists());
}

#[test]
fn rbind_carries_submounts_and_bind_does_not() {
    let Some(mut t) = ctx!("rbind_carries_submounts_and_bind_does_not") else {
        return;
    };
    let src = source_with_submount(&t, "src");
    let mut b = t.bundle();
    b.push_mount(bind(&src, "/plain", &["bind"]));
    b.push_mount(bind(&src, "/recursive", &["rbind"]));
    let (_, mounts) = mountinfo::after_script(&mut t, &mut b, "");
    mountinfo::expect(&mounts, "/plain");
    assert!(
        mountinfo::find(&mounts, "/plain/sub").is_none(),
        "bind must not carry submounts"
    );
    assert_eq!(mountinfo::expect(&mounts, "/recursive/sub").fstype, "tmpfs");
}

// spec: mounts.options
#[test]
fn nosuid_nodev_noexec_and_atime_options() {
    let Some(mut t) = ctx!("nosuid_nodev_noexec_and_atime_options") else {
        return;
    };
    let src = source_dir(&t, "src");
    let mut b = t.bundle();
    b.push_mount(tmpfs("/t1", &["nosuid", "nodev", "noexec", "noatime"]));
    b.push_mount(tmpfs("/t2", &["nodiratime", "exec", "suid"]));
    b.push_mount(tmpfs("/t3", &["strictatime"]));
    b.push_mount(bind(
        &src,
        "/b1",
        &["bind", "nosuid", "noexec", "nodev", "ro"],
    ));
    let (_, mounts) = mountinfo::after_script(&mut t, &mut b, "");
    let t1 = mountinfo::expect(&mounts, "/t1");
    for opt in ["nosuid", "nodev", "noexec", "noatime"] {
        assert!(t1.has(opt), "/t1 lacks {opt}: {t1:?}");
    }
    let t2 = mountinfo::expect(&mounts, "/t2");
    assert!(
        t2.has("nodiratime") && !t2.has("noexec") && !t2.has("nosuid"),
        "{t2:?}"
    );
    let t3 = mountinfo::expect(&mounts, "/t3");
    assert!(
        !t3.has("relatime") && !t3.has("noatime"),
        "strictatime: {t3:?}"
    );
    let b1 = mountinfo::expect(&mounts, "/b1");
    for opt in ["nosuid", "nodev", "noexec", "ro"] {
        assert!(b1.has(opt), "bind /b1 lacks {opt}: {b1:?}");
    }
}

// spec: mounts.type, mounts.options
#[test]
fn tmpfs_size_and_mode_data() {
    let Some(mut t) = ctx!("tmpfs_size_and_mode_data") else {
        return;
    };
    let mut b = t.bundle();
    b.push_mount(tmpfs("/sized", &["size=1m", "mode=1770"]));
    let (out, mounts) = mountinfo::after_script(&mut t, &mut b, "stat -c %a /sized");
    assert_eq!(out, "1770\n");
    let m = mountinfo::expect(&mounts, "/sized");
    assert_eq!(m.fstype, "tmpfs");
    assert!(
        m.has_super("size=1024k") && m.has_super("mode=1770"),
        "{m:?}"
    );
}

// spec: mounts.options
#[test]
fn propagation_flags() {
    let Some(mut t) = ctx!("propagation_flags") else {
        return;
    };
    let src = source_dir(&t, "src");
    let mut b = t.bundle();
    b.push_mount(bind(&src, "/shared", &["rbind", "rshared"]));
    b.push_mount(bind(&src, "/private", &["rbind", "rprivate"]));
    b.push_mount(bind(&src, "/unbindable", &["bind", "unbindable"]));
    let (_, mounts) = mountinfo::after_script(&mut t, &mut b, "");
    assert!(mountinfo::expect(&mounts, "/shared").has_optional("shared:"));
    assert!(mountinfo::expect(&mounts, "/private").optional.is_empty());
    assert!(mountinfo::expect(&mounts, "/unbindable").has_optional("unbindable"));
}

// spec: mounts.options
#[test]
fn recursive_options_reach_submounts() {
    let Some(mut t) = ctx!("recursive_options_reach_submounts") else {
        return;
    };
    let src = source_with_submount(&t, "src");
    let mut b = t.bundle();
    b.push_mount(bind(&src, "/rro", &["rbind", "rro"]));
    b.push_mount(bind(&src, "/ro", &["rbind", "ro"]));
    b.push_mount(bind(
        &src,
        "/rflags",
        &["rbind", "rnosuid", "rnodev", "rnoexec"],
    ));
    let (_, mounts) = mountinfo::after_script(&mut t, &mut b, "");
    assert!(mountinfo::expect(&mounts, "/rro").has("ro"));
    assert!(
        mountinfo::expect(&mounts, "/rro/sub").has("ro"),
        "rro must reach the submount"
    );
    assert!(mountinfo::expect(&mounts, "/ro").has("ro"));
    for point in ["/rflags", "/rflags/sub"] {
        let m = mountinfo::expect(&mounts, point);
        assert!(
            m.has("nosuid") && m.has("nodev") && m.has("noexec"),
            "{m:?}"
        );
    }
}

// req: cfg-mounts-order
// spec: mounts
#[test]
fn mounts_apply_in_order() {
    let Some(mut t) = ctx!("mounts_apply_in_order") else {
        return;
    };
    // Orders no sorting would give: the deeper mount first (the later one over it hides
    // it), and two binds on one destination (the later one is what the container sees).
    let (one, two) = (t.work().join("one"), t.work().join("two"));
    for (dir, text) in [(&one, "one"), (&two, "two")] {
        std::fs::create_dir_all(dir).expect("mkdir bind source");
        std::fs::write(dir.join("which"), text).expect("write bind source file");
    }
    let mut b = t.bundle();
    b.push_mount(tmpfs("/outer", &["size=2m"]));
    b.push_mount(tmpfs("/outer/inner", &["size=1m"]));
    b.push_mount(tmpfs("/stack/deep", &["size=1m"]));
    b.push_mount(tmpfs("/stack", &["size=2m"]));
    for dir in [&one, &two] {
        b.push_mount(
            json!({"destination": "/same", "type": "bind", "source": dir, "options": ["bind"]}),
        );
    }
    let (out, mounts) = mountinfo::after_script(
        &mut t,
        &mut b,
        "cat /same/which; echo; [ -e /stack/deep ] && echo deep-visible || echo deep-hidden",
    );
    assert_eq!(
        out, "two\ndeep-hidden\n",
        "the mounts listed last must be on top"
    );
    let pos = |point: &str, nth: usize| {
        mounts
            .iter()
            .enumerate()
            .filter(|(_, m)| m.mount_point == Path::new(point))
            .nth(nth)
            .map(|(i, _)| i)
            .unwrap_or_else(|| panic!("no mount {nth} at {point}: {mounts:#?}"))
    };
    assert!(pos("/outer", 0) < pos("/outer/inner", 0), "{mounts:#?}");
    assert!(pos("/stack/deep", 0) < pos("/stack", 0), "{mounts:#?}");
    assert!(pos("/same", 0) < pos("/same", 1), "{mounts:#?}");
}

#[test]
fn symlinks_in_the_rootfs_cannot_redirect_mounts_to_the_host() {
    let Some(mut t) = ctx!("symlinks_in_the_rootfs_cannot_redirect_mounts_to_the_host") else {
        return;
    };
    let host_target = t.work().join("host-target");
    std::fs::create_dir(&host_target).expect("mkdir host target");
    let b0 = t.bundle();
    let rootfs = b0.rootfs();
    let ups = "../".repeat(rootfs.components().count() + 2);
    let rel = host_target.strip_prefix("/").expect("absolute");
    // An absolute link with `..` and a relative one, both aiming at the host dir.
    std::os::unix::fs::symlink(
        format!("/{ups}{}", rel.display()),
        rootfs.join("abs-escape"),
    )
    .expect("symlink");
    std::os::unix::fs::symlink(format!("{ups}{}", rel.display()), rootfs.join("rel-escape"))
        .expect("symlink");
    let mut b = b0.clone();
    b.push_mount(tmpfs("/abs-escape/a", &["size=1m"]));
    b.push_mount(tmpfs("/rel-escape/r", &["size=1m"]));
    let (_, mounts) = mountinfo::after_script(&mut t, &mut b, "");
    let inside = Path::new("/").join(rel);
    assert_eq!(
        mountinfo::expect(&mounts, inside.join("a").to_str().expect("utf-8")).fstype,
        "tmpfs"
    );
    assert_eq!(
        mountinfo::expect(&mounts, inside.join("r").to_str().expect("utf-8")).fstype,
        "tmpfs"
    );
    let entries: Vec<_> = std::fs::read_dir(&host_target)
        .expect("read host target")
        .collect();
    assert!(
        entries.is_empty(),
        "the runtime wrote into the host dir: {entries:?}"
    );
    assert!(
        rootfs.join(rel).join("a").is_dir(),
        "the destination belongs inside the rootfs"
    );
}

// req: cfg-root-readonly
// spec: root.readonly
#[test]
fn readonly_root() {
    let Some(mut t) = ctx!("readonly_root") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/root/readonly", json!(true));
    let (out, mounts) = mountinfo::after_script(
        &mut t,
        &mut b,
        "touch /newfile 2>/dev/null && echo wrote || echo refused",
    );
    assert_eq!(out, "refused\n");
    assert!(mountinfo::expect(&mounts, "/").has("ro"));

    let mut b = t.bundle();
    b.set("/root/readonly", json!(false));
    let (out, mounts) = mountinfo::after_script(
        &mut t,
        &mut b,
        "touch /newfile 2>/dev/null && echo wrote || echo refused",
    );
    assert_eq!(out, "wrote\n");
    assert!(!mountinfo::expect(&mounts, "/").has("ro"));
    assert!(b.rootfs().join("newfile").exists());
}

// spec: root.path
#[test]
fn no_pivot_runs_in_the_rootfs() {
    let Some(mut t) = ctx!("no_pivot_runs_in_the_rootfs") else {
        return;
    };
    let mut b = t.bundle();
    b.sh("cat /etc/hostname; ls /bin/busybox; grep -c . /proc/self/mountinfo");
    let id = t.id("nopivot");
    let cmd = t.create_cmd(&b, &id, t.rt()).arg("--no-pivot").arg(&id);
    cmd.run().ok();
    t.track_pid_file(&id).expect("pid file");
    t.cmd(&["start", &id]).ok();
    t.wait_status(&id, "stopped", Duration::from_secs(5));
    let out = t.container_stdout(&id);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.get(..2),
        Some(&["kapsel-bundle", "/bin/busybox"][..]),
        "{out}"
    );
    t.cmd(&["delete", &id]).ok();
    t.assert_no_leftovers(&id, &b, None);
}

// spec: linux.rootfsPropagation
#[test]
fn rootfs_propagation_shared() {
    let Some(mut t) = ctx!("rootfs_propagation_shared") else {
        return;
    };
    if t.kapsel_only("1.1.5 leaves / without a shared peer group inside the container") {
        return;
    }
    let mut b = t.bundle();
    b.set("/linux/rootfsPropagation", json!("shared"));
    let (_, mounts) = mountinfo::after_script(&mut t, &mut b, "");
    assert!(
        mountinfo::expect(&mounts, "/").has_optional("shared:"),
        "{mounts:#?}"
    );
}
