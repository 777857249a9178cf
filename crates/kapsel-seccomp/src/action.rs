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
/// The largest errno (include/linux/err.h).
const MAX_ERRNO: u32 = 4095;

/// The return value of `action`; `errno_ret` (default EPERM, as runc) is the errno of
/// SCMP_ACT_ERRNO and the message of SCMP_ACT_TRACE. Any other action given one is an error
/// (runtime-spec: the runtime MUST fail when the action does not support an errno; crun
/// refuses too, runc 1.1 ignores it).
pub fn encode(action: Action, errno_ret: Option<u32>, field: &str) -> Result<u32, Error> {
    if errno_ret.is_some() && !matches!(action, Action::ScmpActErrno | Action::ScmpActTrace) {
        let name = serde_json::to_value(action)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| format!("{action:?}"));
        return Err(Error::invalid(
            field,
            format!("{name} returns no errno: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take one"),
        ));
    }
    let data = |limit: u32, what: &str| -> Result<u32, Error> {
        let value = errno_ret.unwrap_or(libc::EPERM as u32);
        if value > limit {
            return Err(Error::invalid(field, format!("errno {value} {what}")));
        }
        Ok(value)
    };
    Ok(match action {
        Action::ScmpActKill | Action::ScmpActKillThread => RET_KILL_THREAD,
        Action::ScmpActKillProcess => RET_KILL_PROCESS,
        Action::ScmpActTrap => RET_TRAP,
        // The kernel returns at most -MAX_ERRNO, and libseccomp refuses a larger errno
        // (so runc and crun fail on it): refused here too, not silently clamped.
        Action::ScmpActErrno => {
            RET_ERRNO | data(MAX_ERRNO, "is above 4095, the largest errno a call returns")?
        }
        Action::ScmpActTrace => {
            RET_TRACE | data(RET_DATA, "does not fit in the 16 bits seccomp returns")?
        }
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
