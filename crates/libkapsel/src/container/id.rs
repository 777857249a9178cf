//! Container ids, validated like runc's: they become directory names under the state
//! root, so they may not contain a path separator or be `.`/`..`.

use crate::error::{Error, Result};

pub fn validate(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id != "."
        && id != ".."
        && id.len() <= 1024
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::msg(format!(
            "invalid container id `{}`: use letters, digits and _ + - . only, not `.` or `..`",
            id.escape_debug()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::validate;

    #[test]
    fn ids() {
        for good in ["c1", "my-container_1.2", "a+b", "A"] {
            assert!(validate(good).is_ok(), "{good}");
        }
        for bad in ["", ".", "..", "a/b", "../x", "a b", "a\nb", "é"] {
            assert!(validate(bad).is_err(), "{bad:?}");
        }
    }
}
