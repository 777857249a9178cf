//! `linux.seccomp` to a BPF program.
//!
//! Shape of the program:
//!
//! ```text
//!   ld arch; jeq AUDIT_ARCH_a -> A; jeq AUDIT_ARCH_b -> B; ...; ret KILL_PROCESS
//! A: ld nr; binary search over intervals of syscall numbers -> leaf
//!      (a stretch of few numbers on one background action: jeq nr -> leaf; ...; ret BG)
//!   leaf: ret ACTION            (a run of numbers with one unconditional action)
//!      |  rule; rule; ...; ret DEFAULT   (a number with argument conditions)
//! ```
//!
//! Numbers with no rule get the default action, except that numbers above the largest
//! one the profile names get ERRNO(ENOSYS) when the default blocks, so that a libc
//! falls back from system calls newer than the profile (runc does the same).

use crate::action::{self, RET_ERRNO, RET_KILL_PROCESS};
use crate::arch::{self, Target, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT};
use crate::bpf::{Asm, Label, To, JEQ_K, JGE_K};
use crate::filter::{flags, Filter};
use crate::tables::{self, Abi};
use crate::Error;
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompFilterFlag as Flag,
    LinuxSeccompOperator as Op,
};

/// What a call from an architecture the filter does not cover gets (libseccomp kills
/// too; the whole process, so that no thread is left half-working).
const BAD_ARCH: u32 = RET_KILL_PROCESS;
const ENOSYS: u32 = RET_ERRNO | libc::ENOSYS as u32;

/// One rule of `syscalls`, with its names resolved later per ABI.
struct Rule {
    action: u32,
    conds: Vec<Cond>,
    names: Vec<usize>,
    /// The action is the default one: the rule decides nothing (runc and crun leave it
    /// out of the filter), but its names still count for the ENOSYS fallback.
    inert: bool,
}

struct Cond {
    index: u32,
    op: Op,
    value: u64,
    value_two: u64,
}

/// What a run of syscall numbers leads to.
#[derive(Clone, PartialEq)]
enum Leaf {
    Ret(u32),
    /// Indices into the rules, in config order; the first whose conditions hold wins.
    /// With the ABI the conditions read the arguments of (x86_64 and x32 share a group
    /// but not the width of their arguments).
    Rules(Vec<usize>, Target),
}

/// Validates `cfg` and compiles it for the native architecture plus every one listed.
pub fn compile(cfg: &LinuxSeccomp) -> Result<Filter, Error> {
    let default_action = cfg.default_action();
    if default_action == Action::ScmpActNotify {
        return Err(Error::invalid(
            "linux.seccomp.defaultAction",
            "SCMP_ACT_NOTIFY cannot be the default action",
        ));
    }
    let default = action::encode(
        default_action,
        cfg.default_errno_ret(),
        "linux.seccomp.defaultErrnoRet",
    )?;
    let targets = targets(cfg)?;
    let (rules, uses_notify) = rules(cfg, default)?;
    let flag_bits = filter_flags(cfg, uses_notify);

    let mut groups: Vec<(u32, Vec<Target>)> = Vec::new();
    for t in targets {
        match groups.iter_mut().find(|(audit, _)| *audit == t.audit_arch) {
            Some((_, members)) => members.push(t),
            None => groups.push((t.audit_arch, vec![t])),
        }
    }

    let mut asm = Asm::default();
    asm.load(4); // seccomp_data.arch
    let entries: Vec<Label> = groups.iter().map(|_| asm.label()).collect();
    for ((audit, _), entry) in groups.iter().zip(&entries) {
        asm.jump(JEQ_K, *audit, To::L(*entry), To::Next);
    }
    asm.ret(BAD_ARCH);
    let stub = action::blocks(default_action);
    for ((audit, members), entry) in groups.iter().zip(&entries) {
        asm.place(*entry);
        asm.load(0); // seccomp_data.nr
        let intervals = intervals(*audit, members, &rules, default, stub);
        search(&mut asm, &intervals, u32::MAX, &rules, default);
    }
    Ok(Filter {
        instructions: asm.finish()?,
        flags: flag_bits,
    })
}

