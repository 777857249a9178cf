//! Made-up profiles and the calls to try them on. Every choice is drawn from a `Source`:
//! a seeded generator in the tests, the fuzzer's bytes in the fuzz target.

use crate::runc::Arch;
use oci_spec::runtime::Arch as OciArch;
use serde_json::{json, Value};

/// Where choices come from.
pub trait Source {
    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: u32) -> u32;
    fn u64(&mut self) -> u64;

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u32) as usize]
    }
    fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }
}

/// xorshift64*: reproducible from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
}

impl Source for Rng {
    fn below(&mut self, n: u32) -> u32 {
        (self.u64() % u64::from(n)) as u32
    }
    fn u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// The fuzzer's bytes as choices; zeros once they run out.
pub struct Bytes<'a>(pub &'a [u8]);

impl Source for Bytes<'_> {
    fn below(&mut self, n: u32) -> u32 {
        let byte = |s: &mut Self| {
            let (b, rest) = s.0.split_first().map_or((0, &[][..]), |(b, r)| (*b, r));
            s.0 = rest;
            u32::from(b)
        };
        let v = if n <= 256 {
            byte(self)
        } else {
            byte(self) | byte(self) << 8 | byte(self) << 16
        };
        v % n
    }
    fn u64(&mut self) -> u64 {
        let mut v = 0u64;
        for _ in 0..8 {
            v = v << 8 | u64::from(self.below(256));
        }
        v
    }
}

/// Names rules are made of: common calls, calls only some architectures have, calls newer
/// than libseccomp 2.5, multiplexed socket and ipc calls, and names nobody knows.
pub const NAMES: &[&str] = &[
    "read",
    "write",
    "openat",
    "close",
    "ioctl",
    "mmap",
    "clone",
    "clone3",
    "personality",
    "socket",
    "socketcall",
    "connect",
    "ipc",
    "semop",
    "getpid",
    "kill",
    "prctl",
    "setns",
    "unshare",
    "fchmodat2",
    "cachestat",
    "mseal",
    "arm_fadvise64_64",
    "set_tls",
    "s390_runtime_instr",
    "riscv_flush_icache",
    "_llseek",
    "mkdir",
    "no_such_call",
    "OABI_SYSCALL_BASE",
];

const ACTIONS: &[&str] = &[
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_TRAP",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_TRACE",
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_LOG",
    "SCMP_ACT_NOTIFY",
];

const OPS: &[&str] = &[
    "SCMP_CMP_NE",
    "SCMP_CMP_LT",
    "SCMP_CMP_LE",
    "SCMP_CMP_EQ",
    "SCMP_CMP_GE",
    "SCMP_CMP_GT",
    "SCMP_CMP_MASKED_EQ",
];

/// Values that sit on the edges of 32- and 64-bit comparisons.
const EDGES: &[u64] = &[
    0,
    1,
    2,
    7,
    40,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x1_0000_0001,
    0x7e02_0000,
    0xffff_ffff_0000_0000,
    u64::MAX,
];

fn value(src: &mut impl Source) -> u64 {
    match src.below(3) {
        0 => *src.pick(EDGES),
        1 => u64::from(src.below(64)),
        _ => src.u64(),
    }
}

/// An errno: mostly a real one, up to MAX_ERRNO (4095; kapsel and libseccomp refuse more).
fn errno(src: &mut impl Source) -> u64 {
    if src.chance(70) {
        u64::from(src.below(134))
    } else {
        u64::from(src.below(4096))
    }
}

/// The architectures a generated profile may list: those kapsel has tables for and
/// libseccomp can put in one filter with the native one (of the same byte order).
pub fn archs() -> Vec<OciArch> {
    let native = crate::runc::arch(OciArch::ScmpArchNative).map(|a| a.little_endian());
    kapsel_seccomp::supported::archs()
        .into_iter()
        .filter(|a| crate::runc::arch(*a).map(|a| a.little_endian()) == native)
        .collect()
}

