//! `linux.netDevices`: host network interfaces moved into the container's network
//! namespace (renamed when `name` says so) by the runtime once that namespace exists,
//! and moved back, with their host names, by `delete` while the namespace still lives.
//! When a new network namespace dies with its container, the kernel itself returns
//! physical devices to the host and destroys virtual ones (dummy, veth): as with runc,
//! only a namespace that is still alive at `delete` gives its devices back.

use crate::error::{Error, Result};
use kapsel_sys::netlink::{link_index, RtNetlink, IFNAME_MAX};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde::{Deserialize, Serialize};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

const FIELD: &str = "linux.netDevices";

/// One moved device: its name on the host and in the container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    pub host: String,
    pub inside: String,
}

/// The devices to move, checked before anything exists: valid names, present on the
/// host, and a network namespace of the container's own to move them to.
pub fn plan(spec: &Spec) -> Result<Vec<Moved>> {
    let Some(devices) = spec.linux().as_ref().and_then(|l| l.net_devices().as_ref()) else {
        return Ok(Vec::new());
    };
    if devices.is_empty() {
        return Ok(Vec::new());
    }
    let has_netns = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::Network));
    if !has_netns {
        return Err(Error::config(
            FIELD,
            "needs a network namespace in linux.namespaces (the devices would stay on the host)",
        ));
    }
    let mut planned: Vec<Moved> = devices
        .iter()
        .map(|(host, d)| Moved {
            host: host.clone(),
            inside: d
                .name()
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| host.clone()),
        })
        .collect();
    planned.sort_by(|a, b| a.host.cmp(&b.host));
    for m in &planned {
        for (what, name) in [("", &m.host), (".name", &m.inside)] {
            check_name(name).map_err(|e| Error::config(format!("{FIELD}.{}{what}", m.host), e))?;
        }
        link_index(&m.host).map_err(|e| {
            Error::config(
                format!("{FIELD}.{}", m.host),
                format!("no such host interface: {e}"),
            )
        })?;
    }
    Ok(planned)
}

fn check_name(name: &str) -> std::result::Result<(), String> {
    let bad = name.is_empty()
        || name.len() > IFNAME_MAX
        || name == "."
        || name == ".."
        || name.contains(|c: char| c == '/' || c == ':' || c.is_whitespace());
    if bad {
        return Err(format!("`{name}` is not an interface name"));
    }
    Ok(())
}

/// Moves every planned device into the network namespace of `pid`; on a failure the
/// ones already moved go back.
pub fn move_in(pid: i32, planned: &[Moved]) -> Result<()> {
    if planned.is_empty() {
        return Ok(());
    }
    let netns = open_netns(&proc_netns(pid))?;
    let mut rtnl = RtNetlink::open()?;
    for (i, m) in planned.iter().enumerate() {
        let moved = link_index(&m.host)
            .and_then(|index| rtnl.move_link(index, netns.as_fd(), Some(&m.inside)));
        if let Err(e) = moved {
            let _ = move_back(&netns, &planned[..i]);
            return Err(Error::config(
                format!("{FIELD}.{}", m.host),
                format!("move into the container as `{}`: {e}", m.inside),
            ));
        }
    }
    Ok(())
}

/// Moves the devices back from the container's network namespace (through its init
/// `pid`) to ours, under their host names. Devices that are gone are skipped.
pub fn move_out(pid: i32, moved: &[Moved]) -> Result<()> {
    if moved.is_empty() {
        return Ok(());
    }
    move_back(&open_netns(&proc_netns(pid))?, moved)
}

fn move_back(netns: &OwnedFd, moved: &[Moved]) -> Result<()> {
    let host = open_netns(Path::new("/proc/self/ns/net"))?;
    // A socket stays in the namespace it was made in: make it (and look the devices
    // up) on a thread that joined the container's namespace, then talk from here.
    let lookup = std::thread::scope(|s| {
        s.spawn(|| -> Result<(RtNetlink, Vec<Option<u32>>)> {
            nix::sched::setns(netns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).map_err(
                crate::error::nix_err("setns", "container network namespace"),
            )?;
            let indexes = moved.iter().map(|m| link_index(&m.inside).ok()).collect();
            Ok((RtNetlink::open()?, indexes))
        })
        .join()
        .unwrap_or_else(|_| Err(Error::msg("netlink thread panicked")))
    });
    let (mut rtnl, indexes) = lookup?;
    let mut first_err = None;
    for (m, index) in moved.iter().zip(indexes) {
        let Some(index) = index else { continue };
        if let Err(e) = rtnl.move_link(index, host.as_fd(), Some(&m.host)) {
            first_err.get_or_insert(Error::config(
                format!("{FIELD}.{}", m.host),
                format!("move `{}` back to the host: {e}", m.inside),
            ));
        }
    }
    first_err.map_or(Ok(()), Err)
}

fn proc_netns(pid: i32) -> PathBuf {
    PathBuf::from(format!("/proc/{pid}/ns/net"))
}

fn open_netns(path: &Path) -> Result<OwnedFd> {
    std::fs::File::open(path)
        .map(OwnedFd::from)
        .map_err(|e| Error::io("open", path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names() {
        for good in ["eth0", "kt-dummy0", "a.b", "x123456789abcde"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "a:b", "a b", "x123456789abcdef"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
