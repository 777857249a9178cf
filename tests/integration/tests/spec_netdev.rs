//! linux.netDevices: a host interface (one end of a veth pair) moved into the container's
//! network namespace under its new name, seen from the host and from inside, and given back
//! to the host by `delete` or by a create that fails after moving it; bad entries refused.
//! Each test names its field on a `// spec: <field>` line.

use std::process::{Command, Stdio};

use kapsel_integration::{ctx, Ctx};
use serde_json::json;

/// A veth pair on the host, deleted when dropped (both ends go with either).
struct Veth {
    name: String,
    peer: String,
}

impl Veth {
    fn new(tag: &str) -> Option<Veth> {
        let name = format!("kt{}{tag}", std::process::id() % 100_000);
        let v = Veth {
            peer: format!("{name}p"),
            name,
        };
        let ok = Command::new("ip")
            .args([
                "link", "add", &v.name, "type", "veth", "peer", "name", &v.peer,
            ])
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(v)
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        for link in [&self.name, &self.peer] {
            let _ = Command::new("ip")
                .args(["link", "del", link])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// A veth pair for a netDevices test, or None after printing why the test is skipped.
fn veth_for(t: &Ctx, tag: &str) -> Option<Veth> {
    if t.kapsel_only("1.1 has no linux.netDevices") {
        return None;
    }
    let veth = Veth::new(tag);
    if veth.is_none() {
        t.skip("`ip link add ... type veth` failed (no veth support or no iproute2)");
    }
    veth
}

fn host_has(link: &str) -> bool {
    std::path::Path::new("/sys/class/net").join(link).exists()
}

// spec: linux.netDevices
#[test]
fn net_devices_move_in_renamed_and_back_on_delete() {
    let Some(mut t) = ctx!("net_devices_move_in_renamed_and_back_on_delete") else {
        return;
    };
    let Some(veth) = veth_for(&t, "a") else {
        return;
    };
    let mut b = t.bundle();
    b.args(&["sleep", "1000"]);
    b.set("/linux/netDevices", json!({ &veth.name: {"name": "ctr0"} }));
    let id = t.id("netdev");
    let pid = t.create_and_start(&b, &id);
    assert!(!host_has(&veth.name), "{} still on the host", veth.name);
    assert!(host_has(&veth.peer), "the peer stays on the host");
    let seen = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).expect("net/dev");
    assert!(seen.contains("ctr0:"), "{seen}");
    let inside = t.cmd(&["exec", &id, "cat", "/proc/net/dev"]);
    inside.ok();
    assert!(inside.stdout.contains("ctr0:"), "{}", inside.stdout);
    assert!(!inside.stdout.contains(&veth.name), "{}", inside.stdout);
    t.cmd(&["delete", "--force", &id]).ok();
    assert!(host_has(&veth.name), "{} was not given back", veth.name);
    t.assert_no_leftovers(&id, &b, None);
}

// spec: linux.netDevices
#[test]
fn net_devices_come_back_when_a_created_container_is_deleted() {
    let Some(mut t) = ctx!("net_devices_come_back_when_a_created_container_is_deleted") else {
        return;
    };
    let Some(veth) = veth_for(&t, "c") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/linux/netDevices", json!({ &veth.name: {} }));
    let id = t.id("netdev-created");
    t.create(&b, &id).ok();
    let pid = t.state_ok(&id)["pid"].as_i64().expect("pid");
    let seen = std::fs::read_to_string(format!("/proc/{pid}/net/dev")).expect("net/dev");
    assert!(
        seen.contains(&format!("{}:", veth.name)),
        "same name inside: {seen}"
    );
    assert!(!host_has(&veth.name));
    t.cmd(&["delete", &id]).ok();
    assert!(host_has(&veth.name), "{} was not given back", veth.name);
}

// spec: linux.netDevices
#[test]
fn net_devices_refused_when_missing_or_without_netns() {
    let Some(mut t) = ctx!("net_devices_refused_when_missing_or_without_netns") else {
        return;
    };
    if t.kapsel_only("1.1 has no linux.netDevices") {
        return;
    }
    let mut b = t.bundle();
    b.set("/linux/netDevices", json!({"kt-nosuch0": {}}));
    let id = t.id("netdev-bad");
    let out = t.create(&b, &id);
    out.create_refused(
        &id,
        &["linux.netDevices.kt-nosuch0", "no such host interface"],
    );
    t.assert_no_leftovers(&id, &b, None);
    b.set("/linux/netDevices", json!({"lo": {"name": "bad/name"}}));
    let out = t.create(&b, &id);
    out.create_refused(&id, &["linux.netDevices.lo.name", "not an interface name"]);
    b.set("/linux/netDevices", json!({"lo": {}}));
    b.remove_namespace("network");
    let out = t.create(&b, &id);
    out.create_refused(&id, &["linux.netDevices", "needs a network namespace"]);
}

// spec: linux.netDevices
#[test]
fn net_devices_come_back_when_create_fails_after_moving_them() {
    let Some(mut t) = ctx!("net_devices_come_back_when_create_fails_after_moving_them") else {
        return;
    };
    let Some(veth) = veth_for(&t, "f") else {
        return;
    };
    let mut b = t.bundle();
    b.set("/linux/netDevices", json!({ &veth.name: {"name": "ctr0"} }));
    b.write();
    let id = t.id("netdev-fail");
    // The pid file is written after the devices moved: its failure must undo the move.
    let out = t
        .rt()
        .args(["create", "--bundle"])
        .arg(&b.dir)
        .args(["--pid-file", "/nonexistent-kapsel-dir/pid", &id])
        .run();
    out.failed().err_mentions("pid file");
    assert!(host_has(&veth.name), "{} was not given back", veth.name);
    t.assert_no_leftovers(&id, &b, None);
}
