//! Mount fields of runtime-spec 1.2 beyond the basics in mounts.rs: idmapped bind mounts
//! (`idmap`/`ridmap`, `uidMappings`/`gidMappings` on the entry or the container's own),
//! every `linux.rootfsPropagation` value, bind mounts of single files, and tmpfs
//! `mode=`/`uid=`/`gid=` data. Each test names its field on a `// spec: <field>` line.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use kapsel_integration::mountinfo;
use kapsel_integration::{ctx, Ctx};
use serde_json::{json, Value};

fn map(container: u32, host: u32, size: u32) -> Value {
    json!([{"containerID": container, "hostID": host, "size": size}])
}

/// A host dir holding `owned` (uid:gid 1234:1234) and `root-owned` (0:0).
fn owned_source(t: &Ctx, name: &str) -> PathBuf {
    let dir = t.work().join(name);
    std::fs::create_dir_all(&dir).expect("mkdir source");
    for (file, id) in [("owned", 1234), ("root-owned", 0)] {
        std::fs::write(dir.join(file), "x").expect("write source file");
        std::os::unix::fs::chown(dir.join(file), Some(id), Some(id)).expect("chown");
    }
    dir
}

fn idmapped_bind(src: &Path, dest: &str, options: &[&str]) -> Value {
    json!({"destination": dest, "type": "bind", "source": src, "options": options})
}

// spec: mounts.uidMappings
// spec: mounts.gidMappings
#[test]
fn idmap_with_mappings_on_the_mount() {
    let Some(mut t) = ctx!("idmap_with_mappings_on_the_mount") else {
        return;
    };
    if t.kapsel_only("1.1 has no idmapped mounts") {
        return;
    }
    let src = owned_source(&t, "src");
    let mut b = t.bundle();
    let mut m = idmapped_bind(&src, "/mapped", &["bind", "idmap"]);
    m["uidMappings"] = map(1234, 5000, 1);
    m["gidMappings"] = map(1234, 6000, 1);
    b.push_mount(m);
    b.push_mount(idmapped_bind(&src, "/plain", &["bind"]));
    let (out, mounts) = mountinfo::after_script(
        &mut t,
        &mut b,
        "stat -c %u:%g /mapped/owned /plain/owned /mapped/root-owned",
    );
    // Unmapped ids (0 here) show as the overflow id.
    assert_eq!(out, "5000:6000\n1234:1234\n65534:65534\n");
    assert!(
        mountinfo::expect(&mounts, "/mapped").has("idmapped"),
        "{mounts:#?}"
    );
    assert!(!mountinfo::expect(&mounts, "/plain").has("idmapped"));
    // The host's files keep their owners.
    let meta = std::fs::metadata(src.join("owned")).expect("stat source");
    assert_eq!((meta.uid(), meta.gid()), (1234, 1234));
}

// spec: mounts.options.idmap
#[test]
fn idmap_with_the_containers_user_namespace() {
    let Some(mut t) = ctx!("idmap_with_the_containers_user_namespace") else {
        return;
    };
    if t.kapsel_only("1.1 has no idmapped mounts") {
        return;
    }
    let src = owned_source(&t, "src");
    let mut b = t.bundle();
    // Existing destinations: the container's root may not create dirs in the rootfs.
    b.namespace("user", None);
    b.set("/linux/uidMappings", map(0, 300_000, 65536));
    b.set("/linux/gidMappings", map(0, 300_000, 65536));
    b.push_mount(idmapped_bind(&src, "/mnt", &["bind", "idmap"]));
    b.push_mount(idmapped_bind(&src, "/opt", &["bind"]));
    let out = t.sh_output(
        &mut b,
        "stat -c %u:%g /mnt/root-owned /mnt/owned /opt/root-owned; \
         touch /mnt/made-inside && echo made",
    );
    // Files the host's root owns are the container root's through the idmapped mount.
    assert_eq!(out, "0:0\n1234:1234\n65534:65534\nmade\n");
    let made = std::fs::metadata(src.join("made-inside")).expect("file made inside");
    assert_eq!(
        (made.uid(), made.gid()),
        (0, 0),
        "written as the host's root"
    );
}

