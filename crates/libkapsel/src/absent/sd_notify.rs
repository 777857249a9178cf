//! sd_notify(3) through the runtime left out of this build (feature `sd-notify`, which
//! the device profile drops): `create` or `run` with NOTIFY_SOCKET set fails with one
//! line while planning, before anything exists; `start` relays nothing.

use crate::error::{Error, Result};
use crate::process::plan::InitPlan;
use std::path::{Path, PathBuf};

/// The caller's NOTIFY_SOCKET when it is a path, as the full build reads it.
pub fn requested() -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var_os("NOTIFY_SOCKET")?);
    path.is_absolute().then_some(path)
}

pub fn check(_host_socket: &Path) -> Result<&Path> {
    Err(Error::config("NOTIFY_SOCKET", crate::absent("sd-notify")))
}

pub fn prepare(_plan: &mut InitPlan, _state_dir: &Path, _host_socket: &Path) -> Result<()> {
    Err(Error::config("NOTIFY_SOCKET", crate::absent("sd-notify")))
}

/// Never made: `create` refused the socket.
pub struct Relay;

pub fn bind(_state_dir: &Path) -> Result<Option<Relay>> {
    Ok(None)
}

impl Relay {
    pub fn until_ready(self, _pid: i32, _alive: impl Fn() -> bool) -> Result<()> {
        Ok(())
    }
}
