//! SCMP_ACT_NOTIFY: the user-notification fd the container process got when its
//! filter was loaded, handed by the runtime to the seccomp agent at `listenerPath`
//! with the container process state, as config-linux.md prescribes.

use crate::error::{Error, Result};
use oci_spec::runtime::{Spec, State};
use std::os::fd::{AsFd, OwnedFd};

pub fn hand_over(spec: &Spec, fd: &OwnedFd, pid: i32, state_json: &str) -> Result<()> {
    let seccomp = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let Some(path) = seccomp.and_then(|s| s.listener_path().as_ref()) else {
        return Err(Error::config(
            "linux.seccomp.listenerPath",
            "a NOTIFY rule needs a listener",
        ));
    };
    let metadata = seccomp.and_then(|s| s.listener_metadata().as_deref());
    let state: State = crate::spec::json::from_str(state_json)
        .map_err(|e| Error::msg(format!("state for the seccomp agent: {e}")))?;
    let msg = kapsel_seccomp::process_state(pid, metadata, state);
    kapsel_seccomp::send_notify_fd(path, fd.as_fd(), &msg).map_err(|source| Error::Seccomp {
        field: "linux.seccomp.listenerPath",
        source,
    })
}
