#![allow(unsafe_code)]
//! kapsel-sys
