//! A state file's bytes (tampered, truncated, hostile) -> the state loading every verb does
//! -> live status -> the OCI JSON `state` prints. Errors are fine; panics are not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use libkapsel::state::id::ContainerId;
use libkapsel::state::dir::{StateRoot, STATE_FILE};
use std::path::PathBuf;
use std::sync::OnceLock;

fn root() -> &'static PathBuf {
    static ROOT: OnceLock<PathBuf> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("kapsel-fuzz-state-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("c")).expect("make the fuzz state root");
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let root = StateRoot::new(root().clone());
    let id = ContainerId::new("c").expect("a valid id");
    std::fs::write(root.dir_of(&id).join(STATE_FILE), data).expect("write the state file");
    let Ok(state) = root.read_state(&id) else {
        return;
    };
    let status = state.status(&root.dir_of(&id));
    let json = serde_json::to_string(&state.oci(status)).expect("state JSON");
    assert!(json.starts_with('{'));
});
