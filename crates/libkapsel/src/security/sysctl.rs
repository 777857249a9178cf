//! `linux.sysctl`: only keys the kernel scopes to a namespace the container owns may
//! be set; anything else would change the host and is refused before create starts.

use crate::error::{Error, Result};
use crate::linux::namespaces::NamespacePlan;
use oci_spec::runtime::LinuxNamespaceType as Ns;
use std::collections::HashMap;

const IPC_KEYS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The namespace a key belongs to, or None when it is global.
fn namespace_of(key: &str) -> Option<Ns> {
    if IPC_KEYS.contains(&key) || key.starts_with("fs.mqueue.") {
        Some(Ns::Ipc)
    } else if key.starts_with("net.") {
        Some(Ns::Network)
    } else if key == "kernel.hostname" || key == "kernel.domainname" {
        Some(Ns::Uts)
    } else {
        None
    }
}

pub fn validate(sysctl: &HashMap<String, String>, ns: &NamespacePlan) -> Result<()> {
    for key in sysctl.keys() {
        let field = || format!("linux.sysctl.{key}");
        if key.contains('/') || key.split('.').any(|p| p.is_empty() || p == "..") {
            return Err(Error::config(field(), "not a valid sysctl name"));
        }
        match namespace_of(key) {
            None => {
                return Err(Error::config(
                    field(),
                    "not a namespaced sysctl: it would change the host",
                ))
            }
            Some(t) if !ns.has_new(t) && !ns.join.iter().any(|(j, _, _)| *j == t) => {
                return Err(Error::config(
                    field(),
                    format!("needs the container's own {} namespace", t),
                ))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// Writes the values under /proc/sys (inside the container, before /proc/sys turns
/// read-only), through the verified procfs `proc`, never the container's /proc tree.
pub fn apply(sysctl: &[(String, String)], proc: &crate::linux::procfs::ProcRoot) -> Result<()> {
    for (key, value) in sysctl {
        let rel = format!("sys/{}", key.replace('.', "/"));
        let path = format!("/proc/{rel}");
        proc.write(&rel, value).map_err(|e| {
            Error::config(
                format!("linux.sysctl.{key}"),
                format!("write `{value}` to `{path}`: {}", crate::error::io_text(&e)),
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification() {
        assert_eq!(namespace_of("net.ipv4.ip_forward"), Some(Ns::Network));
        assert_eq!(namespace_of("kernel.shmmax"), Some(Ns::Ipc));
        assert_eq!(namespace_of("fs.mqueue.msg_max"), Some(Ns::Ipc));
        assert_eq!(namespace_of("kernel.domainname"), Some(Ns::Uts));
        assert_eq!(namespace_of("kernel.panic"), None);
        assert_eq!(namespace_of("vm.swappiness"), None);
    }
}
