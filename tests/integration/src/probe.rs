//! The conformance probe (probe/probe.c): a static program that runs as the container process
//! and prints one JSON object of what it sees — ids and groups, umask, cwd, hostname and
//! domainname, env and args, the /proc/self/status capability, no_new_privs and seccomp
//! lines, every rlimit, namespace inodes, cgroup, mountinfo, oom_score_adj, asked-for sysctls
//! and file stats — so a test can compare it with config.json from the host.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use crate::bundle::Bundle;
use crate::context::Ctx;
use crate::cprog;
use crate::mountinfo::{self, Mount};

/// The probe's C source.
pub const SOURCE: &str = include_str!("../probe/probe.c");

static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();

/// The compiled probe under `tmp` (the test's CARGO_TARGET_TMPDIR), or why there is none.
pub fn binary(tmp: &Path) -> Result<&'static Path, String> {
    BIN.get_or_init(|| cprog::compile(tmp, "conformance-probe", "probe", SOURCE, &["-O1"]))
        .as_ref()
        .map(PathBuf::as_path)
        .map_err(Clone::clone)
}

/// Capability names in bit order (linux/capability.h).
pub const CAPS: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// The /proc/self/status mask of a list of capability names, as 16 hex digits.
pub fn cap_mask(names: &[&str]) -> String {
    let bits = names.iter().fold(0u64, |acc, name| {
        let bit = CAPS
            .iter()
            .position(|c| c == name)
            .unwrap_or_else(|| panic!("unknown capability `{name}` in the test"));
        acc | 1 << bit
    });
    format!("{bits:016x}")
}

/// What the probe printed.
#[derive(Debug, Clone)]
pub struct Report(pub Value);

impl Report {
    /// Parses the probe's stdout; panics with the text when it is not one JSON object.
    #[track_caller]
    pub fn parse(stdout: &str) -> Report {
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .unwrap_or("");
        Report(
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("probe output is not JSON ({e}):\n{stdout}")),
        )
    }

    /// A string field (`cwd`, `hostname`, `oom_score_adj`...), "" when absent.
    pub fn str(&self, key: &str) -> &str {
        self.0[key].as_str().unwrap_or("")
    }

    /// A `/proc/self/status` line (`Uid`, `CapEff`, `NoNewPrivs`, ...), "" when absent.
    pub fn status(&self, key: &str) -> &str {
        self.0["status"][key].as_str().unwrap_or("")
    }

    /// `[soft, hard]` of an rlimit such as `RLIMIT_NOFILE`.
    #[track_caller]
    pub fn rlimit(&self, name: &str) -> (u64, u64) {
        let pair = &self.0["rlimits"][name];
        match (pair[0].as_u64(), pair[1].as_u64()) {
            (Some(soft), Some(hard)) => (soft, hard),
            _ => panic!("probe reported no {name}: {}", self.0),
        }
    }

    /// The namespace inode of `kind` (`pid`, `mnt`, `net`...).
    pub fn ns(&self, kind: &str) -> Option<u64> {
        self.0["ns"][kind].as_u64()
    }

    /// The environment, one `KEY=value` per entry.
    pub fn env(&self) -> Vec<&str> {
        strings(&self.0["env"])
    }

    /// The mounts the process sees.
    pub fn mounts(&self) -> Vec<Mount> {
        mountinfo::parse(&strings(&self.0["mountinfo"]).join("\n"))
    }

    /// The `stat:PATH` result: "type uid gid mode major minor", None when lstat failed.
    pub fn stat(&self, path: &str) -> Option<&str> {
        self.0["stat"][path].as_str()
    }

    /// The `sysctl:NAME` result.
    pub fn sysctl(&self, name: &str) -> Option<&str> {
        self.0["sysctl"][name].as_str()
    }
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

impl Ctx {
    /// A fresh bundle whose process is `/probe ARGS...`, or None after printing why the probe
    /// cannot be built (a skip).
    pub fn probe_bundle(&self, args: &[&str]) -> Option<Bundle> {
        let mut b = self.bundle();
        if let Err(reason) =
            binary(self.tmp()).and_then(|bin| cprog::install(bin, &b.rootfs(), "probe"))
        {
            self.skip(&format!("no probe: {reason}"));
            return None;
        }
        let argv: Vec<&str> = std::iter::once("/probe")
            .chain(args.iter().copied())
            .collect();
        b.args(&argv);
        Some(b)
    }

    /// Runs `bundle` in the foreground and parses what the probe printed; panics when the run
    /// fails.
    #[track_caller]
    pub fn probe_run(&mut self, bundle: &Bundle) -> Report {
        let id = self.id("probe");
        let out = self.run(bundle, &id);
        out.ok();
        Report::parse(&out.stdout)
    }
}