/// The native target first, then the listed ones, without repeats.
fn targets(cfg: &LinuxSeccomp) -> Result<Vec<Target>, Error> {
    let mut out = vec![arch::target(
        oci_spec::runtime::Arch::ScmpArchNative,
        "linux.seccomp.architectures",
    )?];
    for (i, a) in cfg.architectures().iter().flatten().enumerate() {
        let t = arch::target(*a, &format!("linux.seccomp.architectures[{i}]"))?;
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

/// The rules in config order, as runc and crun hand them to libseccomp: a rule whose
/// conditions test one argument twice becomes one rule per condition (so they are ORed,
/// not ANDed).
fn rules(cfg: &LinuxSeccomp, default: u32) -> Result<(Vec<Rule>, bool), Error> {
    let mut uses_notify = false;
    let mut out = Vec::new();
    for (i, sc) in cfg.syscalls().iter().flatten().enumerate() {
        let field = format!("linux.seccomp.syscalls[{i}]");
        if sc.action() == Action::ScmpActNotify {
            uses_notify = true;
            if cfg.listener_path().is_none() {
                return Err(Error::invalid(
                    format!("{field}.action"),
                    "SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath",
                ));
            }
        }
        let action = action::encode(sc.action(), sc.errno_ret(), &format!("{field}.errnoRet"))?;
        let mut conds = Vec::new();
        for (j, arg) in sc.args().iter().flatten().enumerate() {
            if arg.index() > 5 {
                return Err(Error::invalid(
                    format!("{field}.args[{j}].index"),
                    format!(
                        "{} is out of range: a system call has arguments 0 to 5",
                        arg.index()
                    ),
                ));
            }
            conds.push(Cond {
                index: arg.index() as u32,
                op: arg.op(),
                value: arg.value(),
                value_two: arg.value_two().unwrap_or(0),
            });
        }
        // Names no ABI knows are skipped, as libseccomp does for the running arch.
        let names: Vec<usize> = sc
            .names()
            .iter()
            .filter_map(|n| tables::name_index(n))
            .collect();
        let repeats = (0..6).any(|i| conds.iter().filter(|c| c.index == i).count() > 1);
        let groups: Vec<Vec<Cond>> = if repeats {
            conds.into_iter().map(|c| vec![c]).collect()
        } else {
            vec![conds]
        };
        for conds in groups {
            out.push(Rule {
                action,
                conds,
                names: names.clone(),
                inert: action == default,
            });
        }
    }
    if let Some(path) = cfg.listener_path() {
        if !path.is_absolute() {
            return Err(Error::invalid(
                "linux.seccomp.listenerPath",
                format!("`{}` is not an absolute path", path.display()),
            ));
        }
    }
    Ok((out, uses_notify))
}

fn filter_flags(cfg: &LinuxSeccomp, uses_notify: bool) -> u32 {
    let mut bits = 0;
    for f in cfg.flags().iter().flatten() {
        bits |= match f {
            Flag::SeccompFilterFlagTsync => flags::TSYNC,
            Flag::SeccompFilterFlagLog => flags::LOG,
            Flag::SeccompFilterFlagSpecAllow => flags::SPEC_ALLOW,
            // The kernel accepts it only together with NEW_LISTENER.
            Flag::SeccompFilterFlagWaitKillableRecv if uses_notify => flags::WAIT_KILLABLE_RECV,
            Flag::SeccompFilterFlagWaitKillableRecv => 0,
        };
    }
    if uses_notify {
        bits |= flags::NEW_LISTENER;
        // TSYNC with NEW_LISTENER is EINVAL unless failures report as ESRCH.
        if bits & flags::TSYNC != 0 {
            bits |= flags::TSYNC_ESRCH;
        }
    }
    bits
}

/// The intervals `(first number, leaf)` covering every number of one AUDIT_ARCH value,
/// sorted, with neighbours that return the same action merged.
fn intervals(
    audit: u32,
    members: &[Target],
    rules: &[Rule],
    default: u32,
    stub: bool,
) -> Vec<(u32, Leaf)> {
    let mut out: Vec<(u32, Leaf)> = Vec::new();
    let mut push = |start: u32, leaf: Leaf| {
        if let Some((_, last)) = out.last() {
            if *last == leaf && matches!(leaf, Leaf::Ret(_)) {
                return;
            }
        }
        out.push((start, leaf));
    };
    // On x86_64 one AUDIT_ARCH value carries two ABIs, told apart by the x32 bit.
    let regions: Vec<(u32, u32, Option<Target>)> = if audit == AUDIT_ARCH_X86_64 {
        let has = |abi| members.iter().find(|t| t.abi == abi).copied();
        vec![
            (0, X32_SYSCALL_BIT - 1, has(Abi::X86_64)),
            (X32_SYSCALL_BIT, u32::MAX, has(Abi::X32)),
        ]
    } else {
        vec![(0, u32::MAX, Some(members[0]))]
    };
    for (lo, hi, target) in regions {
        let Some(target) = target else {
            push(lo, Leaf::Ret(BAD_ARCH));
            if hi == u32::MAX {
                // Number -1 is no x32 call: ptrace uses it to skip a call and the kernel
                // answers ENOSYS. libseccomp lets it reach the default action, not kill.
                push(u32::MAX, Leaf::Ret(default));
            }
            continue;
        };
        let abi = target.abi;
        let mut numbered: Vec<(u32, usize)> = Vec::new();
        for (r, rule) in rules.iter().enumerate() {
            for &name in &rule.names {
                if let Some(nr) = tables::number_at(abi, name) {
                    numbered.push((nr, r));
                }
            }
        }
        numbered.sort_unstable();
        numbered.dedup();
        let mut cursor = lo;
        // s390 sends numbers it does not know through setup(2), number 0: ENOSYS too.
        if stub && matches!(abi, Abi::S390 | Abi::S390x) && numbered.first().map(|n| n.0) != Some(0)
        {
            push(0, Leaf::Ret(ENOSYS));
            cursor = 1;
        }
        for same in numbered.chunk_by(|a, b| a.0 == b.0) {
            let nr = same[0].0;
            if nr > cursor {
                push(cursor, Leaf::Ret(default));
            }
            push(nr, leaf_for(same, rules, target, default));
            cursor = nr.saturating_add(1);
        }
        if cursor <= hi && !(cursor == hi && numbered.last().map(|n| n.0) == Some(hi)) {
            let beyond = if stub && !numbered.is_empty() {
                ENOSYS
            } else {
                default
            };
            push(cursor, Leaf::Ret(beyond));
        }
    }
    out
}

/// The leaf of one number from its `(nr, rule)` pairs in config order. As with
/// libseccomp, a rule without conditions decides the call whatever the conditional rules
/// before or after it say (the first such rule, if there are several); otherwise the
/// conditional rules are tried in config order.
fn leaf_for(same: &[(u32, usize)], rules: &[Rule], target: Target, default: u32) -> Leaf {
    let live = || same.iter().map(|&(_, r)| r).filter(|&r| !rules[r].inert);
    if let Some(r) = live().find(|&r| always_holds(&rules[r].conds, target)) {
        return Leaf::Ret(rules[r].action);
    }
    let list: Vec<usize> = live().collect();
    if list.is_empty() {
        return Leaf::Ret(default);
    }
    Leaf::Rules(list, target)
}

/// Whether `conds` hold for every call of `target`: none at all, or only masked
/// comparisons whose mask is zero in the bits the ABI passes. libseccomp drops such
/// conditions, which makes the rule unconditional there (found against it on x32).
fn always_holds(conds: &[Cond], target: Target) -> bool {
    let width = if target.wide_args() {
        u64::MAX
    } else {
        u64::from(u32::MAX)
    };
    conds
        .iter()
        .all(|c| c.op == Op::ScmpCmpMaskedEq && c.value & width == 0)
}

/// At most this many numbers are told apart by a row of `jeq`s rather than by binary
/// search: as short a program for a short profile (libseccomp's shape), and as few
/// compares for a call as the search would need.
const ROW: u32 = 16;
/// Runs this short are tested number by number in a row.
const SHORT: u32 = 4;

/// The number in A decides among `intervals`, which cover `..=hi` (each up to the next's
/// start): a binary search, in which a stretch of few numbers on one background action
/// becomes a row of `jeq`s.
fn search(asm: &mut Asm, intervals: &[(u32, Leaf)], hi: u32, rules: &[Rule], default: u32) {
    if intervals.len() == 1 {
        return leaf(asm, &intervals[0].1, rules, default);
    }
    match leading_row(intervals, hi) {
        Some((k, background)) if k == intervals.len() => {
            row(asm, intervals, hi, background, rules, default);
        }
        Some((k, background)) if k >= 2 => {
            // The leading stretch is a row, the rest searched after one `jge`.
            let split = intervals[k].0;
            let rest = asm.label();
            asm.jump(JGE_K, split, To::L(rest), To::Next);
            row(asm, &intervals[..k], split - 1, background, rules, default);
            asm.place(rest);
            search(asm, &intervals[k..], hi, rules, default);
        }
        _ => {
            let mid = intervals.len() / 2;
            let right = asm.label();
            asm.jump(JGE_K, intervals[mid].0, To::L(right), To::Next);
            search(asm, &intervals[..mid], intervals[mid].0 - 1, rules, default);
            asm.place(right);
            search(asm, &intervals[mid..], hi, rules, default);
        }
    }
}

/// The last number of `intervals[i]`.
fn end(intervals: &[(u32, Leaf)], i: usize, hi: u32) -> u32 {
    intervals.get(i + 1).map_or(hi, |next| next.0 - 1)
}

/// The longest leading stretch of `intervals` that makes a row, and its background: the
/// action of its long runs, every other run being short and all of them holding at most
/// `ROW` numbers. One pass.
fn leading_row(intervals: &[(u32, Leaf)], hi: u32) -> Option<(usize, u32)> {
    let (mut background, mut numbers, mut fit) = (None, 0, None);
    for (i, (first, l)) in intervals.iter().enumerate() {
        let span = end(intervals, i, hi) - first;
        match (l, background) {
            (Leaf::Ret(a), Some(b)) if *a == b => {}
            (Leaf::Ret(a), None) if span >= SHORT => background = Some(*a),
            _ if span >= SHORT => break,
            _ => {
                numbers += span + 1;
                if numbers > ROW {
                    break;
                }
            }
        }
        if let Some(b) = background {
            fit = Some((i + 1, b));
        }
    }
    fit
}

/// `jeq` each number of the short runs to its leaf, else return `background`.
fn row(
    asm: &mut Asm,
    intervals: &[(u32, Leaf)],
    hi: u32,
    background: u32,
    rules: &[Rule],
    default: u32,
) {
    let mut targets: Vec<(Label, &Leaf)> = Vec::new();
    for (i, (first, l)) in intervals.iter().enumerate() {
        if *l == Leaf::Ret(background) {
            continue;
        }
        // Runs with the same leaf (one action, or the same rules) share its code.
        let label = match targets.iter().find(|(_, t)| *t == l) {
            Some((label, _)) => *label,
            None => {
                let label = asm.label();
                targets.push((label, l));
                label
            }
        };
        for nr in *first..=end(intervals, i, hi) {
            asm.jump(JEQ_K, nr, To::L(label), To::Next);
        }
    }
    asm.ret(background);
    for (label, l) in targets {
        asm.place(label);
        leaf(asm, l, rules, default);
    }
}

fn leaf(asm: &mut Asm, leaf: &Leaf, rules: &[Rule], default: u32) {
    match leaf {
        Leaf::Ret(action) => asm.ret(*action),
        Leaf::Rules(list, t) => {
            let t = *t;
            for &r in list {
                let fail = asm.label();
                for c in &rules[r].conds {
                    crate::condition::emit(asm, c.index, c.op, c.value, c.value_two, t, fail);
                }
                asm.ret(rules[r].action);
                asm.place(fail);
            }
            asm.ret(default);
        }
    }
}
