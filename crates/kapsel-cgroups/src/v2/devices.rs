//! cgroup v2 device control: the rules compiled to a `BPF_PROG_TYPE_CGROUP_DEVICE` program and
//! attached to the container's cgroup (the v2 replacement of devices.allow/deny, see
//! Documentation/admin-guide/cgroup-v2.rst "Device controller").
//!
//! The program reads `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`,
//! where `access_type = access << 16 | type`, and decides as the v1 controller would after
//! the rules were written to it (`V1State`, as runc's emulator): under a deny default it
//! allows what one exception grants in full; under an allow default it denies what any
//! exception shares an access with. tests/device_filter.rs holds it to a model of v1.

use crate::devices::{DeviceKind, DeviceRule, V1State, ACC_ALL};
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

/// Compiles `rules` (in spec order, the defaults appended) into a device filter program.
pub fn compile(rules: &[DeviceRule]) -> Vec<Insn> {
    let mut prog = vec![
        Insn::new(LDX_W, R_TYPE, 1, 0, 0),
        Insn::new(ALU32_AND_K, R_TYPE, 0, 0, 0xffff),
        Insn::new(LDX_W, R_ACCESS, 1, 0, 0),
        Insn::new(ALU32_RSH_K, R_ACCESS, 0, 0, 16),
        Insn::new(LDX_W, R_MAJOR, 1, 4, 0),
        Insn::new(LDX_W, R_MINOR, 1, 8, 0),
    ];
    let state = V1State::after(rules);
    // The exceptions never disagree with each other: any that matches decides.
    for exception in &state.exceptions {
        prog.extend(rule_block(exception));
    }
    prog.push(Insn::new(ALU64_MOV_K, 0, 0, 0, i32::from(state.allow_all)));
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
