//! The whole container, decided before anything on the host is reserved: config.json
//! loaded and checked, and every part of it turned by its own module into what will be
//! applied (`RootfsPlan`, `ProcessPlan`, `NamespacePlan`, the seccomp BPF, the cgroup
//! plan, ...). Any config error surfaces here, while the host is untouched.
//!
//! The plan has two halves. [`InitPlan`] is all the container process gets across the
//! clone: it never sees config.json, only what to do. The rest stays with the runtime
//! (the cgroups it makes, the hooks of the runtime namespace, what `delete` needs later).

use super::extras::Extras;
use crate::error::{Error, Result};
use crate::process::hooks;
use crate::process::plan::{InitPlan, ProcessPlan};
use crate::rootfs::RootfsPlan;
use crate::state::id::ContainerId;
use crate::state::StoredHook;
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::path::{Path, PathBuf};

/// The container, planned.
pub struct ContainerPlan {
    pub id: ContainerId,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    /// config.json, for what the runtime itself does with it (cgroups, the state, the
    /// seccomp listener): never handed to the container process.
    pub spec: Spec,
    pub prestart_hooks: Vec<StoredHook>,
    pub create_runtime_hooks: Vec<StoredHook>,
    pub poststart_hooks: Vec<StoredHook>,
    pub poststop_hooks: Vec<StoredHook>,
    pub extras: Extras,
    /// The caller's NOTIFY_SOCKET, relayed into the container (sd_notify).
    pub notify_socket: Option<PathBuf>,
    pub init: InitPlan,
}

/// How `create` was called, as far as the plan is concerned.
pub struct PlanOptions<'a> {
    pub bundle: &'a Path,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
}

impl ContainerPlan {
    pub fn new(id: &str, o: &PlanOptions<'_>) -> Result<ContainerPlan> {
        let id = ContainerId::new(id)?;
        let bundle =
            std::fs::canonicalize(o.bundle).map_err(|e| Error::io("open bundle", o.bundle, e))?;
        let spec = crate::spec::load(&bundle)?;
        crate::spec::validate(&spec, &bundle)?;
        let rootfs_rel = spec
            .root()
            .as_ref()
            .map(|r| r.path().clone())
            .unwrap_or_default();
        let rootfs = std::fs::canonicalize(crate::spec::rootfs_path(&bundle, &rootfs_rel))
            .map_err(|e| Error::io("open rootfs", &rootfs_rel, e))?;
        let ns = crate::linux::namespaces::plan(&spec)?;
        let linux = spec.linux().as_ref();
        let mut sysctl = Vec::new();
        if let Some(map) = linux.and_then(|l| l.sysctl().as_ref()) {
            crate::security::sysctl::validate(map, &ns)?;
            sysctl = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            sysctl.sort();
        }
        crate::security::process_attrs::validate_lsm(&spec)?;
        crate::linux::userns::validate(&spec, ns.has_new(LinuxNamespaceType::User))?;
        let process = spec
            .process()
            .as_ref()
            .ok_or_else(|| Error::config("process", "missing"))?;
        let mut process = ProcessPlan::new(process, &spec)?
            .with_listen_fds(crate::process::finish::listen_fds())?;
        let handler = crate::process::handler::select(spec.annotations().as_ref(), &process.arg0)?;
        if handler == crate::process::handler::Handler::Wasm {
            if !crate::wasm::BUILT_IN {
                return Err(Error::config(
                    "annotations",
                    format!("the wasm handler is {}", crate::absent("wasm")),
                ));
            }
            process.wasm = true;
        }
        crate::process::affinity::check_online(
            process.affinity_initial.as_deref(),
            process.affinity_final.as_deref(),
        )?;
        let mempolicy = crate::linux::mempolicy::from_spec(&spec)?;
        if let Some(policy) = &mempolicy {
            crate::linux::mempolicy::check_nodes(policy, Path::new("/sys"))?;
        }
        let seccomp = compile_seccomp(&spec)?;
        let shares_mounts = ns.shares_mounts();
        let root = RootfsPlan::new(&spec, &bundle, shares_mounts, o.no_pivot)?;
        let image_nodes = crate::rootfs::devices::image_nodes(&rootfs, &root.devices)?;
        let extras = super::extras::plan(
            &spec,
            &bundle,
            shares_mounts.then_some(rootfs.as_path()),
            image_nodes,
        )?;
        let notify_socket = crate::process::sd_notify::requested();
        if let Some(host) = &notify_socket {
            crate::process::sd_notify::check(host)?;
        }
        let h = spec.hooks().as_ref();
        #[allow(deprecated)]
        let stored =
            |pick: fn(&oci_spec::runtime::Hooks) -> &Option<Vec<oci_spec::runtime::Hook>>| {
                h.map(|h| hooks::stored(pick(h))).unwrap_or_default()
            };
        #[allow(deprecated)]
        let prestart_hooks = stored(|h| h.prestart());
        let create_runtime_hooks = stored(|h| h.create_runtime());
        let create_container_hooks = stored(|h| h.create_container());
        let start_container_hooks = stored(|h| h.start_container());
        let any_hooks = [
            &prestart_hooks,
            &create_runtime_hooks,
            &create_container_hooks,
            &start_container_hooks,
        ]
        .iter()
        .any(|l| !l.is_empty());
        let init = InitPlan {
            id: id.to_string(),
            rootfs: rootfs.clone(),
            hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
            domainname: spec.domainname().clone().filter(|d| !d.is_empty()),
            sysctl,
            time_offsets: crate::linux::namespaces::time_offsets(&spec)?,
            mempolicy,
            seccomp,
            create_container_hooks,
            start_container_hooks,
            any_hooks,
            no_new_keyring: o.no_new_keyring,
            preserve_fds: o.preserve_fds,
            ns,
            root,
            process,
        };
        Ok(ContainerPlan {
            poststart_hooks: stored(|h| h.poststart()),
            poststop_hooks: stored(|h| h.poststop()),
            prestart_hooks,
            create_runtime_hooks,
            extras,
            notify_socket,
            id,
            bundle,
            rootfs,
            spec,
            init,
        })
    }
}

/// `linux.seccomp` compiled to BPF before anything exists, with a NOTIFY listener checked.
pub(crate) fn compile_seccomp(
    spec: &oci_spec::runtime::Spec,
) -> Result<Option<kapsel_seccomp::Filter>> {
    let Some(cfg) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
        return Ok(None);
    };
    let filter = kapsel_seccomp::compile(cfg).map_err(|source| Error::Seccomp {
        field: "linux.seccomp",
        source,
    })?;
    if filter.uses_notify() {
        if let Some(path) = cfg.listener_path() {
            kapsel_seccomp::check_listener(path).map_err(|source| Error::Seccomp {
                field: "linux.seccomp.listenerPath",
                source,
            })?;
        }
    }
    Ok(Some(filter))
}
