//! The shipped default profile, checked call by call on each of its architectures.

use super::*;
#[cfg(feature = "foreign-arches")]
use crate::ret;

fn profile_filter() -> Filter {
    compile(&crate::default_profile()).expect("the default profile compiles")
}

fn allowed_names() -> Vec<String> {
    let p = crate::default_profile();
    p.syscalls().as_ref().unwrap()[0].names().clone()
}

#[test]
fn the_data_file_is_valid_oci_seccomp() {
    let raw: serde_json::Value =
        serde_json::from_str(include_str!("../../profiles/default.json")).unwrap();
    crate::parse(&raw).unwrap();
    assert!(allowed_names().len() > 300);
}

#[cfg(target_arch = "x86_64")]
#[test]
fn every_allowlisted_call_is_allowed_on_each_x86_abi() {
    let f = profile_filter();
    for a in [Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32] {
        let abi = target(a).abi;
        let mut known = 0;
        for name in allowed_names() {
            if abi.syscall_number(&name).is_some() {
                known += 1;
                assert_eq!(verdict(&f, a, &name, [0; 6]), ALLOW, "{name} on {a}");
            }
        }
        assert!(known > 250, "only {known} allowlisted calls known on {a}");
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn escapes_and_privileged_calls_are_refused() {
    let f = profile_filter();
    let eperm = errno(libc::EPERM);
    for a in [Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32] {
        for name in [
            "mount",
            "umount2",
            "unshare",
            "setns",
            "keyctl",
            "add_key",
            "request_key",
            "bpf",
            "perf_event_open",
            "init_module",
            "finit_module",
            "delete_module",
            "kexec_load",
            "reboot",
            "swapon",
            "pivot_root",
            "open_by_handle_at",
            "userfaultfd",
            "fsopen",
            "move_mount",
            "open_tree",
            "kcmp",
            "pidfd_getfd",
            "settimeofday",
            "clock_settime",
            "acct",
            "iopl",
            "ioperm",
            "syslog",
        ] {
            if target(a).abi.syscall_number(name).is_some() {
                assert_eq!(verdict(&f, a, name, [0; 6]), eperm, "{name} on {a}");
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
#[cfg(feature = "foreign-arches")]
fn conditional_rules_of_the_default_profile() {
    let f = profile_filter();
    let x = Arch::ScmpArchX86_64;
    let eperm = errno(libc::EPERM);
    let with = |a0: u64| [a0, 0, 0, 0, 0, 0];
    // clone: threads and plain forks yes, new namespaces no.
    let thread = (libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM
        | libc::CLONE_SETTLS
        | libc::CLONE_PARENT_SETTID
        | libc::CLONE_CHILD_CLEARTID) as u64;
    assert_eq!(verdict(&f, x, "clone", with(thread)), ALLOW);
    assert_eq!(verdict(&f, x, "clone", with(libc::SIGCHLD as u64)), ALLOW);
    for ns in [
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWNS,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWCGROUP,
    ] {
        assert_eq!(
            verdict(&f, x, "clone", with(ns as u64 | libc::SIGCHLD as u64)),
            eperm,
            "{ns:#x}"
        );
    }
    // clone3 passes flags in memory seccomp cannot see: ENOSYS makes libc use clone.
    assert_eq!(verdict(&f, x, "clone3", [0; 6]), errno(libc::ENOSYS));
    assert_eq!(verdict(&f, x, "socket", with(libc::AF_INET as u64)), ALLOW);
    assert_eq!(verdict(&f, x, "socket", with(libc::AF_VSOCK as u64)), eperm);
    for ok in [0, 8, 0x20000, 0x20008, 0xffff_ffff] {
        assert_eq!(verdict(&f, x, "personality", with(ok)), ALLOW, "{ok:#x}");
    }
    for no in [4, 0x0040_0000, 0x1_0000_0000, 0x1_ffff_ffff] {
        assert_eq!(verdict(&f, x, "personality", with(no)), eperm, "{no:#x}");
    }
    assert_eq!(verdict(&f, x, "ptrace", [0; 6]), ALLOW);
    assert_eq!(verdict(&f, x, "chroot", [0; 6]), ALLOW);
    assert_eq!(verdict(&f, x, "arch_prctl", [0; 6]), ALLOW);
    assert_eq!(
        verdict(&f, Arch::ScmpArchAarch64, "read", [0; 6]),
        ret::KILL_PROCESS
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
fn calls_newer_than_the_profile_get_enosys() {
    let f = profile_filter();
    let last = allowed_names()
        .iter()
        .filter_map(|n| target(Arch::ScmpArchX86_64).abi.syscall_number(n))
        .max()
        .unwrap();
    assert_eq!(
        verdict_nr(&f, Arch::ScmpArchX86_64, last + 1, [0; 6]),
        errno(libc::ENOSYS)
    );
    assert_eq!(
        verdict_nr(&f, Arch::ScmpArchX86_64, 1000, [0; 6]),
        errno(libc::ENOSYS)
    );
}

#[test]
fn compiling_the_default_profile_is_fast() {
    let profile = crate::default_profile();
    let runs = 200;
    let start = std::time::Instant::now();
    let mut len = 0;
    for _ in 0..runs {
        len = compile(&profile).unwrap().instructions().len();
    }
    let per = start.elapsed() / runs;
    println!(
        "compile default profile: {} us, {len} instructions",
        per.as_micros()
    );
    // Generous even for an unoptimised build on a loaded machine; release is ~10x faster.
    assert!(per < std::time::Duration::from_millis(20), "{per:?}");
}

#[test]
#[cfg(feature = "foreign-arches")]
fn every_name_of_the_profile_is_a_real_system_call() {
    // A misspelt name would be skipped silently, like an unknown one.
    let mut names = allowed_names();
    for rule in crate::default_profile().syscalls().as_ref().unwrap() {
        names.extend(rule.names().iter().cloned());
    }
    for a in [
        Arch::ScmpArchAarch64,
        Arch::ScmpArchPpc64le,
        Arch::ScmpArchS390x,
        Arch::ScmpArchRiscv64,
    ] {
        let extra = crate::profile::only_on(a).expect("arch-only calls");
        names.extend(extra.iter().map(|n| n.to_string()));
        let family = crate::profile::family(a);
        for n in extra {
            let known = family
                .iter()
                .any(|f| target(*f).abi.syscall_number(n).is_some());
            assert!(known, "{n} unknown on {a} and its companion architectures");
        }
    }
    for n in names {
        assert!(
            crate::tables::name_index(&n).is_some(),
            "`{n}` is no system call"
        );
    }
}
