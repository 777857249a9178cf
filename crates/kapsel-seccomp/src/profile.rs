//! The default profile: the allowlist that docker, podman and containerd apply to
//! every container, resolved for the default capability set (no CAP_SYS_ADMIN, so
//! clone may not create namespaces and clone3 answers ENOSYS for libc to fall back).
//! The data file is the x86_64 form; other build architectures get their own
//! architecture list and the few calls that only they have.

use crate::arch::native_arch;
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSyscall,
    LinuxSyscallBuilder,
};

const DEFAULT_JSON: &str = include_str!("../profiles/default.json");

/// The default profile, in `linux.seccomp` form, for the architecture kapsel was built for.
pub fn default_profile() -> LinuxSeccomp {
    let mut profile: LinuxSeccomp =
        serde_json::from_str(DEFAULT_JSON).expect("profiles/default.json is valid (unit-tested)");
    let Some(native) = native_arch() else {
        return profile;
    };
    if native == Arch::ScmpArchX86_64 {
        return profile;
    }
    profile.set_architectures(Some(family(native)));
    let mut syscalls = profile.syscalls().clone().unwrap_or_default();
    if let Some(names) = only_on(native) {
        syscalls.push(allow(names));
    }
    if matches!(native, Arch::ScmpArchS390x | Arch::ScmpArchS390) {
        // s390 passes clone's flags in the second argument.
        for rule in syscalls
            .iter_mut()
            .filter(|r| r.names() == &["clone".to_string()])
        {
            if let Some(args) = rule.args().clone() {
                let moved = args
                    .into_iter()
                    .map(|a| {
                        let mut b = LinuxSeccompArgBuilder::default()
                            .index(1usize)
                            .value(a.value())
                            .op(a.op());
                        if let Some(two) = a.value_two() {
                            b = b.value_two(two);
                        }
                        b.build().expect("every field of the argument is set")
                    })
                    .collect();
                rule.set_args(Some(moved));
            }
        }
    }
    profile.set_syscalls(Some(syscalls));
    profile
}

/// The architectures a host of `native` runs binaries of (docker's arch map).
pub(crate) fn family(native: Arch) -> Vec<Arch> {
    use Arch::*;
    match native {
        ScmpArchAarch64 => vec![ScmpArchAarch64, ScmpArchArm],
        ScmpArchMips64 => vec![ScmpArchMips64, ScmpArchMips, ScmpArchMips64n32],
        ScmpArchMipsel64 => vec![ScmpArchMipsel64, ScmpArchMipsel, ScmpArchMipsel64n32],
        ScmpArchS390x => vec![ScmpArchS390x, ScmpArchS390],
        other => vec![other],
    }
}

/// Calls the default profile allows only on some architectures.
pub(crate) fn only_on(native: Arch) -> Option<&'static [&'static str]> {
    use Arch::*;
    Some(match native {
        ScmpArchAarch64 | ScmpArchArm => &[
            "arm_fadvise64_64",
            "arm_sync_file_range",
            "sync_file_range2",
            "breakpoint",
            "cacheflush",
            "set_tls",
        ],
        ScmpArchPpc64le => &["sync_file_range2", "swapcontext"],
        ScmpArchS390x | ScmpArchS390 => &[
            "s390_pci_mmio_read",
            "s390_pci_mmio_write",
            "s390_runtime_instr",
        ],
        ScmpArchRiscv64 => &["riscv_flush_icache"],
        _ => return None,
    })
}

fn allow(names: &[&str]) -> LinuxSyscall {
    LinuxSyscallBuilder::default()
        .names(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
        .action(LinuxSeccompAction::ScmpActAllow)
        .build()
        .expect("a rule with names and an action is complete")
}
