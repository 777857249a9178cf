//! `features` cross-checked against what create accepts: every listed mount option,
//! seccomp action, operator, architecture and flag, namespace type and capability works in
//! a real container, and an unlisted one is refused. Also `checkpoint`/`restore`, which
//! show runc's flags and fail plainly.

use std::time::Duration;

use kapsel_integration::seccomp_agent::Agent;
use kapsel_integration::{ctx, Ctx};
use serde_json::{json, Value};

/// `features` parsed; panics unless it succeeds and is JSON.
fn features(t: &Ctx) -> Value {
    let out = t.cmd(&["features"]);
    out.ok();
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("features is not JSON ({e}): {}", out.describe()))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|s| {
            s.as_str()
                .unwrap_or_else(|| panic!("not a string: {s}"))
                .to_string()
        })
        .collect()
}

// spec: features
#[test]
fn features_document_names_this_build() {
    let Some(t) = ctx!("features_document_names_this_build") else {
        return;
    };
    if t.kapsel_only("lists its own build") {
        return;
    }
    let f = features(&t);
    assert_eq!(f["ociVersionMin"], "1.0.0");
    assert_eq!(f["ociVersionMax"], "1.2.0");
    assert_eq!(
        strings(&f["hooks"]),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    let last: usize = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .expect("read cap_last_cap")
        .trim()
        .parse()
        .expect("cap_last_cap is a number");
    let caps = strings(&f["linux"]["capabilities"]);
    assert_eq!(caps.len(), (last + 1).min(41), "{caps:?}");
    assert_eq!(f["linux"]["cgroup"]["systemd"], true);
    assert_eq!(f["linux"]["cgroup"]["systemdUser"], true);
    let apparmor = std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.starts_with('Y'));
    assert_eq!(f["linux"]["apparmor"]["enabled"], apparmor);
    assert_eq!(
        f["linux"]["selinux"]["enabled"],
        std::path::Path::new("/sys/fs/selinux/enforce").exists()
    );
}

// spec: mounts.options
#[test]
fn every_listed_mount_option_mounts() {
    let Some(mut t) = ctx!("every_listed_mount_option_mounts") else {
        return;
    };
    if t.kapsel_only("lists its own parser's options") {
        return;
    }
    let options = strings(&features(&t)["mountOptions"]);
    let src = t.work().join("bind-src");
    std::fs::create_dir_all(&src).expect("mkdir bind source");
    let mut b = t.bundle();
    for (i, opt) in options.iter().enumerate() {
        let dest = format!("/opt-{i}");
        let mount = match opt.as_str() {
            // A bind needs a source; remount changes a bind that was just made.
            "bind" | "rbind" => json!({"destination": dest, "type": "bind",
                "source": src, "options": [opt]}),
            "remount" => json!({"destination": dest, "type": "bind",
                "source": src, "options": ["bind", "remount", "ro"]}),
            // An idmapped mount is a bind with mappings (on the entry, or a user namespace).
            "idmap" | "ridmap" => json!({"destination": dest, "type": "bind",
                "source": src, "options": ["rbind", opt],
                "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
                "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]}),
            _ => json!({"destination": dest, "type": "tmpfs", "source": "tmpfs",
                "options": [opt]}),
        };
        b.push_mount(mount);
    }
    let out = t.sh_output(&mut b, "grep -c ' /opt-' /proc/self/mountinfo");
    assert_eq!(out.trim(), options.len().to_string(), "{options:?}");
    // An option that is not listed is not taken for a flag: tmpfs refuses it as data.
    let mut b = t.bundle();
    b.push_mount(
        json!({"destination": "/bad", "type": "tmpfs", "source": "tmpfs",
        "options": ["no-such-option"]}),
    );
    let id = t.id("badopt");
    t.run(&b, &id).failed().err_mentions("mounts[");
}

/// A seccomp profile naming every listed architecture and flag, with one rule per listed
/// action (on calls a shell never makes) and one condition per listed operator.
fn full_profile(seccomp: &Value, listener: &str) -> Value {
    let unused = [
        "acct",
        "swapon",
        "swapoff",
        "vhangup",
        "syslog",
        "quotactl",
        "pivot_root",
        "kexec_load",
        "init_module",
    ];
    let mut rules = Vec::new();
    for (i, action) in strings(&seccomp["actions"]).iter().enumerate() {
        let name = unused[i % unused.len()];
        let mut rule = json!({"names": [name], "action": action});
        // An errno only where the action returns one: for any other it is an error.
        if matches!(action.as_str(), "SCMP_ACT_ERRNO" | "SCMP_ACT_TRACE") {
            rule["errnoRet"] = json!(1);
        }
        rules.push(rule);
    }
    for (i, op) in strings(&seccomp["operators"]).iter().enumerate() {
        rules.push(json!({"names": ["personality"], "action": "SCMP_ACT_ERRNO",
            "args": [{"index": 0, "value": 0x1000 + i, "valueTwo": 0xffff, "op": op}]}));
    }
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": seccomp["archs"],
        "flags": seccomp["knownFlags"],
        "listenerPath": listener,
        "syscalls": rules,
    })
}

