//! `state` and `list`: read-only views of containers.

use crate::error::Result;
use crate::state::dir::StateRoot;
use crate::state::{State, Status};

/// The state and live status of one container.
pub fn state(root: &StateRoot, id: &str) -> Result<(State, Status)> {
    let cid = crate::state::id::checked(id, "state")?;
    let st = root
        .read_state(&cid)
        .map_err(|e| e.in_container(id, "state"))?;
    let status = st.status(&root.dir_of(&cid));
    Ok((st, status))
}

/// Every container with a readable state, in id order; unreadable ones are skipped.
pub fn list(root: &StateRoot) -> Result<Vec<(State, Status)>> {
    let mut out = Vec::new();
    for id in root.ids()? {
        if let Ok(s) = root.read_state(&id) {
            let status = s.status(&root.dir_of(&id));
            out.push((s, status));
        }
    }
    Ok(out)
}
