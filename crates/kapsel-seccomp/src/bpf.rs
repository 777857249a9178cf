//! A classic-BPF assembler with labels: code is written forward with symbolic jump
//! targets (forward only, as BPF requires), and `finish` lays it out, turning any conditional jump that lands more
//! than 255 instructions away into a short jump to an unconditional `ja` trampoline.

use crate::Error;
use kapsel_sys::seccomp::SockFilter;

/// The kernel refuses longer programs (BPF_MAXINSNS).
pub const MAX_INSNS: usize = 4096;

pub const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
pub const ALU_AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
pub const JA: u16 = 0x05; // BPF_JMP | BPF_JA
pub const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
pub const JGT_K: u16 = 0x25; // BPF_JMP | BPF_JGT | BPF_K
pub const JGE_K: u16 = 0x35; // BPF_JMP | BPF_JGE | BPF_K
pub const RET_K: u16 = 0x06; // BPF_RET | BPF_K

/// A place in the program, placed once with `Asm::place`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Label(usize);

/// Where a conditional jump goes: the next instruction or a label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum To {
    Next,
    L(Label),
}

enum Item {
    Plain(SockFilter),
    Cond {
        code: u16,
        k: u32,
        jt: To,
        jf: To,
        far_t: bool,
        far_f: bool,
    },
    Place(Label),
}

#[derive(Default)]
pub struct Asm {
    items: Vec<Item>,
    labels: usize,
}

impl Asm {
    pub fn label(&mut self) -> Label {
        self.labels += 1;
        Label(self.labels - 1)
    }

    pub fn place(&mut self, label: Label) {
        self.items.push(Item::Place(label));
    }

    pub fn load(&mut self, offset: u32) {
        self.plain(LD_W_ABS, offset);
    }

    pub fn and(&mut self, mask: u32) {
        self.plain(ALU_AND_K, mask);
    }

    pub fn ret(&mut self, action: u32) {
        self.plain(RET_K, action);
    }

    pub fn jump(&mut self, code: u16, k: u32, jt: To, jf: To) {
        self.items.push(Item::Cond {
            code,
            k,
            jt,
            jf,
            far_t: false,
            far_f: false,
        });
    }

    fn plain(&mut self, code: u16, k: u32) {
        self.items.push(Item::Plain(SockFilter {
            code,
            jt: 0,
            jf: 0,
            k,
        }));
    }

    /// Lays the program out and resolves every label.
    pub fn finish(mut self) -> Result<Vec<SockFilter>, Error> {
        let mut at = vec![usize::MAX; self.labels];
        loop {
            let len = self.layout(&mut at);
            if len > MAX_INSNS {
                return Err(Error::TooLarge {
                    len,
                    limit: MAX_INSNS,
                });
            }
            if !self.mark_far_jumps(&at) {
                return Ok(self.emit(&at, len));
            }
        }
    }

    /// Positions of every label; returns the program length.
    fn layout(&self, at: &mut [usize]) -> usize {
        let mut pos = 0;
        for item in &self.items {
            match item {
                Item::Place(l) => at[l.0] = pos,
                Item::Cond { far_t, far_f, .. } => pos += 1 + *far_t as usize + *far_f as usize,
                Item::Plain(_) => pos += 1,
            }
        }
        pos
    }

    /// Marks conditional jumps whose targets are out of reach; true if any changed.
    fn mark_far_jumps(&mut self, at: &[usize]) -> bool {
        let mut pos = 0;
        let mut changed = false;
        for item in &mut self.items {
            match item {
                Item::Place(_) => {}
                Item::Cond {
                    jt,
                    jf,
                    far_t,
                    far_f,
                    ..
                } => {
                    let next = pos + 1 + *far_t as usize + *far_f as usize;
                    let reach = |to: &To| match to {
                        To::Next => true,
                        To::L(l) => at[l.0] >= next && at[l.0] - next <= 255,
                    };
                    if !*far_t && !reach(jt) {
                        *far_t = true;
                        changed = true;
                    }
                    if !*far_f && !reach(jf) {
                        *far_f = true;
                        changed = true;
                    }
                    pos += 1 + *far_t as usize + *far_f as usize;
                }
                Item::Plain(_) => pos += 1,
            }
        }
        changed
    }

    fn emit(&self, at: &[usize], len: usize) -> Vec<SockFilter> {
        let mut out = Vec::with_capacity(len);
        for item in &self.items {
            match item {
                Item::Place(_) => {}
                Item::Plain(insn) => out.push(*insn),
                Item::Cond {
                    code,
                    k,
                    jt,
                    jf,
                    far_t,
                    far_f,
                } => {
                    let pos = out.len();
                    let after = pos + 1 + *far_t as usize + *far_f as usize;
                    let short = |to: &To| match to {
                        To::Next => (after - (pos + 1)) as u8,
                        To::L(l) => (at[l.0] - (pos + 1)) as u8,
                    };
                    let jt_off = if *far_t { 0 } else { short(jt) };
                    let jf_off = if *far_f { *far_t as u8 } else { short(jf) };
                    out.push(SockFilter {
                        code: *code,
                        jt: jt_off,
                        jf: jf_off,
                        k: *k,
                    });
                    for (far, to) in [(*far_t, jt), (*far_f, jf)] {
                        if far {
                            let target = match to {
                                To::L(l) => at[l.0],
                                To::Next => after,
                            };
                            let k = (target - (out.len() + 1)) as u32;
                            out.push(SockFilter {
                                code: JA,
                                jt: 0,
                                jf: 0,
                                k,
                            });
                        }
                    }
                }
            }
        }
        out
    }
}
