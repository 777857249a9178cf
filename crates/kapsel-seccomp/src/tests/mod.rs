//! Unit tests: compiled programs run through the BPF interpreter in `interp`.

mod conditions;
mod default_profile;
mod structure;
mod validation;

use crate::arch::{self, Target};
use crate::interp::{run, Data};
use crate::{compile, Filter};
use oci_spec::runtime::{Arch, LinuxSeccomp};
use serde_json::json;

/// A config from JSON, through the same parser the runtime uses.
fn config(v: serde_json::Value) -> LinuxSeccomp {
    crate::parse(&v).unwrap_or_else(|e| panic!("test config does not parse: {e}"))
}

fn build(v: serde_json::Value) -> Filter {
    compile(&config(v)).unwrap_or_else(|e| panic!("test config does not compile: {e}"))
}

fn target(a: Arch) -> Target {
    arch::target(a, "test").expect("supported arch")
}

/// The action of `filter` for system call `name` of `a` with `args`.
fn verdict(filter: &Filter, a: Arch, name: &str, args: [u64; 6]) -> u32 {
    let t = target(a);
    let nr = t
        .abi
        .syscall_number(name)
        .unwrap_or_else(|| panic!("{name} unknown on {a}"));
    verdict_nr(filter, a, nr, args)
}

fn verdict_nr(filter: &Filter, a: Arch, nr: u32, args: [u64; 6]) -> u32 {
    let t = target(a);
    let data = Data {
        nr,
        arch: t.audit_arch,
        args,
        little_endian: t.little_endian(),
    };
    run(filter.instructions(), &data)
}

const ALLOW: u32 = crate::ret::ALLOW;
const fn errno(e: i32) -> u32 {
    crate::ret::ERRNO | e as u32
}

#[test]
fn json_helper_builds() {
    let f = build(json!({"defaultAction": "SCMP_ACT_ALLOW"}));
    assert_eq!(verdict(&f, Arch::ScmpArchX86_64, "read", [0; 6]), ALLOW);
}
