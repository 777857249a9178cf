//! The cgroup v2 device filter against the cgroup v1 devices controller it stands in for.
//!
//! The reference is a model of security/device_cgroup.c written here: a cgroup has a
//! default (allow or deny) and a list of exceptions; any `a` line resets both (`a` to
//! devices.allow: allow all, to devices.deny: deny all, whatever numbers and access follow
//! it); a `b`/`c` line adds an exception when it goes against the default (merging access
//! into an exception with the same type and numbers) and otherwise removes access from
//! the exception with exactly the same type and numbers. A request is allowed, under a
//! deny default, when one exception grants every requested access; under an allow default,
//! when no exception shares any requested access. The container's cgroup starts from the
//! deny-all reset, as runc's does. Where the kernel would silently ignore a removal (a
//! "hole" in an earlier wildcard exception) runc refuses the config, and kapsel must too.
//!
//! The program is run by an interpreter of exactly the eBPF instructions the generator
//! emits, on generated rule lists and every (type, major, minor, access) of a grid.

use kapsel_cgroups::devices::{
    check_expressible, default_allowed, DeviceKind, DeviceRule, ACC_ALL,
};
use kapsel_cgroups::v2::devices::compile;
use kapsel_sys::bpf::Insn;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Key {
    block: bool,
    major: Option<u32>,
    minor: Option<u32>,
}

#[derive(Default)]
struct V1 {
    allow_all: bool,
    exceptions: Vec<(Key, u32)>,
}

impl V1 {
    /// Writes `rule` as runc would to devices.allow or devices.deny. Returns false where
    /// runc refuses it: removing access an earlier wildcard exception of the same type
    /// still grants (the kernel would ignore the removal).
    fn write(&mut self, rule: &DeviceRule) -> bool {
        let block = match rule.kind {
            DeviceKind::All => {
                *self = V1 {
                    allow_all: rule.allow,
                    exceptions: Vec::new(),
                };
                return true;
            }
            DeviceKind::Block => true,
            DeviceKind::Char => false,
        };
        let key = Key {
            block,
            major: rule.major,
            minor: rule.minor,
        };
        if rule.allow != self.allow_all {
            match self.exceptions.iter_mut().find(|(k, _)| *k == key) {
                Some((_, access)) => *access |= rule.access,
                None => self.exceptions.push((key, rule.access)),
            }
            return true;
        }
        let wider = [
            Key { major: None, ..key },
            Key { minor: None, ..key },
            Key {
                major: None,
                minor: None,
                ..key
            },
        ];
        if self
            .exceptions
            .iter()
            .any(|(k, a)| wider.contains(k) && *k != key && a & rule.access != 0)
        {
            return false;
        }
        for (k, access) in &mut self.exceptions {
            if *k == key {
                *access &= !rule.access;
            }
        }
        self.exceptions.retain(|(_, a)| *a != 0);
        true
    }

    fn allows(&self, block: bool, major: u32, minor: u32, access: u32) -> bool {
        let covers = |k: &Key| {
            k.block == block
                && k.major.is_none_or(|m| m == major)
                && k.minor.is_none_or(|m| m == minor)
        };
        if self.allow_all {
            !self
                .exceptions
                .iter()
                .any(|(k, a)| covers(k) && access & a != 0)
        } else {
            self.exceptions
                .iter()
                .any(|(k, a)| covers(k) && access & !a == 0)
        }
    }
}

