//! Every typed deserialization in kapsel reads bytes (`serde_json::from_slice`).
//!
//! serde generates one deserializer per (type, input kind) pair: oci-spec's `Spec`
//! read from a `&str`, from bytes and from a `serde_json::Value` would be three copies
//! of the same large code. Going through bytes everywhere keeps one copy; the detour
//! of a `Value` through `to_vec` only happens on rare paths (a rewritten config, a
//! `--process` file, `update` flags).

use serde::de::DeserializeOwned;
use serde_json::Value;

/// `serde_json::from_value`, through the byte deserializer.
pub fn from_value<T: DeserializeOwned>(value: &Value) -> serde_json::Result<T> {
    serde_json::from_slice(&serde_json::to_vec(value)?)
}

/// `serde_json::from_str`, through the byte deserializer.
pub fn from_str<T: DeserializeOwned>(text: &str) -> serde_json::Result<T> {
    serde_json::from_slice(text.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn value_and_text_read_like_bytes() {
        let v = serde_json::json!({"containerID": 0, "hostID": 1000, "size": 1});
        let m: oci_spec::runtime::LinuxIdMapping = super::from_value(&v).unwrap();
        assert_eq!((m.container_id(), m.host_id(), m.size()), (0, 1000, 1));
        let t: oci_spec::runtime::LinuxIdMapping = super::from_str(&v.to_string()).unwrap();
        assert_eq!(t, m);
        let e = super::from_str::<oci_spec::runtime::LinuxIdMapping>("{\"size\": -1}");
        assert!(e.unwrap_err().to_string().contains("invalid value"));
    }
}
