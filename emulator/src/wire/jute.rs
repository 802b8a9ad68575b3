//! Jute, ZooKeeper's record encoding: big-endian integers, length-prefixed buffers, strings
//! and vectors (length -1 for null), one byte per boolean.

use zczk_core::store::{Acl, Perms, Stat};

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The frame ended inside a field.
    #[error("truncated record: {needed} more bytes needed for {field}")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes missing.
        needed: usize,
    },
    /// A length prefix is negative (other than null) or larger than the frame.
    #[error("bad length {len} for {field}")]
    BadLength {
        /// The field being read.
        field: &'static str,
        /// The length read.
        len: i32,
    },
    /// A string is not UTF-8.
    #[error("{field} is not UTF-8")]
    NotUtf8 {
        /// The field being read.
        field: &'static str,
    },
    /// A value is outside what the field allows.
    #[error("bad value {value} for {field}")]
    BadValue {
        /// The field being read.
        field: &'static str,
        /// The value read.
        value: i64,
    },
}

/// Reads jute fields from one frame.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::Truncated { field, needed: n - self.buf.len() });
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// An `int`.
    pub fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        let b = self.take(4, field)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A `long`.
    pub fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        let b = self.take(8, field)?;
        let mut a = [0; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    /// A `boolean`: any non-zero byte is true, as Java's `readBoolean`.
    pub fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        Ok(self.take(1, field)?[0] != 0)
    }

    /// A length prefix: `None` for null (-1).
    fn len(&mut self, field: &'static str) -> Result<Option<usize>, DecodeError> {
        let len = self.i32(field)?;
        match len {
            -1 => Ok(None),
            n if n < 0 || n as usize > self.buf.len() => Err(DecodeError::BadLength { field, len }),
            n => Ok(Some(n as usize)),
        }
    }

    /// A `buffer` (null reads as empty).
    pub fn buffer(&mut self, field: &'static str) -> Result<&'a [u8], DecodeError> {
        match self.len(field)? {
            None => Ok(&[]),
            Some(n) => self.take(n, field),
        }
    }

    /// A `buffer` that may be null (`None`): node data, which ZooKeeper keeps null apart.
    pub fn nullable_buffer(&mut self, field: &'static str) -> Result<Option<&'a [u8]>, DecodeError> {
        match self.len(field)? {
            None => Ok(None),
            Some(n) => self.take(n, field).map(Some),
        }
    }

    /// A `ustring` (null reads as empty).
    pub fn string(&mut self, field: &'static str) -> Result<&'a str, DecodeError> {
        let bytes = self.buffer(field)?;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::NotUtf8 { field })
    }

    /// A `vector<ustring>` (null reads as empty).
    pub fn strings(&mut self, field: &'static str) -> Result<Vec<String>, DecodeError> {
        // Each element takes at least its 4-byte length, which bounds the count by the frame.
        let count = self.vector_len(field, 4)?;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            out.push(self.string(field)?.to_string());
        }
        Ok(out)
    }

    /// A vector's element count, checked against the bytes left (`min` bytes per element).
    fn vector_len(&mut self, field: &'static str, min: usize) -> Result<usize, DecodeError> {
        let len = self.i32(field)?;
        match len {
            -1 => Ok(0),
            n if n < 0 || (n as usize).saturating_mul(min) > self.buf.len() => {
                Err(DecodeError::BadLength { field, len })
            }
            n => Ok(n as usize),
        }
    }

    /// A `vector<ACL>`: perms, then `Id{scheme, id}`.
    pub fn acls(&mut self) -> Result<Vec<Acl>, DecodeError> {
        let count = self.vector_len("acl", 12)?;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let perms = self.i32("acl perms")?;
            let scheme = self.string("acl scheme")?;
            let id = self.string("acl id")?;
            out.push(Acl::new(Perms(perms), scheme, id));
        }
        Ok(out)
    }
}

