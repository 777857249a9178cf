//! Reading `linux.seccomp` from raw JSON with errors that name the field, instead of
//! serde's "unknown variant at line 12 column 5".

use crate::Error;
use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};
use serde_json::Value;
use std::str::FromStr;

/// Validates the `linux.seccomp` object of a config.json and converts it.
pub fn parse(seccomp: &Value) -> Result<LinuxSeccomp, Error> {
    check(seccomp)?;
    serde_json::from_value(seccomp.clone())
        .map_err(|e| Error::invalid("linux.seccomp", e.to_string()))
}

fn check(v: &Value) -> Result<(), Error> {
    const ROOT: &str = "linux.seccomp";
    let obj = v
        .as_object()
        .ok_or_else(|| Error::invalid(ROOT, format!("expected an object, found {}", kind(v))))?;
    match obj.get("defaultAction") {
        Some(a) => word::<LinuxSeccompAction>(a, "linux.seccomp.defaultAction", "action")?,
        None => return Err(Error::invalid("linux.seccomp.defaultAction", "missing")),
    }
    number(
        obj.get("defaultErrnoRet"),
        "linux.seccomp.defaultErrnoRet",
        u32::MAX as u64,
    )?;
    for (i, a) in list(obj.get("architectures"), "linux.seccomp.architectures")? {
        word::<Arch>(
            a,
            &format!("linux.seccomp.architectures[{i}]"),
            "architecture",
        )?;
    }
    for (i, f) in list(obj.get("flags"), "linux.seccomp.flags")? {
        word::<LinuxSeccompFilterFlag>(f, &format!("linux.seccomp.flags[{i}]"), "flag")?;
    }
    for key in ["listenerPath", "listenerMetadata"] {
        if let Some(s) = obj.get(key) {
            if !s.is_string() {
                let field = format!("linux.seccomp.{key}");
                return Err(Error::invalid(
                    field,
                    format!("expected a string, found {}", kind(s)),
                ));
            }
        }
    }
    for (i, sc) in list(obj.get("syscalls"), "linux.seccomp.syscalls")? {
        let field = format!("linux.seccomp.syscalls[{i}]");
        let sc = sc.as_object().ok_or_else(|| {
            Error::invalid(&field, format!("expected an object, found {}", kind(sc)))
        })?;
        let names = sc.get("names");
        if names.is_none() {
            return Err(Error::invalid(format!("{field}.names"), "missing"));
        }
        for (j, n) in list(names, &format!("{field}.names"))? {
            if !n.is_string() {
                let f = format!("{field}.names[{j}]");
                return Err(Error::invalid(
                    f,
                    format!("expected a string, found {}", kind(n)),
                ));
            }
        }
        match sc.get("action") {
            Some(a) => word::<LinuxSeccompAction>(a, &format!("{field}.action"), "action")?,
            None => return Err(Error::invalid(format!("{field}.action"), "missing")),
        }
        number(
            sc.get("errnoRet"),
            &format!("{field}.errnoRet"),
            u32::MAX as u64,
        )?;
        for (j, arg) in list(sc.get("args"), &format!("{field}.args"))? {
            let af = format!("{field}.args[{j}]");
            let arg = arg.as_object().ok_or_else(|| {
                Error::invalid(&af, format!("expected an object, found {}", kind(arg)))
            })?;
            match arg.get("index") {
                Some(_) => number(arg.get("index"), &format!("{af}.index"), 5)?,
                None => return Err(Error::invalid(format!("{af}.index"), "missing")),
            }
            match arg.get("value") {
                Some(_) => number(arg.get("value"), &format!("{af}.value"), u64::MAX)?,
                None => return Err(Error::invalid(format!("{af}.value"), "missing")),
            }
            number(arg.get("valueTwo"), &format!("{af}.valueTwo"), u64::MAX)?;
            match arg.get("op") {
                Some(op) => word::<LinuxSeccompOperator>(op, &format!("{af}.op"), "operator")?,
                None => return Err(Error::invalid(format!("{af}.op"), "missing")),
            }
        }
    }
    Ok(())
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// A string naming one value of the enum `T`.
fn word<T: FromStr>(v: &Value, field: &str, what: &str) -> Result<(), Error> {
    let s = v
        .as_str()
        .ok_or_else(|| Error::invalid(field, format!("expected a string, found {}", kind(v))))?;
    s.parse::<T>()
        .map(|_| ())
        .map_err(|_| Error::invalid(field, format!("unknown {what} `{s}`")))
}

/// An optional unsigned integer no larger than `max`.
fn number(v: Option<&Value>, field: &str, max: u64) -> Result<(), Error> {
    let Some(v) = v else { return Ok(()) };
    match v.as_u64() {
        Some(n) if n <= max => Ok(()),
        Some(n) => Err(Error::invalid(
            field,
            format!("{n} is out of range 0..={max}"),
        )),
        None => Err(Error::invalid(
            field,
            format!("expected an unsigned integer, found {}", v),
        )),
    }
}

/// The entries of an optional array (null counts as absent, as in Go's encoding).
fn list<'a>(
    v: Option<&'a Value>,
    field: &str,
) -> Result<impl Iterator<Item = (usize, &'a Value)>, Error> {
    match v {
        None | Some(Value::Null) => Ok([].iter().enumerate()),
        Some(Value::Array(a)) => Ok(a.iter().enumerate()),
        Some(other) => Err(Error::invalid(
            field,
            format!("expected an array, found {}", kind(other)),
        )),
    }
}
