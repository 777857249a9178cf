//! `regex`'s API as provided by `regex-lite`: the pattern syntax is the same, the
//! classes (`\d`, `\w`) are ASCII-only, and there are no Unicode tables. oci-spec only
//! builds one pattern and calls `is_match`.

pub use regex_lite::*;