/// Appends jute fields to a buffer.
#[derive(Debug, Default)]
pub struct Writer {
    /// The bytes written so far.
    pub buf: Vec<u8>,
}

impl Writer {
    /// An `int`.
    pub fn i32(&mut self, v: i32) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A `long`.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.buf.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A `boolean`.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.buf.push(v as u8);
        self
    }

    /// A `buffer`.
    pub fn buffer(&mut self, v: &[u8]) -> &mut Self {
        self.i32(v.len() as i32);
        self.buf.extend_from_slice(v);
        self
    }

    /// A `buffer` that may be null: length -1 for `None`.
    pub fn nullable_buffer(&mut self, v: Option<&[u8]>) -> &mut Self {
        match v {
            Some(v) => self.buffer(v),
            None => self.i32(-1),
        }
    }

    /// A `ustring`.
    pub fn string(&mut self, v: &str) -> &mut Self {
        self.buffer(v.as_bytes())
    }

    /// A `vector<ustring>`.
    pub fn strings<S: AsRef<str>>(&mut self, v: &[S]) -> &mut Self {
        self.i32(v.len() as i32);
        for s in v {
            self.string(s.as_ref());
        }
        self
    }

    /// A `Stat` record.
    pub fn stat(&mut self, s: &Stat) -> &mut Self {
        self.i64(s.czxid).i64(s.mzxid).i64(s.ctime).i64(s.mtime);
        self.i32(s.version).i32(s.cversion).i32(s.aversion);
        self.i64(s.ephemeral_owner).i32(s.data_length).i32(s.num_children).i64(s.pzxid)
    }

    /// A `vector<ACL>`.
    pub fn acls(&mut self, acl: &[Acl]) -> &mut Self {
        self.i32(acl.len() as i32);
        for a in acl {
            self.i32(a.perms.0).string(&a.scheme).string(&a.id);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let mut w = Writer::default();
        w.i32(-7).i64(1 << 40).bool(true).buffer(b"xy").string("/a").strings(&["b", "c"]);
        w.acls(&Acl::open());
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.i32("a").unwrap(), -7);
        assert_eq!(r.i64("b").unwrap(), 1 << 40);
        assert!(r.bool("c").unwrap());
        assert_eq!(r.buffer("d").unwrap(), b"xy");
        assert_eq!(r.string("e").unwrap(), "/a");
        assert_eq!(r.strings("f").unwrap(), ["b", "c"]);
        assert_eq!(r.acls().unwrap(), Acl::open());
        assert_eq!(r.remaining(), 0);
    }

    #[test]
    fn lengths_beyond_the_frame_are_refused() {
        let mut w = Writer::default();
        w.i32(1000).buf.extend_from_slice(b"short");
        assert!(matches!(Reader::new(&w.buf).buffer("data"), Err(DecodeError::BadLength { len: 1000, .. })));
        let mut w = Writer::default();
        w.i32(i32::MAX);
        assert!(Reader::new(&w.buf).strings("children").is_err());
        assert!(matches!(Reader::new(&[0, 0]).i32("xid"), Err(DecodeError::Truncated { needed: 2, .. })));
        let mut w = Writer::default();
        w.i32(-1);
        assert_eq!(Reader::new(&w.buf).buffer("data").unwrap(), b"");
    }

    #[test]
    fn nullable_buffers_keep_null_apart_from_empty() {
        let mut w = Writer::default();
        w.nullable_buffer(None).nullable_buffer(Some(b"")).nullable_buffer(Some(b"ab"));
        assert_eq!(w.buf[..4], (-1i32).to_be_bytes());
        let mut r = Reader::new(&w.buf);
        assert_eq!(r.nullable_buffer("data").unwrap(), None);
        assert_eq!(r.nullable_buffer("data").unwrap(), Some(&b""[..]));
        assert_eq!(r.nullable_buffer("data").unwrap(), Some(&b"ab"[..]));
    }
}
