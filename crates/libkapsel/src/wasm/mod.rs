//! The WebAssembly handler: a container whose bundle selects it (process::handler, crun's
//! rule) runs a `wasm32-wasip1` module in its own process, after every namespace, mount,
//! cgroup, capability and the seccomp filter are in place, instead of execve. The engine
//! is wasmi, an interpreter in pure Rust (docs/performance.md, "WebAssembly engine":
//! the measurement against wasmtime); WASI preview 1 is ours ([`wasi`]), over the
//! container's root only.
//!
//! The module's exit status is the container's; a trap exits 1 after one line on stderr
//! (as crun's handlers: EXIT_FAILURE). Signals end the process as they end any
//! program (dispositions were reset); its memory is this process's, so the container's
//! memory and pids limits apply as to any process.

mod wasi;

use crate::error::{ExecError, Result};
use std::ffi::CString;
use std::path::Path;
use wasmi::{Config, Engine, Linker, Module, Store};

/// This build has the handler (`kapsel features`: `org.kapsel.wasm`).
pub const BUILT_IN: bool = true;

/// A module read and validated while `start` can still be told why it will not run.
pub struct Loaded {
    engine: Engine,
    module: Module,
    path: String,
}

fn fail(path: &str, reason: impl std::fmt::Display) -> crate::error::Error {
    ExecError::Wasm {
        path: path.to_string(),
        reason: reason.to_string(),
    }
    .into()
}

/// Reads and validates the module at `path` (process.args[0], relative to the working
/// directory, inside the container's root).
pub fn load(path: &str) -> Result<Loaded> {
    let bytes = read_module(path)?;
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        let what = if path.to_ascii_lowercase().ends_with(".wat") {
            "a text module (.wat): kapsel runs binary modules only"
        } else {
            "not a WebAssembly module (no \\0asm header)"
        };
        return Err(fail(path, what));
    }
    if bytes[6] != 0 || bytes[7] != 0 {
        return Err(fail(
            path,
            "a WebAssembly component: kapsel runs core modules (WASI preview 1)",
        ));
    }
    let engine = Engine::new(&Config::default());
    let module = Module::new(&engine, &bytes).map_err(|e| fail(path, e))?;
    Ok(Loaded {
        engine,
        module,
        path: path.to_string(),
    })
}

fn read_module(path: &str) -> Result<Vec<u8>> {
    use crate::linux::{openat2, ResolveFlag};
    use std::io::Read;
    let p = Path::new(path);
    let (dir, rel) = if p.is_absolute() {
        ("/", p.strip_prefix("/").unwrap_or(p))
    } else {
        (".", p)
    };
    let base = std::fs::File::open(dir).map_err(|e| fail(path, format!("open `{dir}`: {e}")))?;
    let fd = openat2(
        std::os::fd::AsFd::as_fd(&base),
        rel,
        libc::O_RDONLY,
        ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS,
    )
    .map_err(|e| fail(path, e))?;
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(path, format!("read: {e}")))?;
    Ok(bytes)
}

/// Runs the module's `_start` with `argv` and `envp` and exits with its status.
pub fn run(loaded: Loaded, argv: &[CString], envp: &[CString], cwd: &Path) -> ! {
    let code = run_status(loaded, argv, envp, cwd);
    std::process::exit(code)
}

/// Runs the module and returns the exit status it asked for (0 when `_start` returns,
/// 1 on a trap or a failed instantiation, after one line on stderr).
pub fn run_status(loaded: Loaded, argv: &[CString], envp: &[CString], cwd: &Path) -> i32 {
    let Loaded {
        engine,
        module,
        path,
    } = loaded;
    let ctx = match wasi::Ctx::new(argv, envp, cwd) {
        Ok(c) => c,
        Err(e) => return report(&path, format_args!("preopen: {e}")),
    };
    let mut store = Store::new(&engine, ctx);
    let mut linker = Linker::new(&engine);
    if let Err(e) = wasi::define(&mut linker, &module) {
        return report(&path, e);
    }
    let instance = match linker.instantiate_and_start(&mut store, &module) {
        Ok(i) => i,
        Err(e) => return status_of(&path, e),
    };
    let start = match instance.get_typed_func::<(), ()>(&store, "_start") {
        Ok(f) => f,
        Err(_) => return report(&path, "the module exports no `_start` function"),
    };
    match start.call(&mut store, ()) {
        Ok(()) => 0,
        Err(e) => status_of(&path, e),
    }
}

fn status_of(path: &str, e: wasmi::Error) -> i32 {
    match e.i32_exit_status() {
        Some(code) => code,
        None => report(path, format_args!("trap: {e}")),
    }
}

fn report(path: &str, what: impl std::fmt::Display) -> i32 {
    eprintln!("wasm `{path}`: {what}");
    1
}