/// A `linux.seccomp` object, as JSON.
pub fn profile(src: &mut impl Source) -> Value {
    let mut default_actions: Vec<&str> = ACTIONS.to_vec();
    default_actions.retain(|a| *a != "SCMP_ACT_NOTIFY");
    let default = *src.pick(&default_actions);
    let mut p = json!({ "defaultAction": default });
    // Only ERRNO and TRACE take an errno (kapsel and crun refuse it on the others).
    let takes_errno = |a: &str| matches!(a, "SCMP_ACT_ERRNO" | "SCMP_ACT_TRACE");
    if takes_errno(default) && src.chance(30) {
        p["defaultErrnoRet"] = json!(errno(src));
    }
    let all = archs();
    let n_archs = src.below(4);
    if n_archs > 0 {
        let list: Vec<String> = (0..n_archs).map(|_| src.pick(&all).to_string()).collect();
        p["architectures"] = json!(list);
    }
    let mut rules = Vec::new();
    for _ in 0..1 + src.below(12) {
        let names: Vec<&str> = (0..1 + src.below(4)).map(|_| *src.pick(NAMES)).collect();
        let action = *src.pick(ACTIONS);
        let mut rule = json!({ "names": names, "action": action });
        if takes_errno(action) && src.chance(40) {
            rule["errnoRet"] = json!(errno(src));
        }
        let n_args = [0, 0, 1, 1, 1, 2, 2, 3][src.below(8) as usize];
        let args: Vec<Value> = (0..n_args)
            .map(|_| {
                let index = [0, 0, 1, 1, 2, 3, 4, 5][src.below(8) as usize];
                let mut a = json!({
                    "index": index,
                    "value": value(src),
                    "op": *src.pick(OPS),
                });
                if src.chance(60) {
                    a["valueTwo"] = json!(value(src));
                }
                a
            })
            .collect();
        if !args.is_empty() {
            rule["args"] = json!(args);
        }
        rules.push(rule);
    }
    p["syscalls"] = json!(rules);
    // kapsel refuses NOTIFY without a listener (its own validation, not compared here).
    p["listenerPath"] = json!("/run/agent.sock");
    p
}

/// The numbers worth trying on `arch`: every number a name of the profile has there, in
/// libseccomp's table or kapsel's, their neighbours, the ends of the range and a few more.
pub fn numbers(arch: Arch, oci: OciArch, names: &[String], src: &mut impl Source) -> Vec<u32> {
    let base = if arch.x32 { crate::runc::X32_BIT } else { 0 };
    let mut out = vec![
        base,
        base + 1,
        u32::MAX,
        0x4000_0000,
        0x3fff_ffff,
        0x0f_0005,
    ];
    for n in names {
        let lib = crate::ffi::resolve_name_arch(arch.token, n);
        let kap = kapsel_seccomp::syscall_number(oci, n);
        for nr in [(lib >= 0).then_some(lib as u32), kap]
            .into_iter()
            .flatten()
        {
            out.extend([nr.wrapping_sub(1), nr, nr.wrapping_add(1)]);
        }
    }
    let max = out
        .iter()
        .copied()
        .filter(|&n| n < 0x3fff_0000 || (arch.x32 && n < 0x7fff_0000))
        .max()
        .unwrap_or(0);
    out.extend([max + 1, max + 2, max + 100]);
    for _ in 0..4 {
        out.push(base + src.below(max.saturating_sub(base).max(1) + 64));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Argument vectors worth trying: all zero, each argument set to each value a condition
/// names (and its neighbours, other high half, mask result), and a few random ones.
pub fn arg_sets(values: &[u64], src: &mut impl Source) -> Vec<[u64; 6]> {
    let mut out = vec![[0; 6], [u64::MAX; 6]];
    let mut interesting: Vec<u64> = Vec::new();
    for &v in values {
        interesting.extend([
            v,
            v.wrapping_add(1),
            v.wrapping_sub(1),
            v ^ 0xffff_ffff_0000_0000,
            v | 0x1_0000_0000,
            v & 0xffff_ffff,
        ]);
    }
    interesting.sort_unstable();
    interesting.dedup();
    for (i, &v) in interesting.iter().enumerate() {
        let mut a = [0u64; 6];
        // Spread the values over the arguments; every value reaches every index.
        for (j, slot) in a.iter_mut().enumerate() {
            *slot = interesting[(i + j * 7) % interesting.len()];
        }
        out.push(a);
        for idx in 0..6 {
            let mut one = [0u64; 6];
            one[idx] = v;
            out.push(one);
        }
    }
    for _ in 0..8 {
        let mut a = [0u64; 6];
        for slot in &mut a {
            *slot = if interesting.is_empty() || src.chance(30) {
                value(src)
            } else {
                *src.pick(&interesting)
            };
        }
        out.push(a);
    }
    out.sort_unstable();
    out.dedup();
    // A profile with many conditions would otherwise make millions of samples.
    while out.len() > MAX_ARG_SETS {
        // (Not drawing again for a kept one: the fuzzer's bytes may have run out.)
        let mut i = src.below(out.len() as u32) as usize;
        while out[i] == [0; 6] || out[i] == [u64::MAX; 6] {
            i = (i + 1) % out.len();
        }
        out.swap_remove(i);
    }
    out
}

/// Argument vectors per conditional call at most (the all-zero and all-one ones kept).
const MAX_ARG_SETS: usize = 256;
