//! The reference: an OCI `linux.seccomp` turned into a libseccomp filter the way runc and
//! crun do it, plus runc's -ENOSYS stub as a verdict model.
//!
//! The recipe (runc `libcontainer/seccomp`, crun `src/libcrun/seccomp.c`):
//! - `seccomp_init(defaultAction)`; each listed architecture `seccomp_arch_add`ed (EEXIST
//!   ignored); the native one is always in.
//! - A rule whose action equals the default action is skipped.
//! - Each name is resolved with `seccomp_syscall_resolve_name` (native); a name libseccomp
//!   does not know is skipped; a pseudo number (a call the native ABI lacks) is passed on
//!   and libseccomp maps it to each architecture that has it.
//! - Without args: one unconditional rule. With args: one rule ANDing them, unless two of
//!   them test the same argument: then one rule per condition (so they are ORed).
//! - More than 32 rules: `SCMP_FLTATR_CTL_OPTIMIZE` 2 (a binary tree), as runc.
//! - Any libseccomp error refuses the whole config.
//!
//! Three deliberate choices of kapsel are applied here too, so they are not reported as
//! differences: calls from an architecture outside the filter get KILL_PROCESS (libseccomp's
//! default is KILL_THREAD); the ENOSYS stub covers the native architecture as well as the
//! listed ones (runc stubs only the listed ones); and it applies when the largest number
//! the profile names is 0 (runc takes 0 for "no system call found" and leaves the stub out,
//! so a profile naming only x86_64's `read` gets the default action for every new call).

use crate::cbpf::{self, Data, Insn};
use crate::ffi::{self, ArgCmp, Ctx};
use oci_spec::runtime::{
    Arch as OciArch, LinuxSeccomp, LinuxSeccompAction as Action, LinuxSeccompOperator as Op,
};

pub const RET_KILL_PROCESS: u32 = 0x8000_0000;
pub const RET_ERRNO: u32 = 0x0005_0000;
pub const ENOSYS: u32 = RET_ERRNO | libc::ENOSYS as u32;
const AUDIT_64BIT: u32 = 0x8000_0000;
const AUDIT_LE: u32 = 0x4000_0000;
pub const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
pub const X32_BIT: u32 = 0x4000_0000;

/// One libseccomp architecture and how its calls reach a filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arch {
    /// The SCMP_ARCH_* token.
    pub token: u32,
    /// The AUDIT_ARCH_* value in `seccomp_data.arch`.
    pub audit: u32,
    /// x32: its calls carry AUDIT_ARCH_X86_64 and the x32 bit in the number.
    pub x32: bool,
}

impl Arch {
    /// Whether arguments are compared in 64 bits: not on x32 and MIPS n32, whose calls
    /// carry a 64-bit AUDIT_ARCH but which libseccomp treats as 32-bit ABIs.
    pub fn wide(self) -> bool {
        self.audit & AUDIT_64BIT != 0 && !self.x32 && self.audit & 0x2000_0000 == 0
    }
    pub fn little_endian(self) -> bool {
        self.audit & AUDIT_LE != 0
    }
    pub fn s390(self) -> bool {
        self.audit & 0xffff == 0x16
    }
    /// A call of this architecture, as the filter sees it.
    pub fn data(self, nr: u32, args: [u64; 6]) -> Data {
        Data {
            nr,
            arch: self.audit,
            instruction_pointer: 0x7fff_1234_5678,
            args,
            little_endian: self.little_endian(),
        }
    }
}

/// The libseccomp architecture of an OCI one (crun's way: `SCMP_ARCH_X86_64` -> `x86_64`).
pub fn arch(oci: OciArch) -> Option<Arch> {
    let token = if oci == OciArch::ScmpArchNative {
        ffi::native_arch()
    } else {
        let name = oci.to_string();
        ffi::arch_token(&name.trim_start_matches("SCMP_ARCH_").to_lowercase())
    };
    if token == 0 {
        return None;
    }
    let x32 = token == ffi::arch_token("x32");
    Some(Arch {
        token,
        audit: if x32 { AUDIT_ARCH_X86_64 } else { token },
        x32,
    })
}

/// runc's `getAction`: errnoRet (default EPERM) goes into ERRNO and TRACE.
pub fn action(a: Action, errno_ret: Option<u32>) -> u32 {
    let data = errno_ret.unwrap_or(libc::EPERM as u32) & 0xffff;
    match a {
        Action::ScmpActKill | Action::ScmpActKillThread => 0,
        Action::ScmpActKillProcess => RET_KILL_PROCESS,
        Action::ScmpActTrap => 0x0003_0000,
        Action::ScmpActErrno => RET_ERRNO | data,
        Action::ScmpActTrace => 0x7ff0_0000 | data,
        Action::ScmpActNotify => 0x7fc0_0000,
        Action::ScmpActLog => 0x7ffc_0000,
        Action::ScmpActAllow => 0x7fff_0000,
    }
}

