//! Argument conditions against a reference implementation, on 64-bit little- and
//! big-endian ABIs and on a 32-bit one, over values that stress both 32-bit halves.

use super::*;

const VALUES: [u64; 12] = [
    0,
    1,
    2,
    0x7fff_ffff,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0x2_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    0xffff_ffff_0000_0000,
    u64::MAX,
];

const OPS: [&str; 7] = [
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

fn holds(op: &str, arg: u64, value: u64, value_two: u64) -> bool {
    match op {
        "SCMP_CMP_NE" => arg != value,
        "SCMP_CMP_LT" => arg < value,
        "SCMP_CMP_LE" => arg <= value,
        "SCMP_CMP_EQ" => arg == value,
        "SCMP_CMP_GE" => arg >= value,
        "SCMP_CMP_GT" => arg > value,
        // libseccomp masks the expected value too.
        "SCMP_CMP_MASKED_EQ" => arg & value == value_two & value,
        _ => unreachable!(),
    }
}

/// Compiles one rule `op(args[index], value, value_two)` and checks it on every value.
fn check(arch: Arch, op: &str, index: usize, value: u64, value_two: u64, wide: bool) {
    let f = build(
        json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [arch.to_string()],
        "syscalls": [{"names": ["fchown"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42,
            "args": [{"index": index, "value": value, "valueTwo": value_two, "op": op}]}]}),
    );
    for arg in VALUES {
        let mut args = [0xdead_beef_dead_beef_u64; 6];
        args[index] = arg;
        // A 32-bit ABI has only the low half of each argument and value.
        let want = if wide {
            holds(op, arg, value, value_two)
        } else {
            holds(
                op,
                arg & 0xffff_ffff,
                value & 0xffff_ffff,
                value_two & 0xffff_ffff,
            )
        };
        let got = verdict(&f, arch, "fchown", args) == errno(42);
        assert_eq!(
            got, want,
            "{arch} {op} arg{index}={arg:#x} value={value:#x} two={value_two:#x}"
        );
    }
}

#[test]
fn every_operator_on_x86_64_little_endian() {
    for op in OPS {
        for value in VALUES {
            check(
                Arch::ScmpArchX86_64,
                op,
                1,
                value,
                value & 0x0000_ffff_0000_ffff,
                true,
            );
        }
    }
}

#[test]
#[cfg(feature = "foreign-arches")]
fn every_operator_on_s390x_big_endian() {
    for op in OPS {
        for value in VALUES {
            check(
                Arch::ScmpArchS390x,
                op,
                2,
                value,
                value & 0xffff_0000_ffff_0000,
                true,
            );
        }
    }
}

#[test]
fn every_operator_on_x86_32_bit() {
    for op in OPS {
        for value in [0, 1, 0x7fff_ffff, 0xffff_ffff] {
            check(Arch::ScmpArchX86, op, 0, value, value & 0xff, false);
        }
    }
}

/// x32 and MIPS n32 calls arrive with a 64-bit AUDIT_ARCH but 32-bit C arguments: only the
/// low halves count (libseccomp does the same), so `socket(0x1_0000_0028, ..)`, which the
/// kernel runs as `socket(AF_VSOCK, ..)`, meets a rule for 40 (found against libseccomp).
#[test]
fn every_operator_on_x32_and_mips_n32_compares_low_halves() {
    for arch in [Arch::ScmpArchX32, Arch::ScmpArchMipsel64n32] {
        for op in OPS {
            for value in VALUES {
                check(arch, op, 0, value, value & 0x0000_ffff_0000_ffff, false);
            }
        }
    }
}

#[test]
#[cfg(feature = "foreign-arches")]
fn every_argument_index() {
    for index in 0..6 {
        check(
            Arch::ScmpArchX86_64,
            "SCMP_CMP_EQ",
            index,
            0x1_0000_0001,
            0,
            true,
        );
        check(
            Arch::ScmpArchPpc64,
            "SCMP_CMP_GE",
            index,
            0x1_0000_0000,
            0,
            true,
        );
    }
}

/// Bits of valueTwo outside the mask are ignored, as libseccomp does (found against it:
/// kapsel never matched such a condition, libseccomp, so runc and crun, always compared
/// only the masked bits).
#[test]
fn masked_eq_ignores_value_bits_outside_the_mask() {
    for arch in [Arch::ScmpArchX86_64, Arch::ScmpArchX86] {
        let f = build(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": [arch.to_string()],
            "syscalls": [{"names": ["fchown"], "action": "SCMP_ACT_ERRNO", "errnoRet": 42,
                "args": [{"index": 0, "value": 0xff, "valueTwo": 0x1_0000_0107u64,
                          "op": "SCMP_CMP_MASKED_EQ"}]}]}),
        );
        let v = |a0| verdict(&f, arch, "fchown", [a0, 0, 0, 0, 0, 0]);
        assert_eq!(v(0x7), errno(42), "{arch}");
        assert_eq!(v(0xf07), errno(42), "{arch}");
        assert_eq!(v(0x8), ALLOW, "{arch}");
    }
    // A zero mask matches everything.
    check(
        Arch::ScmpArchX86_64,
        "SCMP_CMP_MASKED_EQ",
        0,
        0,
        0x1_0000_0100,
        true,
    );
}
