//! Differential testing of kapsel against runc and crun.
//!
//! kapsel passes its own tests, yet callers found places where it and runc disagree on
//! configs nobody on the team wrote. This crate finds that class of bug without anyone
//! pointing at it: a seeded generator ([`gen`]) makes valid, varied OCI configs — from the
//! `spec` output of each runtime and from configs real callers sent — and each config runs
//! under kapsel, runc and crun ([`lifecycle`], in a private "host" per run, [`world`]) with
//! the integration tests' static probe as the container process. What each run shows — exit
//! statuses, the probe's report, state, hooks, cgroup limits, what is left on the host — is
//! flattened into normalised facts ([`facts`]) and compared ([`compare`]); every difference
//! is explained by docs/differences.md ([`allow`]) or reported with its seed and config.
//! [`shrink`] reduces a config to what still shows a difference.

pub mod allow;
pub mod batch;
pub mod compare;
pub mod facts;
pub mod gen;
pub mod lifecycle;
pub mod rng;
pub mod runtimes;
pub mod shrink;
pub mod world;

use std::path::{Path, PathBuf};

pub use batch::Env;

/// The workspace root (for docs/differences.md and the default work dir).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Everything a batch needs: root and a subreaper, the runtimes, the busybox rootfs, the
/// probe, the live `spec` outputs and the allow-list; `with_crun` false compares kapsel and
/// runc only.
pub fn setup(work: &Path, allow_list: &Path, with_crun: bool) -> Result<Env, String> {
    let [kapsel, runc, crun] = runtimes::locate()?;
    let text = std::fs::read_to_string(allow_list)
        .map_err(|e| format!("read `{}`: {e}", allow_list.display()))?;
    let allow =
        allow::AllowList::parse(&text).map_err(|e| format!("`{}`: {e}", allow_list.display()))?;
    let sources = {
        std::fs::create_dir_all(work).map_err(|e| format!("mkdir `{}`: {e}", work.display()))?;
        gen::Sources::live(&kapsel.path, &runc.path, &crun.path, &work.join("specs"))?
    };
    let mut rts = vec![kapsel, runc];
    if with_crun {
        rts.push(crun);
    }
    prepare(work, rts, sources, allow)
}

/// An environment for `runtimes` (kapsel's column first, then the reference, then
/// optionally crun's), e.g. a runtime made to differ, for the harness's own tests.
pub fn prepare(
    work: &Path,
    runtimes: Vec<runtimes::Runtime>,
    sources: gen::Sources,
    allow: allow::AllowList,
) -> Result<Env, String> {
    if !nix::unistd::Uid::effective().is_root() {
        return Err("needs root (it runs real containers)".into());
    }
    kapsel_integration::procfs::become_subreaper();
    std::fs::create_dir_all(work).map_err(|e| format!("mkdir `{}`: {e}", work.display()))?;
    let work = std::fs::canonicalize(work).map_err(|e| format!("`{}`: {e}", work.display()))?;
    let first = runtimes.first().ok_or("no runtime")?;
    let it_rt = kapsel_integration::runtime::Runtime {
        path: first.path.clone(),
        is_kapsel: true,
    };
    let base = kapsel_integration::bundle::base(&work, &it_rt)?;
    let probe = kapsel_integration::probe::binary(&work)?.to_path_buf();
    let runs = work.join(format!("runs-{}", std::process::id()));
    std::fs::create_dir_all(&runs).map_err(|e| format!("mkdir `{}`: {e}", runs.display()))?;
    Ok(Env {
        runtimes,
        sources,
        rootfs: base.rootfs.clone(),
        probe,
        work: runs,
        allow,
        show_facts: false,
    })
}
