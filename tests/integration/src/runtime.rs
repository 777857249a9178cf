//! Which runtime binary the tests drive, from `KAPSEL_TEST_RUNTIME` or the workspace build.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The runtime under test.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// Absolute path of the binary.
    pub path: PathBuf,
    /// True when the basename starts with "kapsel": kapsel-only assertions then apply.
    pub is_kapsel: bool,
}

impl Runtime {
    /// Finds the runtime: `KAPSEL_TEST_RUNTIME` (a path, or a name looked up on PATH), else the
    /// workspace's target/release/kapsel, else target/debug/kapsel.
    pub fn locate() -> Result<Runtime, String> {
        let path = match std::env::var("KAPSEL_TEST_RUNTIME") {
            Ok(wanted) if !wanted.is_empty() => resolve(&wanted)?,
            _ => workspace_build()?,
        };
        let is_kapsel = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("kapsel"));
        Ok(Runtime { path, is_kapsel })
    }

    /// The basename, for messages.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }
}

/// The cgroup driver the tests drive the runtime with, from `KAPSEL_TEST_CGROUP_DRIVER`:
/// `cgroupfs` (or unset: the default, as on the CI host) or `systemd` (the VM of tests/vm,
/// where systemd is PID 1): every invocation then gets `--systemd-cgroup` and every bundle
/// without a `cgroupsPath` gets [`systemd_cgroups_path`]. Any other value panics.
pub fn systemd_cgroup() -> bool {
    match std::env::var("KAPSEL_TEST_CGROUP_DRIVER") {
        Ok(v) if v == "systemd" => true,
        Ok(v) if v.is_empty() || v == "cgroupfs" => false,
        Ok(v) => panic!("KAPSEL_TEST_CGROUP_DRIVER `{v}`: want `cgroupfs` or `systemd`"),
        Err(_) => false,
    }
}

/// The slice and unit prefix of the harness's containers under the systemd driver.
pub const SYSTEMD_SLICE: &str = "system.slice";
/// See [`SYSTEMD_SLICE`]: the unit of container `id` is `kapsel-it-<id>.scope`.
pub const SYSTEMD_PREFIX: &str = "kapsel-it";

/// `system.slice:kapsel-it:<id>`: the `cgroupsPath` a bundle without one gets under the
/// systemd driver (the same unit whatever the runtime, so tests find it for runc too).
pub fn systemd_cgroups_path(id: &str) -> String {
    format!("{SYSTEMD_SLICE}:{SYSTEMD_PREFIX}:{id}")
}

/// The scope unit of container `id` under the systemd driver: `kapsel-it-<id>.scope`.
pub fn systemd_unit(id: &str) -> String {
    format!("{SYSTEMD_PREFIX}-{id}.scope")
}

fn resolve(wanted: &str) -> Result<PathBuf, String> {
    if wanted.contains('/') {
        let path = PathBuf::from(wanted);
        return if is_executable(&path) {
            Ok(std::fs::canonicalize(&path).unwrap_or(path))
        } else {
            Err(format!(
                "KAPSEL_TEST_RUNTIME `{wanted}` is not an executable file"
            ))
        };
    }
    let search = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&search)
        .map(|dir| dir.join(wanted))
        .find(|p| is_executable(p))
        .ok_or_else(|| format!("KAPSEL_TEST_RUNTIME `{wanted}` not found on PATH"))
}

fn workspace_build() -> Result<PathBuf, String> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    ["target/release/kapsel", "target/debug/kapsel"]
        .iter()
        .map(|rel| workspace.join(rel))
        .find(|p| is_executable(p))
        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
        .ok_or_else(|| {
            "no kapsel binary in target/release or target/debug (build it, or set KAPSEL_TEST_RUNTIME)"
                .to_string()
        })
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
