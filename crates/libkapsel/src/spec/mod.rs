//! Load config.json from a bundle and check every value kapsel uses, naming the field
//! of anything it refuses. Nothing here touches the system beyond reading files.

pub mod default;
pub mod json;
pub(crate) mod json_path;

use crate::error::{io_text, Error, Result};
use crate::rootfs::options::MountOptions;
use oci_spec::runtime::{LinuxNamespaceType, Mount, Spec};
use std::path::{Path, PathBuf};

pub const CONFIG_FILE: &str = "config.json";

/// Reads and parses `bundle/config.json`; type errors name the JSON path of the field.
pub fn load(bundle: &Path) -> Result<Spec> {
    let path = bundle.join(CONFIG_FILE);
    let bytes = std::fs::read(&path).map_err(|e| Error::io("open", &path, e))?;
    parse(&bytes, &path)
}

/// Parses config.json bytes. A capability name this build does not know is not an
/// error (the runtime-spec says to warn and go on): only then is the JSON walked a
/// second time to drop such names.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Spec> {
    let inner = match serde_json::from_slice::<Spec>(bytes) {
        Ok(spec) => return no_nul_bytes(bytes).map(|()| spec),
        Err(e) => e,
    };
    if let Some(kind) = top_level_not_an_object(bytes) {
        return Err(Error::ConfigJson {
            path: path.to_path_buf(),
            reason: format!(
                "the top level must be a JSON object (a runtime-spec config), not {kind}"
            ),
        });
    }
    let field = crate::spec::json_path::of_error(bytes, &inner);
    if field.starts_with("process.scheduler.flags") {
        let mut v: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_default();
        if let Some(process) = v.get_mut("process") {
            spec_scheduler_flags(process);
        }
        if let Ok(spec) = crate::spec::json::from_value(&v) {
            return no_nul_bytes(bytes).map(|()| spec);
        }
    }
    if field.starts_with("process.capabilities.") {
        if let Some(spec) = without_unknown_caps(bytes) {
            return no_nul_bytes(bytes).map(|()| spec);
        }
    }
    if field == "." || field.is_empty() {
        Err(Error::ConfigJson {
            path: path.to_path_buf(),
            reason: format!("invalid JSON: {inner}"),
        })
    } else {
        Err(Error::config(
            field,
            format!("{inner} (in {})", path.display()),
        ))
    }
}

/// oci-spec 0.10 spells two of the runtime-spec's scheduler flags its own way
/// (`SCHED_RESET_ON_FORK`, `SCHED_FLAG_D_L_OVERRUN`): the spec's names in a process
/// object are rewritten to its spelling before parsing again.
pub(crate) fn spec_scheduler_flags(process: &mut serde_json::Value) {
    let Some(flags) = process
        .get_mut("scheduler")
        .and_then(|s| s.get_mut("flags"))
        .and_then(|f| f.as_array_mut())
    else {
        return;
    };
    for flag in flags {
        let theirs = match flag.as_str() {
            Some("SCHED_FLAG_RESET_ON_FORK") => "SCHED_RESET_ON_FORK",
            Some("SCHED_FLAG_DL_OVERRUN") => "SCHED_FLAG_D_L_OVERRUN",
            _ => continue,
        };
        *flag = theirs.into();
    }
}

/// No string in config.json may hold a NUL byte: the kernel would cut a hostname, path or
/// argument short there (or refuse it with a message that hides where it came from). JSON
/// can only carry one escaped, so a cheap scan decides whether the fields need a walk.
fn no_nul_bytes(bytes: &[u8]) -> Result<()> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return Ok(());
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| Error::ConfigJson {
            path: CONFIG_FILE.into(),
            reason: format!("invalid JSON: {e}"),
        })?;
    match nul_field(&value, "") {
        Some(field) => Err(Error::config(field, "contains a NUL byte")),
        None => Ok(()),
    }
}