/// What `compile`'s program answers for one request: an interpreter of the instructions it
/// emits (LDX_W, ALU32 AND/RSH/MOV_X, ALU64 MOV_K, JMP32 JEQ/JNE with an immediate, EXIT).
fn run(prog: &[Insn], block: bool, major: u32, minor: u32, access: u32) -> bool {
    let ctx = [access << 16 | if block { 1 } else { 2 }, major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    loop {
        let insn = prog[pc];
        let (dst, src) = ((insn.regs & 0x0f) as usize, (insn.regs >> 4) as usize);
        let imm = insn.imm as u32;
        pc += 1;
        let jump = |taken: bool, pc: &mut usize| {
            if taken {
                *pc = (*pc as isize + insn.off as isize) as usize;
            }
        };
        match insn.code {
            0x61 => r[dst] = u64::from(ctx[insn.off as usize / 4]),
            0x54 => r[dst] = u64::from(r[dst] as u32 & imm),
            0x74 => r[dst] = u64::from((r[dst] as u32) >> imm),
            0xbc => r[dst] = u64::from(r[src] as u32),
            0xb7 => r[dst] = insn.imm as i64 as u64,
            0x16 => jump(r[dst] as u32 == imm, &mut pc),
            0x56 => jump(r[dst] as u32 != imm, &mut pc),
            0x95 => return r[0] == 1,
            other => panic!("opcode {other:#x} the generator does not emit"),
        }
    }
}

/// xorshift64*, seeded.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

const MAJORS: [u32; 5] = [1, 5, 8, 136, 4095];
const MINORS: [u32; 4] = [0, 3, 5, 9];

fn rule(rng: &mut Rng) -> DeviceRule {
    let kind = match rng.below(5) {
        0 => DeviceKind::All,
        1 | 2 => DeviceKind::Char,
        _ => DeviceKind::Block,
    };
    let number = |rng: &mut Rng, list: &[u32]| {
        (rng.below(3) != 0).then(|| list[rng.below(list.len() as u64) as usize])
    };
    DeviceRule {
        allow: rng.below(2) == 0,
        kind,
        major: number(rng, &MAJORS),
        minor: number(rng, &MINORS),
        access: 1 + rng.below(u64::from(ACC_ALL)) as u32,
    }
}

/// Compares the program of `rules` with the model on every request of the grid; returns
/// how many requests were compared, or None when kapsel refused the rules (and runc would).
fn check(rules: &[DeviceRule]) -> Option<usize> {
    let mut model = V1::default();
    let runc_takes = rules.iter().all(|r| model.write(r));
    let kapsel = check_expressible(rules, rules.len());
    assert_eq!(
        kapsel.is_ok(),
        runc_takes,
        "kapsel {kapsel:?} where runc {} on {rules:#?}",
        if runc_takes { "takes it" } else { "refuses" }
    );
    if !runc_takes {
        return None;
    }
    let prog = compile(rules);
    let mut n = 0;
    for block in [true, false] {
        for major in MAJORS.iter().chain(&[0, 7]) {
            for minor in MINORS.iter().chain(&[1, 77]) {
                for access in 1..=ACC_ALL {
                    let want = model.allows(block, *major, *minor, access);
                    let got = run(&prog, block, *major, *minor, access);
                    assert_eq!(
                        got,
                        want,
                        "{} {major}:{minor} access {access} on {rules:#?}",
                        if block { 'b' } else { 'c' }
                    );
                    n += 1;
                }
            }
        }
    }
    Some(n)
}

#[test]
fn the_filter_decides_as_the_v1_controller_on_generated_rules() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut lists, mut refused, mut requests) = (0, 0, 0);
    for i in 0..3000 {
        let mut rules: Vec<DeviceRule> = (0..rng.below(8)).map(|_| rule(&mut rng)).collect();
        if i % 2 == 0 {
            // As the runtime appends them after the spec's rules.
            rules.extend(default_allowed());
        }
        lists += 1;
        match check(&rules) {
            Some(n) => requests += n,
            None => refused += 1,
        }
    }
    println!("{lists} rule lists ({refused} refused as runc refuses them), {requests} requests");
}

#[test]
fn cases_the_kernel_decides_differently_from_last_match() {
    let c = |allow, major, minor, access| DeviceRule {
        allow,
        kind: DeviceKind::Char,
        major,
        minor,
        access,
    };
    let a = |allow, access| DeviceRule {
        allow,
        kind: DeviceKind::All,
        major: Some(1),
        minor: None,
        access,
    };
    // Two allows of one device merge: read-write is allowed though neither grants both.
    assert!(check(&[c(true, Some(1), Some(3), 2), c(true, Some(1), Some(3), 4)]).is_some());
    assert!(run(
        &compile(&[c(true, Some(1), Some(3), 2), c(true, Some(1), Some(3), 4)]),
        false,
        1,
        3,
        6
    ));
    // Any `a` line is a reset, whatever numbers and access it names.
    check(&[a(true, 2)]).unwrap();
    assert!(run(&compile(&[a(true, 2)]), true, 8, 0, 4));
    check(&[a(true, 7), c(false, Some(1), Some(3), 4), a(false, 2)]).unwrap();
    // Denying a device inside an earlier wildcard allow: the kernel ignores it, runc and
    // kapsel refuse it.
    assert_eq!(
        check(&[c(true, Some(1), None, 7), c(false, Some(1), Some(3), 4)]),
        None
    );
    assert_eq!(
        check(&[
            a(true, 7),
            c(false, None, None, 2),
            c(true, Some(1), Some(3), 2)
        ]),
        None
    );
}