// spec: linux.seccomp
#[test]
fn every_listed_seccomp_action_operator_arch_and_flag_loads() {
    let Some(mut t) = ctx!("every_listed_seccomp_action_operator_arch_and_flag_loads") else {
        return;
    };
    if t.kapsel_only("lists its own compiler's tables") {
        return;
    }
    let f = features(&t);
    let seccomp = &f["linux"]["seccomp"];
    for flag in strings(&seccomp["supportedFlags"]) {
        assert!(
            strings(&seccomp["knownFlags"]).contains(&flag),
            "{flag} supported but not known"
        );
    }
    let agent = Agent::listen(1, Duration::from_millis(100));
    let profile = full_profile(seccomp, agent.path.to_str().expect("utf-8 path"));
    let mut b = t.bundle();
    b.set("/linux/seccomp", profile.clone());
    let out = t.sh_output(&mut b, "echo filtered");
    assert_eq!(out, "filtered\n");
    let handoffs = agent.finish();
    assert!(
        handoffs[0].fds.iter().any(|fd| fd.contains("seccomp")),
        "NOTIFY handed no notify fd: {handoffs:?}"
    );
    for (pointer, bad) in [
        ("/syscalls/0/action", "SCMP_ACT_NO_SUCH"),
        ("/syscalls/0/args/0/op", "SCMP_CMP_NO_SUCH"),
        ("/architectures/0", "SCMP_ARCH_NO_SUCH"),
    ] {
        let mut p = profile.clone();
        p["syscalls"][0]["args"] = json!([{"index": 0, "value": 1, "op": "SCMP_CMP_EQ"}]);
        *p.pointer_mut(pointer).expect("pointer into the profile") = json!(bad);
        let mut b = t.bundle();
        b.set("/linux/seccomp", p);
        let id = t.id("badsec");
        t.run(&b, &id).failed().err_mentions(bad);
    }
}

// spec: linux.namespaces
#[test]
fn every_listed_namespace_type_is_new_and_an_unlisted_one_refused() {
    let Some(mut t) = ctx!("every_listed_namespace_type_is_new_and_an_unlisted_one_refused") else {
        return;
    };
    if t.kapsel_only("lists the namespace types of this kernel") {
        return;
    }
    let kinds = strings(&features(&t)["linux"]["namespaces"]);
    let mut b = t.bundle();
    let mut script = String::new();
    for kind in &kinds {
        b.namespace(kind, None);
        let proc_name = match kind.as_str() {
            "mount" => "mnt",
            "network" => "net",
            k => k,
        };
        script.push_str(&format!(
            "echo {kind} $(readlink /proc/self/ns/{proc_name})\n"
        ));
    }
    if kinds.iter().any(|k| k == "user") {
        let map = json!([{"containerID": 0, "hostID": 0, "size": 65536}]);
        b.set("/linux/uidMappings", map.clone());
        b.set("/linux/gidMappings", map);
    }
    let out = t.sh_output(&mut b, &script);
    for line in out.lines() {
        let (kind, inside) = line.split_once(' ').expect("kind and link");
        let proc_name = inside.split(':').next().unwrap_or("");
        let host =
            std::fs::read_link(format!("/proc/self/ns/{proc_name}")).expect("host namespace link");
        assert_ne!(host.to_str(), Some(inside), "{kind} is the host's");
    }
    assert_eq!(out.lines().count(), kinds.len(), "{out}");
    let mut b = t.bundle();
    b.namespace("no-such-namespace", None);
    let id = t.id("badns");
    t.run(&b, &id).failed().err_mentions("no-such-namespace");
}

