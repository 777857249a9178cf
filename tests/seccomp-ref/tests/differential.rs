//! kapsel-seccomp against libseccomp (as runc and crun use it): the same profiles, the
//! verdicts of both programs on every sample, and the length of both programs.
//!
//! Profiles: kapsel's default profile (docker's), the fuzz corpus, the profiles docker,
//! podman and buildah hand to the runtime (rebuilt from tests' caller samples), and
//! generated ones. Each prints one line: samples, instruction counts, and how many
//! samples libseccomp decides by its own tree order (not counted as a difference).

use oci_spec::runtime::LinuxSeccomp;
use seccomp_ref::compare::{compare, Outcome, Stats};
use seccomp_ref::gen::{self, Rng};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Prints the skip; with `KAPSEL_TEST_STRICT=1` (as CI runs) a skip is a failure.
fn skip(name: &str, why: &str) {
    if std::env::var("KAPSEL_TEST_STRICT").is_ok_and(|v| v == "1") {
        panic!("SKIP {name}: {why} (KAPSEL_TEST_STRICT=1 makes skips fail)");
    }
    println!("SKIP {name}: {why}");
}

fn parse(v: &Value) -> LinuxSeccomp {
    kapsel_seccomp::parse(v).unwrap_or_else(|e| panic!("profile does not parse: {e}"))
}

/// Compares `cfg`; panics with the differing samples; prints the line of the report.
fn check(label: &str, cfg: &LinuxSeccomp, seed: u64) -> Stats {
    match compare(cfg, &mut Rng::new(seed)) {
        Ok(Outcome::Same(s)) => {
            println!(
                "{label}: {} samples agree; instructions kapsel {}, libseccomp {} (with runc's stub {}); {} order-dependent, {} multiplexed, {} miscompiled by libseccomp; {} names newer than libseccomp and {} no architecture of the filter has left out",
                s.samples, s.kapsel_len, s.libseccomp_len, s.runc_len, s.order_dependent, s.multiplexed, s.miscompiled, s.newer, s.nowhere
            );
            s
        }
        Ok(other) => panic!("{label}: {other:?}"),
        Err(mismatches) => {
            let list: Vec<String> = mismatches.iter().map(|m| format!("  {m}")).collect();
            panic!("{label}: verdicts differ:\n{}", list.join("\n"))
        }
    }
}

#[test]
fn libseccomp_is_the_version_the_reference_was_written_for() {
    let (major, minor, micro) = seccomp_ref::ffi::version();
    println!("libseccomp {major}.{minor}.{micro}");
    assert!(
        (major, minor) >= (2, 5),
        "libseccomp {major}.{minor} is older than 2.5"
    );
}

#[test]
fn default_profile() {
    check("default profile", &kapsel_seccomp::default_profile(), 1);
    let raw: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("crates/kapsel-seccomp/profiles/default.json"))
            .expect("profiles/default.json"),
    )
    .expect("profiles/default.json is JSON");
    check("profiles/default.json", &parse(&raw), 2);
}

#[test]
fn fuzz_corpus() {
    let config: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fuzz/corpus/config/seccomp.json")).unwrap(),
    )
    .unwrap();
    check(
        "fuzz/corpus/config/seccomp.json",
        &parse(&config["linux"]["seccomp"]),
        3,
    );
    for name in ["default.json", "small.json"] {
        let path = root().join("fuzz/corpus/seccomp").join(name);
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        check(&format!("fuzz/corpus/seccomp/{name}"), &parse(&v), 4);
    }
}

/// Profiles the fuzz target (fuzz/fuzz_targets/seccomp_reference.rs) found, once they
/// were explained: each must keep comparing clean.
#[test]
fn fuzz_findings() {
    // x86 in the filter and only a socket rule: libseccomp numbers no x86 call of the
    // profile (socket goes through socketcall there), so runc adds no ENOSYS stub for x86;
    // kapsel's bound is socket's direct number. Counted as multiplexed.
    let v = json!({"architectures": ["SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_X86"],
        "defaultAction": "SCMP_ACT_KILL_THREAD", "listenerPath": "/run/agent.sock",
        "syscalls": [{"action": "SCMP_ACT_TRAP", "names": ["socket"]}]});
    let s = check("x86 socket only", &parse(&v), 6);
    assert!(s.multiplexed > 0);
}

