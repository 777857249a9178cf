//! The state root and one directory per container in it: reserved atomically with
//! mkdir, locked with flock, written with temp file + rename so readers never see a
//! torn state.

use crate::error::{nix_err, Error, Result};
use crate::state::id::ContainerId;
use crate::state::State;
use nix::fcntl::{Flock, FlockArg, OFlag};
use nix::sys::stat::Mode;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const STATE_FILE: &str = "state.json";
pub use super::EXEC_FIFO;
/// The directory of a container's state dir that holds its sd_notify socket, and the socket.
pub const NOTIFY_DIR: &str = "notify";
pub const NOTIFY_SOCKET: &str = "notify.sock";
/// The temporary file a state is written to before the rename.
const STATE_TMP: &str = ".state.json.tmp";
/// Everything kapsel puts in a container's directory; `remove` removes these and no more.
const OWN_ENTRIES: [&str; 4] = [STATE_FILE, STATE_TMP, EXEC_FIFO, NOTIFY_DIR];

#[derive(Debug, Clone)]
pub struct StateRoot {
    path: PathBuf,
}

/// A container's directory, held under an exclusive flock for as long as it lives.
pub struct ContainerDir {
    pub path: PathBuf,
    _lock: Flock<File>,
}

impl StateRoot {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StateRoot { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn dir_of(&self, id: &ContainerId) -> PathBuf {
        self.path.join(id)
    }

    /// Creates the container's directory; fails with [`Error::Exists`] when the id is taken.
    pub fn reserve(&self, id: &ContainerId) -> Result<ContainerDir> {
        if let Err(e) = std::fs::create_dir(&self.path) {
            if e.kind() != std::io::ErrorKind::AlreadyExists {
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .create(&self.path)
                    .map_err(|e| Error::io("create state root", &self.path, e))?;
            }
            set_private_mode(&self.path);
        } else {
            set_private_mode(&self.path);
        }
        let dir = self.dir_of(id);
        match nix::unistd::mkdir(&dir, Mode::from_bits_truncate(0o711)) {
            Ok(()) => {}
            Err(nix::Error::EEXIST) => return Err(Error::Exists),
            Err(e) => return Err(nix_err("mkdir", &dir)(e)),
        }
        match lock(&dir) {
            Ok(lock) => Ok(ContainerDir {
                path: dir,
                _lock: lock,
            }),
            Err(e) => {
                let _ = std::fs::remove_dir(&dir);
                Err(e)
            }
        }
    }

    /// Opens and locks an existing container's directory.
    pub fn open(&self, id: &ContainerId) -> Result<ContainerDir> {
        let dir = self.dir_of(id);
        let lock = lock(&dir).map_err(|e| match e {
            Error::Sys(ref s) if s.errno == libc::ENOENT => Error::NotExist,
            e => e,
        })?;
        Ok(ContainerDir {
            path: dir,
            _lock: lock,
        })
    }

    /// Opens and locks an existing container's directory unless another command holds
    /// it (then None).
    pub fn try_open(&self, id: &ContainerId) -> Result<Option<ContainerDir>> {
        let dir = self.dir_of(id);
        match lock_with(&dir, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => Ok(Some(ContainerDir {
                path: dir,
                _lock: lock,
            })),
            Err(Error::Sys(s)) if s.errno == libc::EWOULDBLOCK => Ok(None),
            Err(Error::Sys(s)) if s.errno == libc::ENOENT => Err(Error::NotExist),
            Err(e) => Err(e),
        }
    }

    /// Reads a container's state without taking the lock (rename makes it atomic).
    pub fn read_state(&self, id: &ContainerId) -> Result<State> {
        read_state_file(&self.dir_of(id))
    }

    /// Ids of every container directory under the root, sorted; names that are not valid
    /// ids (nothing kapsel made) are passed over.
    pub fn ids(&self) -> Result<Vec<ContainerId>> {
        let entries = match std::fs::read_dir(&self.path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("read state root", &self.path, e)),
        };
        let mut ids: Vec<ContainerId> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter_map(|name| ContainerId::new(&name).ok())
            .collect();
        ids.sort();
        Ok(ids)
    }
}

fn set_private_mode(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o711));
}

fn lock(dir: &Path) -> Result<Flock<File>> {
    lock_with(dir, FlockArg::LockExclusive)
}

fn lock_with(dir: &Path, how: FlockArg) -> Result<Flock<File>> {
    // O_NOFOLLOW: a symlink in the state root is nothing kapsel made, and never followed.
    let fd = nix::fcntl::open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(nix_err("open", dir))?;
    Flock::lock(File::from(fd), how).map_err(|(_, e)| nix_err("flock", dir)(e))
}

fn read_state_file(dir: &Path) -> Result<State> {
    let path = dir.join(STATE_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(if dir.exists() {
                Error::StillCreating
            } else {
                Error::NotExist
            })
        }
        Err(e) => return Err(Error::io("read", &path, e)),
    };
    serde_json::from_slice(&bytes).map_err(|e| Error::CorruptState {
        path: path.clone(),
        reason: e.to_string(),
    })
}

impl ContainerDir {
    pub fn read_state(&self) -> Result<State> {
        read_state_file(&self.path)
    }

    /// Writes the state to a temporary file and renames it into place.
    pub fn write_state(&self, state: &State) -> Result<()> {
        let tmp = self.path.join(STATE_TMP);
        let path = self.path.join(STATE_FILE);
        let bytes =
            serde_json::to_vec(state).map_err(|e| Error::msg(format!("encode state: {e}")))?;
        let mut f = File::create(&tmp).map_err(|e| Error::io("create", &tmp, e))?;
        f.write_all(&bytes)
            .map_err(|e| Error::io("write", &tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &path, e))
    }

    pub fn fifo_path(&self) -> PathBuf {
        self.path.join(EXEC_FIFO)
    }

    /// Removes the directory: only the entries kapsel itself writes into it, then the
    /// directory with rmdir. Anything else in it was not made by kapsel, so it stays, and
    /// the rmdir fails naming the directory (never a recursive removal).
    pub fn remove(self) -> Result<()> {
        for entry in OWN_ENTRIES {
            let path = self.path.join(entry);
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                // A directory of kapsel's (the notify socket's) holds only its socket.
                Err(_) if path.is_dir() && !path.is_symlink() => {
                    let _ = std::fs::remove_file(path.join(NOTIFY_SOCKET));
                    std::fs::remove_dir(&path).map_err(|e| Error::io("rmdir", &path, e))?;
                }
                Err(e) => return Err(Error::io("remove", &path, e)),
            }
        }
        match std::fs::remove_dir(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove state dir", &self.path, e)),
        }
    }
}
