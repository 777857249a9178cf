//! System call numbers per ABI, generated from the kernel's UAPI headers by
//! `tools/gen_syscall_tables.py` (see that script for how to refresh them).

#[rustfmt::skip]
#[allow(clippy::all)]
#[cfg_attr(not(feature = "foreign-arches"), allow(dead_code))]
mod generated;

/// The table of an ABI, compiled in with feature `foreign-arches` (the default) or when
/// the build architecture runs that ABI (its own, or a compat ABI such as arm on
/// aarch64); otherwise empty, and the linker drops the table.
macro_rules! table {
    ($table:path, $($arch:literal),+) => {{
        #[cfg(any(feature = "foreign-arches", $(target_arch = $arch),+))]
        let t: &'static [u32] = &$table;
        #[cfg(not(any(feature = "foreign-arches", $(target_arch = $arch),+)))]
        let t: &'static [u32] = &[];
        t
    }};
}

/// One system call ABI: a numbering of the kernel's system calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Abi {
    X86_64,
    X86,
    X32,
    Arm,
    Aarch64,
    Riscv64,
    Ppc64,
    Ppc,
    S390x,
    S390,
    MipsO32,
    MipsN64,
    MipsN32,
}

impl Abi {
    fn numbers(self) -> &'static [u32] {
        match self {
            Abi::X86_64 => table!(generated::X86_64, "x86_64"),
            Abi::X86 => table!(generated::X86, "x86_64", "x86"),
            Abi::X32 => table!(generated::X32, "x86_64"),
            Abi::Arm => table!(generated::ARM, "aarch64", "arm"),
            Abi::Aarch64 => table!(generated::AARCH64, "aarch64"),
            Abi::Riscv64 => table!(generated::RISCV64, "riscv64"),
            Abi::Ppc64 => table!(generated::PPC64, "powerpc64"),
            Abi::Ppc => table!(generated::PPC, "powerpc64", "powerpc"),
            Abi::S390x => table!(generated::S390X, "s390x"),
            Abi::S390 => table!(generated::S390, "s390x"),
            Abi::MipsO32 => table!(generated::MIPS_O32, "mips64", "mips"),
            Abi::MipsN64 => table!(generated::MIPS_N64, "mips64"),
            Abi::MipsN32 => table!(generated::MIPS_N32, "mips64"),
        }
    }

    /// Whether this build carries the ABI's system call table (see `table!`).
    pub fn built_in(self) -> bool {
        !self.numbers().is_empty()
    }

    /// The number of system call `name` in this ABI, or None when the ABI lacks it.
    pub fn syscall_number(self, name: &str) -> Option<u32> {
        let index = name_index(name)?;
        let nr = *self.numbers().get(index)?;
        (nr != generated::NONE).then_some(nr)
    }
}

/// Where `name` sits in the shared name list, shared by all ABIs so that one lookup
/// serves every architecture of a filter. A hash probe, not a binary search: a
/// profile looks up hundreds of names on every `create`.
pub fn name_index(name: &str) -> Option<usize> {
    let mask = generated::SLOTS.len() - 1;
    let mut slot = fnv1a(name) as usize & mask;
    loop {
        match generated::SLOTS[slot] {
            0 => return None,
            i if generated::NAMES[i as usize - 1] == name => return Some(i as usize - 1),
            _ => slot = (slot + 1) & mask,
        }
    }
}

/// 32-bit FNV-1a, the hash the generator used to fill `SLOTS`.
fn fnv1a(name: &str) -> u32 {
    name.bytes()
        .fold(0x811c_9dc5, |h, b| (h ^ b as u32).wrapping_mul(0x0100_0193))
}

/// Every name of the tables, sorted.
pub fn names() -> impl Iterator<Item = &'static str> {
    generated::NAMES.iter().copied()
}

/// The number of `NAMES[index]` in `abi`.
pub fn number_at(abi: Abi, index: usize) -> Option<u32> {
    let nr = *abi.numbers().get(index)?;
    (nr != generated::NONE).then_some(nr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_match_the_running_libc() {
        #[cfg(target_arch = "x86_64")]
        let abi = Abi::X86_64;
        #[cfg(target_arch = "aarch64")]
        let abi = Abi::Aarch64;
        #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
        {
            assert_eq!(abi.syscall_number("openat"), Some(libc::SYS_openat as u32));
            assert_eq!(
                abi.syscall_number("mkdirat"),
                Some(libc::SYS_mkdirat as u32)
            );
            assert_eq!(abi.syscall_number("clone3"), Some(libc::SYS_clone3 as u32));
            assert_eq!(
                abi.syscall_number("seccomp"),
                Some(libc::SYS_seccomp as u32)
            );
            assert_eq!(abi.syscall_number("mseal"), Some(462));
        }
    }

    #[test]
    fn every_name_is_found_by_the_hash_index() {
        for (i, name) in generated::NAMES.iter().enumerate() {
            assert_eq!(name_index(name), Some(i), "{name}");
        }
        for absent in ["", "mkdir2", "READ", "read ", "x"] {
            assert_eq!(name_index(absent), None, "{absent:?}");
        }
    }

    #[test]
    #[cfg(feature = "foreign-arches")]
    fn abis_differ_where_the_kernel_does() {
        assert_eq!(Abi::X86_64.syscall_number("mkdir"), Some(83));
        assert_eq!(Abi::X86.syscall_number("mkdir"), Some(39));
        assert_eq!(Abi::X32.syscall_number("mkdir"), Some(0x4000_0000 + 83));
        assert_eq!(Abi::Aarch64.syscall_number("mkdir"), None);
        assert_eq!(Abi::Aarch64.syscall_number("mkdirat"), Some(34));
        assert_eq!(Abi::MipsO32.syscall_number("read"), Some(4003));
        assert_eq!(Abi::MipsN64.syscall_number("read"), Some(5000));
        assert_eq!(Abi::Arm.syscall_number("set_tls"), Some(0x0f_0005));
        assert_eq!(Abi::Riscv64.syscall_number("riscv_flush_icache"), Some(259));
        assert_eq!(Abi::X86_64.syscall_number("no_such_call"), None);
    }
}
