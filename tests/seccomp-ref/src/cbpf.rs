//! A classic-BPF interpreter for seccomp programs: every instruction the kernel's
//! `seccomp_check_filter` admits, run on a `struct seccomp_data` of any architecture.
//! Written apart from kapsel-seccomp's own test interpreter, so that neither compiler is
//! judged by code that shares its assumptions.

/// `struct sock_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

impl From<kapsel_seccomp::SockFilter> for Insn {
    fn from(s: kapsel_seccomp::SockFilter) -> Insn {
        Insn {
            code: s.code,
            jt: s.jt,
            jf: s.jf,
            k: s.k,
        }
    }
}

/// What a filter sees of one system call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Data {
    pub nr: u32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
    /// The byte order of the machine the call comes from: 64-bit fields are stored in it.
    pub little_endian: bool,
}

/// `sizeof(struct seccomp_data)`.
const DATA_LEN: u32 = 64;
const BPF_MAXINSNS: usize = 4096;
const BPF_MEMWORDS: usize = 16;

impl Data {
    /// The 32-bit word at byte `off`, as BPF_LD|BPF_W|BPF_ABS reads it.
    fn word(&self, off: u32) -> Result<u32, String> {
        if !off.is_multiple_of(4) || off >= DATA_LEN {
            return Err(format!("load at offset {off} outside seccomp_data"));
        }
        let wide = |v: u64, second_half: bool| {
            if second_half == self.little_endian {
                (v >> 32) as u32
            } else {
                v as u32
            }
        };
        Ok(match off {
            0 => self.nr,
            4 => self.arch,
            8 | 12 => wide(self.instruction_pointer, off == 12),
            _ => wide(self.args[((off - 16) / 8) as usize], off % 8 == 4),
        })
    }
}

/// Runs `prog` on `data` and returns its SECCOMP_RET_* value, or why the kernel would
/// have refused the program (an unknown opcode, a jump out of it, running off its end).
pub fn run(prog: &[Insn], data: &Data) -> Result<u32, String> {
    if prog.is_empty() || prog.len() > BPF_MAXINSNS {
        return Err(format!("program length {}", prog.len()));
    }
    let (mut a, mut x) = (0u32, 0u32);
    let mut mem = [0u32; BPF_MEMWORDS];
    let mut pc = 0usize;
    loop {
        let insn = *prog
            .get(pc)
            .ok_or_else(|| format!("ran off the end at {pc}"))?;
        pc += 1;
        let k = insn.k;
        let class = insn.code & 0x07;
        let src_x = insn.code & 0x08 != 0;
        let operand = if src_x { x } else { k };
        let slot = |k: u32| -> Result<usize, String> {
            let i = k as usize;
            (i < BPF_MEMWORDS)
                .then_some(i)
                .ok_or_else(|| format!("scratch slot {k}"))
        };
        match class {
            // BPF_LD
            0x00 => match insn.code {
                0x20 => a = data.word(k)?, // W | ABS
                0x80 => a = DATA_LEN,      // W | LEN
                0x00 => a = k,             // W | IMM
                0x60 => a = mem[slot(k)?], // W | MEM
                other => return Err(format!("load opcode {other:#x} at {}", pc - 1)),
            },
            // BPF_LDX
            0x01 => match insn.code {
                0x81 => x = DATA_LEN,
                0x01 => x = k,
                0x61 => x = mem[slot(k)?],
                other => return Err(format!("ldx opcode {other:#x} at {}", pc - 1)),
            },
            0x02 => mem[slot(k)?] = a, // BPF_ST
            0x03 => mem[slot(k)?] = x, // BPF_STX
            // BPF_ALU
            0x04 => {
                a = match insn.code & 0xf0 {
                    0x00 => a.wrapping_add(operand),
                    0x10 => a.wrapping_sub(operand),
                    0x20 => a.wrapping_mul(operand),
                    0x30 if operand == 0 => return Ok(0), // division by zero ends the filter
                    0x30 => a / operand,
                    0x40 => a | operand,
                    0x50 => a & operand,
                    0x60 => a.checked_shl(operand).unwrap_or(0),
                    0x70 => a.checked_shr(operand).unwrap_or(0),
                    0x80 => a.wrapping_neg(),
                    0x90 if operand == 0 => return Ok(0),
                    0x90 => a % operand,
                    0xa0 => a ^ operand,
                    other => return Err(format!("alu opcode {other:#x} at {}", pc - 1)),
                }
            }
            // BPF_JMP
            0x05 => {
                let op = insn.code & 0xf0;
                if op == 0x00 {
                    pc += k as usize; // JA
                } else {
                    let taken = match op {
                        0x10 => a == operand,
                        0x20 => a > operand,
                        0x30 => a >= operand,
                        0x40 => a & operand != 0,
                        other => return Err(format!("jump opcode {other:#x} at {}", pc - 1)),
                    };
                    pc += if taken { insn.jt } else { insn.jf } as usize;
                }
                if pc >= prog.len() {
                    return Err(format!("jump past the end to {pc}"));
                }
            }
            // BPF_RET
            0x06 => {
                return match insn.code & 0x18 {
                    0x00 => Ok(k),
                    0x10 => Ok(a),
                    other => Err(format!("ret source {other:#x} at {}", pc - 1)),
                }
            }
            // BPF_MISC
            0x07 => match insn.code {
                0x07 => x = a, // TAX
                0x87 => a = x, // TXA
                other => return Err(format!("misc opcode {other:#x} at {}", pc - 1)),
            },
            _ => unreachable!("class is three bits"),
        }
    }
}
