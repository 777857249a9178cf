//! Small static C programs the tests copy into a rootfs (the attack program, the conformance
//! probe): compiled with `gcc -static` once per source text into the test's target tmp dir
//! and reused across runs; tests skip when gcc or a static libc is missing.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Compiles `source` into `<tmp>/<dir>/<name>-<hash of source>` with `gcc -static flags...`,
/// or returns the binary an earlier run left there.
pub fn compile(
    tmp: &Path,
    dir: &str,
    name: &str,
    source: &str,
    flags: &[&str],
) -> Result<PathBuf, String> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    source.hash(&mut hasher);
    flags.hash(&mut hasher);
    let dir = tmp.join(dir);
    let bin = dir.join(format!("{name}-{:016x}", hasher.finish()));
    if bin.is_file() {
        return Ok(bin);
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("mkdir `{}`: {e}", dir.display()))?;
    let src = dir.join(format!("{name}-{}.c", std::process::id()));
    let part = dir.join(format!("{name}-{}.tmp", std::process::id()));
    std::fs::write(&src, source).map_err(|e| format!("write `{}`: {e}", src.display()))?;
    let out = Command::new("gcc")
        .arg("-static")
        .args(flags)
        .arg("-o")
        .arg(&part)
        .arg(&src)
        .output();
    let _ = std::fs::remove_file(&src);
    let out = out.map_err(|e| format!("run gcc (apt-get install gcc libc6-dev): {e}"))?;
    if !out.status.success() {
        let _ = std::fs::remove_file(&part);
        return Err(format!(
            "gcc -static failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    // Concurrent test processes each rename a complete binary into place.
    std::fs::rename(&part, &bin).map_err(|e| format!("rename to `{}`: {e}", bin.display()))?;
    Ok(bin)
}

/// Copies `bin` to `/<name>` in `rootfs`.
pub fn install(bin: &Path, rootfs: &Path, name: &str) -> Result<(), String> {
    std::fs::copy(bin, rootfs.join(name))
        .map(|_| ())
        .map_err(|e| format!("copy `{}` into `{}`: {e}", bin.display(), rootfs.display()))
}
