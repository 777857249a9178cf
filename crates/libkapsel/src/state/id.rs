//! Container ids, validated like runc's: an id becomes a directory name under the state
//! root, so it may not be empty, `.` or `..`, or hold a path separator. [`ContainerId`] is
//! the only way into a container's directory (the state root's `StateRoot` takes nothing
//! else), so every verb validates its id before any path is built from it.

use crate::error::{Error, Result};
use std::fmt;

/// A container id that is safe to use as one path component under the state root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ContainerId(String);

impl ContainerId {
    /// Checks `id`; runc's phrase for a bad one, `invalid container ID format`, leads the
    /// error (callers match on it).
    pub fn new(id: &str) -> Result<Self> {
        if id.is_empty() {
            return Err(Error::InvalidId("the id is empty".into()));
        }
        let ok = id != "."
            && id != ".."
            && id.len() <= 1024
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'));
        if ok {
            Ok(ContainerId(id.to_string()))
        } else {
            Err(Error::InvalidId(format!(
                "`{}`: use letters, digits and _ + - . only, not `.` or `..`",
                id.escape_debug()
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ContainerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<std::path::Path> for ContainerId {
    fn as_ref(&self) -> &std::path::Path {
        std::path::Path::new(&self.0)
    }
}

/// Validates the id a verb was given; the error names the container and the verb.
pub fn checked(id: &str, verb: &'static str) -> Result<ContainerId> {
    ContainerId::new(id).map_err(|e| e.in_container(id, verb))
}

#[cfg(test)]
mod tests {
    use super::ContainerId;

    #[test]
    fn ids() {
        for good in ["c1", "my-container_1.2", "a+b", "A", "..a", "a.."] {
            assert!(ContainerId::new(good).is_ok(), "{good}");
        }
        for bad in [
            "", ".", "..", "a/b", "../x", "/tmp/x", "a b", "a\nb", "é", "a\0b",
        ] {
            let e = ContainerId::new(bad).expect_err(bad).to_string();
            assert!(e.starts_with("invalid container ID format"), "{bad:?}: {e}");
        }
        assert!(ContainerId::new(&"a".repeat(1025)).is_err());
    }
}
