//! The runtimes compared: kapsel (the workspace build or `KAPSEL_TEST_RUNTIME`), runc (the
//! reference: the runtime-spec is the law, runc the tie-breaker) and crun, which on a hybrid
//! cgroup host runs where /sys/fs/cgroup/unified is hidden (crun 1.8 refuses that layout).

use std::path::PathBuf;

/// One runtime binary.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// `kapsel`, `runc` or `crun`: the column it fills.
    pub name: String,
    /// Absolute path.
    pub path: PathBuf,
    /// Run with the hybrid cgroup2 mount detached (crun).
    pub hide_unified: bool,
}

/// The three runtimes: kapsel from `KAPSEL_TEST_RUNTIME` or the workspace's build, runc and
/// crun from `KAPSEL_DIFF_RUNC` / `KAPSEL_DIFF_CRUN` or PATH.
pub fn locate() -> Result<[Runtime; 3], String> {
    let kapsel = kapsel_integration::runtime::Runtime::locate()?;
    let other = |name: &str, var: &str| -> Result<PathBuf, String> {
        let wanted = std::env::var(var).unwrap_or_else(|_| name.to_string());
        let found = if wanted.contains('/') {
            Some(PathBuf::from(&wanted))
        } else {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|d| d.join(&wanted))
                .find(|p| p.is_file())
        };
        found
            .filter(|p| p.is_file())
            .ok_or_else(|| format!("{name} not found (install it, or set {var})"))
    };
    Ok([
        Runtime {
            name: "kapsel".into(),
            path: kapsel.path,
            hide_unified: false,
        },
        Runtime {
            name: "runc".into(),
            path: other("runc", "KAPSEL_DIFF_RUNC")?,
            hide_unified: false,
        },
        Runtime {
            name: "crun".into(),
            path: other("crun", "KAPSEL_DIFF_CRUN")?,
            hide_unified: true,
        },
    ])
}
