//! OCI seccomp actions as the kernel's SECCOMP_RET_* return values.

use crate::Error;
use oci_spec::runtime::LinuxSeccompAction as Action;

pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_KILL_THREAD: u32 = 0x0000_0000;
pub const RET_TRAP: u32 = 0x0003_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const RET_USER_NOTIF: u32 = 0x7fc0_0000;
pub const RET_TRACE: u32 = 0x7ff0_0000;
pub const RET_LOG: u32 = 0x7ffc_0000;
pub const RET_ALLOW: u32 = 0x7fff_0000;
/// SECCOMP_RET_DATA: the bits an action carries for ERRNO and TRACE.
pub const RET_DATA: u32 = 0x0000_ffff;

/// The return value of `action`; `errno_ret` (default EPERM, as runc) is the errno of
/// SCMP_ACT_ERRNO and the message of SCMP_ACT_TRACE, ignored by the other actions.
pub fn encode(action: Action, errno_ret: Option<u32>, field: &str) -> Result<u32, Error> {
    let data = || -> Result<u32, Error> {
        let value = errno_ret.unwrap_or(libc::EPERM as u32);
        if value > RET_DATA {
            return Err(Error::invalid(
                field,
                format!("errno {value} does not fit in the 16 bits seccomp returns"),
            ));
        }
        Ok(value)
    };
    Ok(match action {
        Action::ScmpActKill | Action::ScmpActKillThread => RET_KILL_THREAD,
        Action::ScmpActKillProcess => RET_KILL_PROCESS,
        Action::ScmpActTrap => RET_TRAP,
        Action::ScmpActErrno => RET_ERRNO | data()?,
        Action::ScmpActTrace => RET_TRACE | data()?,
        Action::ScmpActNotify => RET_USER_NOTIF,
        Action::ScmpActLog => RET_LOG,
        Action::ScmpActAllow => RET_ALLOW,
    })
}

/// Whether syscalls unknown to the profile should fall back to ENOSYS rather than this
/// default action: not when the default lets calls through anyway (runc's rule, which
/// counts TRACE as letting through because a tracer should handle new calls itself).
pub fn blocks(action: Action) -> bool {
    !matches!(
        action,
        Action::ScmpActAllow | Action::ScmpActLog | Action::ScmpActTrace
    )
}
