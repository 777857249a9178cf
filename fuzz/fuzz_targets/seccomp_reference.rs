//! Fuzzer-made `linux.seccomp` profiles and calls, compiled by kapsel and by libseccomp
//! (as runc and crun use it): both programs must give every call the same verdict, except
//! where tests/seccomp-ref explains why they may not (libseccomp's tree order, socket/IPC
//! multiplexing, libseccomp's own miscompilations), and kapsel must take every profile
//! libseccomp takes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use seccomp_ref::compare::{compare, Outcome};
use seccomp_ref::gen::{self, Bytes};

fuzz_target!(|data: &[u8]| {
    let mut src = Bytes(data);
    let profile = gen::profile(&mut src);
    let cfg = kapsel_seccomp::parse(&profile).expect("generated profiles parse");
    match compare(&cfg, &mut src) {
        Ok(Outcome::Same(_)) | Ok(Outcome::RefusedByReference { .. }) => {}
        Ok(Outcome::RefusedByKapsel(e)) => panic!("kapsel refused what libseccomp takes: {e}\n{profile}"),
        Err(m) => panic!(
            "verdicts differ:\n  {}\n{profile}",
            m.iter().map(|m| m.to_string()).collect::<Vec<_>>().join("\n  ")
        ),
    }
});