// spec: process.capabilities
#[test]
fn every_listed_capability_is_granted_and_an_unknown_one_skipped() {
    let Some(mut t) = ctx!("every_listed_capability_is_granted_and_an_unknown_one_skipped") else {
        return;
    };
    if t.kapsel_only("lists the capabilities of this kernel") {
        return;
    }
    // Listed is what the kernel knows; granted can only be what this runtime holds (the
    // machine may withhold some, e.g. CAP_SYS_RESOURCE, from root itself).
    let held = own_bounding_set();
    let caps: Vec<(usize, String)> = strings(&features(&t)["linux"]["capabilities"])
        .into_iter()
        .enumerate()
        .filter(|(n, _)| held & (1 << n) != 0)
        .collect();
    let names: Vec<&str> = caps.iter().map(|(_, c)| c.as_str()).collect();
    let mut b = t.bundle();
    for set in ["bounding", "effective", "permitted"] {
        b.set(&format!("/process/capabilities/{set}"), json!(names));
    }
    let out = t.sh_output(&mut b, "grep -E '^Cap(Bnd|Eff)' /proc/self/status");
    let want = format!("{:016x}", caps.iter().fold(0u64, |m, (n, _)| m | 1 << n));
    assert_eq!(out.lines().count(), 2, "{out}");
    for line in out.lines() {
        assert!(line.ends_with(&want), "{line}: want {want}");
    }
    // An unlisted name is not granted: warned about by name and skipped, as runc does.
    let mut b = t.bundle();
    b.sh("grep -E '^CapBnd' /proc/self/status");
    b.set("/process/capabilities/bounding", json!(["CAP_NO_SUCH"]));
    let id = t.id("badcap");
    let out = t.run(&b, &id);
    out.ok();
    assert!(out.stderr.contains("CAP_NO_SUCH"), "{}", out.describe());
    assert!(
        out.stdout.trim_end().ends_with("0000000000000000"),
        "{}",
        out.stdout
    );
}

/// CapBnd of this test process.
fn own_bounding_set() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let hex = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .expect("CapBnd line");
    u64::from_str_radix(hex.trim(), 16).expect("CapBnd is hex")
}

// spec: checkpoint
#[test]
fn checkpoint_and_restore_take_runc_flags_and_fail_plainly() {
    let Some(mut t) = ctx!("checkpoint_and_restore_take_runc_flags_and_fail_plainly") else {
        return;
    };
    if t.kapsel_only("checks kapsel's help text and error lines") {
        return;
    }
    let help = t.cmd(&["checkpoint", "--help"]);
    help.ok();
    for flag in [
        "--image-path",
        "--work-path",
        "--leave-running",
        "--tcp-established",
        "--pre-dump",
        "--lazy-pages",
        "--manage-cgroups-mode",
    ] {
        assert!(help.stdout.contains(flag), "no {flag} in:\n{}", help.stdout);
    }
    let mut b = t.bundle();
    b.sh("sleep 30");
    let id = t.id("ckpt");
    t.create_and_start(&b, &id);
    for verb in ["checkpoint", "restore"] {
        // An image directory that cannot be made or opened (below a missing parent).
        let out = t.cmd(&[verb, "--image-path", "/nonexistent/images", &id]);
        out.failed();
        assert_eq!(out.stderr_lines().len(), 1, "{}", out.describe());
        assert!(out.last_stderr_line().contains(&id), "{}", out.describe());
    }
    assert_eq!(t.state_ok(&id)["status"], "running");
    // podman's probe for restoring into a pod: a Go flag error would claim support.
    let probe = t.cmd(&["restore", "--lsm-mount-context"]);
    assert!(!probe.success());
    assert!(!probe.stderr.contains("flag needs an argument"));
}
