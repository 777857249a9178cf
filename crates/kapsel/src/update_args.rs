//! `update`'s flags (or its --resources file) turned into a LinuxResources value.

use crate::cli::UpdateArgs;
use libkapsel::{Error, Result};
use oci_spec::runtime::LinuxResources;
use serde_json::{json, Map, Value};
use std::io::Read;

pub fn resources(a: &UpdateArgs) -> Result<LinuxResources> {
    let mut v: Value = match &a.resources {
        Some(path) if path.as_os_str() == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| Error::io("read resources from", "stdin", e))?;
            parse(&text, "stdin")?
        }
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::io("read resources from", path, e))?;
            parse(&text, &path.display().to_string())?
        }
        None => json!({}),
    };
    let mut cpu = Map::new();
    put(&mut cpu, "shares", a.cpu_shares.map(Value::from));
    put(&mut cpu, "quota", a.cpu_quota.map(Value::from));
    put(&mut cpu, "period", a.cpu_period.map(Value::from));
    put(
        &mut cpu,
        "realtimeRuntime",
        a.cpu_rt_runtime.map(Value::from),
    );
    put(&mut cpu, "realtimePeriod", a.cpu_rt_period.map(Value::from));
    put(&mut cpu, "cpus", a.cpuset_cpus.clone().map(Value::from));
    put(&mut cpu, "mems", a.cpuset_mems.clone().map(Value::from));
    let size = |flag: &str, v: &Option<String>| -> Result<Option<Value>> {
        Ok(v.as_deref()
            .map(|t| bytes(flag, t))
            .transpose()?
            .map(Value::from))
    };
    let mut memory = Map::new();
    put(&mut memory, "limit", size("--memory", &a.memory)?);
    put(
        &mut memory,
        "reservation",
        size("--memory-reservation", &a.memory_reservation)?,
    );
    put(&mut memory, "swap", size("--memory-swap", &a.memory_swap)?);
    merge(&mut v, "cpu", cpu);
    merge(&mut v, "memory", memory);
    if let Some(n) = a.pids_limit {
        merge(
            &mut v,
            "pids",
            Map::from_iter([("limit".to_string(), Value::from(n))]),
        );
    }
    if let Some(w) = a.blkio_weight {
        merge(
            &mut v,
            "blockIO",
            Map::from_iter([("weight".to_string(), Value::from(w))]),
        );
    }
    libkapsel::spec::json::from_value(&v).map_err(|e| Error::msg(format!("resources: {e}")))
}

fn parse(text: &str, from: &str) -> Result<Value> {
    libkapsel::spec::json::from_str(text)
        .map_err(|e| Error::msg(format!("resources from {from}: invalid JSON: {e}")))
}

fn put(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(v) = value {
        map.insert(key.to_string(), v);
    }
}

fn merge(v: &mut Value, key: &str, fields: Map<String, Value>) {
    if fields.is_empty() {
        return;
    }
    if !v[key].is_object() {
        v[key] = json!({});
    }
    for (k, val) in fields {
        v[key][k] = val;
    }
}

/// `128m`, `1g`, `4096`, `-1`: a size in bytes, binary units as runc reads them.
pub fn bytes(flag: &str, text: &str) -> Result<i64> {
    let t = text.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    num.parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .filter(|n| *n >= 0)
        .ok_or_else(|| {
            Error::msg(format!(
                "{flag}: `{text}` is not a size in bytes (e.g. 128m, 1g, -1)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::bytes;

    #[test]
    fn sizes() {
        assert_eq!(bytes("--memory", "128m").unwrap(), 128 << 20);
        assert_eq!(bytes("--memory", "1G").unwrap(), 1 << 30);
        assert_eq!(bytes("--memory", "4096").unwrap(), 4096);
        assert_eq!(bytes("--memory", "-1").unwrap(), -1);
        assert!(bytes("--memory", "lots").is_err());
        assert!(bytes("--memory", "-5").is_err());
    }
}