/// The JSON path of the first string (or object key) holding a NUL byte.
fn nul_field(v: &serde_json::Value, at: &str) -> Option<String> {
    let join = |k: &str| {
        if at.is_empty() {
            k.to_string()
        } else {
            format!("{at}.{k}")
        }
    };
    match v {
        serde_json::Value::String(s) if s.contains('\0') => Some(at.to_string()),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_field(item, &format!("{at}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, item)| {
            if k.contains('\0') {
                Some(join(&k.escape_debug().to_string()))
            } else {
                nul_field(item, &join(k))
            }
        }),
        _ => None,
    }
}

fn without_unknown_caps(bytes: &[u8]) -> Option<Spec> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let caps = v
        .get_mut("process")?
        .get_mut("capabilities")?
        .as_object_mut()?;
    for (set, list) in caps.iter_mut() {
        if let Some(names) = list.as_array_mut() {
            names.retain(|n| {
                let known =
                    crate::spec::json::from_value::<oci_spec::runtime::Capability>(n).is_ok();
                if !known {
                    crate::logging::warn(&format!(
                        "process.capabilities.{set}: unknown capability {n}: skipped"
                    ));
                }
                known
            });
        }
    }
    // Back through bytes rather than `from_value`: the Spec deserializer for byte
    // input already exists (parse), one for `Value` input would double its code.
    serde_json::from_slice(&serde_json::to_vec(&v).ok()?).ok()
}

/// Every check that can be made before any namespace exists.
pub fn validate(spec: &Spec, bundle: &Path) -> Result<()> {
    check_version(spec.version())?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::config("process", "missing: a container needs a process to run"))?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::config(
            "process.args",
            "must name at least the executable",
        ));
    }
    if !process.cwd().is_absolute() {
        return Err(Error::config(
            "process.cwd",
            format!("`{}` is not an absolute path", process.cwd().display()),
        ));
    }
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| Error::config("root", "missing: no root filesystem given"))?;
    let rootfs = rootfs_path(bundle, root.path());
    match std::fs::metadata(&rootfs) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::config(
                "root.path",
                format!("`{}` is not a directory", rootfs.display()),
            ))
        }
        Err(e) => {
            return Err(Error::config(
                "root.path",
                format!("`{}`: {}", rootfs.display(), io_text(&e)),
            ))
        }
    }
    if let Some(mounts) = spec.mounts() {
        for (i, m) in mounts.iter().enumerate() {
            check_mount(i, m)?;
        }
    }
    check_hooks(spec)?;
    for (i, d) in spec
        .linux()
        .as_ref()
        .and_then(|l| l.devices().as_ref())
        .iter()
        .copied()
        .flatten()
        .enumerate()
    {
        crate::rootfs::devices::node_from_spec(i, d)?;
    }
    if let Some(linux) = spec.linux() {
        if let Some(namespaces) = linux.namespaces() {
            let mut seen = Vec::new();
            for (i, ns) in namespaces.iter().enumerate() {
                if seen.contains(&ns.typ()) {
                    return Err(Error::config(
                        format!("linux.namespaces[{i}].type"),
                        format!("namespace `{}` given twice", ns.typ()),
                    ));
                }
                seen.push(ns.typ());
            }
            let own_uts = seen.contains(&LinuxNamespaceType::Uts);
            if !own_uts && spec.hostname().as_ref().is_some_and(|h| !h.is_empty()) {
                return Err(Error::config(
                    "hostname",
                    "unable to set hostname without a private UTS namespace",
                ));
            }
            if !own_uts && spec.domainname().as_ref().is_some_and(|h| !h.is_empty()) {
                return Err(Error::config(
                    "domainname",
                    "unable to set domainname without a private UTS namespace",
                ));
            }
            if linux.time_offsets().as_ref().is_some_and(|t| !t.is_empty())
                && !namespaces
                    .iter()
                    .any(|n| n.typ() == LinuxNamespaceType::Time && n.path().is_none())
            {
                return Err(Error::config(
                    "linux.timeOffsets",
                    "needs a new time namespace",
                ));
            }
        }
    }
    Ok(())
}

pub fn rootfs_path(bundle: &Path, root: &Path) -> PathBuf {
    if root.is_absolute() {
        root.to_path_buf()
    } else {
        bundle.join(root)
    }
}

