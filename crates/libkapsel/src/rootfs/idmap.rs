//! Idmapped bind mounts (`idmap` / `ridmap` options, `uidMappings` / `gidMappings` on a
//! mount entry). Giving a mount an idmap needs CAP_SYS_ADMIN over the filesystem's user
//! namespace (the host's), so the runtime prepares them before the clone: a detached
//! copy of the source (open_tree OPEN_TREE_CLONE) gets MOUNT_ATTR_IDMAP with a user
//! namespace made only to carry the mappings, and the container process inherits the
//! descriptor and attaches it with move_mount. Without mappings on the entry, the
//! container's user namespace gives them: a joined one directly, a new one through its
//! `linux.uidMappings` / `gidMappings`.

use super::options::MountOptions;
use crate::error::{Error, Result};
use kapsel_sys::fs::{mount_setattr_idmap, open_tree_clone};
use kapsel_sys::process::{clone_fork, Forked};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::{LinuxIdMapping, LinuxNamespaceType, Mount, Spec};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;

/// The prepared mounts, by their index in `mounts`.
#[derive(Default)]
pub struct Idmapped {
    fds: Vec<(usize, OwnedFd)>,
}

impl Idmapped {
    /// The detached, idmapped mount for `mounts[index]`, if it is one.
    pub fn get(&self, index: usize) -> Option<BorrowedFd<'_>> {
        self.fds
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, fd)| fd.as_fd())
    }

    /// Their descriptor numbers, which the container process must keep open.
    pub fn raw_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.fds.iter().map(|(_, fd)| fd.as_raw_fd())
    }
}

/// Whether `m` asks for an idmapped mount.
fn wants_idmap(m: &Mount, opts: &MountOptions) -> bool {
    opts.idmap.is_some() || m.uid_mappings().is_some() || m.gid_mappings().is_some()
}

/// Makes the idmapped mounts the config asks for (none: no work at all).
pub fn prepare(spec: &Spec, bundle: &Path) -> Result<Idmapped> {
    let mut out = Idmapped::default();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let opts = MountOptions::parse(m.options().as_deref().unwrap_or(&[]));
        if !wants_idmap(m, &opts) {
            continue;
        }
        let fd =
            prepare_one(spec, bundle, m, &opts).map_err(|e| e.in_field(format!("mounts[{i}]")))?;
        out.fds.push((i, fd));
    }
    Ok(out)
}

fn prepare_one(spec: &Spec, bundle: &Path, m: &Mount, opts: &MountOptions) -> Result<OwnedFd> {
    if !opts.is_bind() {
        return Err(crate::error::MountError::Idmap(
            "an idmapped mount must be a bind mount (`bind` or `rbind`)",
        )
        .into());
    }
    if !(nix::unistd::geteuid().is_root() && crate::linux::userns::in_initial_userns()) {
        return Err(crate::error::MountError::Idmap(
            "idmapped mounts need root in the initial user namespace",
        )
        .into());
    }
    let userns = mapping_userns(spec, m)?;
    let src = m.source().as_deref().unwrap_or(Path::new(""));
    let src = if src.is_absolute() {
        src.to_path_buf()
    } else {
        bundle.join(src)
    };
    let tree = open_tree_clone(&src, opts.is_recursive_bind())?;
    mount_setattr_idmap(tree.as_fd(), opts.idmap == Some(true), userns.as_fd()).map_err(
        |mut e| {
            e.path = Some(src.clone());
            Error::Sys(e)
        },
    )?;
    Ok(tree)
}

/// The user namespace whose mappings the mount gets: one made with the entry's own
/// mappings; else a joined user namespace (by path) itself; else one made with the
/// container's linux.uidMappings/gidMappings (the mappings its new user namespace gets).
fn mapping_userns(spec: &Spec, m: &Mount) -> Result<OwnedFd> {
    let linux = spec.linux().as_ref();
    match (m.uid_mappings(), m.gid_mappings()) {
        (Some(u), Some(g)) if !u.is_empty() && !g.is_empty() => return userns_with(u, g),
        (None, None) => {}
        _ => {
            return Err(crate::error::MountError::Idmap(
                "uidMappings and gidMappings must be given together and not be empty",
            )
            .into())
        }
    }
    let joined = linux
        .and_then(|l| l.namespaces().as_ref())
        .and_then(|ns| ns.iter().find(|n| n.typ() == LinuxNamespaceType::User))
        .and_then(|n| n.path().clone());
    if let Some(path) = joined {
        return std::fs::File::open(&path)
            .map(OwnedFd::from)
            .map_err(|e| Error::io("open", &path, e));
    }
    let u = linux.and_then(|l| l.uid_mappings().clone());
    let g = linux.and_then(|l| l.gid_mappings().clone());
    match (u, g) {
        (Some(u), Some(g)) if !u.is_empty() && !g.is_empty() => userns_with(&u, &g),
        _ => Err(crate::error::MountError::Idmap(
            "idmap needs uidMappings and gidMappings on the mount or a user \
             namespace with linux.uidMappings and linux.gidMappings",
        )
        .into()),
    }
}

/// A user namespace with these mappings, kept alive by the returned descriptor: a child
/// is cloned into it, its maps are written, the namespace is opened and the child killed.
fn userns_with(uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<OwnedFd> {
    match clone_fork(libc::CLONE_NEWUSER as u64, None)? {
        Forked::Child => {
            let _ = nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL);
            loop {
                nix::unistd::pause();
            }
        }
        Forked::Parent(pid) => {
            let opened = (|| {
                for (file, maps) in [("uid_map", uid), ("gid_map", gid)] {
                    let path = format!("/proc/{pid}/{file}");
                    std::fs::write(&path, crate::linux::userns::lines(maps))
                        .map_err(|e| Error::io("write", &path, e))?;
                }
                let path = format!("/proc/{pid}/ns/user");
                std::fs::File::open(&path)
                    .map(OwnedFd::from)
                    .map_err(|e| Error::io("open", &path, e))
            })();
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(pid), None);
            opened
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_entries_that_ask_are_idmapped() {
        let plain: Mount =
            serde_json::from_str(r#"{"destination":"/a","source":"/x","options":["rbind"]}"#)
                .unwrap();
        let opts = MountOptions::parse(plain.options().as_deref().unwrap());
        assert!(!wants_idmap(&plain, &opts));
        let idmap: Mount = serde_json::from_str(
            r#"{"destination":"/a","source":"/x","options":["bind","ridmap"]}"#,
        )
        .unwrap();
        let opts = MountOptions::parse(idmap.options().as_deref().unwrap());
        assert_eq!(opts.idmap, Some(true));
        assert!(wants_idmap(&idmap, &opts) && opts.data.is_empty());
    }
}
