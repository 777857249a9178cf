//! seccomp(2) wrappers: load a filter program, get a user-notification fd.