/// The callers' create configs, whose seccomp rules the samples leave out ("<19 rules
/// elided>"): rebuilt from the profile each caller uses, resolved the way it does for
/// the sample's capabilities, and checked to have as many rules as were elided.
#[test]
fn caller_profiles() {
    let samples = std::env::var_os("KAPSEL_CALLER_SAMPLES")
        .map(PathBuf::from)
        // The recorded configs the differential harness keeps (copies of
        // shared/callers/samples, which a clone of the repository does not have).
        .unwrap_or_else(|| root().join("tests/differential/callers"));
    let common = std::env::var_os("KAPSEL_CONTAINERS_SECCOMP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/containers/seccomp.json"));
    if !samples.is_dir() {
        return skip(
            "caller_profiles",
            &format!("no caller samples at {}", samples.display()),
        );
    }
    let Ok(common) = std::fs::read_to_string(&common) else {
        return skip(
            "caller_profiles",
            &format!(
                "no containers-common profile at {} (Debian: golang-github-containers-common)",
                common.display()
            ),
        );
    };
    let common: Value = serde_json::from_str(&common).expect("containers-common profile");
    let docker_rules: Value = serde_json::from_str(include_str!(
        "../../../crates/kapsel-seccomp/profiles/default.json"
    ))
    .unwrap();
    let mut checked = 0;
    for (file, caller) in [
        ("docker-create.config.json", "docker"),
        ("podman-create.config.json", "podman"),
        ("podman-rootless-create.config.json", "podman"),
        ("buildah-bud-create.config.json", "buildah"),
    ] {
        let Ok(text) = std::fs::read_to_string(samples.join(file)) else {
            continue;
        };
        let config: Value = serde_json::from_str(&text).unwrap();
        let mut seccomp = config["linux"]["seccomp"].clone();
        let elided: usize = seccomp["syscalls"][0]
            .as_str()
            .and_then(|s| {
                s.split_whitespace()
                    .next()?
                    .trim_start_matches('<')
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("{file}: syscalls are not elided as expected"));
        let rules = if caller == "docker" {
            docker_rules["syscalls"].clone()
        } else {
            let caps: Vec<&str> = config["process"]["capabilities"]["bounding"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_str)
                .collect();
            resolve_common(&common, &caps)
        };
        assert_eq!(
            rules.as_array().unwrap().len(),
            elided,
            "{file}: rebuilt rules"
        );
        seccomp["syscalls"] = rules;
        check(&format!("{file} ({caller})"), &parse(&seccomp), 5);
        checked += 1;
    }
    assert!(
        checked > 0,
        "no caller create config in {}",
        samples.display()
    );
}

/// containers-common's profile for x86_64 and `caps`, as podman and buildah resolve it:
/// a rule stays when its `includes` all hold and none of its `excludes` does.
fn resolve_common(profile: &Value, caps: &[&str]) -> Value {
    let list = |v: &Value, key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for rule in profile["syscalls"].as_array().unwrap() {
        let (inc, exc) = (&rule["includes"], &rule["excludes"]);
        let arches = list(inc, "arches");
        if !arches.is_empty() && !arches.iter().any(|a| a == "amd64") {
            continue;
        }
        if list(exc, "arches").iter().any(|a| a == "amd64") {
            continue;
        }
        if !list(inc, "caps").iter().all(|c| caps.contains(&c.as_str())) {
            continue;
        }
        if list(exc, "caps").iter().any(|c| caps.contains(&c.as_str())) {
            continue;
        }
        let mut r = json!({ "names": rule["names"], "action": rule["action"] });
        for key in ["args", "errnoRet"] {
            if !rule[key].is_null() {
                r[key] = rule[key].clone();
            }
        }
        out.push(r);
    }
    Value::Array(out)
}

/// Made-up profiles: every action, errno values, every operator (masked-eq too),
/// several conditions and architectures, defaultErrnoRet, names nobody knows.
#[test]
fn generated_profiles() {
    let count: u64 = std::env::var("KAPSEL_SECCOMP_PROFILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(800);
    let (mut samples, mut order_dependent, mut multiplexed, mut refused) = (0, 0, 0, Vec::new());
    let (mut miscompiled, mut miscompiled_profiles) = (0, Vec::new());
    let (mut kapsel_len, mut libseccomp_len, mut runc_len) = (0, 0, 0);
    let mut failures = Vec::new();
    for seed in 0..count {
        let mut rng = Rng::new(1000 + seed);
        let v = gen::profile(&mut rng);
        let cfg = match kapsel_seccomp::parse(&v) {
            Ok(c) => c,
            Err(e) => panic!("seed {seed}: generated profile does not parse: {e}\n{v}"),
        };
        match compare(&cfg, &mut rng) {
            Ok(Outcome::Same(s)) => {
                samples += s.samples;
                order_dependent += s.order_dependent;
                multiplexed += s.multiplexed;
                miscompiled += s.miscompiled;
                if let Some(m) = s.miscompiled_examples.first() {
                    miscompiled_profiles.push(format!("seed {seed}: {m}"));
                }
                kapsel_len += s.kapsel_len;
                libseccomp_len += s.libseccomp_len;
                runc_len += s.runc_len;
            }
            Ok(Outcome::RefusedByReference { why, kapsel }) => refused.push((seed, why, kapsel)),
            Ok(Outcome::RefusedByKapsel(e)) => failures.push(format!(
                "seed {seed}: kapsel refused what libseccomp takes: {e}\n{v}"
            )),
            Err(m) => failures.push(format!(
                "seed {seed}: {}\n  {}\n{v}",
                m.len(),
                m.iter()
                    .map(|m| m.to_string())
                    .collect::<Vec<_>>()
                    .join("\n  ")
            )),
        }
    }
    println!(
        "generated: {count} profiles, {samples} samples, {order_dependent} order-dependent, \
         {multiplexed} multiplexed, {miscompiled} miscompiled by libseccomp (in {} profiles); \
         instructions in all: kapsel {kapsel_len}, libseccomp {libseccomp_len} (runc {runc_len}); \
         {} refused by libseccomp",
        miscompiled_profiles.len(),
        refused.len()
    );
    for m in &miscompiled_profiles {
        println!("  libseccomp miscompiled {m}");
    }
    for (seed, why, kapsel) in &refused {
        println!("  seed {seed}: libseccomp refused ({why}); kapsel: {kapsel:?}");
    }
    assert!(
        failures.is_empty(),
        "{} of {count} profiles differ:\n{}",
        failures.len(),
        failures[..failures.len().min(5)].join("\n")
    );
}