fn op_code(op: Op) -> i32 {
    match op {
        Op::ScmpCmpNe => 1,
        Op::ScmpCmpLt => 2,
        Op::ScmpCmpLe => 3,
        Op::ScmpCmpEq => 4,
        Op::ScmpCmpGe => 5,
        Op::ScmpCmpGt => 6,
        Op::ScmpCmpMaskedEq => 7,
    }
}

/// One rule as handed to libseccomp: a name and the conditions it ANDs.
#[derive(Clone, Debug)]
pub struct Added {
    pub name: String,
    pub action: u32,
    pub conds: Vec<ArgCmp>,
}

/// The ENOSYS stub of one (AUDIT_ARCH, x32 or not): numbers above `max` get ENOSYS.
#[derive(Clone, Copy, Debug)]
struct Stub {
    audit: u32,
    x32: bool,
    s390: bool,
    /// The largest number of the profile on this architecture; None: runc adds no stub.
    max: Option<u32>,
    /// The largest number counting the direct socket and IPC calls libseccomp leaves to
    /// the multiplexers (see `multiplexed`): kapsel counts them.
    max_direct: u32,
}

/// The reference filter of one config.
pub struct Reference {
    pub program: Vec<Insn>,
    /// Every rule added, in order, for telling which verdicts libseccomp leaves to its
    /// own tree order.
    pub added: Vec<Added>,
    pub archs: Vec<Arch>,
    stubs: Vec<Stub>,
}

/// Builds the reference, or says which libseccomp call refused the config (as runc and
/// crun would refuse to start the container).
pub fn build(cfg: &LinuxSeccomp) -> Result<Reference, String> {
    let default = action(cfg.default_action(), cfg.default_errno_ret());
    let mut ctx = Ctx::new(default).map_err(|e| format!("seccomp_init: {}", errno(e)))?;
    ctx.set_attr(ffi::ATTR_ACT_BADARCH, RET_KILL_PROCESS)
        .map_err(|e| format!("seccomp_attr_set(ACT_BADARCH): {}", errno(e)))?;
    let mut archs = vec![arch(OciArch::ScmpArchNative).ok_or("no native architecture")?];
    for a in cfg.architectures().iter().flatten() {
        let arch = arch(*a).ok_or_else(|| format!("libseccomp does not know {a}"))?;
        match ctx.add_arch(arch.token) {
            Ok(()) => archs.push(arch),
            Err(e) if e == -libc::EEXIST => {}
            Err(e) => return Err(format!("seccomp_arch_add({a}): {}", errno(e))),
        }
    }
    let syscalls = cfg.syscalls().clone().unwrap_or_default();
    if syscalls.len() > 32 {
        ctx.set_attr(ffi::ATTR_CTL_OPTIMIZE, 2)
            .map_err(|e| format!("seccomp_attr_set(CTL_OPTIMIZE): {}", errno(e)))?;
    }
    let mut added = Vec::new();
    for sc in &syscalls {
        let act = action(sc.action(), sc.errno_ret());
        if act == default {
            continue;
        }
        let conds: Vec<ArgCmp> = sc
            .args()
            .iter()
            .flatten()
            .map(|a| ArgCmp {
                arg: a.index() as u32,
                op: op_code(a.op()),
                datum_a: a.value(),
                datum_b: a.value_two().unwrap_or(0),
            })
            .collect();
        let repeats = (0..6).any(|i| conds.iter().filter(|c| c.arg == i).count() > 1);
        let groups: Vec<Vec<ArgCmp>> = if repeats {
            conds.iter().map(|c| vec![*c]).collect()
        } else {
            vec![conds]
        };
        for name in sc.names() {
            let nr = ffi::resolve_name(name);
            if nr == ffi::NR_SCMP_ERROR {
                continue;
            }
            for g in &groups {
                ctx.add_rule(act, nr, g)
                    .map_err(|e| format!("seccomp_rule_add({name}): {}", errno(e)))?;
                added.push(Added {
                    name: name.clone(),
                    action: act,
                    conds: g.clone(),
                });
            }
        }
    }
    let program = ctx
        .export_bpf()
        .map_err(|e| format!("seccomp_export_bpf: {}", errno(e)))?;
    let stubs = if blocks(cfg.default_action()) {
        stubs(&archs, cfg)
    } else {
        Vec::new()
    };
    Ok(Reference {
        program,
        added,
        archs,
        stubs,
    })
}

