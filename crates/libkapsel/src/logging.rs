//! runc-compatible log lines. With `--log FILE --log-format json` every line is one
//! JSON object `{"level","msg","time"}` (containerd keeps the last error one; podman
//! parses the whole file as ONE object on failure), so warnings are held back and
//! written only when the command succeeds, and a failure writes exactly one line.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Default)]
struct Logger {
    file: Option<PathBuf>,
    format: Format,
    debug: bool,
    pending: Vec<(&'static str, String)>,
}

static LOGGER: Mutex<Option<Logger>> = Mutex::new(None);

pub fn init(file: Option<PathBuf>, format: Format, debug: bool) {
    *LOGGER.lock().unwrap_or_else(|e| e.into_inner()) = Some(Logger {
        file,
        format,
        debug,
        pending: Vec::new(),
    });
}

pub fn warn(msg: &str) {
    push("warning", msg);
}

pub fn debug(msg: &str) {
    let on = LOGGER
        .lock()
        .ok()
        .and_then(|l| l.as_ref().map(|l| l.debug))
        .unwrap_or(false);
    if on {
        push("debug", msg);
    }
}

fn push(level: &'static str, msg: &str) {
    let mut guard = LOGGER.lock().unwrap_or_else(|e| e.into_inner());
    match guard.as_mut() {
        Some(l) => l.pending.push((level, msg.to_string())),
        None => eprintln!("{level}: {msg}"),
    }
}

/// Takes the held-back warnings (the container process hands them to its parent).
pub fn take_warnings() -> Vec<String> {
    let mut guard = LOGGER.lock().unwrap_or_else(|e| e.into_inner());
    match guard.as_mut() {
        Some(l) => {
            let (warnings, rest): (Vec<_>, Vec<_>) =
                l.pending.drain(..).partition(|(lvl, _)| *lvl == "warning");
            l.pending = rest;
            warnings.into_iter().map(|(_, m)| m).collect()
        }
        None => Vec::new(),
    }
}

/// The command succeeded: write the held-back lines.
pub fn flush() {
    let mut guard = LOGGER.lock().unwrap_or_else(|e| e.into_inner());
    let Some(l) = guard.as_mut() else { return };
    let lines: Vec<_> = l.pending.drain(..).collect();
    for (level, msg) in lines {
        write_line(l, level, &msg);
    }
}

/// The command failed: the bare message on stderr, and exactly one error line in the log.
pub fn error(msg: &str) {
    let mut guard = LOGGER.lock().unwrap_or_else(|e| e.into_inner());
    eprintln!("{msg}");
    if let Some(l) = guard.as_mut() {
        l.pending.clear();
        if l.file.is_some() {
            write_line(l, "error", msg);
        }
    }
}

fn write_line(l: &Logger, level: &str, msg: &str) {
    let line = format_line(l.format, level, msg, &crate::util::time::now_rfc3339());
    match &l.file {
        Some(path) => {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path);
            if let Ok(mut f) = file {
                let _ = f.write_all(line.as_bytes());
            }
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

pub fn format_line(format: Format, level: &str, msg: &str, time: &str) -> String {
    match format {
        Format::Json => {
            let v = serde_json::json!({ "level": level, "msg": msg, "time": time });
            format!("{v}\n")
        }
        Format::Text => format!(
            "time=\"{time}\" level={level} msg={}\n",
            serde_json::Value::String(msg.to_string())
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_are_objects_with_level_msg_time() {
        let line = format_line(
            Format::Json,
            "error",
            "container does not exist",
            "2026-11-24T15:14:37Z",
        );
        let v: serde_json::Value = serde_json::from_str(line.trim()).unwrap();
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container does not exist");
        assert_eq!(v["time"], "2026-11-24T15:14:37Z");
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
    }

    #[test]
    fn text_lines_quote_the_message() {
        let line = format_line(Format::Text, "warning", "a \"b\"", "t");
        assert_eq!(line, "time=\"t\" level=warning msg=\"a \\\"b\\\"\"\n");
    }
}
