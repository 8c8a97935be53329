//! The protobuf wire format, read: the one reader of every protobuf this crate decodes from
//! untrusted bytes, dag-pb nodes and UnixFS `Data` ([`crate::unixfs::block`]) and, with feature
//! `http`, IPNS records and libp2p public keys (`ipfs::ipns`).
//!
//! Not a layer: a small utility under two of them (unixfs and ipfs), like the varint writer of
//! `unixfs::block`. It knows the wire format only; what a field means, and whether a field of
//! the wrong wire type is skipped or refused, is its caller's.
//!
//! The rules, the wire format's own (those of Go's `protowire`, under boxo's IPNS decoding):
//!
//! - a varint is at most 10 bytes and fits in 64 bits: a tenth byte over 1 is refused, never
//!   truncated. A non-minimal varint (`80 00` for 0) is accepted, as `protowire`, js-dag-pb and
//!   this crate's readers always have: a reader that refused it would read no kubo block
//!   differently and could refuse a block read before;
//! - a tag's field number is 1 to 2^29 − 1;
//! - wire types 0 (varint) and 2 (length-delimited) are read; 1 and 5 (fixed 64 and 32 bits,
//!   in no message read here) are skipped; 3 and 4 (groups, deprecated) and 6 and 7 (undefined)
//!   are refused;
//! - every length is checked against the bytes left before anything is taken, and nothing is
//!   allocated: a field is a slice of the input, so what a reader gives is bounded by its input.

/// What is wrong with a protobuf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// The input ends inside a varint.
    TruncatedVarint,
    /// A varint of more than 10 bytes.
    VarintOver10Bytes,
    /// A 10-byte varint whose last byte holds more than bit 63.
    VarintOver64Bits,
    /// A length-delimited field longer than what is left.
    LengthPastTheEnd,
    /// A field number of 0 or over 2^29 − 1.
    FieldNumberOutOfRange,
    /// Wire type 3 or 4 (a group).
    Group,
    /// Wire type 6 or 7.
    NoSuchWireType,
}

impl Malformed {
    /// The reason, as error messages give it.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Malformed::TruncatedVarint => "truncated varint",
            Malformed::VarintOver10Bytes => "varint over 10 bytes",
            Malformed::VarintOver64Bits => "varint over 64 bits",
            Malformed::LengthPastTheEnd => "length past the end",
            Malformed::FieldNumberOutOfRange => "field number out of range",
            Malformed::Group => "unsupported wire type (groups)",
            Malformed::NoSuchWireType => "no such wire type (6 or 7)",
        }
    }
}

/// A protobuf that does not read: what, in which field, where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{}: at byte {offset}", .what.reason(), field_text(*.field))]
pub(crate) struct Error {
    /// What is wrong.
    pub(crate) what: Malformed,
    /// The field being read, when its tag was read.
    pub(crate) field: Option<u64>,
    /// Where in the input the reader was when it stopped.
    pub(crate) offset: usize,
}

fn field_text(field: Option<u64>) -> String {
    field.map(|f| format!(" in field {f}")).unwrap_or_default()
}

/// A field's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 2: bytes, a string, an embedded message or a packed repeated field.
    Bytes(&'a [u8]),
    /// Wire types 1 and 5 (fixed 64 and 32 bits): skipped, their bytes not read.
    Fixed,
}

