//! `process.capabilities`: the five sets, applied exactly as given. The bounding set
//! is cut first, the permitted set survives the uid change (keep-caps), and capset
//! then sets effective/permitted/inheritable; ambient capabilities are raised last.
//! A seccomp filter loaded without no_new_privs needs CAP_SYS_ADMIN, which is kept
//! through the change until the filter is in ([`CapChange`]).
//! Capabilities this kernel does not have (above cap_last_cap), and those the runtime does
//! not hold itself, are left out with a warning, as the runtime-spec requires.

use crate::error::{Error, Result};
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities};

/// Capability names in kernel order: the index is the capability number.
const NAMES: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The capability sets as bit masks, ready for the kernel.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CapSets {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

pub fn number(cap: &Capability) -> Option<u32> {
    let name = serde_json::to_value(cap).ok()?;
    let name = name.as_str()?;
    NAMES.iter().position(|n| *n == name).map(|i| i as u32)
}

pub fn name(number: u32) -> &'static str {
    NAMES.get(number as usize).copied().unwrap_or("CAP_UNKNOWN")
}

/// The capabilities both kapsel and the running kernel know, in kernel order.
pub fn known_names(last: u32) -> impl Iterator<Item = &'static str> {
    NAMES.iter().take(last as usize + 1).copied()
}

