//! Device access rules (`linux.resources.devices`) in a checked, normalized form shared by the
//! v1 devices controller and the v2 eBPF filter.

use crate::error::{CgroupError, Result};
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

/// Access bits, as the kernel's `DEVCG_ACC_*` / `BPF_DEVCG_ACC_*`.
pub const ACC_MKNOD: u32 = 1;
pub const ACC_READ: u32 = 2;
pub const ACC_WRITE: u32 = 4;
pub const ACC_ALL: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// Which devices a rule covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    All,
    Block,
    Char,
}

/// One checked rule: `None` for major/minor means any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    pub kind: DeviceKind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// `ACC_*` bits; never 0.
    pub access: u32,
}

impl DeviceRule {
    /// Checks the spec rule at index `index`; an absent or empty access means `rwm`.
    pub fn from_spec(rule: &LinuxDeviceCgroup, index: usize) -> Result<Self> {
        let field = |name: &str| format!("linux.resources.devices[{index}].{name}");
        let kind = match rule.typ().unwrap_or(LinuxDeviceType::A) {
            LinuxDeviceType::A => DeviceKind::All,
            LinuxDeviceType::B => DeviceKind::Block,
            LinuxDeviceType::C => DeviceKind::Char,
            other => {
                return Err(CgroupError::invalid(
                    field("type"),
                    format!(
                        "`{}` is not a cgroup device type (a, b or c)",
                        other.as_str()
                    ),
                ))
            }
        };
        let number = |name: &str, n: Option<i64>| -> Result<Option<u32>> {
            match n {
                None | Some(-1) => Ok(None),
                Some(n) if (0..=u32::MAX as i64).contains(&n) => Ok(Some(n as u32)),
                Some(n) => Err(CgroupError::invalid(
                    field(name),
                    format!("{n} is not a device number (use -1 or omit for any)"),
                )),
            }
        };
        let access_text = rule.access().as_deref().unwrap_or("");
        let access = parse_access(access_text).ok_or_else(|| {
            CgroupError::invalid(
                field("access"),
                format!("`{access_text}` is not a combination of r, w and m"),
            )
        })?;
        Ok(DeviceRule {
            allow: rule.allow(),
            kind,
            major: number("major", rule.major())?,
            minor: number("minor", rule.minor())?,
            access,
        })
    }

    /// True for a rule that covers every device with every access (`a *:* rwm`).
    pub fn is_wildcard(&self) -> bool {
        self.kind == DeviceKind::All
            && self.major.is_none()
            && self.minor.is_none()
            && self.access == ACC_ALL
    }

    /// The v1 `devices.allow`/`devices.deny` line: `c 1:3 rw`, `a *:* rwm`.
    pub fn v1_line(&self) -> String {
        let kind = match self.kind {
            DeviceKind::All => 'a',
            DeviceKind::Block => 'b',
            DeviceKind::Char => 'c',
        };
        let num = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        let mut access = String::new();
        for (bit, c) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
            if self.access & bit != 0 {
                access.push(c);
            }
        }
        format!("{kind} {}:{} {access}", num(self.major), num(self.minor))
    }
}

fn parse_access(text: &str) -> Option<u32> {
    if text.is_empty() {
        return Some(ACC_ALL);
    }
    let mut bits = 0;
    for c in text.chars() {
        let bit = match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => return None,
        };
        bits |= bit;
    }
    Some(bits)
}

/// Checks and normalizes every rule in order.
pub fn rules_from_spec(rules: &[LinuxDeviceCgroup]) -> Result<Vec<DeviceRule>> {
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| DeviceRule::from_spec(r, i))
        .collect()
}

