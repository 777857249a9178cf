//! `features`: the runtime-spec features document of this build. Every list is derived
//! from the table the code itself uses (mount options from the option parser, seccomp
//! from the compiler, capabilities from the capability table and the kernel), so the
//! document cannot claim what create would refuse.

use crate::rootfs::options;
use crate::security::{capabilities, process_attrs};
use crate::state::OCI_VERSION;
use serde_json::{json, Value};

/// The oldest runtime-spec version whose configs kapsel accepts (spec::check_version).
pub const OCI_VERSION_MIN: &str = "1.0.0";

/// Hook kinds run by create/start/delete (hooks.rs), in lifecycle order.
pub const HOOKS: &[&str] = &[
    "prestart",
    "createRuntime",
    "createContainer",
    "startContainer",
    "poststart",
    "poststop",
];

/// Optional parts of config-linux.md: each is one line to change when it lands.
/// `linux.intelRdt` through resctrl.
const INTEL_RDT: bool = cfg!(feature = "intel-rdt");
/// `linux.netDevices`.
const NET_DEVICES: bool = cfg!(feature = "net-devices");
/// `idmap`/`ridmap` mount options and per-mount id mappings.
const IDMAP_MOUNTS: bool = cfg!(feature = "idmap");
/// `linux.memoryPolicy` modes and flags (set_mempolicy(2)); empty: not supported.
const MEMORY_POLICY_MODES: &[&str] = crate::linux::mempolicy::MODES;
const MEMORY_POLICY_FLAGS: &[&str] = crate::linux::mempolicy::FLAGS;

/// The features document, as `kapsel features` prints it.
pub fn features() -> Value {
    let last_cap = capabilities::last_cap();
    let mut linux = json!({
        "namespaces": namespaces(),
        "capabilities": capabilities::known_names(last_cap).collect::<Vec<_>>(),
        "cgroup": {
            "v1": true,
            "v2": true,
            // --systemd-cgroup: transient scopes over D-Bus (kapsel-cgroups/src/systemd),
            // rootless in the user's own systemd instance.
            "systemd": cfg!(feature = "systemd"),
            "systemdUser": cfg!(feature = "systemd"),
            "rdma": true,
        },
        "seccomp": seccomp(),
        "apparmor": { "enabled": process_attrs::apparmor_enabled() },
        "selinux": { "enabled": process_attrs::selinux_enabled() },
        "intelRdt": { "enabled": INTEL_RDT },
        "mountExtensions": { "idmap": { "enabled": IDMAP_MOUNTS } },
        "netDevices": { "enabled": NET_DEVICES },
    });
    if !MEMORY_POLICY_MODES.is_empty() {
        linux["memoryPolicy"] = json!({
            "modes": MEMORY_POLICY_MODES,
            "flags": MEMORY_POLICY_FLAGS,
        });
    }
    json!({
        "ociVersionMin": OCI_VERSION_MIN,
        "ociVersionMax": OCI_VERSION,
        "hooks": HOOKS,
        "mountOptions": mount_options(),
        "linux": linux,
        "annotations": {
            "org.kapsel.version": env!("CARGO_PKG_VERSION"),
            "org.kapsel.seccomp": "native",
            "org.kapsel.checkpoint.enabled": if cfg!(feature = "criu") { "true" } else { "false" },
            // crun's form (`run.oci.crun.wasm`): whether the wasm handler is built in.
            "org.kapsel.wasm": if crate::wasm::BUILT_IN { "true" } else { "false" },
        },
        // The annotations that change how the process runs (crun lists the same two).
        "potentiallyUnsafeConfigAnnotations": if crate::wasm::BUILT_IN {
            vec![
                crate::process::handler::HANDLER_ANNOTATION,
                crate::process::handler::VARIANT_ANNOTATION,
            ]
        } else {
            Vec::new()
        },
    })
}

/// Every mount option the parser turns into flags, propagation or attributes, sorted.
pub fn mount_options() -> Vec<&'static str> {
    let mut all: Vec<_> = options::known_options().collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// The namespace types the running kernel has (create refuses the others).
pub fn namespaces() -> Vec<Value> {
    crate::linux::namespaces::ALL_TYPES
        .iter()
        .filter(|t| crate::linux::namespaces::kernel_has(**t))
        .map(|t| json!(t))
        .collect()
}

fn seccomp() -> Value {
    use kapsel_seccomp::supported;
    json!({
        "enabled": true,
        "actions": supported::ACTIONS,
        "operators": supported::OPERATORS,
        "archs": supported::archs(),
        "knownFlags": supported::KNOWN_FLAGS,
        "supportedFlags": supported::supported_flags(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_has_the_runtime_spec_shape() {
        let doc = features();
        let typed: oci_spec::runtime::Features =
            serde_json::from_value(doc.clone()).expect("parses as runtime-spec features");
        assert_eq!(typed.oci_version_max(), OCI_VERSION);
        let linux = typed.linux().as_ref().expect("linux section");
        let seccomp = linux.seccomp().as_ref().expect("seccomp section");
        assert_eq!(seccomp.actions().as_ref().map(Vec::len), Some(9));
        assert!(doc["mountOptions"]
            .as_array()
            .is_some_and(|o| o.iter().any(|v| v == "rbind")));
    }

    #[test]
    fn mount_options_are_sorted_and_unique() {
        let o = mount_options();
        assert!(o.windows(2).all(|w| w[0] < w[1]), "{o:?}");
        assert!(o.contains(&"tmpcopyup") && o.contains(&"rro"));
    }
}
