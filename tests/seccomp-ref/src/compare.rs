//! One profile through both compilers, and the verdicts of both programs on every sample.

use crate::cbpf::{self, Insn};
use crate::gen::{self, Source};
use crate::runc::{self, Arch, Reference};
use oci_spec::runtime::{Arch as OciArch, LinuxSeccomp};
use std::fmt;

/// What comparing one profile found, when the verdicts agree.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub samples: usize,
    /// Samples where the two differ only because libseccomp orders overlapping
    /// conditional rules by its own tree rather than by the config (see
    /// `Reference::order_dependent`).
    pub order_dependent: usize,
    pub kapsel_len: usize,
    pub libseccomp_len: usize,
    /// Samples on socket and IPC calls of multiplexing ABIs, where the two differ by design
    /// (see `runc::multiplexed`).
    pub multiplexed: usize,
    /// libseccomp's program with runc's ENOSYS stub in front.
    pub runc_len: usize,
    /// Names of the profile kapsel's tables have and libseccomp's do not (calls newer
    /// than the libseccomp release): left out of both programs before comparing, as the
    /// tables are compared on their own (tests/tables.rs).
    pub newer: usize,
    /// Names no architecture of the filter has, left out too (see `without_inert_names`).
    pub nowhere: usize,
    /// Samples where libseccomp's program contradicts libseccomp's own rules (what its
    /// pseudo filter code states) and kapsel follows the rules: a libseccomp bug.
    pub miscompiled: usize,
    pub miscompiled_examples: Vec<Mismatch>,
}

#[derive(Debug)]
pub enum Outcome {
    Same(Stats),
    /// libseccomp refused the config, so runc and crun would not start the container;
    /// `kapsel` is what kapsel did with it.
    RefusedByReference {
        why: String,
        kapsel: Result<usize, String>,
    },
    /// kapsel refused a config libseccomp takes.
    RefusedByKapsel(String),
}

/// One call on which the verdicts differ.
#[derive(Debug, Clone)]
pub struct Mismatch {
    pub arch: OciArch,
    pub nr: u32,
    pub name: Option<String>,
    pub args: [u64; 6],
    pub kapsel: Result<u32, String>,
    pub reference: Result<u32, String>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = |r: &Result<u32, String>| match r {
            Ok(v) => verdict_name(*v),
            Err(e) => format!("invalid program: {e}"),
        };
        write!(
            f,
            "{} nr {} ({}) args {:x?}: kapsel {}, libseccomp {}",
            self.arch,
            self.nr,
            self.name.as_deref().unwrap_or("?"),
            self.args,
            v(&self.kapsel),
            v(&self.reference)
        )
    }
}

/// SECCOMP_RET_* as a word: `ERRNO(38)`, `ALLOW`.
pub fn verdict_name(v: u32) -> String {
    let data = v & 0xffff;
    match v & 0xffff_0000 {
        0x8000_0000 => "KILL_PROCESS".into(),
        0 => "KILL_THREAD".into(),
        0x0003_0000 => "TRAP".into(),
        0x0005_0000 => format!("ERRNO({data})"),
        0x7fc0_0000 => "USER_NOTIF".into(),
        0x7ff0_0000 => format!("TRACE({data})"),
        0x7ffc_0000 => "LOG".into(),
        0x7fff_0000 => "ALLOW".into(),
        _ => format!("{v:#x}"),
    }
}

/// At most this many mismatches are collected per profile.
const MAX_MISMATCHES: usize = 20;

