//! The D-Bus wire format, just as much of it as talking to systemd's manager object needs:
//! little-endian marshalling of the basic types, arrays, structs and variants, and the
//! message header. Alignment is counted from the start of the buffer, which is how D-Bus
//! counts it for both the header and the body (the body starts 8-aligned).

use crate::error::WireError;

/// Message types (D-Bus specification, "Message Format").
pub const METHOD_CALL: u8 = 1;
pub const METHOD_RETURN: u8 = 2;
pub const ERROR: u8 = 3;
pub const SIGNAL: u8 = 4;

/// Header field codes.
const FIELD_PATH: u8 = 1;
const FIELD_INTERFACE: u8 = 2;
const FIELD_MEMBER: u8 = 3;
const FIELD_ERROR_NAME: u8 = 4;
const FIELD_REPLY_SERIAL: u8 = 5;
const FIELD_DESTINATION: u8 = 6;
const FIELD_SIGNATURE: u8 = 8;

/// A value inside a variant, for unit properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Bool(bool),
    U64(u64),
    /// `au`, e.g. the PIDs of a scope.
    U32Array(Vec<u32>),
}

impl Value {
    fn signature(&self) -> &'static str {
        match self {
            Value::Str(_) => "s",
            Value::Bool(_) => "b",
            Value::U64(_) => "t",
            Value::U32Array(_) => "au",
        }
    }
}

/// Appends marshalled values to a buffer.
#[derive(Default)]
pub struct Encoder {
    pub buf: Vec<u8>,
}

impl Encoder {
    fn align(&mut self, n: usize) {
        while !self.buf.len().is_multiple_of(n) {
            self.buf.push(0);
        }
    }

    pub fn byte(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn u64(&mut self, v: u64) {
        self.align(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    pub fn bool(&mut self, v: bool) {
        self.u32(u32::from(v));
    }

    /// `s` and `o`: length, bytes, NUL.
    pub fn str(&mut self, v: &str) {
        self.u32(v.len() as u32);
        self.buf.extend_from_slice(v.as_bytes());
        self.buf.push(0);
    }

    /// `g`: one-byte length, bytes, NUL.
    pub fn signature(&mut self, v: &str) {
        self.buf.push(v.len() as u8);
        self.buf.extend_from_slice(v.as_bytes());
        self.buf.push(0);
    }

    /// An array whose elements have alignment `elem_align`; `body` writes the elements.
    /// The length excludes the padding before the first element, as the spec says.
    pub fn array(&mut self, elem_align: usize, body: impl FnOnce(&mut Self)) {
        self.u32(0);
        let len_at = self.buf.len() - 4;
        self.align(elem_align);
        let start = self.buf.len();
        body(self);
        let len = (self.buf.len() - start) as u32;
        self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    }

    pub fn struct_start(&mut self) {
        self.align(8);
    }

    pub fn variant(&mut self, v: &Value) {
        self.signature(v.signature());
        match v {
            Value::Str(s) => self.str(s),
            Value::Bool(b) => self.bool(*b),
            Value::U64(n) => self.u64(*n),
            Value::U32Array(items) => self.array(4, |e| items.iter().for_each(|i| e.u32(*i))),
        }
    }

    /// `a(sv)`: a property list.
    pub fn properties(&mut self, props: &[(&str, Value)]) {
        self.array(8, |e| {
            for (name, value) in props {
                e.struct_start();
                e.str(name);
                e.variant(value);
            }
        });
    }
}

/// Reads marshalled values from a buffer.
pub struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder { buf, pos: 0 }
    }

    fn align(&mut self, n: usize) {
        self.pos = self.pos.div_ceil(n) * n;
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).filter(|e| *e <= self.buf.len());
        let end = end.ok_or(WireError::Truncated)?;
        let out = &self.buf[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    pub fn byte(&mut self) -> Result<u8, WireError> {
        Ok(self.take(1)?[0])
    }

    pub fn u32(&mut self) -> Result<u32, WireError> {
        self.align(4);
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub fn str(&mut self) -> Result<String, WireError> {
        let len = self.u32()? as usize;
        let bytes = self.take(len + 1)?;
        String::from_utf8(bytes[..len].to_vec()).map_err(|_| WireError::NotUtf8("string"))
    }

    pub fn signature(&mut self) -> Result<String, WireError> {
        let len = self.byte()? as usize;
        let bytes = self.take(len + 1)?;
        String::from_utf8(bytes[..len].to_vec()).map_err(|_| WireError::NotUtf8("signature"))
    }
}

/// A message as read off the connection, with the header fields kapsel looks at.
#[derive(Debug, Default)]
pub struct Message {
    pub kind: u8,
    pub reply_serial: Option<u32>,
    pub member: Option<String>,
    pub error_name: Option<String>,
    pub signature: String,
    pub body: Vec<u8>,
}

impl Message {
    /// The first string of the body (`s` or `o`), e.g. an error's text or a job's path.
    pub fn first_string(&self) -> Option<String> {
        match self.signature.chars().next() {
            Some('s') | Some('o') => Decoder::new(&self.body).str().ok(),
            _ => None,
        }
    }
}

/// A method call to `path`/`interface`.`member`, with an already marshalled body.
pub struct Call<'a> {
    pub destination: Option<&'a str>,
    pub path: &'a str,
    pub interface: &'a str,
    pub member: &'a str,
    pub signature: &'a str,
    pub body: Vec<u8>,
}

/// Marshals `call` with `serial` into one message.
pub fn encode_call(call: &Call, serial: u32) -> Vec<u8> {
    let mut h = Encoder::default();
    h.byte(b'l');
    h.byte(METHOD_CALL);
    h.byte(0);
    h.byte(1);
    h.u32(call.body.len() as u32);
    h.u32(serial);
    h.array(8, |e| {
        let mut field = |code: u8, sig: &str, value: &str| {
            e.struct_start();
            e.byte(code);
            e.signature(sig);
            if sig == "g" {
                e.signature(value);
            } else {
                e.str(value);
            }
        };
        field(FIELD_PATH, "o", call.path);
        field(FIELD_INTERFACE, "s", call.interface);
        field(FIELD_MEMBER, "s", call.member);
        if let Some(d) = call.destination {
            field(FIELD_DESTINATION, "s", d);
        }
        if !call.signature.is_empty() {
            field(FIELD_SIGNATURE, "g", call.signature);
        }
    });
    h.align(8);
    h.buf.extend_from_slice(&call.body);
    h.buf
}

/// The fixed part of a header: how many more bytes the message has after these 16.
pub fn remaining_len(fixed: &[u8; 16]) -> Result<usize, WireError> {
    if fixed[0] != b'l' {
        return Err(WireError::ByteOrder(fixed[0] as char));
    }
    let body = u32::from_le_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]) as usize;
    let fields = u32::from_le_bytes([fixed[12], fixed[13], fixed[14], fixed[15]]) as usize;
    if body > 1 << 27 || fields > 1 << 26 {
        return Err(WireError::TooLarge);
    }
    Ok((16 + fields).div_ceil(8) * 8 - 16 + body)
}

