//! The WebAssembly handler left out of this build (feature `wasm`, opt-in): a container
//! that selects it (process::handler) fails `create` with one line.

use crate::error::{ExecError, Result};
use std::ffi::CString;
use std::path::Path;

pub const BUILT_IN: bool = false;

pub enum Loaded {}

pub fn load(path: &str) -> Result<Loaded> {
    Err(ExecError::Wasm {
        path: path.to_string(),
        reason: "the wasm handler is not built into this kapsel (feature `wasm`)".into(),
    }
    .into())
}

pub fn run(loaded: Loaded, _argv: &[CString], _envp: &[CString], _cwd: &Path) -> ! {
    match loaded {}
}
