//! The protobuf wire format, as much of it as CRIU's RPC uses (proto2: varints and
//! length-delimited fields, no packed repeats, no fixed-width numbers). Written by hand
//! rather than with prost: the messages are few and flat, and the encoder and decoder
//! together are a few hundred bytes of code (docs/performance.md).

/// Wire types of a field key.
const VARINT: u8 = 0;
const LEN: u8 = 2;

/// A message being encoded: fields appended in any order (protobuf allows it).
#[derive(Default, Debug)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn key(&mut self, field: u32, wire: u8) {
        self.varint(u64::from(field) << 3 | u64::from(wire));
    }

    pub fn uint(&mut self, field: u32, v: u64) {
        self.key(field, VARINT);
        self.varint(v);
    }

    /// An int32: negative values are sign-extended to ten bytes, as protobuf does.
    pub fn int(&mut self, field: u32, v: i32) {
        self.uint(field, i64::from(v) as u64);
    }

    pub fn bool(&mut self, field: u32, v: bool) {
        self.uint(field, u64::from(v));
    }

    /// A boolean that is only sent when set (CRIU's defaults are all false).
    pub fn flag(&mut self, field: u32, v: bool) {
        if v {
            self.bool(field, true);
        }
    }

    pub fn bytes(&mut self, field: u32, v: &[u8]) {
        self.key(field, LEN);
        self.varint(v.len() as u64);
        self.buf.extend_from_slice(v);
    }

    pub fn str(&mut self, field: u32, v: &str) {
        self.bytes(field, v.as_bytes());
    }

    pub fn message(&mut self, field: u32, m: Writer) {
        self.bytes(field, &m.buf);
    }
}

/// One decoded field.
#[derive(Debug, PartialEq, Eq)]
pub enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
}

impl Value<'_> {
    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Value::Varint(v) => Some(*v),
            Value::Bytes(_) => None,
        }
    }

    pub fn as_i32(&self) -> Option<i32> {
        self.as_u64().map(|v| v as i64 as i32)
    }
}

/// The fields of an encoded message in order; `None` ends it, `Some(Err)` is malformed
/// input (after which the reader yields nothing more).
pub struct Reader<'a> {
    buf: &'a [u8],
    broken: bool,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, broken: false }
    }

    fn varint(&mut self) -> Result<u64, &'static str> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.buf.split_first().ok_or("truncated varint")?;
            self.buf = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err("varint longer than ten bytes")
    }

    fn field(&mut self) -> Result<(u32, Value<'a>), &'static str> {
        let key = self.varint()?;
        let field = u32::try_from(key >> 3).map_err(|_| "field number out of range")?;
        let value = match (key & 7) as u8 {
            VARINT => Value::Varint(self.varint()?),
            LEN => {
                let len = usize::try_from(self.varint()?).map_err(|_| "length out of range")?;
                if len > self.buf.len() {
                    return Err("truncated field");
                }
                let (v, rest) = self.buf.split_at(len);
                self.buf = rest;
                Value::Bytes(v)
            }
            // fixed64 and fixed32: skipped, CRIU's RPC has none.
            1 | 5 => {
                let n = if key & 7 == 1 { 8 } else { 4 };
                if n > self.buf.len() {
                    return Err("truncated fixed field");
                }
                let (v, rest) = self.buf.split_at(n);
                self.buf = rest;
                Value::Bytes(v)
            }
            _ => return Err("unknown wire type"),
        };
        Ok((field, value))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<(u32, Value<'a>), &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.broken || self.buf.is_empty() {
            return None;
        }
        let f = self.field();
        self.broken = f.is_err();
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_kind_of_field() {
        let mut inner = Writer::default();
        inner.str(1, "post-restore");
        inner.int(2, 4242);
        let mut w = Writer::default();
        w.uint(1, 2);
        w.bool(2, true);
        w.flag(3, false);
        w.int(7, -1);
        w.message(5, inner);
        w.uint(300, 1 << 40);
        let bytes = w.into_bytes();
        let fields: Vec<_> = Reader::new(&bytes).map(Result::unwrap).collect();
        assert_eq!(fields[0], (1, Value::Varint(2)));
        assert_eq!(fields[1], (2, Value::Varint(1)));
        assert_eq!(fields[2].1.as_i32(), Some(-1));
        let Value::Bytes(b) = fields[3].1 else {
            panic!("not a message")
        };
        let inner: Vec<_> = Reader::new(b).map(Result::unwrap).collect();
        assert_eq!(inner[0], (1, Value::Bytes(b"post-restore")));
        assert_eq!(inner[1].1.as_i32(), Some(4242));
        assert_eq!(fields[4], (300, Value::Varint(1 << 40)));
    }

    #[test]
    fn known_encodings() {
        // criu_req { type: VERSION } is two bytes.
        let mut w = Writer::default();
        w.uint(1, 10);
        assert_eq!(w.into_bytes(), [0x08, 0x0a]);
        let mut w = Writer::default();
        w.int(1, -1);
        assert_eq!(w.into_bytes().len(), 11);
    }

    #[test]
    fn malformed_input_ends_with_an_error() {
        let mut r = Reader::new(&[0x0a, 0x05, b'a']);
        assert!(matches!(r.next(), Some(Err(_))));
        assert!(r.next().is_none());
        assert!(Reader::new(&[0xff; 11]).next().unwrap().is_err());
    }
}
