//! kapsel-seccomp's generated syscall tables against libseccomp's resolver, for every
//! name either knows and every architecture kapsel has a table for.

use seccomp_ref::ffi::{self, NR_SCMP_ERROR};
use seccomp_ref::runc;
use std::collections::BTreeSet;

/// What libseccomp says of `name` on an architecture: a number, absent there (a negative
/// pseudo number), or unknown altogether.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Lib {
    Nr(u32),
    Absent,
    Unknown,
}

fn lib(token: u32, name: &str) -> Lib {
    match ffi::resolve_name_arch(token, name) {
        NR_SCMP_ERROR => Lib::Unknown,
        n if n < 0 => Lib::Absent,
        n => Lib::Nr(n as u32),
    }
}

/// Every number libseccomp has a name for on `token`: the ranges every ABI uses (MIPS
/// adds 4000, 5000 or 6000, x32 the 0x40000000 bit, ARM has its private calls at 0xf0000).
fn lib_names(token: u32) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for base in [0, 4000, 5000, 6000, 0x4000_0000, 0xf_0000] {
        for nr in base..base + 1100 {
            if let Some(name) = ffi::resolve_num_arch(token, nr) {
                out.insert(name);
            }
        }
    }
    out
}

/// Calls added to Linux after the headers the tables come from, as the generator's list
/// names them: libseccomp releases older than the call do not know them.
fn later_calls() -> BTreeSet<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/kapsel-seccomp/tools/syscalls-after-6.1.txt"
    );
    std::fs::read_to_string(path)
        .expect("the generator's list of later calls")
        .lines()
        .filter_map(|l| l.split('#').next()?.split_whitespace().next())
        .map(String::from)
        .collect()
}

/// Why kapsel and libseccomp may disagree on `name`, or None when they must not.
fn explained(
    token: u32,
    name: &str,
    kapsel: Option<u32>,
    lib: Lib,
    later: &BTreeSet<String>,
) -> Option<&'static str> {
    match (kapsel, lib) {
        (Some(_), Lib::Unknown) if later.contains(name) => {
            Some("newer than this libseccomp release")
        }
        (Some(_), Lib::Absent)
            if (-299..=-100).contains(&ffi::resolve_name_arch(token, name))
                && ["socketcall", "ipc"]
                    .iter()
                    .any(|m| ffi::resolve_name_arch(token, m) >= 0) =>
        {
            Some("libseccomp filters it through socketcall/ipc; kapsel by its direct number")
        }
        // <asm/unistd.h> of ARM: #define __NR_sync_file_range2 __NR_arm_sync_file_range
        (Some(341), Lib::Absent)
            if name == "sync_file_range2" && token == ffi::arch_token("arm") =>
        {
            Some("an alias of arm_sync_file_range in ARM's headers")
        }
        _ => None,
    }
}

/// Every name either table knows, on every architecture kapsel has a table for: the same
/// number, or both without it, or a disagreement `explained` accounts for.
#[test]
fn tables_agree_with_libseccomp() {
    let later = later_calls();
    let mut unexplained = Vec::new();
    let mut reasons: std::collections::BTreeMap<&str, usize> = Default::default();
    let mut compared = 0;
    for oci in kapsel_seccomp::supported::archs() {
        let arch = runc::arch(oci).unwrap_or_else(|| panic!("libseccomp does not know {oci}"));
        let mut names: BTreeSet<String> =
            kapsel_seccomp::syscall_names().map(String::from).collect();
        names.extend(lib_names(arch.token));
        for name in &names {
            compared += 1;
            let k = kapsel_seccomp::syscall_number(oci, name);
            let l = lib(arch.token, name);
            let same = match (k, l) {
                (Some(k), Lib::Nr(l)) => k == l,
                (None, Lib::Absent | Lib::Unknown) => true,
                _ => false,
            };
            if same {
                continue;
            }
            match explained(arch.token, name, k, l, &later) {
                Some(why) => *reasons.entry(why).or_default() += 1,
                None => unexplained.push(format!("{oci} {name}: kapsel {k:?}, libseccomp {l:?}")),
            }
        }
    }
    println!("{compared} (architecture, name) pairs compared");
    for (why, n) in &reasons {
        println!("  {n} differ: {why}");
    }
    assert!(
        unexplained.is_empty(),
        "{} unexplained:\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
}