/// The devices every runc container may use whatever its spec says (runc's `AllowedDevices`):
/// mknod of any node, and the standard character devices. The caller appends these after the
/// spec's own rules, as runc does, so a spec cannot take them away.
pub fn default_allowed() -> Vec<DeviceRule> {
    let chr = |major, minor: Option<u32>, access| DeviceRule {
        allow: true,
        kind: DeviceKind::Char,
        major: Some(major),
        minor,
        access,
    };
    let rw = ACC_ALL;
    vec![
        DeviceRule {
            allow: true,
            kind: DeviceKind::Char,
            major: None,
            minor: None,
            access: ACC_MKNOD,
        },
        DeviceRule {
            allow: true,
            kind: DeviceKind::Block,
            major: None,
            minor: None,
            access: ACC_MKNOD,
        },
        chr(1, Some(3), rw), // /dev/null
        chr(1, Some(8), rw), // /dev/random
        chr(1, Some(7), rw), // /dev/full
        chr(5, Some(0), rw), // /dev/tty
        chr(1, Some(5), rw), // /dev/zero
        chr(1, Some(9), rw), // /dev/urandom
        chr(5, Some(1), rw), // /dev/console
        chr(136, None, rw),  // /dev/pts/*
        chr(5, Some(2), rw), // /dev/ptmx
    ]
}

/// Decides like the kernel's v1 devices controller would after `rules` were written in order to
/// a cgroup reset to "deny all" (runc starts from there too): the last matching rule wins. The
/// v2 filter compiles exactly this.
pub fn decide(rules: &[DeviceRule], kind: DeviceKind, major: u32, minor: u32, access: u32) -> bool {
    for rule in rules.iter().rev() {
        if rule_matches(rule, kind, major, minor, access) {
            return rule.allow;
        }
    }
    false
}

/// An allow rule matches when it grants every requested access bit; a deny rule matches when it
/// refuses any of them.
pub(crate) fn rule_matches(
    rule: &DeviceRule,
    kind: DeviceKind,
    major: u32,
    minor: u32,
    access: u32,
) -> bool {
    let kind_ok = rule.kind == DeviceKind::All || rule.kind == kind;
    let access_ok = if rule.allow {
        access & !rule.access == 0
    } else {
        access & rule.access != 0
    };
    kind_ok
        && access_ok
        && rule.major.is_none_or(|m| m == major)
        && rule.minor.is_none_or(|m| m == minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Vec<DeviceRule> {
        let rules: Vec<LinuxDeviceCgroup> = serde_json::from_str(json).unwrap();
        rules_from_spec(&rules).unwrap()
    }

    #[test]
    fn v1_lines() {
        let rules = spec(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"mwr"},
            {"allow":true,"type":"b","major":8,"access":"r"}]"#,
        );
        let lines: Vec<String> = rules.iter().map(DeviceRule::v1_line).collect();
        assert_eq!(lines, ["a *:* rwm", "c 1:3 rwm", "b 8:* r"]);
        assert!(rules[0].is_wildcard());
        assert!(!rules[1].is_wildcard());
    }

    #[test]
    fn last_matching_rule_wins() {
        let mut rules = spec(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"rw"},
            {"allow":false,"type":"c","major":1,"minor":3,"access":"w"}]"#,
        );
        assert!(decide(&rules, DeviceKind::Char, 1, 3, ACC_READ));
        assert!(!decide(&rules, DeviceKind::Char, 1, 3, ACC_WRITE));
        assert!(!decide(
            &rules,
            DeviceKind::Char,
            1,
            3,
            ACC_READ | ACC_WRITE
        ));
        assert!(!decide(&rules, DeviceKind::Char, 1, 5, ACC_READ));
        assert!(!decide(&rules, DeviceKind::Block, 8, 0, ACC_READ));
        rules.extend(default_allowed());
        assert!(decide(&rules, DeviceKind::Char, 1, 5, ACC_READ | ACC_WRITE));
        assert!(decide(&rules, DeviceKind::Block, 8, 0, ACC_MKNOD));
        assert!(!decide(&rules, DeviceKind::Block, 8, 0, ACC_READ));
        assert!(decide(&rules, DeviceKind::Char, 136, 7, ACC_WRITE));
        // no rules at all: nothing is allowed, as with runc
        assert!(!decide(&[], DeviceKind::Block, 8, 0, ACC_ALL));
    }
}
