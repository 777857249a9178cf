//! The compiled filter: the program, the flags to load it with, and a byte form for
//! caching compiled filters between runs.

use crate::Error;
use kapsel_sys::seccomp::SockFilter;

/// SECCOMP_FILTER_FLAG_* values.
pub mod flags {
    pub const TSYNC: u32 = 1 << 0;
    pub const LOG: u32 = 1 << 1;
    pub const SPEC_ALLOW: u32 = 1 << 2;
    pub const NEW_LISTENER: u32 = 1 << 3;
    pub const TSYNC_ESRCH: u32 = 1 << 4;
    pub const WAIT_KILLABLE_RECV: u32 = 1 << 5;
}

/// A seccomp BPF program ready for `load`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub(crate) instructions: Vec<SockFilter>,
    pub(crate) flags: u32,
}

const MAGIC: &[u8; 4] = b"KSF1";

impl Filter {
    /// The BPF instructions, as the kernel's `struct sock_filter`.
    pub fn instructions(&self) -> &[SockFilter] {
        &self.instructions
    }

    /// The SECCOMP_FILTER_FLAG_* bits to load with (NEW_LISTENER when NOTIFY is used).
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Whether some rule returns SECCOMP_RET_USER_NOTIF, so loading yields a notify fd.
    pub fn uses_notify(&self) -> bool {
        self.flags & flags::NEW_LISTENER != 0
    }

    /// A stable byte form: magic, flags, count, then code/jt/jf/k per instruction, all
    /// little-endian.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(12 + 8 * self.instructions.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&(self.instructions.len() as u32).to_le_bytes());
        for insn in &self.instructions {
            out.extend_from_slice(&insn.code.to_le_bytes());
            out.push(insn.jt);
            out.push(insn.jf);
            out.extend_from_slice(&insn.k.to_le_bytes());
        }
        out
    }

    /// The inverse of `to_bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Result<Filter, Error> {
        let rest = bytes
            .strip_prefix(MAGIC.as_slice())
            .ok_or(Error::BadBytes("not a kapsel seccomp filter (wrong magic)"))?;
        if rest.len() < 8 {
            return Err(Error::BadBytes("truncated header"));
        }
        let word = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let flags = word(&rest[0..4]);
        let count = word(&rest[4..8]) as usize;
        let body = &rest[8..];
        if body.len() != count * 8 {
            return Err(Error::BadBytes(
                "instruction count does not match the length",
            ));
        }
        let instructions = body
            .chunks_exact(8)
            .map(|c| SockFilter {
                code: u16::from_le_bytes([c[0], c[1]]),
                jt: c[2],
                jf: c[3],
                k: word(&c[4..8]),
            })
            .collect();
        Ok(Filter {
            instructions,
            flags,
        })
    }
}