/// Reads protobuf fields one after the other from a bounded slice.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader of the message `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    /// Bytes read so far.
    #[cfg_attr(not(feature = "http"), allow(dead_code))] // only ipfs::ipns reports offsets
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }

    /// Whether everything has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.bytes.len()
    }

    fn error(&self, what: Malformed, field: Option<u64>) -> Error {
        Error {
            what,
            field,
            offset: self.pos,
        }
    }

    /// A varint (the elements of a packed repeated field are bare varints).
    pub(crate) fn varint(&mut self) -> Result<u64, Error> {
        self.varint_in(None)
    }

    fn varint_in(&mut self, field: Option<u64>) -> Result<u64, Error> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&byte) = self.bytes.get(self.pos) else {
                return Err(self.error(Malformed::TruncatedVarint, field));
            };
            self.pos += 1;
            let bits = u64::from(byte & 0x7f);
            // The tenth byte holds bit 63 only.
            if i == 9 && bits > 1 {
                return Err(self.error(Malformed::VarintOver64Bits, field));
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error(Malformed::VarintOver10Bytes, field))
    }

    /// The next `len` bytes, if there are that many left.
    fn take(&mut self, len: u64, field: u64) -> Result<&'a [u8], Error> {
        let left = self.bytes.len() - self.pos;
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= left)
            .ok_or_else(|| self.error(Malformed::LengthPastTheEnd, Some(field)))?;
        let taken = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(taken)
    }

    /// The next field, its number and payload; `None` at the end.
    pub(crate) fn next_field(&mut self) -> Result<Option<(u64, Field<'a>)>, Error> {
        if self.is_empty() {
            return Ok(None);
        }
        let tag = self.varint_in(None)?;
        let field = tag >> 3;
        if field == 0 || field > u64::from(u32::MAX >> 3) {
            return Err(self.error(Malformed::FieldNumberOutOfRange, Some(field)));
        }
        let payload = match tag & 7 {
            0 => Field::Varint(self.varint_in(Some(field))?),
            1 => self.take(8, field).map(|_| Field::Fixed)?,
            2 => {
                let len = self.varint_in(Some(field))?;
                Field::Bytes(self.take(len, field)?)
            }
            5 => self.take(4, field).map(|_| Field::Fixed)?,
            3 | 4 => return Err(self.error(Malformed::Group, Some(field))),
            _ => return Err(self.error(Malformed::NoSuchWireType, Some(field))),
        };
        Ok(Some((field, payload)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every field of `bytes`, or the first error.
    fn fields(bytes: &[u8]) -> Result<Vec<(u64, Field<'_>)>, Error> {
        let mut reader = Reader::new(bytes);
        let mut out = Vec::new();
        while let Some(field) = reader.next_field()? {
            out.push(field);
        }
        Ok(out)
    }

    fn what(bytes: &[u8]) -> Malformed {
        fields(bytes).unwrap_err().what
    }

    #[test]
    fn varints_fit_in_64_bits_and_10_bytes() {
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(Reader::new(&max).varint(), Ok(u64::MAX));
        let mut over = max;
        over[9] = 0x02;
        assert_eq!(
            Reader::new(&over).varint().unwrap_err().what,
            Malformed::VarintOver64Bits
        );
        let long = [0x80; 11];
        let error = Reader::new(&long).varint().unwrap_err();
        assert_eq!(
            (error.what, error.offset),
            (Malformed::VarintOver10Bytes, 10)
        );
        let error = Reader::new(&[0x80, 0x80]).varint().unwrap_err();
        assert_eq!((error.what, error.offset), (Malformed::TruncatedVarint, 2));
        // Not minimal, yet read (as protowire and js-dag-pb read it).
        assert_eq!(Reader::new(&[0x80, 0x00]).varint(), Ok(0));
        assert_eq!(Reader::new(&[0x81, 0x80, 0x00]).varint(), Ok(1));
    }

    #[test]
    fn fields_of_each_wire_type() {
        let message = [
            0x08, 0x96, 0x01, // field 1, varint 150
            0x12, 0x02, b'h', b'i', // field 2, 2 bytes
            0x19, 1, 2, 3, 4, 5, 6, 7, 8, // field 3, fixed64: skipped
            0x25, 1, 2, 3, 4, // field 4, fixed32: skipped
            0x2a, 0x00, // field 5, empty bytes
        ];
        assert_eq!(
            fields(&message).unwrap(),
            [
                (1, Field::Varint(150)),
                (2, Field::Bytes(b"hi")),
                (3, Field::Fixed),
                (4, Field::Fixed),
                (5, Field::Bytes(b"")),
            ]
        );
        assert_eq!(fields(&[]).unwrap(), []);
    }

    #[test]
    fn malformed_fields_are_named() {
        assert_eq!(what(&[0x12, 0x03, 1, 2]), Malformed::LengthPastTheEnd);
        assert_eq!(what(&[0x19, 1, 2, 3]), Malformed::LengthPastTheEnd);
        assert_eq!(what(&[0x25, 1]), Malformed::LengthPastTheEnd);
        assert_eq!(what(&[0x08]), Malformed::TruncatedVarint);
        assert_eq!(what(&[0x80]), Malformed::TruncatedVarint);
        assert_eq!(what(&[0x0b]), Malformed::Group);
        assert_eq!(what(&[0x0c]), Malformed::Group);
        assert_eq!(what(&[0x0e]), Malformed::NoSuchWireType);
        assert_eq!(what(&[0x0f]), Malformed::NoSuchWireType);
        assert_eq!(what(&[0x02, 0x00]), Malformed::FieldNumberOutOfRange);
        // Field 2^29 - 1 is the last; 2^29 is out.
        assert!(fields(&[0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00]).is_ok());
        assert_eq!(
            what(&[0x80, 0x80, 0x80, 0x80, 0x10, 0x00]),
            Malformed::FieldNumberOutOfRange
        );
        // A huge length is refused before anything is taken.
        let huge = [
            0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
        ];
        let error = fields(&huge).unwrap_err();
        assert_eq!(
            (error.what, error.field, error.offset),
            (Malformed::LengthPastTheEnd, Some(2), 11)
        );
        assert_eq!(
            error.to_string(),
            "length past the end in field 2: at byte 11"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any bytes: no panic; every field a slice of the input, at most one field a byte.
        #[test]
        fn any_bytes_read_within_bounds(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let mut reader = Reader::new(&bytes);
            let mut count = 0;
            while let Ok(Some((field, payload))) = reader.next_field() {
                count += 1;
                prop_assert!(count <= bytes.len());
                prop_assert!((1..1 << 29).contains(&field));
                if let Field::Bytes(b) = payload {
                    prop_assert!(b.len() < bytes.len());
                }
                prop_assert!(reader.offset() <= bytes.len());
            }
        }
    }
}
