//! Architectures of a filter: the kernel's AUDIT_ARCH_* value a system call arrives
//! with, the ABI that numbers its calls, and how its arguments are laid out.

use crate::tables::Abi;
use crate::Error;
use oci_spec::runtime::Arch;

/// `__AUDIT_ARCH_64BIT`: the arch passes 64-bit arguments.
const AUDIT_64BIT: u32 = 0x8000_0000;
/// `__AUDIT_ARCH_LE`: the arch is little-endian.
const AUDIT_LE: u32 = 0x4000_0000;
/// On x86_64, x32 calls arrive with AUDIT_ARCH_X86_64 and this bit set in the number.
pub const X32_SYSCALL_BIT: u32 = 0x4000_0000;

pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// One ABI of the filter and the AUDIT_ARCH value its calls carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub audit_arch: u32,
    pub abi: Abi,
}

impl Target {
    /// Whether `seccomp_data.args[i]` holds 64 meaningful bits. Not on x32 and MIPS n32:
    /// their calls arrive with a 64-bit AUDIT_ARCH, but their arguments are 32-bit C
    /// types, so a value with high bits set reaches the kernel as its low half (as
    /// libseccomp, which compares only the low halves there).
    pub fn wide_args(self) -> bool {
        self.audit_arch & AUDIT_64BIT != 0 && !matches!(self.abi, Abi::X32 | Abi::MipsN32)
    }

    pub fn little_endian(self) -> bool {
        self.audit_arch & AUDIT_LE != 0
    }
}

/// The target of an OCI architecture, or an error naming `field`.
pub fn target(arch: Arch, field: &str) -> Result<Target, Error> {
    let t = |audit_arch, abi: Abi| {
        if !abi.built_in() {
            return Err(Error::Unsupported {
                field: field.to_string(),
                reason: format!(
                    "architecture `{arch}`: its system call table is not built into this \
                     kapsel (feature `foreign-arches`, left out of the device profile)"
                ),
            });
        }
        Ok(Target { audit_arch, abi })
    };
    match arch {
        Arch::ScmpArchNative => native(field),
        Arch::ScmpArchX86_64 => t(AUDIT_ARCH_X86_64, Abi::X86_64),
        Arch::ScmpArchX32 => t(AUDIT_ARCH_X86_64, Abi::X32),
        Arch::ScmpArchX86 => t(0x4000_0003, Abi::X86),
        Arch::ScmpArchArm => t(0x4000_0028, Abi::Arm),
        Arch::ScmpArchAarch64 => t(0xc000_00b7, Abi::Aarch64),
        Arch::ScmpArchRiscv64 => t(0xc000_00f3, Abi::Riscv64),
        Arch::ScmpArchPpc => t(0x0000_0014, Abi::Ppc),
        Arch::ScmpArchPpc64 => t(0x8000_0015, Abi::Ppc64),
        Arch::ScmpArchPpc64le => t(0xc000_0015, Abi::Ppc64),
        Arch::ScmpArchS390 => t(0x0000_0016, Abi::S390),
        Arch::ScmpArchS390x => t(0x8000_0016, Abi::S390x),
        Arch::ScmpArchMips => t(0x0000_0008, Abi::MipsO32),
        Arch::ScmpArchMipsel => t(0x4000_0008, Abi::MipsO32),
        Arch::ScmpArchMips64 => t(0x8000_0008, Abi::MipsN64),
        Arch::ScmpArchMipsel64 => t(0xc000_0008, Abi::MipsN64),
        Arch::ScmpArchMips64n32 => t(0xa000_0008, Abi::MipsN32),
        Arch::ScmpArchMipsel64n32 => t(0xe000_0008, Abi::MipsN32),
        Arch::ScmpArchParisc
        | Arch::ScmpArchParisc64
        | Arch::ScmpArchLoongarch64
        | Arch::ScmpArchM68k
        | Arch::ScmpArchSh
        | Arch::ScmpArchSheb => Err(Error::Unsupported {
            field: field.to_string(),
            reason: format!("architecture `{}` has no syscall table in kapsel", arch),
        }),
    }
}

/// The OCI architecture this program was built for.
pub fn native_arch() -> Option<Arch> {
    Some(if cfg!(target_arch = "x86_64") {
        Arch::ScmpArchX86_64
    } else if cfg!(target_arch = "x86") {
        Arch::ScmpArchX86
    } else if cfg!(target_arch = "aarch64") {
        Arch::ScmpArchAarch64
    } else if cfg!(target_arch = "arm") {
        Arch::ScmpArchArm
    } else if cfg!(target_arch = "riscv64") {
        Arch::ScmpArchRiscv64
    } else if cfg!(all(target_arch = "powerpc64", target_endian = "little")) {
        Arch::ScmpArchPpc64le
    } else if cfg!(target_arch = "powerpc64") {
        Arch::ScmpArchPpc64
    } else if cfg!(target_arch = "s390x") {
        Arch::ScmpArchS390x
    } else if cfg!(all(target_arch = "mips64", target_endian = "little")) {
        Arch::ScmpArchMipsel64
    } else if cfg!(target_arch = "mips64") {
        Arch::ScmpArchMips64
    } else if cfg!(all(target_arch = "mips", target_endian = "little")) {
        Arch::ScmpArchMipsel
    } else if cfg!(target_arch = "mips") {
        Arch::ScmpArchMips
    } else {
        return None;
    })
}

fn native(field: &str) -> Result<Target, Error> {
    match native_arch() {
        Some(arch) => target(arch, field),
        None => Err(Error::Unsupported {
            field: field.to_string(),
            reason: "kapsel has no syscall table for the architecture it was built for".into(),
        }),
    }
}

#[cfg(all(test, not(feature = "foreign-arches")))]
mod absent_tables {
    use super::*;

    #[test]
    fn a_foreign_architecture_is_refused_with_one_line() {
        let foreign = if cfg!(target_arch = "riscv64") {
            Arch::ScmpArchS390x
        } else {
            Arch::ScmpArchRiscv64
        };
        let e = target(foreign, "linux.seccomp.architectures[0]").unwrap_err();
        assert!(
            e.to_string().ends_with(
                "its system call table is not built into this kapsel \
                 (feature `foreign-arches`, left out of the device profile)"
            ),
            "{e}"
        );
        assert!(target(Arch::ScmpArchNative, "f").is_ok());
    }
}
