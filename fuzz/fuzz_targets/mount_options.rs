//! Mount option lists (`ro,rbind,rslave,mode=755,...`) -> flags, propagation, recursive
//! attributes and data. Checks the invariants the mount code relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use libkapsel::rootfs::options::MountOptions;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let opts: Vec<&str> = text.split(',').collect();
    let parsed = MountOptions::parse(&opts);
    // A flag is never both set and explicitly cleared.
    assert!(
        (parsed.flags & parsed.cleared).is_empty(),
        "{opts:?}: set {:?} and cleared {:?}",
        parsed.flags,
        parsed.cleared
    );
    // mount_setattr: every attribute set is also in the clear mask (the kernel clears, then
    // sets), and at most one access-time mode is set.
    assert_eq!(
        parsed.attr_set & !parsed.attr_clr,
        0,
        "{opts:?}: attr set outside clr"
    );
    assert!(
        [0, 0x10, 0x20].contains(&(parsed.attr_set & 0x70)),
        "{opts:?}: atime modes"
    );
    // Data holds only options given verbatim, never a recognised flag word.
    for d in parsed.data.split(',').filter(|d| !d.is_empty()) {
        assert!(opts.contains(&d), "{opts:?}: data `{d}` was not an option");
    }
    // Parsing is a function of the list: the same list gives the same result.
    assert_eq!(parsed, MountOptions::parse(&opts));
});
