//! Which handler runs a container's process: execve (native) or the WebAssembly handler
//! (crate::wasm). The rule is crun's, so a bundle podman, containerd or CRI-O made for
//! crun picks the same handler here:
//!
//! - `run.oci.handler` names the handler outright: `wasm` selects it; `wasm-smart`
//!   selects it only when `process.args[0]` ends in `.wasm` or `.wat` (any case), so
//!   side-cars of a wasm pod still run natively; any other name is a handler kapsel
//!   does not have, and create fails (crun: "invalid handler specified").
//! - Without it, the image's `module.wasm.image/variant`: `compat` selects it,
//!   `compat-smart` by the same suffix rule; any other value runs natively.
//!
//! A wasm handler is only for a container's init: `exec` always execs (as crun).

use crate::error::{Error, Result};
use std::collections::HashMap;

pub const HANDLER_ANNOTATION: &str = "run.oci.handler";
pub const VARIANT_ANNOTATION: &str = "module.wasm.image/variant";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    Native,
    Wasm,
}

/// The handler for a container whose entry point is `args[0]`.
pub fn select(annotations: Option<&HashMap<String, String>>, arg0: &str) -> Result<Handler> {
    let get = |k: &str| annotations.and_then(|a| a.get(k)).map(String::as_str);
    let wasm_file = || {
        let lower = arg0.to_ascii_lowercase();
        lower.ends_with(".wasm") || lower.ends_with(".wat")
    };
    let pick = |yes: bool| if yes { Handler::Wasm } else { Handler::Native };
    if let Some(name) = get(HANDLER_ANNOTATION) {
        return match name {
            "wasm" => Ok(Handler::Wasm),
            "wasm-smart" => Ok(pick(wasm_file())),
            other => Err(Error::config(
                format!("annotations.{HANDLER_ANNOTATION}"),
                format!("invalid handler specified `{other}` (kapsel has `wasm` and `wasm-smart`)"),
            )),
        };
    }
    Ok(match get(VARIANT_ANNOTATION) {
        Some("compat") => Handler::Wasm,
        Some("compat-smart") => pick(wasm_file()),
        _ => Handler::Native,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&str, &str)], arg0: &str) -> Result<Handler> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        select(Some(&map), arg0)
    }

    #[test]
    fn crun_rule() {
        use Handler::*;
        assert_eq!(with(&[], "/hello.wasm").unwrap(), Native);
        assert_eq!(select(None, "/hello.wasm").unwrap(), Native);
        assert_eq!(
            with(&[(HANDLER_ANNOTATION, "wasm")], "/bin/sh").unwrap(),
            Wasm
        );
        assert_eq!(
            with(&[(HANDLER_ANNOTATION, "wasm-smart")], "/a.WASM").unwrap(),
            Wasm
        );
        assert_eq!(
            with(&[(HANDLER_ANNOTATION, "wasm-smart")], "/a.wat").unwrap(),
            Wasm
        );
        assert_eq!(
            with(&[(HANDLER_ANNOTATION, "wasm-smart")], "/bin/sh").unwrap(),
            Native
        );
        assert_eq!(
            with(&[(VARIANT_ANNOTATION, "compat")], "/bin/sh").unwrap(),
            Wasm
        );
        assert_eq!(
            with(&[(VARIANT_ANNOTATION, "compat-smart")], "x.wasm").unwrap(),
            Wasm
        );
        assert_eq!(
            with(&[(VARIANT_ANNOTATION, "compat-smart")], "/envoy").unwrap(),
            Native
        );
        assert_eq!(
            with(&[(VARIANT_ANNOTATION, "other")], "x.wasm").unwrap(),
            Native
        );
        // The handler annotation wins over the variant, as in crun.
        assert_eq!(
            with(
                &[
                    (HANDLER_ANNOTATION, "wasm-smart"),
                    (VARIANT_ANNOTATION, "compat")
                ],
                "/sh"
            )
            .unwrap(),
            Native
        );
        let e = with(&[(HANDLER_ANNOTATION, "krun")], "/sh")
            .unwrap_err()
            .to_string();
        assert!(e.contains("run.oci.handler") && e.contains("`krun`"), "{e}");
    }
}
