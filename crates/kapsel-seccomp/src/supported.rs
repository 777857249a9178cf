//! What this build of the compiler accepts, for a runtime's `features` output. Each
//! list is checked against `compile` by tests, so it names only what really compiles.

use crate::arch;
use crate::filter::flags;
use oci_spec::runtime::{
    Arch, LinuxSeccompAction as Action, LinuxSeccompFilterFlag as Flag, LinuxSeccompOperator as Op,
};

/// Every `SCMP_ACT_*` action `compile` encodes.
pub const ACTIONS: &[Action] = &[
    Action::ScmpActKill,
    Action::ScmpActKillProcess,
    Action::ScmpActKillThread,
    Action::ScmpActTrap,
    Action::ScmpActErrno,
    Action::ScmpActTrace,
    Action::ScmpActAllow,
    Action::ScmpActLog,
    Action::ScmpActNotify,
];

/// Every `SCMP_CMP_*` operator an argument condition may use.
pub const OPERATORS: &[Op] = &[
    Op::ScmpCmpNe,
    Op::ScmpCmpLt,
    Op::ScmpCmpLe,
    Op::ScmpCmpEq,
    Op::ScmpCmpGe,
    Op::ScmpCmpGt,
    Op::ScmpCmpMaskedEq,
];

/// Every filter flag the compiler understands (runtime-spec `flags`).
pub const KNOWN_FLAGS: &[Flag] = &[
    Flag::SeccompFilterFlagTsync,
    Flag::SeccompFilterFlagLog,
    Flag::SeccompFilterFlagSpecAllow,
    Flag::SeccompFilterFlagWaitKillableRecv,
];

/// Every architecture the runtime-spec names; `archs` keeps those with a syscall table.
const ALL_ARCHS: &[Arch] = &[
    Arch::ScmpArchX86,
    Arch::ScmpArchX86_64,
    Arch::ScmpArchX32,
    Arch::ScmpArchArm,
    Arch::ScmpArchAarch64,
    Arch::ScmpArchMips,
    Arch::ScmpArchMips64,
    Arch::ScmpArchMips64n32,
    Arch::ScmpArchMipsel,
    Arch::ScmpArchMipsel64,
    Arch::ScmpArchMipsel64n32,
    Arch::ScmpArchPpc,
    Arch::ScmpArchPpc64,
    Arch::ScmpArchPpc64le,
    Arch::ScmpArchS390,
    Arch::ScmpArchS390x,
    Arch::ScmpArchParisc,
    Arch::ScmpArchParisc64,
    Arch::ScmpArchRiscv64,
    Arch::ScmpArchLoongarch64,
    Arch::ScmpArchM68k,
    Arch::ScmpArchSh,
    Arch::ScmpArchSheb,
];

/// The architectures a filter may name: those kapsel has a syscall table for.
pub fn archs() -> Vec<Arch> {
    ALL_ARCHS
        .iter()
        .copied()
        .filter(|a| arch::target(*a, "").is_ok())
        .collect()
}

/// The SECCOMP_FILTER_FLAG_* bit of a runtime-spec flag.
fn bit(flag: Flag) -> u32 {
    match flag {
        Flag::SeccompFilterFlagTsync => flags::TSYNC,
        Flag::SeccompFilterFlagLog => flags::LOG,
        Flag::SeccompFilterFlagSpecAllow => flags::SPEC_ALLOW,
        Flag::SeccompFilterFlagWaitKillableRecv => flags::WAIT_KILLABLE_RECV,
    }
}

/// The known flags the running kernel accepts. WAIT_KILLABLE_RECV is only valid
/// together with NEW_LISTENER (seccomp(2)), so it is probed with it.
pub fn supported_flags() -> Vec<Flag> {
    KNOWN_FLAGS
        .iter()
        .copied()
        .filter(|f| {
            let b = bit(*f);
            let with = if b == flags::WAIT_KILLABLE_RECV {
                b | flags::NEW_LISTENER
            } else {
                b
            };
            kapsel_sys::seccomp::filter_flag_supported(with)
        })
        .collect()
}
