//! `linux.seccomp` JSON -> field-checked parse -> BPF. Every program compiled must pass the
//! kernel's own checks (jumps in range, ends in a return, at most 4096 instructions) and
//! survive the cache's bytes round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;

const BPF_MAXINSNS: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(cfg) = kapsel_seccomp::parse(&value) else {
        return;
    };
    let Ok(filter) = kapsel_seccomp::compile(&cfg) else {
        return;
    };
    let prog = filter.instructions();
    assert!(
        !prog.is_empty() && prog.len() <= BPF_MAXINSNS,
        "{} instructions",
        prog.len()
    );
    for (i, ins) in prog.iter().enumerate() {
        let class = ins.code & 0x07;
        if class == 0x05 {
            let targets: Vec<usize> = if ins.code & 0xf0 == 0x00 {
                vec![i + 1 + ins.k as usize]
            } else {
                vec![i + 1 + ins.jt as usize, i + 1 + ins.jf as usize]
            };
            for t in targets {
                assert!(
                    t < prog.len(),
                    "instruction {i} jumps to {t} of {}",
                    prog.len()
                );
            }
        }
    }
    assert_eq!(
        prog.last().map(|l| l.code & 0x07),
        Some(0x06),
        "does not end in a return"
    );
    let back = kapsel_seccomp::Filter::from_bytes(&filter.to_bytes()).expect("round trip");
    assert_eq!(back.instructions().len(), prog.len());
    assert_eq!(back.flags(), filter.flags());
});