/// What the top level of a JSON text is when it is not an object (`an array`, ...).
fn top_level_not_an_object(bytes: &[u8]) -> Option<&'static str> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace())? {
        b'{' => None,
        b'[' => Some("an array"),
        b'"' => Some("a string"),
        b't' | b'f' => Some("a boolean"),
        b'n' => Some("null"),
        _ => Some("a number or invalid JSON"),
    }
}

/// `hooks.*[i].path` must be absolute and `hooks.*[i].timeout` greater than zero when given
/// (runtime-spec; runc refuses a zero timeout). A relative path would otherwise be looked up
/// from wherever the hook happens to run: the caller's directory, or the container's `/`.
fn check_hooks(spec: &Spec) -> Result<()> {
    let Some(h) = spec.hooks() else {
        return Ok(());
    };
    #[allow(deprecated)]
    let kinds = [
        ("prestart", h.prestart()),
        ("createRuntime", h.create_runtime()),
        ("createContainer", h.create_container()),
        ("startContainer", h.start_container()),
        ("poststart", h.poststart()),
        ("poststop", h.poststop()),
    ];
    for (kind, list) in kinds {
        for (i, hook) in list.iter().flatten().enumerate() {
            if !hook.path().is_absolute() {
                return Err(Error::config(
                    format!("hooks.{kind}[{i}].path"),
                    format!("`{}` must be an absolute path", hook.path().display()),
                ));
            }
            if let Some(t) = hook.timeout().filter(|t| *t <= 0) {
                return Err(Error::config(
                    format!("hooks.{kind}[{i}].timeout"),
                    format!("{t}: must be greater than zero"),
                ));
            }
        }
    }
    Ok(())
}