// spec: mounts.options.idmap
#[test]
fn idmap_with_a_joined_user_namespace() {
    let Some(mut t) = ctx!("idmap_with_a_joined_user_namespace") else {
        return;
    };
    if t.kapsel_only("1.1 has no idmapped mounts") {
        return;
    }
    let src = owned_source(&t, "src");
    let mut holder = t.bundle();
    holder.namespace("user", None);
    holder.set("/linux/uidMappings", map(0, 310_000, 65536));
    holder.set("/linux/gidMappings", map(0, 310_000, 65536));
    holder.args(&["sleep", "1000"]);
    let holder_id = t.id("holder");
    let pid = t.create_and_start(&holder, &holder_id);
    let mut b = t.bundle();
    b.namespace("user", Some(&format!("/proc/{pid}/ns/user")));
    b.namespace("network", Some(&format!("/proc/{pid}/ns/net")));
    b.remove("/linux/uidMappings").remove("/linux/gidMappings");
    b.push_mount(idmapped_bind(&src, "/mnt", &["bind", "idmap"]));
    let out = t.sh_output(&mut b, "stat -c %u:%g /mnt/root-owned /mnt/owned");
    assert_eq!(
        out, "0:0\n1234:1234\n",
        "mapped through the joined namespace"
    );
    t.cmd(&["delete", "--force", &holder_id]).ok();
}

