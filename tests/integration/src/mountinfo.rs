//! Parsing /proc/<pid>/mountinfo (proc(5)) as printed by the host or by a container.

use std::path::PathBuf;

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The directory of the filesystem that the mount shows (field 4: `/` for a whole
    /// filesystem, the source's path for a bind mount).
    pub root: PathBuf,
    /// Mount point, relative to the reader's root.
    pub mount_point: PathBuf,
    /// Per-mount options (field 6): ro, nosuid, nodev, noexec, relatime...
    pub options: Vec<String>,
    /// Optional fields: shared:N, master:N, propagate_from:N, unbindable.
    pub optional: Vec<String>,
    /// Filesystem type.
    pub fstype: String,
    /// Mount source.
    pub source: String,
    /// Superblock options: size=, mode=...
    pub super_options: Vec<String>,
}

impl Mount {
    /// True when the per-mount options hold `opt`.
    pub fn has(&self, opt: &str) -> bool {
        self.options.iter().any(|o| o == opt)
    }

    /// True when the superblock options hold `opt`.
    pub fn has_super(&self, opt: &str) -> bool {
        self.super_options.iter().any(|o| o == opt)
    }

    /// True when an optional field starts with `prefix` (e.g. "shared:").
    pub fn has_optional(&self, prefix: &str) -> bool {
        self.optional.iter().any(|o| o.starts_with(prefix))
    }
}

/// Parses mountinfo text; lines that do not parse are skipped.
pub fn parse(text: &str) -> Vec<Mount> {
    text.lines().filter_map(parse_line).collect()
}

/// This process's mounts.
pub fn read_self() -> Vec<Mount> {
    parse(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
}

/// The last (topmost) mount at `point` in `mounts`.
pub fn find<'a>(mounts: &'a [Mount], point: &str) -> Option<&'a Mount> {
    mounts
        .iter()
        .rev()
        .find(|m| m.mount_point.as_os_str() == point)
}

/// The topmost mount at `point`; panics (listing them all) when there is none.
#[track_caller]
pub fn expect<'a>(mounts: &'a [Mount], point: &str) -> &'a Mount {
    find(mounts, point).unwrap_or_else(|| panic!("no mount at {point}: {mounts:#?}"))
}

/// Runs a container with `script`, then has it print its mountinfo after a marker line;
/// returns the script's output and the container's mounts.
#[track_caller]
pub fn after_script(
    t: &mut crate::Ctx,
    b: &mut crate::Bundle,
    script: &str,
) -> (String, Vec<Mount>) {
    let out = t.sh_output(
        b,
        &format!("{script}\necho ---mountinfo---; cat /proc/self/mountinfo"),
    );
    let (before, info) = out.split_once("---mountinfo---\n").unwrap_or((&out, ""));
    (before.to_string(), parse(info))
}

fn parse_line(line: &str) -> Option<Mount> {
    let (left, right) = line.split_once(" - ")?;
    let fields: Vec<&str> = left.split(' ').collect();
    if fields.len() < 6 {
        return None;
    }
    let mut rest = right.split(' ');
    Some(Mount {
        root: PathBuf::from(unescape(fields[3])),
        mount_point: PathBuf::from(unescape(fields[4])),
        options: split_commas(fields[5]),
        optional: fields[6..].iter().map(|s| s.to_string()).collect(),
        fstype: rest.next()?.to_string(),
        source: unescape(rest.next()?),
        super_options: split_commas(rest.next().unwrap_or("")),
    })
}

fn split_commas(s: &str) -> Vec<String> {
    s.split(',')
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect()
}

/// Undoes the kernel's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push(
                    d.iter()
                        .fold(0u8, |acc, c| acc.wrapping_mul(8) + (c - b'0')),
                );
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_optional_fields_and_super_options() {
        let text = "36 35 98:0 /mnt1 /mnt\\040x rw,noatime master:1 shared:7 - ext3 /dev/root rw,errors=continue\n\
                    40 36 0:5 / /tmp rw,nosuid - tmpfs tmpfs rw,size=1024k,mode=1777\n";
        let mounts = parse(text);
        assert_eq!(mounts.len(), 2);
        assert_eq!(mounts[0].mount_point, PathBuf::from("/mnt x"));
        assert!(mounts[0].has("noatime"));
        assert!(mounts[0].has_optional("shared:"));
        assert!(mounts[0].has_optional("master:"));
        assert_eq!(mounts[0].fstype, "ext3");
        let tmp = find(&mounts, "/tmp").expect("tmp mount");
        assert!(tmp.has("nosuid") && !tmp.has("ro"));
        assert!(tmp.has_super("size=1024k") && tmp.has_super("mode=1777"));
        assert!(tmp.optional.is_empty());
    }
}
