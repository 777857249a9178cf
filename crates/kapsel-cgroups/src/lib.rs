//! kapsel-cgroups
