//! NUMA memory policy of the calling thread: set_mempolicy(2).

use crate::error::SysError;

/// set_mempolicy(2): `mode` (MPOL_* | MPOL_F_* flags) over the nodes set in `nodemask`
/// (bit n of word n/64 = node n). An empty mask passes NULL, as MPOL_DEFAULT and
/// MPOL_LOCAL require. The policy is inherited by children and kept across execve.
pub fn set_mempolicy(mode: i32, nodemask: &[u64]) -> Result<(), SysError> {
    let (ptr, maxnode) = if nodemask.is_empty() {
        (std::ptr::null(), 0u64)
    } else {
        // maxnode counts bits; the kernel reads maxnode-1 of them, so pass one more.
        (nodemask.as_ptr(), nodemask.len() as u64 * 64 + 1)
    };
    // SAFETY: `ptr` is NULL with maxnode 0, or points to `nodemask`, which holds at least
    // maxnode-1 bits; the kernel only reads it.
    let ret = unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) };
    if ret < 0 {
        return Err(SysError::last("set_mempolicy", None));
    }
    Ok(())
}
