//! Paths inside the container's root resolved the safe way: with openat2(2)
//! RESOLVE_IN_ROOT every symlink and `..` is evaluated as if the rootfs were `/`, so a
//! symlink planted in an image can never send a mount or a device onto the host
//! (CVE-2021-30465 and its family). Mounts then target the resolved descriptor
//! through /proc/self/fd, never the path again.

use crate::error::{nix_err, Error, Result};
use crate::linux::{openat2, ResolveFlag};
use nix::sys::stat::Mode;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

/// What to create at a missing destination.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Dir,
    File,
}

/// Opens `path` (absolute within the container) below `root` as an O_PATH descriptor.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path) -> Result<OwnedFd> {
    openat2(
        root,
        &relative(path),
        libc::O_PATH,
        ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS,
    )
    .map_err(|e| with_path(e, path))
}

/// Opens `path` below `root`, creating it (and its missing parents as directories)
/// when absent.
pub fn ensure_in_root(root: BorrowedFd<'_>, path: &Path, kind: Kind) -> Result<OwnedFd> {
    match open_in_root(root, path) {
        Ok(fd) => return Ok(fd),
        Err(Error::Sys(e)) if e.errno == libc::ENOENT => {}
        Err(e) => return Err(e),
    }
    if let Some(fd) = create_last(root, path, kind) {
        return Ok(fd);
    }
    let rel = relative(&secure_join(root, path)?);
    let mut parent: OwnedFd = open_in_root(root, Path::new("/"))?;
    let mut so_far = PathBuf::from("/");
    let components: Vec<_> = rel.components().collect();
    for (i, c) in components.iter().enumerate() {
        let Component::Normal(name) = c else { continue };
        so_far.push(name);
        let last = i + 1 == components.len();
        match open_in_root(root, &so_far) {
            Ok(fd) => {
                parent = fd;
                continue;
            }
            Err(Error::Sys(e)) if e.errno == libc::ENOENT => {}
            Err(e) => return Err(e),
        }
        let made_kind = if last { kind } else { Kind::Dir };
        match make(parent.as_fd(), name, made_kind) {
            Ok(()) | Err(nix::Error::EEXIST) => {}
            Err(e) => {
                let what = if made_kind == Kind::File {
                    "create file"
                } else {
                    "mkdir"
                };
                return Err(nix_err(what, &so_far)(e));
            }
        }
        parent = open_in_root(root, &so_far)?;
    }
    Ok(parent)
}

/// The common case of `ensure_in_root`: only the last component is missing. Its parent
/// is resolved in the root, the component made there, and opened with no symlink
/// followed. None whenever anything else is the case (a missing parent, a dangling
/// symlink as the last component, an error): the caller then takes the general path,
/// which also reports the errors.
fn create_last(root: BorrowedFd<'_>, path: &Path, kind: Kind) -> Option<OwnedFd> {
    let name = path.file_name()?;
    let parent = open_in_root(root, path.parent()?).ok()?;
    make(parent.as_fd(), name, kind).ok()?;
    openat2(
        parent.as_fd(),
        Path::new(name),
        libc::O_PATH,
        ResolveFlag::RESOLVE_BENEATH
            | ResolveFlag::RESOLVE_NO_SYMLINKS
            | ResolveFlag::RESOLVE_NO_MAGICLINKS,
    )
    .ok()
}

/// Makes the single component `name` in `parent`: a directory, or an empty file. Neither
/// call follows a final symlink (mkdirat; O_CREAT|O_EXCL|O_NOFOLLOW), so nothing outside
/// the root can be created.
fn make(parent: BorrowedFd<'_>, name: &std::ffi::OsStr, kind: Kind) -> nix::Result<()> {
    match kind {
        Kind::File => nix::fcntl::openat(
            parent,
            name,
            nix::fcntl::OFlag::O_CREAT
                | nix::fcntl::OFlag::O_EXCL
                | nix::fcntl::OFlag::O_WRONLY
                | nix::fcntl::OFlag::O_CLOEXEC
                | nix::fcntl::OFlag::O_NOFOLLOW,
            Mode::from_bits_truncate(0o644),
        )
        .map(drop),
        Kind::Dir => nix::sys::stat::mkdirat(parent, name, Mode::from_bits_truncate(0o755)),
    }
}

