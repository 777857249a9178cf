//! Test-only: libseccomp as the reference for kapsel-seccomp.
//!
//! kapsel compiles `linux.seccomp` to BPF with its own compiler so that the runtime needs
//! no C library; this crate holds that compiler to the one runc and crun use. It builds
//! the same profile with libseccomp the way runc does (`runc`), runs both programs in an
//! interpreter of its own (`cbpf`) on many calls (`gen`) and compares the verdicts
//! (`compare`). Nothing that ships depends on it.
//!
//! It is the one crate outside kapsel-sys with `unsafe`: the calls into libseccomp
//! (`ffi`), each with a SAFETY note. kapsel-sys cannot hold them: it is linked into the
//! release binary, which must stay free of C libraries.
#![allow(unsafe_code)]

pub mod cbpf;
pub mod compare;
pub mod ffi;
pub mod gen;
pub mod runc;
