//! `linux.memoryPolicy`: the NUMA memory policy of the container's init, set with
//! set_mempolicy(2) just before execve (the policy survives execve and is inherited).

use crate::error::{Error, Result};
use oci_spec::runtime::{LinuxMemoryPolicy, MemoryPolicyFlagType, MemoryPolicyModeType, Spec};
use std::path::Path;

/// Highest node number kapsel accepts (the kernel's MAX_NUMNODES is at most 1024).
const MAX_NODES: u32 = 1024;

/// Every mode and flag kapsel applies, as config.json names them (`features` lists these).
pub const MODES: &[&str] = &[
    "MPOL_DEFAULT",
    "MPOL_PREFERRED",
    "MPOL_BIND",
    "MPOL_INTERLEAVE",
    "MPOL_LOCAL",
    "MPOL_PREFERRED_MANY",
    "MPOL_WEIGHTED_INTERLEAVE",
];
pub const FLAGS: &[&str] = &[
    "MPOL_F_NUMA_BALANCING",
    "MPOL_F_RELATIVE_NODES",
    "MPOL_F_STATIC_NODES",
];

/// A policy ready for set_mempolicy: mode with its flags, and the node mask.
#[derive(Debug, PartialEq, Eq)]
pub struct MemPolicy {
    pub mode: i32,
    pub nodes: Vec<u32>,
}

impl MemPolicy {
    fn mask(&self) -> Vec<u64> {
        let Some(max) = self.nodes.iter().max() else {
            return Vec::new();
        };
        let mut mask = vec![0u64; *max as usize / 64 + 1];
        for n in &self.nodes {
            mask[*n as usize / 64] |= 1 << (n % 64);
        }
        mask
    }
}

/// The policy of the config, checked for form (no host access).
pub fn from_spec(spec: &Spec) -> Result<Option<MemPolicy>> {
    let Some(p) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.memory_policy().as_ref())
    else {
        return Ok(None);
    };
    parse(p).map(Some)
}

fn parse(p: &LinuxMemoryPolicy) -> Result<MemPolicy> {
    use MemoryPolicyModeType as M;
    let (mode, needs_nodes) = match p.mode() {
        M::MpolDefault => (0, Some(false)),
        M::MpolPreferred => (1, None),
        M::MpolBind => (2, Some(true)),
        M::MpolInterleave => (3, Some(true)),
        M::MpolLocal => (4, Some(false)),
        M::MpolPreferredMany => (5, Some(true)),
        M::MpolWeightedInterleave => (6, Some(true)),
    };
    let nodes = match p.nodes().as_deref().map(str::trim) {
        None | Some("") => Vec::new(),
        Some(list) => crate::util::idlist::parse(list, MAX_NODES)
            .map_err(|e| Error::config("linux.memoryPolicy.nodes", e))?,
    };
    match needs_nodes {
        Some(true) if nodes.is_empty() => {
            return Err(Error::config(
                "linux.memoryPolicy.nodes",
                format!("mode {} needs at least one node", p.mode()),
            ))
        }
        Some(false) if !nodes.is_empty() => {
            return Err(Error::config(
                "linux.memoryPolicy.nodes",
                format!("mode {} takes no nodes", p.mode()),
            ))
        }
        _ => {}
    }
    let mut flags = 0;
    for f in p.flags().iter().flatten() {
        flags |= match f {
            MemoryPolicyFlagType::MpolFNumaBalancing => 1 << 13,
            MemoryPolicyFlagType::MpolFRelativeNodes => 1 << 14,
            MemoryPolicyFlagType::MpolFStaticNodes => 1 << 15,
        };
    }
    Ok(MemPolicy {
        mode: mode | flags,
        nodes,
    })
}

/// Every node of the policy must be online on this host (`sysfs` is normally /sys).
pub fn check_nodes(policy: &MemPolicy, sysfs: &Path) -> Result<()> {
    let path = sysfs.join("devices/system/node/online");
    let Ok(text) = kapsel_sys::kernfile::read_to_string(&path) else {
        // No NUMA support compiled in: only node 0 exists.
        return match policy.nodes.iter().find(|n| **n != 0) {
            Some(n) => Err(Error::config(
                "linux.memoryPolicy.nodes",
                format!("node {n} does not exist (this kernel has no NUMA nodes but 0)"),
            )),
            None => Ok(()),
        };
    };
    let online = crate::util::idlist::parse(&text, MAX_NODES).unwrap_or_default();
    match policy.nodes.iter().find(|n| !online.contains(n)) {
        Some(n) => Err(Error::config(
            "linux.memoryPolicy.nodes",
            format!("node {n} is not online (online: {})", text.trim()),
        )),
        None => Ok(()),
    }
}

/// set_mempolicy for the calling process.
pub fn apply(policy: &MemPolicy) -> Result<()> {
    kapsel_sys::numa::set_mempolicy(policy.mode, &policy.mask())
        .map_err(|e| Error::from(e).in_field("linux.memoryPolicy"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> Result<MemPolicy> {
        parse(&serde_json::from_str(json).unwrap())
    }

    #[test]
    fn modes_flags_and_mask() {
        let p = policy(r#"{"mode":"MPOL_BIND","nodes":"0,65","flags":["MPOL_F_STATIC_NODES"]}"#)
            .unwrap();
        assert_eq!(p.mode, 2 | (1 << 15));
        assert_eq!(p.mask(), vec![1, 2]);
        assert_eq!(policy(r#"{"mode":"MPOL_LOCAL"}"#).unwrap().mode, 4);
        assert!(policy(r#"{"mode":"MPOL_DEFAULT"}"#)
            .unwrap()
            .mask()
            .is_empty());
    }

    #[test]
    fn every_listed_mode_and_flag_parses() {
        for (i, mode) in MODES.iter().enumerate() {
            let nodes = if matches!(*mode, "MPOL_DEFAULT" | "MPOL_LOCAL") {
                ""
            } else {
                "0"
            };
            let json = format!(r#"{{"mode":"{mode}","nodes":"{nodes}","flags":{FLAGS:?}}}"#);
            assert_eq!(policy(&json).unwrap().mode & 0xff, i as i32, "{mode}");
        }
    }

    #[test]
    fn nodes_must_fit_the_mode() {
        let e = policy(r#"{"mode":"MPOL_INTERLEAVE"}"#).unwrap_err();
        assert!(e.to_string().contains("needs at least one node"), "{e}");
        let e = policy(r#"{"mode":"MPOL_LOCAL","nodes":"0"}"#).unwrap_err();
        assert!(e.to_string().contains("takes no nodes"), "{e}");
        assert!(policy(r#"{"mode":"MPOL_BIND","nodes":"x"}"#).is_err());
    }

    #[test]
    fn offline_nodes_are_named() {
        let dir = std::env::temp_dir().join(format!("kapsel-numa-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("devices/system/node")).unwrap();
        std::fs::write(dir.join("devices/system/node/online"), "0-1\n").unwrap();
        let ok = policy(r#"{"mode":"MPOL_BIND","nodes":"1"}"#).unwrap();
        assert!(check_nodes(&ok, &dir).is_ok());
        let bad = policy(r#"{"mode":"MPOL_BIND","nodes":"0,3"}"#).unwrap();
        let e = check_nodes(&bad, &dir).unwrap_err().to_string();
        assert!(e.contains("node 3 is not online (online: 0-1)"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
