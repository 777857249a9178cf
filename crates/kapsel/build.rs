//! The kapsel executable is linked by .cargo/cc-static-kapsel, which cargo does not see:
//! relink when that wrapper, the musl shim or the choice of C library changes.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=../../.cargo/cc-static-kapsel");
    println!("cargo:rerun-if-changed=../../link/musl_compat.c");
    println!("cargo:rerun-if-env-changed=KAPSEL_LIBC");
    println!("cargo:rerun-if-env-changed=KAPSEL_CC");
}
