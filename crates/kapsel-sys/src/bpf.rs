//! bpf(2) wrappers for cgroup v2 device filters (BPF_PROG_LOAD, BPF_PROG_ATTACH, BPF_PROG_QUERY,
//! BPF_PROG_DETACH, BPF_PROG_GET_FD_BY_ID).
//!
//! Each command passes only the prefix of `union bpf_attr` it uses; the kernel zero-fills the rest
//! (see `bpf_check_uarg_tail_zero` in kernel/bpf/syscall.c).

use crate::error::SysError;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// `BPF_PROG_TYPE_CGROUP_DEVICE` from include/uapi/linux/bpf.h.
pub const PROG_TYPE_CGROUP_DEVICE: u32 = 15;
/// `BPF_CGROUP_DEVICE` attach type.
pub const ATTACH_CGROUP_DEVICE: u32 = 6;
/// `BPF_F_ALLOW_MULTI`: several programs may be attached to one cgroup, all must allow.
pub const F_ALLOW_MULTI: u32 = 2;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;

/// One eBPF instruction, laid out as `struct bpf_insn`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// Destination register in the low nibble, source register in the high nibble.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    pub const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Self {
        Insn {
            code,
            regs: (src << 4) | (dst & 0x0f),
            off,
            imm,
        }
    }
}

#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C)]
#[derive(Default)]
struct GetFdByIdAttr {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
}

/// Calls bpf(2) with `attr`, returning the raw result.
fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> libc::c_long {
    // SAFETY: `attr` is a live, properly aligned #[repr(C)] prefix of `union bpf_attr` whose size
    // is passed alongside; the kernel reads (and for QUERY writes) at most that many bytes.
    unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    }
}

fn fd_from(ret: libc::c_long, op: &'static str) -> Result<OwnedFd, SysError> {
    if ret < 0 {
        return Err(SysError::last(op, None));
    }
    // SAFETY: the kernel returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(ret as RawFd) })
}

/// The result of a failed program load: the errno and the verifier's log, when it wrote one.
#[derive(Debug)]
pub struct LoadError {
    pub error: SysError,
    pub verifier_log: String,
}

/// BPF_PROG_LOAD of a `BPF_PROG_TYPE_CGROUP_DEVICE` program. On failure the load is repeated
/// with a log buffer so the verifier's reason can be reported.
pub fn load_cgroup_device_prog(
    insns: &[Insn],
    license: &std::ffi::CStr,
) -> Result<OwnedFd, LoadError> {
    let mut attr = ProgLoadAttr {
        prog_type: PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: insns.len() as u32,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        ..Default::default()
    };
    let ret = bpf(BPF_PROG_LOAD, &mut attr);
    if ret >= 0 {
        return fd_from(ret, "bpf(BPF_PROG_LOAD)").map_err(|error| LoadError {
            error,
            verifier_log: String::new(),
        });
    }
    let error = SysError::last("bpf(BPF_PROG_LOAD)", None);
    let mut log = vec![0u8; 64 * 1024];
    attr.log_level = 1;
    attr.log_size = log.len() as u32;
    attr.log_buf = log.as_mut_ptr() as u64;
    let _ = bpf(BPF_PROG_LOAD, &mut attr);
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    Err(LoadError {
        error,
        verifier_log: String::from_utf8_lossy(&log[..end]).trim().to_string(),
    })
}

/// BPF_PROG_ATTACH `prog` to the cgroup directory `cgroup` with `attach_type` and `flags`.
pub fn prog_attach(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
    flags: u32,
) -> Result<(), SysError> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type,
        attach_flags: flags,
    };
    if bpf(BPF_PROG_ATTACH, &mut attr) < 0 {
        return Err(SysError::last("bpf(BPF_PROG_ATTACH)", None));
    }
    Ok(())
}

/// BPF_PROG_DETACH `prog` from the cgroup directory `cgroup`.
pub fn prog_detach(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
    attach_type: u32,
) -> Result<(), SysError> {
    let mut attr = AttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type,
        attach_flags: 0,
    };
    if bpf(BPF_PROG_DETACH, &mut attr) < 0 {
        return Err(SysError::last("bpf(BPF_PROG_DETACH)", None));
    }
    Ok(())
}

/// BPF_PROG_QUERY: the ids of the programs attached directly to `cgroup` for `attach_type`.
pub fn prog_query(cgroup: BorrowedFd<'_>, attach_type: u32) -> Result<Vec<u32>, SysError> {
    let mut ids = vec![0u32; 64];
    loop {
        let mut attr = QueryAttr {
            target_fd: cgroup.as_raw_fd() as u32,
            attach_type,
            prog_ids: ids.as_mut_ptr() as u64,
            prog_cnt: ids.len() as u32,
            ..Default::default()
        };
        if bpf(BPF_PROG_QUERY, &mut attr) < 0 {
            let err = SysError::last("bpf(BPF_PROG_QUERY)", None);
            // ENOSPC: more programs than slots; prog_cnt now holds the real count.
            if err.errno == libc::ENOSPC && attr.prog_cnt as usize > ids.len() {
                ids = vec![0u32; attr.prog_cnt as usize];
                continue;
            }
            return Err(err);
        }
        ids.truncate(attr.prog_cnt as usize);
        return Ok(ids);
    }
}

/// BPF_PROG_GET_FD_BY_ID: a descriptor for the loaded program with `id`.
pub fn prog_fd_by_id(id: u32) -> Result<OwnedFd, SysError> {
    let mut attr = GetFdByIdAttr {
        prog_id: id,
        ..Default::default()
    };
    fd_from(
        bpf(BPF_PROG_GET_FD_BY_ID, &mut attr),
        "bpf(BPF_PROG_GET_FD_BY_ID)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insn_packs_registers_like_the_kernel() {
        let insn = Insn::new(0x61, 2, 1, 4, 0);
        assert_eq!(insn.regs, 0x12);
        assert_eq!(std::mem::size_of::<Insn>(), 8);
    }

    #[test]
    fn attr_prefixes_match_the_uapi_offsets() {
        assert_eq!(std::mem::size_of::<ProgLoadAttr>(), 48);
        assert_eq!(std::mem::size_of::<AttachAttr>(), 16);
        assert_eq!(std::mem::offset_of!(QueryAttr, prog_ids), 16);
        assert_eq!(std::mem::offset_of!(QueryAttr, prog_cnt), 24);
    }
}