/// Parses a whole message (fixed header included).
pub fn decode(bytes: &[u8]) -> Result<Message, WireError> {
    let mut d = Decoder::new(bytes);
    let _order = d.byte()?;
    let kind = d.byte()?;
    let _flags = d.byte()?;
    let _version = d.byte()?;
    let body_len = d.u32()? as usize;
    let _serial = d.u32()?;
    let fields_len = d.u32()? as usize;
    let fields_end = d.pos + fields_len;
    let mut msg = Message {
        kind,
        ..Default::default()
    };
    while d.pos < fields_end {
        d.align(8);
        let code = d.byte()?;
        let sig = d.signature()?;
        match sig.as_str() {
            "s" | "o" => {
                let v = d.str()?;
                match code {
                    FIELD_MEMBER => msg.member = Some(v),
                    FIELD_ERROR_NAME => msg.error_name = Some(v),
                    _ => {}
                }
            }
            "u" => {
                let v = d.u32()?;
                if code == FIELD_REPLY_SERIAL {
                    msg.reply_serial = Some(v);
                }
            }
            "g" => {
                let v = d.signature()?;
                if code == FIELD_SIGNATURE {
                    msg.signature = v;
                }
            }
            other => return Err(WireError::FieldType(other.to_string())),
        }
    }
    d.pos = fields_end;
    d.align(8);
    msg.body = d.take(body_len)?.to_vec();
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_round_trips_through_the_decoder() {
        let mut body = Encoder::default();
        body.str("kapsel-c1.scope");
        body.str("fail");
        body.properties(&[
            ("Delegate", Value::Bool(true)),
            ("PIDs", Value::U32Array(vec![42])),
            ("MemoryMax", Value::U64(1 << 20)),
        ]);
        body.array(8, |_| {});
        let bytes = encode_call(
            &Call {
                destination: Some("org.freedesktop.systemd1"),
                path: "/org/freedesktop/systemd1",
                interface: "org.freedesktop.systemd1.Manager",
                member: "StartTransientUnit",
                signature: "ssa(sv)a(sa(sv))",
                body: body.buf.clone(),
            },
            7,
        );
        let mut fixed = [0u8; 16];
        fixed.copy_from_slice(&bytes[..16]);
        assert_eq!(16 + remaining_len(&fixed).unwrap(), bytes.len());
        let msg = decode(&bytes).unwrap();
        assert_eq!(msg.kind, METHOD_CALL);
        assert_eq!(msg.member.as_deref(), Some("StartTransientUnit"));
        assert_eq!(msg.signature, "ssa(sv)a(sa(sv))");
        assert_eq!(msg.body, body.buf);
        assert_eq!(msg.first_string().as_deref(), Some("kapsel-c1.scope"));
    }

    #[test]
    fn arrays_count_bytes_without_the_leading_padding() {
        let mut e = Encoder::default();
        e.byte(1);
        e.array(8, |e| e.u64(5));
        // 1 byte, 3 pad, length 8, then 8-aligned element at offset 8.
        assert_eq!(e.buf.len(), 16);
        assert_eq!(&e.buf[4..8], &8u32.to_le_bytes());
        let mut empty = Encoder::default();
        empty.array(8, |_| {});
        assert_eq!(empty.buf, vec![0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn truncated_or_big_endian_messages_are_errors() {
        assert!(decode(&[b'l', 2, 0, 1, 9, 0, 0, 0]).is_err());
        let mut fixed = [0u8; 16];
        fixed[0] = b'B';
        assert!(remaining_len(&fixed)
            .unwrap_err()
            .to_string()
            .contains("byte order"));
    }
}