/// Expands every symlink of `path` as if `root` were `/` (like filepath-securejoin),
/// so that a dangling link such as `/etc -> /../../host/etc` names a path inside the
/// root that can then be created. `..` never climbs above the root.
pub fn secure_join(root: BorrowedFd<'_>, path: &Path) -> Result<PathBuf> {
    use std::collections::VecDeque;
    use std::ffi::OsString;
    let mut todo: VecDeque<OsString> = VecDeque::new();
    push_front_components(&mut todo, path);
    let mut cur = PathBuf::from("/");
    let mut links = 0;
    while let Some(c) = todo.pop_front() {
        if c == "." || c.is_empty() {
            continue;
        }
        if c == ".." {
            cur.pop();
            continue;
        }
        let next = cur.join(&c);
        let st = nix::sys::stat::fstatat(
            root,
            &relative(&next),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        );
        match st {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => {
                links += 1;
                if links > 255 {
                    return Err(nix_err("resolve", path)(nix::Error::ELOOP));
                }
                let target = nix::fcntl::readlinkat(root, &relative(&next))
                    .map_err(nix_err("readlink", &next))?;
                let target = PathBuf::from(target);
                if target.is_absolute() {
                    cur = PathBuf::from("/");
                }
                push_front_components(&mut todo, &target);
            }
            _ => cur = next,
        }
    }
    Ok(cur)
}

fn push_front_components(todo: &mut std::collections::VecDeque<std::ffi::OsString>, p: &Path) {
    let parts: Vec<_> = p
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    for part in parts.into_iter().rev() {
        todo.push_front(part);
    }
}

/// `/proc/self/fd/N`: the path mount(2) follows to exactly the resolved inode.
pub fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

fn relative(path: &Path) -> PathBuf {
    let rel = path.strip_prefix("/").unwrap_or(path);
    if rel.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        rel.to_path_buf()
    }
}

fn with_path(mut e: kapsel_sys::SysError, path: &Path) -> Error {
    e.path = Some(path.to_path_buf());
    Error::Sys(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kapsel-resolve-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_symlink_to_the_host_stays_inside_the_root() {
        let base = tmpdir("escape");
        let root = base.join("rootfs");
        let outside = base.join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        symlink(&outside, root.join("evil")).unwrap();
        symlink("../../../../outside", root.join("evil2")).unwrap();
        let rootfd = OwnedFd::from(std::fs::File::open(&root).unwrap());
        ensure_in_root(rootfd.as_fd(), Path::new("/evil/x"), Kind::Dir).unwrap();
        ensure_in_root(rootfd.as_fd(), Path::new("/evil2/y"), Kind::File).unwrap();
        assert!(!outside.join("x").exists(), "created outside the root");
        assert!(!outside.join("y").exists(), "created outside the root");
        // Both links resolve inside the root: /evil -> <root>/<abs path of outside>.
        let inside = root.join(outside.strip_prefix("/").unwrap());
        assert!(inside.join("x").is_dir());
        assert!(root.join("outside/y").is_file());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_dangling_symlink_as_the_last_component_is_created_inside_the_root() {
        let base = tmpdir("dangling-last");
        let root = base.join("rootfs");
        std::fs::create_dir_all(root.join("dev")).unwrap();
        std::fs::create_dir_all(base.join("host")).unwrap();
        symlink("../../host/made", root.join("dev/link")).unwrap();
        symlink("../../host/file", root.join("dev/flink")).unwrap();
        let rootfd = OwnedFd::from(std::fs::File::open(&root).unwrap());
        ensure_in_root(rootfd.as_fd(), Path::new("/dev/link"), Kind::Dir).unwrap();
        ensure_in_root(rootfd.as_fd(), Path::new("/dev/flink"), Kind::File).unwrap();
        assert!(!base.join("host/made").exists(), "created outside the root");
        assert!(!base.join("host/file").exists(), "created outside the root");
        assert!(root.join("host/made").is_dir());
        assert!(root.join("host/file").is_file());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn a_missing_last_component_is_made_in_its_parent() {
        let base = tmpdir("last");
        std::fs::create_dir_all(base.join("a")).unwrap();
        let rootfd = OwnedFd::from(std::fs::File::open(&base).unwrap());
        let dir = ensure_in_root(rootfd.as_fd(), Path::new("/a/d"), Kind::Dir).unwrap();
        ensure_in_root(rootfd.as_fd(), Path::new("/a/f"), Kind::File).unwrap();
        assert!(base.join("a/d").is_dir());
        assert!(base.join("a/f").is_file());
        let st = nix::sys::stat::fstat(&dir).unwrap();
        let want = std::fs::metadata(base.join("a/d")).unwrap();
        assert_eq!(st.st_ino, std::os::unix::fs::MetadataExt::ino(&want));
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn existing_paths_are_opened_not_created() {
        let base = tmpdir("existing");
        std::fs::create_dir_all(base.join("a/b")).unwrap();
        let rootfd = OwnedFd::from(std::fs::File::open(&base).unwrap());
        ensure_in_root(rootfd.as_fd(), Path::new("/a/b"), Kind::Dir).unwrap();
        let err = open_in_root(rootfd.as_fd(), Path::new("/missing"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("`/missing`") && err.contains("ENOENT"),
            "{err}"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }
}
