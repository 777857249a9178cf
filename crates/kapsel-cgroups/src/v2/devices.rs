//! cgroup v2 device control: the rules compiled to a `BPF_PROG_TYPE_CGROUP_DEVICE` program and
//! attached to the container's cgroup (the v2 replacement of devices.allow/deny, see
//! Documentation/admin-guide/cgroup-v2.rst "Device controller").
//!
//! The program reads `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`,
//! where `access_type = access << 16 | type`, tests the rules last to first and returns the
//! verdict of the first that matches (1 allow, 0 deny); no match denies, as in runc.

use crate::devices::{DeviceKind, DeviceRule, ACC_ALL};
use crate::error::{CgroupError, Result};
use kapsel_sys::bpf::{self, Insn};
use std::os::fd::AsFd;
use std::path::Path;

const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54;
const ALU32_RSH_K: u8 = 0x74;
const ALU32_MOV_X: u8 = 0xbc;
const ALU64_MOV_K: u8 = 0xb7;
const JMP32_JEQ_K: u8 = 0x16;
const JMP32_JNE_K: u8 = 0x56;
const EXIT: u8 = 0x95;

/// `BPF_DEVCG_DEV_BLOCK` and `BPF_DEVCG_DEV_CHAR`.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

// Registers: r1 context (then scratch), r2 type, r3 access, r4 major, r5 minor.
const R_TYPE: u8 = 2;
const R_ACCESS: u8 = 3;
const R_MAJOR: u8 = 4;
const R_MINOR: u8 = 5;

