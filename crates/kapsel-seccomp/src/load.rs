//! Installing a compiled filter on the calling thread (or process, with TSYNC).

use crate::filter::{flags, Filter};
use crate::Error;
use kapsel_sys::seccomp;
use std::os::fd::OwnedFd;

/// Loads `filter` on the calling thread; call it as late as possible, just before
/// execve, so the runtime's own calls are not filtered. The caller must have set
/// no_new_privs or hold CAP_SYS_ADMIN. Returns the user-notification fd when the
/// filter uses SCMP_ACT_NOTIFY.
///
/// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19) is dropped when the kernel
/// does not know it, as the runtime-spec allows; any other refusal is an error.
pub fn load(filter: &Filter) -> Result<Option<OwnedFd>, Error> {
    match seccomp::set_mode_filter(&filter.instructions, filter.flags) {
        Err(e)
            if e.errno == libc::EINVAL
                && filter.flags & flags::WAIT_KILLABLE_RECV != 0
                && !seccomp::filter_flag_supported(flags::WAIT_KILLABLE_RECV) =>
        {
            let fewer = filter.flags & !flags::WAIT_KILLABLE_RECV;
            Ok(seccomp::set_mode_filter(&filter.instructions, fewer)?)
        }
        other => Ok(other?),
    }
}
