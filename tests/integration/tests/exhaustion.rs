//! Resource exhaustion: a state root on a full filesystem (ENOSPC), a runtime with few file
//! descriptors (EMFILE), no pids left in the runtime's cgroup (EAGAIN), a bundle on a
//! read-only filesystem (EROFS). Each gives one clear line naming the resource, and leaves
//! nothing behind.

use std::path::Path;

use kapsel_integration::cgroupfs::CgroupDirs;
use kapsel_integration::{ctx, Bundle, Ctx, Output};

fn mount_tmpfs(dir: &Path, options: &str) {
    std::fs::create_dir_all(dir).expect("mount point");
    nix::mount::mount(
        Some("tmpfs"),
        dir,
        Some("tmpfs"),
        nix::mount::MsFlags::empty(),
        Some(options),
    )
    .unwrap_or_else(|e| panic!("mount tmpfs on `{}`: {e}", dir.display()));
}

/// `create` with `--root root` instead of the test's own state root.
fn create_in(t: &mut Ctx, root: &Path, b: &Bundle, id: &str) -> Output {
    let cmd = t.rt.path.clone();
    t.create_cmd(
        b,
        id,
        kapsel_integration::command::Cmd::new(&cmd, t.work())
            .arg("--root")
            .arg(root),
    )
    .arg(id)
    .run()
}

#[test]
fn a_full_state_root_gives_enospc_and_leaves_nothing() {
    let Some(mut t) = ctx!("a_full_state_root_gives_enospc_and_leaves_nothing") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    // Out of blocks (the state file cannot be written), then out of inodes (no mkdir).
    for (tag, options, fill) in [
        ("blocks", "size=64k", true),
        ("inodes", "nr_inodes=2", false),
    ] {
        let root = t.work().join(format!("full-{tag}"));
        mount_tmpfs(&root, options);
        if fill {
            let junk = vec![b'x'; 128 << 10];
            let _ = std::fs::write(root.join("junk"), junk);
        } else {
            let _ = std::fs::create_dir(root.join("junk"));
        }
        let id = t.id(tag);
        let out = create_in(&mut t, &root, &b, &id);
        out.refused_naming(&[&id, "ENOSPC"]);
        assert!(!root.join(&id).exists(), "{tag}: the state dir is left");
        assert!(
            CgroupDirs::default_for(&id).remaining().is_empty(),
            "{tag}: cgroup left"
        );
        t.assert_no_leftovers(&id, &b, None);
        nix::mount::umount(&root).expect("umount");
    }
}

#[test]
fn few_file_descriptors_give_emfile_or_work() {
    let Some(mut t) = ctx!("few_file_descriptors_give_emfile_or_work") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let mut refused = 0;
    for limit in [6, 8, 10, 12, 14, 16, 20, 24] {
        let id = t.id(&format!("nofile{limit}"));
        let cmd = t.rt().shell_setup(&format!("ulimit -Sn {limit}"));
        let out = t.create_cmd(&b, &id, cmd).arg(&id).run();
        if out.success() {
            t.track_pid_file(&id);
            t.cmd(&["delete", "--force", &id]).ok();
        } else {
            out.refused_naming(&[&id, "EMFILE"]);
            refused += 1;
        }
        t.assert_no_leftovers(&id, &b, None);
    }
    assert!(
        refused > 0,
        "no limit was low enough to refuse: the test proves nothing"
    );
}

#[test]
fn no_pids_left_gives_eagain_and_leaves_nothing() {
    let Some(mut t) = ctx!("no_pids_left_gives_eagain_and_leaves_nothing") else {
        return;
    };
    let Some(pids) = CgroupDirs::of_self().v1("pids").map(Path::to_path_buf) else {
        t.skip("no v1 pids controller");
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    let id = t.id("nopids");
    // The runtime runs alone in a cgroup where it may not fork at all.
    let jail = pids.join(format!("kapsel-it-nopids-{}", std::process::id()));
    std::fs::create_dir(&jail).expect("pids cgroup");
    std::fs::write(jail.join("pids.max"), "1").expect("pids.max");
    let setup = format!("echo $$ > {}", jail.join("cgroup.procs").display());
    let cmd = t.rt().shell_setup(&setup);
    let out = t.create_cmd(&b, &id, cmd).arg(&id).run();
    let _ = std::fs::remove_dir(&jail);
    out.refused_naming(&[&id, "EAGAIN"]);
    t.assert_no_leftovers(&id, &b, None);
    assert!(!jail.exists(), "the pids cgroup still holds a process");
}

#[test]
fn a_bundle_on_a_read_only_filesystem_names_erofs() {
    let Some(mut t) = ctx!("a_bundle_on_a_read_only_filesystem_names_erofs") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["true"]);
    b.push_mount(
        serde_json::json!({"destination": "/not-there-yet", "type": "tmpfs", "source": "tmpfs"}),
    );
    b.write();
    let flags = nix::mount::MsFlags::MS_BIND | nix::mount::MsFlags::MS_REC;
    nix::mount::mount(Some(&b.dir), &b.dir, None::<&str>, flags, None::<&str>).expect("bind");
    let ro = nix::mount::MsFlags::MS_BIND
        | nix::mount::MsFlags::MS_REMOUNT
        | nix::mount::MsFlags::MS_RDONLY;
    nix::mount::mount(None::<&str>, &b.dir, None::<&str>, ro, None::<&str>).expect("remount ro");
    let id = t.id("robundle");
    let out = t
        .rt()
        .args(["create", "--bundle"])
        .arg(&b.dir)
        .arg(&id)
        .run();
    out.refused_naming(&[&id, "/not-there-yet", "EROFS"]);
    nix::mount::umount2(&b.dir, nix::mount::MntFlags::MNT_DETACH).expect("umount");
    t.assert_no_leftovers(&id, &b, None);
}