/// Compiles `rules` (in spec order) into a device filter program.
pub fn compile(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut prog = vec![
        Insn::new(LDX_W, R_TYPE, 1, 0, 0),
        Insn::new(ALU32_AND_K, R_TYPE, 0, 0, 0xffff),
        Insn::new(LDX_W, R_ACCESS, 1, 0, 0),
        Insn::new(ALU32_RSH_K, R_ACCESS, 0, 0, 16),
        Insn::new(LDX_W, R_MAJOR, 1, 4, 0),
        Insn::new(LDX_W, R_MINOR, 1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        prog.extend(rule_block(rule));
        if rule.is_wildcard() {
            // Matches everything: the earlier rules can never decide.
            return prog;
        }
    }
    prog.push(Insn::new(ALU64_MOV_K, 0, 0, 0, 0));
    prog.push(Insn::new(EXIT, 0, 0, 0, 0));
    prog
}

/// The tests of one rule, each jumping past the block on mismatch, then the verdict.
fn rule_block(rule: &DeviceRule) -> Vec<Insn> {
    // (insn, is a "skip the block" jump)
    let mut block: Vec<(Insn, bool)> = Vec::new();
    match rule.kind {
        DeviceKind::All => {}
        DeviceKind::Block => block.push((Insn::new(JMP32_JNE_K, R_TYPE, 0, 0, DEV_BLOCK), true)),
        DeviceKind::Char => block.push((Insn::new(JMP32_JNE_K, R_TYPE, 0, 0, DEV_CHAR), true)),
    }
    if rule.access != ACC_ALL {
        block.push((Insn::new(ALU32_MOV_X, 1, R_ACCESS, 0, 0), false));
        if rule.allow {
            // skip unless every requested bit is granted
            block.push((
                Insn::new(ALU32_AND_K, 1, 0, 0, (!rule.access & ACC_ALL) as i32),
                false,
            ));
            block.push((Insn::new(JMP32_JNE_K, 1, 0, 0, 0), true));
        } else {
            // skip unless some requested bit is refused
            block.push((Insn::new(ALU32_AND_K, 1, 0, 0, rule.access as i32), false));
            block.push((Insn::new(JMP32_JEQ_K, 1, 0, 0, 0), true));
        }
    }
    if let Some(major) = rule.major {
        block.push((Insn::new(JMP32_JNE_K, R_MAJOR, 0, 0, major as i32), true));
    }
    if let Some(minor) = rule.minor {
        block.push((Insn::new(JMP32_JNE_K, R_MINOR, 0, 0, minor as i32), true));
    }
    block.push((
        Insn::new(ALU64_MOV_K, 0, 0, 0, i32::from(rule.allow)),
        false,
    ));
    block.push((Insn::new(EXIT, 0, 0, 0, 0), false));
    let len = block.len();
    block
        .into_iter()
        .enumerate()
        .map(|(i, (mut insn, skip))| {
            if skip {
                insn.off = (len - i - 1) as i16;
            }
            insn
        })
        .collect()
}

/// Loads the program for `rules` and attaches it to the cgroup directory `dir`, replacing the
/// device programs this or an earlier call attached there.
pub fn attach(dir: &Path, rules: &[DeviceRule]) -> Result<()> {
    let sys = |source| CgroupError::Sys {
        path: dir.to_path_buf(),
        source,
    };
    let cgroup = std::fs::File::open(dir).map_err(|e| CgroupError::Open {
        path: dir.to_path_buf(),
        errno: crate::error::errno_of(&e),
    })?;
    let old = bpf::prog_query(cgroup.as_fd(), bpf::ATTACH_CGROUP_DEVICE).map_err(sys)?;
    let insns = compile(rules);
    let prog =
        bpf::load_cgroup_device_prog(&insns, c"Apache-2.0").map_err(|e| CgroupError::BpfLoad {
            path: dir.to_path_buf(),
            errno: e.error.errno,
            log: e.verifier_log,
        })?;
    bpf::prog_attach(
        cgroup.as_fd(),
        prog.as_fd(),
        bpf::ATTACH_CGROUP_DEVICE,
        bpf::F_ALLOW_MULTI,
    )
    .map_err(sys)?;
    for id in old {
        // The new program is in place; the old ones go only after it, so there is no window
        // without a filter.
        let old_prog = bpf::prog_fd_by_id(id).map_err(sys)?;
        bpf::prog_detach(cgroup.as_fd(), old_prog.as_fd(), bpf::ATTACH_CGROUP_DEVICE)
            .map_err(sys)?;
    }
    Ok(())
}

/// The ids of the device programs attached to `dir` (for tests and diagnostics).
pub fn attached(dir: &Path) -> Result<Vec<u32>> {
    let cgroup = std::fs::File::open(dir).map_err(|e| CgroupError::Open {
        path: dir.to_path_buf(),
        errno: crate::error::errno_of(&e),
    })?;
    bpf::prog_query(cgroup.as_fd(), bpf::ATTACH_CGROUP_DEVICE).map_err(|source| CgroupError::Sys {
        path: dir.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::{decide, default_allowed, rules_from_spec, ACC_READ};

    /// Runs `prog` on one request: an interpreter for exactly the instructions `compile` emits,
    /// so every rule set can be checked against `decide` without root.
    fn run(prog: &[Insn], access_type: u32, major: u32, minor: u32) -> u64 {
        let ctx = [access_type, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let insn = prog[pc];
            let (dst, src) = ((insn.regs & 0x0f) as usize, (insn.regs >> 4) as usize);
            let imm32 = insn.imm as u32;
            pc += 1;
            match insn.code {
                LDX_W => {
                    assert_eq!(src, 1);
                    r[dst] = u64::from(ctx[insn.off as usize / 4]);
                }
                ALU32_AND_K => r[dst] = u64::from(r[dst] as u32 & imm32),
                ALU32_RSH_K => r[dst] = u64::from((r[dst] as u32) >> imm32),
                ALU32_MOV_X => r[dst] = u64::from(r[src] as u32),
                ALU64_MOV_K => r[dst] = insn.imm as i64 as u64,
                JMP32_JNE_K if r[dst] as u32 != imm32 => pc += insn.off as usize,
                JMP32_JEQ_K if r[dst] as u32 == imm32 => pc += insn.off as usize,
                JMP32_JNE_K | JMP32_JEQ_K => {}
                EXIT => return r[0],
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    fn check_against_decide(rules: &[DeviceRule]) {
        let prog = compile(rules);
        for (kind, ty) in [(DeviceKind::Block, DEV_BLOCK), (DeviceKind::Char, DEV_CHAR)] {
            for (major, minor) in [(1, 3), (1, 5), (8, 0), (136, 2), (5, 1), (u32::MAX, 0)] {
                for access in 1..=ACC_ALL {
                    let want = decide(rules, kind, major, minor, access);
                    let got = run(&prog, (access << 16) | ty as u32, major, minor);
                    assert_eq!(
                        got,
                        u64::from(want),
                        "{kind:?} {major}:{minor} access {access}"
                    );
                }
            }
        }
    }

    fn spec(json: &str) -> Vec<DeviceRule> {
        let rules: Vec<oci_spec::runtime::LinuxDeviceCgroup> = serde_json::from_str(json).unwrap();
        rules_from_spec(&rules).unwrap()
    }

    #[test]
    fn compiled_program_agrees_with_the_v1_semantics() {
        check_against_decide(&[]);
        let mut rules = spec(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},
            {"allow":true,"type":"b","major":8,"access":"r"},{"allow":false,"type":"c","major":1,"minor":3,"access":"w"},
            {"allow":true,"type":"c","major":4294967295,"minor":0,"access":"m"}]"#,
        );
        check_against_decide(&rules);
        rules.extend(default_allowed());
        check_against_decide(&rules);
        check_against_decide(&spec(r#"[{"allow":false,"type":"b","access":"w"}]"#));
    }

    #[test]
    fn a_trailing_wildcard_makes_earlier_rules_unreachable() {
        let rules = spec(
            r#"[{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},{"allow":false,"access":"rwm"}]"#,
        );
        // 6 loads + `r0 = 0; exit`
        assert_eq!(compile(&rules).len(), 8);
        assert_eq!(
            run(&compile(&rules), (ACC_READ << 16) | DEV_CHAR as u32, 1, 3),
            0
        );
    }
}