/// `path` with `.` and `..` resolved by name alone (`..` stops at `/`).
pub(crate) fn lexical_clean(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// `ociVersion` must be SemVer 2.0.0 (runtime-spec) with major version 1.
fn check_version(version: &str) -> Result<()> {
    if !is_semver(version) {
        return Err(Error::config(
            "ociVersion",
            format!("`{version}` is not a SemVer 2.0.0 version (MAJOR.MINOR.PATCH)"),
        ));
    }
    let major = version.split('.').next().unwrap_or("");
    if major != "1" {
        return Err(Error::config(
            "ociVersion",
            format!("unsupported version `{version}`: kapsel implements runtime-spec 1.x"),
        ));
    }
    Ok(())
}

/// SemVer 2.0.0: three numbers without leading zeros, then an optional `-pre.release` whose
/// numeric identifiers have no leading zeros either, and optional `+build.metadata`.
fn is_semver(v: &str) -> bool {
    let ident =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let number = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let (rest, build) = match v.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts.iter().all(|p| number(p))
        && pre.is_none_or(|p| {
            p.split('.')
                .all(|id| ident(id) && (!id.bytes().all(|b| b.is_ascii_digit()) || number(id)))
        })
        && build.is_none_or(|b| b.split('.').all(ident))
}

fn check_mount(i: usize, m: &Mount) -> Result<()> {
    if !m.destination().is_absolute() {
        return Err(Error::config(
            format!("mounts[{i}].destination"),
            format!("`{}` is not an absolute path", m.destination().display()),
        ));
    }
    let opts = MountOptions::parse(m.options().as_deref().unwrap_or(&[]));
    let typ = m.typ().as_deref().unwrap_or("");
    crate::rootfs::mounts::proc_rule(
        &lexical_clean(m.destination()),
        typ,
        opts.is_bind(),
        m.source().as_deref(),
    )
    .map_err(|e| e.in_field(format!("mounts[{i}].destination")))?;
    if !opts.is_bind() {
        if typ.is_empty() || typ == "none" {
            return Err(Error::config(
                format!("mounts[{i}].type"),
                format!(
                    "missing for `{}` (only bind mounts may omit it)",
                    m.destination().display()
                ),
            ));
        }
        if !crate::rootfs::filesystems::is_known(typ) {
            return Err(Error::config(
                format!("mounts[{i}].type"),
                format!("unknown filesystem type `{typ}` (not in /proc/filesystems)"),
            ));
        }
    } else if m.source().is_none() {
        return Err(Error::config(
            format!("mounts[{i}].source"),
            "a bind mount needs a source",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_bytes_are_named_by_field() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"hostname":"ok","process":{"args":["sh","a\u0000b"]},"annotations":{"k\u0000":"v"}}"#,
        )
        .unwrap();
        assert_eq!(nul_field(&v, "").as_deref(), Some("annotations.k\\0"));
        assert_eq!(
            nul_field(&v["process"], "process").as_deref(),
            Some("process.args[1]")
        );
        assert!(
            no_nul_bytes(br#"{"a":"\\u0000"}"#).is_ok(),
            "an escaped backslash"
        );
        assert!(no_nul_bytes(br#"{"hostname":"a\u0000"}"#).is_err());
    }

    #[test]
    fn version_major_must_be_one() {
        assert!(check_version("1.0.2").is_ok());
        assert!(check_version("1.2.0").is_ok());
        let err = check_version("2.0.0").unwrap_err().to_string();
        assert!(
            err.starts_with("ociVersion: unsupported version `2.0.0`"),
            "{err}"
        );
        assert!(check_version("").is_err());
    }

    #[test]
    fn version_must_be_semver() {
        for ok in [
            "1.0.0",
            "1.0.2-dev",
            "1.2.0-rc.1",
            "1.1.0+build.5",
            "1.0.0-0.3.7-x",
            "1.10.100",
        ] {
            assert!(check_version(ok).is_ok(), "{ok}");
        }
        for bad in [
            "1",
            "1.0",
            "1.0.0.0",
            "1.x.0",
            "01.0.0",
            "1.00.0",
            "1.0.0-",
            "1.0.0-01",
            "1.0.0+",
            "1.0.0-a..b",
            "v1.0.0",
            " 1.0.0",
        ] {
            let err = check_version(bad).unwrap_err().to_string();
            assert!(err.contains("not a SemVer"), "{bad}: {err}");
        }
    }

    #[test]
    fn unknown_capabilities_are_skipped() {
        let json = br#"{"ociVersion":"1.0.0","process":{"cwd":"/","user":{"uid":0,"gid":0},
            "capabilities":{"bounding":["CAP_KILL","CAP_NOT_A_THING"]}}}"#;
        let spec = parse(json, Path::new("config.json")).unwrap();
        let caps = spec
            .process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap();
        assert_eq!(caps.bounding().as_ref().unwrap().len(), 1);
    }

    #[test]
    fn type_errors_name_the_field() {
        let dir = std::env::temp_dir().join(format!("kapsel-spec-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(CONFIG_FILE),
            br#"{"ociVersion":"1.0.0","process":{"cwd":"/","user":{"uid":"zero","gid":0}}}"#,
        )
        .unwrap();
        let err = load(&dir).unwrap_err().to_string();
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(err.starts_with("process.user.uid: invalid type"), "{err}");
    }

    /// oci-spec checks process.execCPUAffinity with a regex; the workspace serves
    /// `regex` from regex-lite (crates/regex-shim), which must give the same verdicts.
    #[test]
    fn exec_cpu_affinity_is_checked() {
        let config = |v: &str| {
            format!(
                r#"{{"ociVersion":"1.0.0","process":{{"cwd":"/","args":["true"],"user":{{"uid":0,"gid":0}},"execCPUAffinity":{{"initial":"{v}"}}}}}}"#
            )
        };
        for good in ["0", "0-1,3", "2,4-7,9"] {
            assert!(
                parse(config(good).as_bytes(), Path::new("c")).is_ok(),
                "{good}"
            );
        }
        for bad in ["", "x", "1-", ",1", "1,,2", "a-b"] {
            let err = parse(config(bad).as_bytes(), Path::new("c")).unwrap_err();
            assert!(
                err.to_string().starts_with("process.execCPUAffinity"),
                "{bad}: {err}"
            );
        }
    }
}
