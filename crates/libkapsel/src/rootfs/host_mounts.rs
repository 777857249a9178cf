//! A container without a mount namespace of its own (the runtime-spec: a namespace type not
//! listed is inherited from the runtime) mounts in the caller's mount namespace: its rootfs
//! bind, every `mounts` entry, /dev, masked and read-only paths all land under the rootfs
//! path on the host. runc leaves them there for good. kapsel notes the mounts under the
//! rootfs before `create` (an image's own overlay is mounted there by the caller) and
//! `delete` detaches every newer one, each only after checking that the mount at its path
//! is still the one it means, so nothing kapsel did not make is ever unmounted.

use crate::error::{nix_err, Error, Result};
use std::path::{Path, PathBuf};

/// One line of /proc/self/mountinfo: the mount's id and where it is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MountLine {
    id: u64,
    point: PathBuf,
}

/// The mounts at or below `rootfs` in this process's mount namespace, in mount order.
fn under(rootfs: &Path) -> Result<Vec<MountLine>> {
    let text = kapsel_sys::kernfile::read_to_string(std::path::Path::new("/proc/self/mountinfo"))
        .map_err(|e| Error::io("read", "/proc/self/mountinfo", e))?;
    Ok(parse(&text)
        .into_iter()
        .filter(|m| m.point.starts_with(rootfs))
        .collect())
}

/// The ids of the mounts at or below `rootfs` now: what `delete` must leave alone.
pub fn snapshot(rootfs: &Path) -> Result<Vec<u64>> {
    crate::linux::mount_ns::in_caller_mount_ns(|| Ok(under(rootfs)?.iter().map(|m| m.id).collect()))
}

/// Detaches every mount at or below `rootfs` that is not in `before`, newest first. A
/// mount is detached only while the mount at its path is that very mount (statx's mount
/// id), so one already gone with its parent never sends the unmount to an older mount.
pub fn remove_new(rootfs: &Path, before: &[u64]) -> Result<()> {
    crate::linux::mount_ns::in_caller_mount_ns(|| {
        let ours: Vec<MountLine> = under(rootfs)?
            .into_iter()
            .filter(|m| !before.contains(&m.id))
            .collect();
        for m in ours.iter().rev() {
            match kapsel_sys::fs::mount_id(&m.point) {
                Ok(id) if id == m.id => {}
                // Gone (with its parent) or covered by another: not ours to touch.
                _ => continue,
            }
            match nix::mount::umount2(
                &m.point,
                nix::mount::MntFlags::MNT_DETACH | nix::mount::MntFlags::UMOUNT_NOFOLLOW,
            ) {
                Ok(()) | Err(nix::Error::EINVAL) | Err(nix::Error::ENOENT) => {}
                Err(e) => return Err(nix_err("umount", &m.point)(e)),
            }
        }
        Ok(())
    })
}

fn parse(text: &str) -> Vec<MountLine> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let id = fields.next()?.parse().ok()?;
            let point = unescape(fields.nth(3)?);
            Some(MountLine { id, point })
        })
        .collect()
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    PathBuf::from(std::ffi::OsString::from(
        <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&out),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_lines_give_id_and_unescaped_point() {
        let text = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
                    481 22 0:52 / /b/root\\040fs/proc rw - proc proc rw\n";
        assert_eq!(
            parse(text),
            vec![
                MountLine {
                    id: 22,
                    point: "/".into()
                },
                MountLine {
                    id: 481,
                    point: "/b/root fs/proc".into()
                },
            ]
        );
    }
}