/// Compiles `cfg` with kapsel and with the reference and compares the verdicts on the
/// samples `gen` makes for it.
pub fn compare(cfg: &LinuxSeccomp, src: &mut impl Source) -> Result<Outcome, Vec<Mismatch>> {
    let filter_archs: Vec<Arch> = std::iter::once(kapsel_seccomp::native_arch())
        .flatten()
        .chain(cfg.architectures().iter().flatten().copied())
        .filter_map(runc::arch)
        .collect();
    let (cfg, newer, nowhere) = without_inert_names(cfg, &filter_archs);
    let cfg = &cfg;
    let kapsel = kapsel_seccomp::compile(cfg);
    let reference = match runc::build(cfg) {
        Ok(r) => r,
        Err(why) => {
            return Ok(Outcome::RefusedByReference {
                why,
                kapsel: kapsel
                    .map(|f| f.instructions().len())
                    .map_err(|e| e.to_string()),
            })
        }
    };
    let kapsel = match kapsel {
        Ok(f) => f,
        Err(e) => return Ok(Outcome::RefusedByKapsel(e.to_string())),
    };
    let prog: Vec<Insn> = kapsel.instructions().iter().map(|&i| i.into()).collect();
    let default = runc::action(cfg.default_action(), cfg.default_errno_ret());
    let mut stats = Stats {
        kapsel_len: prog.len(),
        libseccomp_len: reference.program.len(),
        runc_len: reference.runc_len(),
        newer,
        nowhere,
        ..Stats::default()
    };
    let mut names: Vec<String> = cfg
        .syscalls()
        .iter()
        .flatten()
        .flat_map(|s| s.names().iter().cloned())
        .collect();
    names.sort();
    names.dedup();
    let mut values: Vec<u64> = cfg
        .syscalls()
        .iter()
        .flatten()
        .flat_map(|s| s.args().iter().flatten())
        .flat_map(|a| [a.value(), a.value_two().unwrap_or(0)])
        .collect();
    values.sort_unstable();
    values.dedup();
    let full_args = gen::arg_sets(&values, src);
    let few_args = [[0; 6], [u64::MAX; 6], full_args[full_args.len() / 2]];
    let conditional: Vec<&str> = cfg
        .syscalls()
        .iter()
        .flatten()
        .filter(|s| s.args().as_ref().is_some_and(|a| !a.is_empty()))
        .flat_map(|s| s.names().iter().map(String::as_str))
        .collect();

    let mut mismatches = Vec::new();
    for (oci, arch) in sample_archs(cfg, &reference) {
        for nr in gen::numbers(arch, oci, &names, src) {
            let has_conditions = conditional.iter().any(|n| {
                crate::ffi::resolve_name_arch(arch.token, n) == nr as i32
                    || kapsel_seccomp::syscall_number(oci, n) == Some(nr)
            });
            let sets: &[[u64; 6]] = if has_conditions {
                &full_args
            } else {
                &few_args
            };
            // x86_64 and x32 share an AUDIT_ARCH: the number's x32 bit says which ABI a
            // call is of, whichever list the number came from.
            let (oci, arch) = if arch.audit == runc::AUDIT_ARCH_X86_64
                && (nr & runc::X32_BIT != 0) != arch.x32
                && nr != u32::MAX
            {
                let other = if arch.x32 {
                    OciArch::ScmpArchX86_64
                } else {
                    OciArch::ScmpArchX32
                };
                (
                    other,
                    runc::arch(other).expect("libseccomp knows x86_64 and x32"),
                )
            } else {
                (oci, arch)
            };
            for &args in sets {
                let data = arch.data(nr, args);
                stats.samples += 1;
                let k = cbpf::run(&prog, &data);
                let r = reference.verdict(&data);
                if k.is_ok() && k == r {
                    continue;
                }
                if k.is_ok()
                    && r.is_ok()
                    && (runc::multiplexed(arch, oci, nr) || reference.multiplexed_bound(&data))
                {
                    stats.multiplexed += 1;
                    continue;
                }
                if k.is_ok() && r.is_ok() && reference.order_dependent(arch, &data) {
                    stats.order_dependent += 1;
                    continue;
                }
                let meant = k.is_ok()
                    && r.is_ok()
                    && reference.meant(arch, &data, default) == k.clone().ok();
                let m = Mismatch {
                    arch: oci,
                    nr,
                    name: crate::ffi::resolve_num_arch(arch.token, nr as i32),
                    args,
                    kapsel: k,
                    reference: r,
                };
                if meant {
                    stats.miscompiled += 1;
                    if stats.miscompiled_examples.len() < 3 {
                        stats.miscompiled_examples.push(m);
                    }
                } else if mismatches.len() < MAX_MISMATCHES {
                    mismatches.push(m);
                }
            }
        }
    }
    if mismatches.is_empty() {
        Ok(Outcome::Same(stats))
    } else {
        Err(mismatches)
    }
}

/// `cfg` without two kinds of names, and how many there were:
/// - names libseccomp does not know at all and kapsel does (calls newer than the
///   libseccomp release; the tables are compared on their own, tests/tables.rs);
/// - names no architecture of the filter has. They change nothing for either compiler,
///   but libseccomp 2.5.4 then emits a broken program for filters of two or more
///   architectures (a section that compares the arch word as if it were the call
///   number, so every rule of those architectures is skipped).
fn without_inert_names(cfg: &LinuxSeccomp, archs: &[Arch]) -> (LinuxSeccomp, usize, usize) {
    let mut out = cfg.clone();
    let (mut newer, mut nowhere) = (0, 0);
    if let Some(mut rules) = out.syscalls().clone() {
        for rule in &mut rules {
            let names: Vec<String> = rule
                .names()
                .iter()
                .filter(|n| {
                    let n = n.as_str();
                    if crate::ffi::resolve_name(n) == crate::ffi::NR_SCMP_ERROR {
                        let is_newer = kapsel_seccomp::syscall_names().any(|k| k == n);
                        newer += is_newer as usize;
                        return !is_newer;
                    }
                    let absent = archs
                        .iter()
                        .all(|a| crate::ffi::resolve_name_arch(a.token, n) < 0);
                    nowhere += absent as usize;
                    !absent
                })
                .cloned()
                .collect();
            rule.set_names(names);
        }
        out.set_syscalls(Some(rules));
    }
    (out, newer, nowhere)
}

/// The architectures of the filter and two it does not cover.
fn sample_archs(cfg: &LinuxSeccomp, reference: &Reference) -> Vec<(OciArch, Arch)> {
    let mut out: Vec<(OciArch, Arch)> = Vec::new();
    let native = kapsel_seccomp::native_arch().expect("a native architecture");
    let listed = cfg.architectures().clone().unwrap_or_default();
    for oci in std::iter::once(native).chain(listed) {
        if let Some(a) = runc::arch(oci) {
            if !out.iter().any(|(_, b)| *b == a) {
                out.push((oci, a));
            }
        }
    }
    let outside = gen::archs()
        .into_iter()
        .filter_map(|oci| runc::arch(oci).map(|a| (oci, a)))
        .filter(|(_, a)| !reference.archs.contains(a))
        .take(2);
    out.extend(outside);
    out
}