/// Whether unknown calls get ENOSYS instead of the default action (runc's
/// `isAllowAction`: not for ALLOW, LOG and TRACE).
fn blocks(a: Action) -> bool {
    !matches!(
        a,
        Action::ScmpActAllow | Action::ScmpActLog | Action::ScmpActTrace
    )
}

/// runc's `findLastSyscalls`: the largest number any rule's name has on each architecture.
fn stubs(archs: &[Arch], cfg: &LinuxSeccomp) -> Vec<Stub> {
    let mut out: Vec<Stub> = Vec::new();
    let names: Vec<&String> = cfg
        .syscalls()
        .iter()
        .flatten()
        .flat_map(|sc| sc.names())
        .collect();
    for a in archs {
        if out.iter().any(|s| s.audit == a.audit && s.x32 == a.x32) {
            continue;
        }
        let oci = oci_of(*a);
        let (mut max, mut max_direct) = (None::<u32>, None::<u32>);
        for n in &names {
            let nr = ffi::resolve_name_arch(a.token, n);
            if nr >= 0 {
                max = max.max(Some(nr as u32));
                max_direct = max_direct.max(Some(nr as u32));
            } else if (-299..=-100).contains(&nr) {
                let direct = oci.and_then(|o| kapsel_seccomp::syscall_number(o, n));
                max_direct = max_direct.max(direct);
            }
        }
        if let Some(max_direct) = max_direct {
            out.push(Stub {
                audit: a.audit,
                x32: a.x32,
                s390: a.s390(),
                max,
                max_direct,
            });
        }
    }
    out
}

/// The OCI architecture of a libseccomp one.
fn oci_of(a: Arch) -> Option<OciArch> {
    kapsel_seccomp::supported::archs()
        .into_iter()
        .find(|o| arch(*o) == Some(a))
}

impl Reference {
    /// The verdict runc's filter (stub, then libseccomp's program) gives `data`.
    pub fn verdict(&self, data: &Data) -> Result<u32, String> {
        if let Some((s, max)) = self.stub_for(data).and_then(|s| Some((s, s.max?))) {
            if data.nr > max || (s.s390 && data.nr == 0) {
                return Ok(ENOSYS);
            }
        }
        cbpf::run(&self.program, data)
    }

    /// Whether `data.nr` lies between the ENOSYS bound libseccomp's table gives and the one
    /// kapsel's gives because the profile names direct socket or IPC calls of a
    /// multiplexing ABI (which libseccomp does not number).
    pub fn multiplexed_bound(&self, data: &Data) -> bool {
        self.stub_for(data).is_some_and(|s| match s.max {
            Some(max) => data.nr > max && data.nr <= s.max_direct,
            // runc has no stub here, kapsel has one from the direct numbers.
            None => data.nr > s.max_direct || (s.s390 && data.nr == 0),
        })
    }

    /// The number of instructions runc loads: libseccomp's program plus its stub.
    pub fn runc_len(&self) -> usize {
        let stubs: Vec<&Stub> = self.stubs.iter().filter(|s| s.max.is_some()).collect();
        if stubs.is_empty() {
            return self.program.len();
        }
        // ld arch; per AUDIT_ARCH jeq; ja filter; ...sections...; ja 1; ret ENOSYS
        let mut n = 1 + 1 + 2;
        let mut seen: Vec<u32> = Vec::new();
        for s in stubs {
            if seen.contains(&s.audit) {
                // x86_64 with x32: jset, jgt, jgt instead of jset, jgt, ja
                n += 1;
                continue;
            }
            seen.push(s.audit);
            n += 1; // jeq arch
            n += 1 + 2; // ld nr; jgt; ja
            n += 2 * s.s390 as usize;
            n += (s.audit == AUDIT_ARCH_X86_64) as usize;
        }
        self.program.len() + n
    }

    /// The rules added for call `data.nr` of `arch`, in order.
    fn rules_for(&self, arch: Arch, data: &Data) -> Vec<&Added> {
        self.added
            .iter()
            .filter(|r| ffi::resolve_name_arch(arch.token, &r.name) == data.nr as i32)
            .collect()
    }

    /// Whether libseccomp's verdict for `data` on `arch` depends on how it orders its
    /// tree: no unconditional rule for the call and two conditional ones with different
    /// actions both hold. runc and crun give such configs whatever libseccomp's tree
    /// gives; kapsel tries the rules in config order.
    pub fn order_dependent(&self, arch: Arch, data: &Data) -> bool {
        matches!(self.holding(arch, data), Holding::Conditional(a) if a.len() > 1)
    }

