//! One argument condition as BPF: 64-bit comparisons done on the two 32-bit halves of
//! `seccomp_data.args[i]` (BPF compares 32 bits at a time, unsigned), the high half
//! first. Falls through when the condition holds, jumps to `fail` when it does not.

use crate::arch::Target;
use crate::bpf::{Asm, Label, To, JEQ_K, JGE_K, JGT_K};
use oci_spec::runtime::LinuxSeccompOperator as Op;

/// `struct seccomp_data`: nr (4), arch (4), instruction_pointer (8), then args[6].
const ARGS_OFFSET: u32 = 16;

pub fn emit(asm: &mut Asm, index: u32, op: Op, value: u64, value_two: u64, t: Target, fail: Label) {
    let base = ARGS_OFFSET + 8 * index;
    let (lo_off, hi_off) = if t.little_endian() {
        (base, base + 4)
    } else {
        (base + 4, base)
    };
    let (vh, vl) = ((value >> 32) as u32, value as u32);
    let pass = asm.label();
    let f = To::L(fail);
    let p = To::L(pass);
    // On 32-bit ABIs only the low half carries the argument.
    let wide = t.wide_args();
    match op {
        Op::ScmpCmpEq => {
            if wide {
                asm.load(hi_off);
                asm.jump(JEQ_K, vh, To::Next, f);
            }
            asm.load(lo_off);
            asm.jump(JEQ_K, vl, To::Next, f);
        }
        Op::ScmpCmpNe => {
            if wide {
                asm.load(hi_off);
                asm.jump(JEQ_K, vh, To::Next, p);
            }
            asm.load(lo_off);
            asm.jump(JEQ_K, vl, f, To::Next);
        }
        Op::ScmpCmpGt | Op::ScmpCmpGe => {
            if wide {
                asm.load(hi_off);
                asm.jump(JGT_K, vh, p, To::Next);
                asm.jump(JEQ_K, vh, To::Next, f);
            }
            asm.load(lo_off);
            let code = if op == Op::ScmpCmpGt { JGT_K } else { JGE_K };
            asm.jump(code, vl, To::Next, f);
        }
        Op::ScmpCmpLt | Op::ScmpCmpLe => {
            if wide {
                asm.load(hi_off);
                asm.jump(JGT_K, vh, f, To::Next);
                asm.jump(JEQ_K, vh, To::Next, p);
            }
            asm.load(lo_off);
            let code = if op == Op::ScmpCmpLt { JGE_K } else { JGT_K };
            asm.jump(code, vl, f, To::Next);
        }
        Op::ScmpCmpMaskedEq => {
            // runc's convention: value is the mask, valueTwo the expected result. As in
            // libseccomp, the expected result is masked too: bits of valueTwo outside the
            // mask are ignored (found against libseccomp: kapsel never matched them).
            let expected = value_two & value;
            let (mh, ml) = ((value >> 32) as u32, value as u32);
            let (eh, el) = ((expected >> 32) as u32, expected as u32);
            // A half whose mask is zero always matches.
            if wide && mh != 0 {
                asm.load(hi_off);
                if mh != u32::MAX {
                    asm.and(mh);
                }
                asm.jump(JEQ_K, eh, To::Next, f);
            }
            if ml != 0 {
                asm.load(lo_off);
                if ml != u32::MAX {
                    asm.and(ml);
                }
                asm.jump(JEQ_K, el, To::Next, f);
            }
        }
    }
    asm.place(pass);
}
