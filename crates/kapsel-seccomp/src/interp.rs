//! Test-only: a classic-BPF interpreter for seccomp programs, to run a compiled filter
//! against any architecture's `seccomp_data` without loading it into a kernel.

use crate::bpf::{ALU_AND_K, JA, JEQ_K, JGE_K, JGT_K, LD_W_ABS, MAX_INSNS, RET_K};
use kapsel_sys::seccomp::SockFilter;

/// The fields of `struct seccomp_data` a filter can read.
#[derive(Clone, Copy, Debug)]
pub struct Data {
    pub nr: u32,
    pub arch: u32,
    pub args: [u64; 6],
    /// The byte order of the machine the arch runs on.
    pub little_endian: bool,
}

impl Data {
    fn word(&self, off: u32) -> u32 {
        assert!(
            off.is_multiple_of(4) && off < 64,
            "load at offset {off} outside seccomp_data"
        );
        match off {
            0 => self.nr,
            4 => self.arch,
            8 | 12 => 0x1234_5678,
            _ => {
                let arg = self.args[((off - 16) / 8) as usize];
                let first_half = (off - 16).is_multiple_of(8);
                if first_half == self.little_endian {
                    arg as u32
                } else {
                    (arg >> 32) as u32
                }
            }
        }
    }
}

/// Runs `prog` on `data` and returns its SECCOMP_RET_* value. Panics on anything the
/// kernel's checker would refuse: a jump out of the program, an unknown opcode, or
/// running off the end.
pub fn run(prog: &[SockFilter], data: &Data) -> u32 {
    assert!(
        !prog.is_empty() && prog.len() <= MAX_INSNS,
        "program length {}",
        prog.len()
    );
    let mut a: u32 = 0;
    let mut pc = 0usize;
    loop {
        let insn = prog
            .get(pc)
            .unwrap_or_else(|| panic!("ran off the end at {pc}"));
        pc += 1;
        let cond = |taken: bool| {
            if taken {
                insn.jt as usize
            } else {
                insn.jf as usize
            }
        };
        match insn.code {
            LD_W_ABS => a = data.word(insn.k),
            ALU_AND_K => a &= insn.k,
            RET_K => return insn.k,
            JA => pc += insn.k as usize,
            JEQ_K => pc += cond(a == insn.k),
            JGT_K => pc += cond(a > insn.k),
            JGE_K => pc += cond(a >= insn.k),
            other => panic!("unknown opcode {other:#x} at {}", pc - 1),
        }
        assert!(pc < prog.len(), "jump past the end to {pc}");
    }
}