/// A host dir with a tmpfs at `sub` holding `inner` owned by 1234 (detached by clean-up).
fn source_with_submount(t: &Ctx, name: &str) -> PathBuf {
    let dir = owned_source(t, name);
    std::fs::create_dir_all(dir.join("sub")).expect("mkdir sub");
    nix::mount::mount(
        Some("tmpfs"),
        &dir.join("sub"),
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .expect("mount tmpfs on the source's sub dir");
    std::fs::write(dir.join("sub/inner"), "x").expect("write inner");
    std::os::unix::fs::chown(dir.join("sub/inner"), Some(1234), Some(1234)).expect("chown");
    dir
}

// spec: mounts.options.ridmap
#[test]
fn ridmap_reaches_submounts_and_idmap_does_not() {
    let Some(mut t) = ctx!("ridmap_reaches_submounts_and_idmap_does_not") else {
        return;
    };
    if t.kapsel_only("1.1 has no idmapped mounts") {
        return;
    }
    let src = source_with_submount(&t, "src");
    let mut b = t.bundle();
    for (dest, opt) in [("/r", "ridmap"), ("/n", "idmap")] {
        let mut m = idmapped_bind(&src, dest, &["rbind", opt]);
        m["uidMappings"] = map(1234, 7000, 1);
        m["gidMappings"] = map(1234, 7000, 1);
        b.push_mount(m);
    }
    let (out, mounts) = mountinfo::after_script(
        &mut t,
        &mut b,
        "stat -c %u /r/owned /r/sub/inner /n/owned /n/sub/inner",
    );
    assert_eq!(out, "7000\n7000\n7000\n1234\n");
    assert!(mountinfo::expect(&mounts, "/r/sub").has("idmapped"));
    assert!(!mountinfo::expect(&mounts, "/n/sub").has("idmapped"));
    nix::mount::umount2(&src.join("sub"), nix::mount::MntFlags::MNT_DETACH).expect("umount sub");
}

// spec: mounts.options.idmap
#[test]
fn idmap_refused_without_a_bind_or_mappings() {
    let Some(mut t) = ctx!("idmap_refused_without_a_bind_or_mappings") else {
        return;
    };
    if t.kapsel_only("checks kapsel's wording") {
        return;
    }
    let src = owned_source(&t, "src");
    let mut b = t.bundle();
    let i = b.push_mount(idmapped_bind(&src, "/m", &["bind", "idmap"]));
    let id = t.id("idmap-nomap");
    let out = t.create(&b, &id);
    out.failed()
        .err_mentions(&format!("mounts[{i}]"))
        .err_mentions("idmap needs uidMappings and gidMappings");
    t.assert_no_leftovers(&id, &b, None);
    let mut b = t.bundle();
    let mut m =
        json!({"destination": "/t", "type": "tmpfs", "source": "tmpfs", "options": ["idmap"]});
    m["uidMappings"] = map(0, 1000, 1);
    m["gidMappings"] = map(0, 1000, 1);
    let i = b.push_mount(m);
    let out = t.create(&b, &id);
    out.failed()
        .err_mentions(&format!("mounts[{i}]"))
        .err_mentions("must be a bind mount");
    t.assert_no_leftovers(&id, &b, None);
}

// spec: linux.rootfsPropagation
#[test]
fn rootfs_propagation_every_value() {
    let Some(mut t) = ctx!("rootfs_propagation_every_value") else {
        return;
    };
    if t.kapsel_only("1.1 leaves / without the asked propagation for some values") {
        return;
    }
    // (value, an optional field `/` must carry, one it must not)
    for (value, has, lacks) in [
        ("shared", Some("shared:"), None),
        ("rshared", Some("shared:"), None),
        ("private", None, Some("shared:")),
        ("rprivate", None, Some("shared:")),
        ("slave", None, Some("shared:")),
        ("rslave", None, Some("shared:")),
        ("unbindable", Some("unbindable"), Some("shared:")),
        ("runbindable", Some("unbindable"), Some("shared:")),
    ] {
        let mut b = t.bundle();
        b.set("/linux/rootfsPropagation", json!(value));
        let (_, mounts) = mountinfo::after_script(&mut t, &mut b, "");
        let root = mountinfo::expect(&mounts, "/");
        if let Some(opt) = has {
            assert!(root.has_optional(opt), "{value}: {root:?}");
        }
        if let Some(opt) = lacks {
            assert!(!root.has_optional(opt), "{value}: {root:?}");
        }
        if value.ends_with("private") {
            assert!(root.optional.is_empty(), "{value}: {root:?}");
        }
    }
    let mut b = t.bundle();
    b.set("/linux/rootfsPropagation", json!("sideways"));
    let id = t.id("prop-bad");
    t.create(&b, &id)
        .failed()
        .err_mentions("linux.rootfsPropagation")
        .err_mentions("sideways");
    t.assert_no_leftovers(&id, &b, None);
}

// spec: mounts.source
// spec: mounts.destination
#[test]
fn bind_mount_of_a_single_file() {
    let Some(mut t) = ctx!("bind_mount_of_a_single_file") else {
        return;
    };
    let src = t.work().join("single.conf");
    std::fs::write(&src, "from the host\n").expect("write source");
    let mut b = t.bundle();
    b.push_mount(
        json!({"destination": "/etc/deep/single.conf", "type": "bind",
        "source": src, "options": ["bind", "rw"]}),
    );
    let (out, mounts) = mountinfo::after_script(
        &mut t,
        &mut b,
        "cat /etc/deep/single.conf; echo written-inside > /etc/deep/single.conf; \
         [ -f /etc/deep/single.conf ] && echo is-a-file",
    );
    assert_eq!(out, "from the host\nis-a-file\n");
    mountinfo::expect(&mounts, "/etc/deep/single.conf");
    // The write went through the bind to the host's file.
    assert_eq!(
        std::fs::read_to_string(&src).expect("read source"),
        "written-inside\n"
    );
}

// spec: mounts.options
#[test]
fn tmpfs_mode_uid_gid_data() {
    let Some(mut t) = ctx!("tmpfs_mode_uid_gid_data") else {
        return;
    };
    let mut b = t.bundle();
    b.push_mount(
        json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
        "options": ["nosuid", "mode=1733", "uid=1234", "gid=4321", "size=2m"]}),
    );
    let (out, mounts) = mountinfo::after_script(&mut t, &mut b, "stat -c '%a %u %g' /scratch");
    assert_eq!(out, "1733 1234 4321\n");
    let m = mountinfo::expect(&mounts, "/scratch");
    for opt in ["mode=1733", "uid=1234", "gid=4321", "size=2048k"] {
        assert!(m.has_super(opt), "{opt}: {m:?}");
    }
    assert!(m.has("nosuid"), "{m:?}");
}