/// The highest capability number of the running kernel.
pub fn last_cap() -> u32 {
    kapsel_sys::kernfile::read_to_string(std::path::Path::new("/proc/sys/kernel/cap_last_cap"))
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Turns the config's sets into masks, warning about (and skipping) capabilities the
/// kernel lacks.
pub fn plan(caps: &LinuxCapabilities, last: u32) -> CapSets {
    let mask = |set: &Option<Capabilities>, field: &str| -> u64 {
        let mut m = 0u64;
        for c in set.iter().flatten() {
            match number(c) {
                Some(n) if n <= last => m |= 1 << n,
                _ => crate::logging::warn(&format!(
                    "process.capabilities.{field}: {c} is unknown to this kernel: skipped"
                )),
            }
        }
        m
    };
    CapSets {
        bounding: mask(caps.bounding(), "bounding"),
        effective: mask(caps.effective(), "effective"),
        permitted: mask(caps.permitted(), "permitted"),
        inheritable: mask(caps.inheritable(), "inheritable"),
        ambient: mask(caps.ambient(), "ambient"),
    }
}

/// What this process can hand on: a capability missing from its bounding or permitted set
/// cannot be kept in any set (a caller in a restricted environment dropped it).
/// `held`: the permitted and bounding sets when known (from /proc/PID/status), else
/// they are asked of the kernel (capget, and one PR_CAPBSET_READ per capability).
fn grantable(last: u32, held: Option<(u64, u64)>) -> u64 {
    let known = (0..=last).fold(0u64, |mask, cap| mask | 1 << cap);
    if let Some((permitted, bounding)) = held {
        return permitted & bounding & known;
    }
    let permitted = kapsel_sys::caps::permitted().unwrap_or(u64::MAX);
    (0..=last)
        .filter(|&cap| {
            permitted & (1 << cap) != 0 && kapsel_sys::caps::bounding_has(cap).unwrap_or(true)
        })
        .fold(0, |mask, cap| mask | 1 << cap)
}

/// `sets` without the capabilities outside `grantable`, each left out with one warning
/// naming the sets it was asked for in (runtime-spec 1.2: a capability that cannot be
/// granted is logged as a warning, and the runtime should not fail; runc 1.2 does so).
fn within(mut sets: CapSets, grantable: u64) -> CapSets {
    let mut named = [
        ("bounding", &mut sets.bounding),
        ("effective", &mut sets.effective),
        ("permitted", &mut sets.permitted),
        ("inheritable", &mut sets.inheritable),
        ("ambient", &mut sets.ambient),
    ];
    let asked = named.iter().fold(0, |m, (_, set)| m | **set);
    for cap in (0..64).filter(|c| asked & !grantable & (1u64 << c) != 0) {
        let sets: Vec<&str> = named
            .iter()
            .filter(|(_, set)| **set & (1 << cap) != 0)
            .map(|(field, _)| *field)
            .collect();
        crate::logging::warn(&format!(
            "process.capabilities: {} cannot be granted (the runtime does not hold it): left out of {}",
            name(cap),
            sets.join(", ")
        ));
    }
    for (_, set) in named.iter_mut() {
        **set &= grantable;
    }
    sets
}

/// CAP_SYS_ADMIN, which loading a seccomp filter without no_new_privs needs.
const SYS_ADMIN: u64 = 1 << 21;

/// The capability change around the uid change of one process: the config's sets (None:
/// the config names none, so the uid change alone decides), plus CAP_SYS_ADMIN kept in
/// the effective and permitted sets until a seccomp filter is loaded.
pub struct CapChange {
    sets: Option<CapSets>,
    last: u32,
    keep_admin: bool,
    root: bool,
}

impl CapChange {
    /// The change to the planned `sets` for a process becoming `uid`; `keep_admin` when a
    /// filter is still to be loaded without no_new_privs after the change.
    /// Capabilities this process does not hold are left out here, where they are granted.
    /// `last` is the kernel's highest capability; `held` the process's permitted and
    /// bounding sets when already known.
    pub fn new(
        sets: Option<CapSets>,
        uid: u32,
        keep_admin: bool,
        last: u32,
        held: Option<(u64, u64)>,
    ) -> CapChange {
        CapChange {
            sets: sets.map(|s| within(s, grantable(last, held))),
            last,
            keep_admin,
            root: uid == 0,
        }
    }

    /// Before the uid change: cut the bounding set, keep permitted across setuid.
    pub fn before_user_change(&self) -> Result<()> {
        if let Some(sets) = &self.sets {
            for cap in 0..=self.last {
                if sets.bounding & (1 << cap) == 0 {
                    kapsel_sys::caps::bounding_drop(cap)
                        .map_err(|e| field_err("bounding", cap, e))?;
                }
            }
        }
        if self.sets.is_some() || self.admin_to_keep() {
            keepcaps(true)?;
        }
        Ok(())
    }

    /// After the uid change: the final effective/permitted/inheritable sets (with
    /// CAP_SYS_ADMIN while it is kept), then ambient, then keep-caps off again.
    pub fn after_user_change(&self) -> Result<()> {
        let admin = if self.admin_to_keep() { SYS_ADMIN } else { 0 };
        let Some(sets) = &self.sets else {
            if admin != 0 {
                // Not root, no sets named: the uid change clears them; only the
                // capability the filter needs stays for now.
                kapsel_sys::caps::capset(admin, admin, 0)
                    .map_err(|e| Error::from(e).in_field("process.capabilities"))?;
                keepcaps(false)?;
            }
            return Ok(());
        };
        kapsel_sys::caps::capset(
            sets.effective | admin,
            sets.permitted | admin,
            sets.inheritable,
        )
        .map_err(|e| Error::from(e).in_field("process.capabilities"))?;
        for cap in 0..=self.last {
            if sets.ambient & (1 << cap) == 0 {
                continue;
            }
            // The kernel raises an ambient capability only if it is both permitted and
            // inheritable; configs written by `runc spec` list ambient without
            // inheritable, and runc lets them run, so this is a warning, not an error.
            // The kernel would refuse it (EPERM): no call is made.
            if sets.permitted & sets.inheritable & (1 << cap) == 0 {
                crate::logging::debug(&format!(
                    "process.capabilities.ambient: {} is not in both permitted and inheritable: not raised",
                    name(cap)
                ));
                continue;
            }
            kapsel_sys::caps::ambient_raise(cap).map_err(|e| field_err("ambient", cap, e))?;
        }
        keepcaps(false)?;
        Ok(())
    }

    /// Once the filter is loaded: the configured sets alone. This is the one call after
    /// the filter, and a profile may deny it (capset is in no default allow-list's
    /// danger zone, but a hand-written one may miss it). It changes nothing the user's
    /// program sees: execve computes the new permitted and effective sets from the
    /// file, the inheritable, ambient and bounding sets (capabilities(7)), never from
    /// the old permitted or effective set. So a denied call is noted and passed over.
    pub fn drop_kept_admin(&self) {
        if !self.admin_to_keep() {
            return;
        }
        let (e, p, i) = match &self.sets {
            Some(s) => (s.effective, s.permitted, s.inheritable),
            None => (0, 0, 0),
        };
        if let Err(err) = kapsel_sys::caps::capset(e, p, i) {
            crate::logging::debug(&format!(
                "process.capabilities: {err} after linux.seccomp was loaded: CAP_SYS_ADMIN stays until execve recomputes the sets"
            ));
        }
    }

    /// CAP_SYS_ADMIN has to be kept by hand: a filter is still to load, and the final
    /// sets (or, with none named, a non-root uid) would lose it.
    fn admin_to_keep(&self) -> bool {
        self.keep_admin
            && match &self.sets {
                Some(s) => s.effective & s.permitted & SYS_ADMIN == 0,
                None => !self.root,
            }
    }
}

/// prctl(PR_SET_KEEPCAPS): keep the permitted set across a change away from uid 0.
fn keepcaps(on: bool) -> Result<()> {
    nix::sys::prctl::set_keepcaps(on).map_err(crate::error::nix_err("prctl(PR_SET_KEEPCAPS)", ""))
}

fn field_err(set: &str, cap: u32, e: kapsel_sys::SysError) -> Error {
    Error::config(
        format!("process.capabilities.{set}"),
        format!("{}: {e}", name(cap)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_the_kernel() {
        assert_eq!(number(&Capability::Chown), Some(0));
        assert_eq!(number(&Capability::NetBindService), Some(10));
        assert_eq!(number(&Capability::SysAdmin), Some(21));
        assert_eq!(number(&Capability::CheckpointRestore), Some(40));
        assert_eq!(name(13), "CAP_NET_RAW");
    }

    #[test]
    fn capabilities_not_held_are_left_out_of_every_set() {
        let sets = CapSets {
            bounding: 0b111,
            effective: 0b011,
            permitted: 0b110,
            inheritable: 0b100,
            ambient: 0,
        };
        let kept = within(sets, 0b011);
        assert_eq!(
            kept,
            CapSets {
                bounding: 0b011,
                effective: 0b011,
                permitted: 0b010,
                inheritable: 0,
                ambient: 0,
            }
        );
    }

    #[test]
    fn plan_builds_masks_and_skips_unknown_to_kernel() {
        let caps: LinuxCapabilities = serde_json::from_str(
            r#"{"bounding":["CAP_KILL","CAP_CHECKPOINT_RESTORE"],"effective":["CAP_KILL"],
                "permitted":["CAP_KILL"],"ambient":["CAP_KILL"]}"#,
        )
        .unwrap();
        let sets = plan(&caps, 39);
        assert_eq!(sets.bounding, 1 << 5);
        assert_eq!(sets.effective, 1 << 5);
        assert_eq!(sets.inheritable, 0);
        assert_eq!(sets.ambient, 1 << 5);
    }
}
