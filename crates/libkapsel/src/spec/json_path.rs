//! The JSON path (`process.user.uid`, `mounts[3].options`) of the value at which a
//! serde_json error was detected, recovered from the error's line and column by a
//! small scan of the input. Deserializing without a path-tracking wrapper keeps one
//! copy of the (large) generated deserializer code in the binary; only the failure
//! path pays for the scan.

/// One open container on the way to the error position.
enum Frame {
    /// An object and the key whose value is being read (`None` between members).
    Object(Option<String>),
    /// An array and the index of the element being read.
    Array(usize),
}

/// The path of the value at `err`'s position in `bytes`, in the form
/// `a.b[2].c`; `"."` when the error is at the top level (or has no position).
pub fn of_error(bytes: &[u8], err: &serde_json::Error) -> String {
    match offset(bytes, err.line(), err.column()) {
        Some(end) => render(&scan(bytes, end)),
        None => ".".to_string(),
    }
}

/// Byte offset of 1-based `line` and `column` (serde_json counts bytes).
fn offset(bytes: &[u8], line: usize, column: usize) -> Option<usize> {
    if line == 0 {
        return None;
    }
    let mut start = 0;
    for _ in 1..line {
        start += bytes[start..].iter().position(|&b| b == b'\n')? + 1;
    }
    Some((start + column).min(bytes.len()))
}

/// The containers open at `end`, reading every token that starts before it.
fn scan(bytes: &[u8], end: usize) -> Vec<Frame> {
    let mut stack = Vec::new();
    let mut i = 0;
    while i < end {
        match bytes[i] {
            b'{' => stack.push(Frame::Object(None)),
            b'[' => stack.push(Frame::Array(0)),
            b'}' | b']' => {
                stack.pop();
            }
            b',' => match stack.last_mut() {
                Some(Frame::Array(n)) => *n += 1,
                Some(Frame::Object(key)) => *key = None,
                None => {}
            },
            b'"' => {
                let close = string_end(bytes, i);
                if let Some(Frame::Object(key @ None)) = stack.last_mut() {
                    let raw = &bytes[i..close.min(bytes.len())];
                    *key = Some(
                        serde_json::from_slice::<String>(raw)
                            .unwrap_or_else(|_| String::from_utf8_lossy(raw).into_owned()),
                    );
                }
                i = close;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    stack
}

/// The index just past the closing quote of the string starting at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

fn render(stack: &[Frame]) -> String {
    let mut out = String::new();
    for frame in stack {
        match frame {
            Frame::Object(Some(key)) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Frame::Object(None) => break,
            Frame::Array(n) => out.push_str(&format!("[{n}]")),
        }
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::of_error;

    fn path_of<T: serde::de::DeserializeOwned + std::fmt::Debug>(json: &str) -> String {
        let err = serde_json::from_str::<T>(json).unwrap_err();
        of_error(json.as_bytes(), &err)
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct User {
        uid: u32,
        gid: u32,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Process {
        user: User,
        args: Vec<String>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Top {
        process: Process,
        #[serde(default)]
        mounts: Vec<Mount>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Mount {
        destination: String,
        options: Option<Vec<String>>,
    }

    #[test]
    fn a_type_error_names_its_field() {
        let json = r#"{"process":{"args":["sh"],"user":{"uid":"zero","gid":0}}}"#;
        assert_eq!(path_of::<Top>(json), "process.user.uid");
    }

    #[test]
    fn array_elements_are_indexed_across_lines() {
        let json = "{\"process\":{\"args\":[],\"user\":{\"uid\":0,\"gid\":0}},\n\"mounts\":[\n{\"destination\":\"/a\"},\n{\"destination\":\"/b\",\"options\":[\"ro\", 7]}]}";
        assert_eq!(path_of::<Top>(json), "mounts[1].options[1]");
    }

    #[test]
    fn a_missing_field_names_its_object() {
        let json = r#"{"process":{"args":[],"user":{"uid":0}}}"#;
        assert_eq!(path_of::<Top>(json), "process.user");
    }

    #[test]
    fn keys_with_escapes_and_braces_in_strings() {
        let json = r#"{"process":{"args":["a}\"]"],"user":{"uid":-1,"gid":0}}}"#;
        assert_eq!(path_of::<Top>(json), "process.user.uid");
    }

    #[test]
    fn syntax_errors_at_the_top_are_dot() {
        assert_eq!(path_of::<Top>("nope"), ".");
    }
}
