//! kapsel-seccomp
