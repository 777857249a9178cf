//! config.json bytes -> parse -> validate, against a bundle whose rootfs exists: any input
//! must give a Spec or an error, never a panic. Validation only reads files.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn bundle() -> &'static PathBuf {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kapsel-fuzz-bundle-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("rootfs")).expect("make the fuzz bundle");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let bundle = bundle();
    let Ok(spec) = libkapsel::spec::parse(data, &bundle.join("config.json")) else {
        return;
    };
    if libkapsel::spec::validate(&spec, bundle).is_err() {
        return;
    }
    let namespaces = spec.linux().as_ref().and_then(|l| l.namespaces().as_ref());
    // Planning opens joined namespaces' paths (which could be a FIFO): only without them.
    let joins = namespaces.is_some_and(|n| n.iter().any(|n| n.path().is_some()));
    if let Some(sysctl) = spec
        .linux()
        .as_ref()
        .and_then(|l| l.sysctl().as_ref())
        .filter(|_| !joins)
    {
        if let Ok(ns) = libkapsel::linux::namespaces::plan(&spec) {
            let _ = libkapsel::security::sysctl::validate(sysctl, &ns);
        }
    }
    let new_user = namespaces.is_some_and(|n| {
        n.iter()
            .any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::User && n.path().is_none())
    });
    let _ = libkapsel::linux::userns::validate(&spec, new_user);
});
