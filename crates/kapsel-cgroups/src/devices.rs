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

/// What a v1 devices cgroup holds after `rules` were written to it in order, starting from
/// the "deny all" reset (where runc starts too): a default and the exceptions to it
/// (security/device_cgroup.c). The v2 filter compiles exactly this.
///
/// Any rule of type `a` resets both, whatever numbers and access it names, as the kernel
/// does with any line that starts with `a`. A `b`/`c` rule against the default adds an
/// exception, merging its access into an exception for the same type and numbers; one
/// with the default takes its access away from exactly such an exception (never from a
/// wider one: see `check_expressible`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct V1State {
    pub allow_all: bool,
    /// Rules of type `b` or `c`, `allow` set opposite to `allow_all`, one per (type,
    /// major, minor).
    pub exceptions: Vec<DeviceRule>,
}

impl V1State {
    pub fn after(rules: &[DeviceRule]) -> V1State {
        let mut state = V1State::default();
        for rule in rules {
            state.write(rule);
        }
        state
    }

    fn write(&mut self, rule: &DeviceRule) {
        if rule.kind == DeviceKind::All {
            *self = V1State {
                allow_all: rule.allow,
                exceptions: Vec::new(),
            };
            return;
        }
        let same = |e: &DeviceRule| same_device(e, rule);
        if rule.allow != self.allow_all {
            match self.exceptions.iter_mut().find(|e| same(e)) {
                Some(e) => e.access |= rule.access,
                None => self.exceptions.push(*rule),
            }
            return;
        }
        for e in self.exceptions.iter_mut().filter(|e| same(e)) {
            e.access &= !rule.access;
        }
        self.exceptions.retain(|e| e.access != 0);
    }

    /// The earlier exception of wider numbers that `rule` would take access from, if
    /// cgroup v1 could: it cannot, and ignores the rule.
    fn hole_in(&self, rule: &DeviceRule) -> Option<&DeviceRule> {
        if rule.kind == DeviceKind::All || rule.allow != self.allow_all {
            return None;
        }
        self.exceptions.iter().find(|e| {
            e.kind == rule.kind
                && !same_device(e, rule)
                && e.major.is_none_or(|m| Some(m) == rule.major)
                && e.minor.is_none_or(|m| Some(m) == rule.minor)
                && e.access & rule.access != 0
        })
    }
}

fn same_device(a: &DeviceRule, b: &DeviceRule) -> bool {
    a.kind == b.kind && a.major == b.major && a.minor == b.minor
}

/// Refuses rules cgroup v1 would silently ignore, as runc does ("cannot punch hole in
/// existing wildcard rule"): one that denies (or, after an allow-all, allows) part of what
/// an earlier rule with wider numbers set. Rules from `spec_len` on are the runtime's
/// defaults.
pub fn check_expressible(rules: &[DeviceRule], spec_len: usize) -> Result<()> {
    let mut state = V1State::default();
    for (i, rule) in rules.iter().enumerate() {
        if let Some(wider) = state.hole_in(rule) {
            let verb = if rule.allow { "allow" } else { "deny" };
            let what = format!(
                "`{verb} {}` takes access from the earlier `{}`, which cgroup v1 cannot do (it \
                 would ignore the rule; runc refuses it too)",
                rule.v1_line(),
                wider.v1_line()
            );
            return Err(if i < spec_len {
                CgroupError::invalid(format!("linux.resources.devices[{i}]"), what)
            } else {
                CgroupError::invalid("linux.resources.devices", format!("a default rule: {what}"))
            });
        }
        state.write(rule);
    }
    Ok(())
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
    fn the_v1_state_merges_resets_and_removes_exactly() {
        let rules = spec(
            r#"[{"allow":false,"access":"rwm"},{"allow":true,"type":"c","major":1,"minor":3,"access":"r"},
            {"allow":true,"type":"c","major":1,"minor":3,"access":"w"},{"allow":false,"type":"c","major":1,"minor":3,"access":"r"},
            {"allow":true,"type":"b","major":8,"access":"m"}]"#,
        );
        let state = V1State::after(&rules);
        assert!(!state.allow_all);
        let lines: Vec<String> = state.exceptions.iter().map(DeviceRule::v1_line).collect();
        assert_eq!(lines, ["c 1:3 w", "b 8:* m"]);
        // any `a` line resets, whatever it names
        let reset = spec(
            r#"[{"allow":true,"type":"c","major":1,"access":"r"},{"allow":true,"type":"a","major":5,"access":"r"}]"#,
        );
        assert_eq!(
            V1State::after(&reset),
            V1State {
                allow_all: true,
                exceptions: vec![]
            }
        );
    }

    #[test]
    fn a_hole_in_a_wider_rule_is_refused_naming_the_field() {
        let rules = spec(
            r#"[{"allow":true,"type":"c","major":1,"access":"rw"},{"allow":false,"type":"c","major":1,"minor":3,"access":"w"}]"#,
        );
        assert_eq!(
            check_expressible(&rules, 2).unwrap_err().to_string(),
            "linux.resources.devices[1]: `deny c 1:3 w` takes access from the earlier `c 1:* rw`, \
             which cgroup v1 cannot do (it would ignore the rule; runc refuses it too)"
        );
        // the same device exactly, or access the wider rule does not grant: fine
        let fine = spec(
            r#"[{"allow":true,"type":"c","major":1,"access":"r"},{"allow":false,"type":"c","major":1,"minor":3,"access":"w"},
            {"allow":false,"type":"c","major":1,"access":"r"}]"#,
        );
        check_expressible(&fine, 3).unwrap();
    }
}