    /// The verdict the rules mean, as libseccomp's own rule database (and its pseudo
    /// filter code) states them, for a call of an architecture of the filter; None where
    /// that is not one verdict. Used only where libseccomp's program and kapsel's
    /// differ: libseccomp 2.5.4 miscompiles some rule sets (an LT rule followed by an
    /// LE rule on the same argument loses the second, shown on the real kernel).
    pub fn meant(&self, arch: Arch, data: &Data, default: u32) -> Option<u32> {
        if !self.archs.contains(&arch) {
            return None;
        }
        if let Some((s, max)) = self.stub_for(data).and_then(|s| Some((s, s.max?))) {
            if data.nr > max || (s.s390 && data.nr == 0) {
                return Some(ENOSYS);
            }
        }
        match self.holding(arch, data) {
            Holding::Unconditional(action) => Some(action),
            Holding::Conditional(actions) => match actions.as_slice() {
                [] => Some(default),
                [one] => Some(*one),
                _ => None,
            },
        }
    }

    /// What the rules for `data`'s call say: the first rule libseccomp holds
    /// unconditional, or else the distinct actions of the conditional rules that hold.
    fn holding(&self, arch: Arch, data: &Data) -> Holding {
        let mine = self.rules_for(arch, data);
        if let Some(r) = mine.iter().find(|r| always(&r.conds, arch)) {
            return Holding::Unconditional(r.action);
        }
        let mut actions: Vec<u32> = mine
            .iter()
            .filter(|r| r.conds.iter().all(|c| holds(c, data.args, arch.wide())))
            .map(|r| r.action)
            .collect();
        actions.sort_unstable();
        actions.dedup();
        Holding::Conditional(actions)
    }

    /// The ENOSYS stub of `data`'s architecture (x86_64 and x32 told apart by the number).
    fn stub_for(&self, data: &Data) -> Option<&Stub> {
        let x32 = data.nr & X32_BIT != 0;
        self.stubs
            .iter()
            .find(|s| s.audit == data.arch && (s.audit != AUDIT_ARCH_X86_64 || s.x32 == x32))
    }
}

enum Holding {
    Unconditional(u32),
    Conditional(Vec<u32>),
}

/// Conditions libseccomp drops on `arch`: none, or masked comparisons whose mask is zero
/// in the bits the ABI passes.
fn always(conds: &[ArgCmp], arch: Arch) -> bool {
    let width = if arch.wide() {
        u64::MAX
    } else {
        u64::from(u32::MAX)
    };
    conds.iter().all(|c| c.op == 7 && c.datum_a & width == 0)
}

/// Whether `nr` on `arch` is a socket or SysV IPC call of an ABI that also multiplexes
/// them through socketcall(2) and ipc(2) (x86, s390, ppc, MIPS o32). libseccomp turns a
/// rule on such a call into rules on both the direct call and the multiplexer (with
/// argument 0 the call's number), and a rule on the multiplexer into rules on direct
/// calls; kapsel filters each number for what it is. A deliberate difference, counted
/// apart from the others.
pub fn multiplexed(arch: Arch, oci: OciArch, nr: u32) -> bool {
    let mux: Vec<i32> = ["socketcall", "ipc"]
        .iter()
        .map(|n| ffi::resolve_name_arch(arch.token, n))
        .filter(|&n| n >= 0)
        .collect();
    if mux.is_empty() {
        return false;
    }
    if mux.contains(&(nr as i32)) {
        return true;
    }
    kapsel_seccomp::syscall_names()
        .filter(|n| kapsel_seccomp::syscall_number(oci, n) == Some(nr))
        .any(|n| (-299..=-100).contains(&ffi::resolve_name_arch(arch.token, n)))
}

/// One condition on the argument values (on 32-bit ABIs only their low halves count).
pub fn holds(c: &ArgCmp, args: [u64; 6], wide: bool) -> bool {
    let cut = |v: u64| if wide { v } else { v & 0xffff_ffff };
    let v = cut(args[c.arg as usize]);
    let (a, b) = (cut(c.datum_a), cut(c.datum_b));
    match c.op {
        1 => v != a,
        2 => v < a,
        3 => v <= a,
        4 => v == a,
        5 => v >= a,
        6 => v > a,
        // libseccomp masks the expected value too.
        7 => v & a == b & a,
        other => panic!("operator {other}"),
    }
}

fn errno(neg: i32) -> String {
    let e = std::io::Error::from_raw_os_error(-neg);
    format!("{e}")
}
