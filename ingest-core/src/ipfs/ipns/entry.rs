//! The `IpnsEntry` protobuf: the record as it travels, read field by field.

use super::IpnsError;
use crate::protobuf::{self, Field};

/// The fields of one protobuf message of a record (`IpnsEntry`, or the `PublicKey` in it or in
/// the name), read by the crate's one protobuf reader; its errors become
/// [`IpnsError::Protobuf`] naming the message.
pub(super) struct Message<'a> {
    reader: protobuf::Reader<'a>,
    message: &'static str,
}

impl<'a> Message<'a> {
    /// The message `message` (`record`, `public key`) in `bytes`.
    pub(super) fn new(bytes: &'a [u8], message: &'static str) -> Self {
        Message {
            reader: protobuf::Reader::new(bytes),
            message,
        }
    }

    fn error(&self, field: Option<u64>, offset: usize, reason: &'static str) -> IpnsError {
        IpnsError::Protobuf {
            message: self.message,
            field,
            offset,
            reason,
        }
    }

    /// The next field: its number and payload, or `None` at the end.
    pub(super) fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, IpnsError> {
        self.reader
            .next_field()
            .map_err(|e| self.error(e.field, e.offset, e.what.reason()))
    }

    /// The bytes of field `field` just read, or an error if it is not length-delimited.
    pub(super) fn bytes_of(&self, field: u64, payload: Field<'a>) -> Result<&'a [u8], IpnsError> {
        match payload {
            Field::Bytes(bytes) => Ok(bytes),
            _ => Err(self.error(
                Some(field),
                self.reader.offset(),
                "expected bytes (wire type 2)",
            )),
        }
    }

    /// The varint of field `field` just read, or an error if it is not one.
    pub(super) fn varint_of(&self, field: u64, payload: Field<'a>) -> Result<u64, IpnsError> {
        match payload {
            Field::Varint(value) => Ok(value),
            _ => Err(self.error(
                Some(field),
                self.reader.offset(),
                "expected a varint (wire type 0)",
            )),
        }
    }
}

/// The `IpnsEntry` protobuf, fields numbered as in the spec's "Record Serialization Format".
#[derive(Debug, Default)]
pub(super) struct Entry<'a> {
    /// 1: legacy V1 copy of `data[Value]`.
    pub(super) value: Option<&'a [u8]>,
    /// 2: legacy V1 signature, never checked.
    pub(super) signature_v1: Option<&'a [u8]>,
    /// 3: legacy V1 copy of `data[ValidityType]`.
    pub(super) validity_type: Option<u64>,
    /// 4: legacy V1 copy of `data[Validity]`.
    pub(super) validity: Option<&'a [u8]>,
    /// 5: legacy V1 copy of `data[Sequence]`.
    pub(super) sequence: Option<u64>,
    /// 6: legacy V1 copy of `data[TTL]`.
    pub(super) ttl: Option<u64>,
    /// 7: the public key, when the name cannot hold it.
    pub(super) pub_key: Option<&'a [u8]>,
    /// 8: the signature of `ipns-signature:` + `data`.
    pub(super) signature_v2: Option<&'a [u8]>,
    /// 9: the signed DAG-CBOR document.
    pub(super) data: Option<&'a [u8]>,
}

impl<'a> Entry<'a> {
    pub(super) fn parse(bytes: &'a [u8]) -> Result<Self, IpnsError> {
        let mut entry = Entry::default();
        let mut reader = Message::new(bytes, "record");
        while let Some((field, payload)) = reader.next()? {
            match field {
                1 => entry.value = Some(reader.bytes_of(field, payload)?),
                2 => entry.signature_v1 = Some(reader.bytes_of(field, payload)?),
                3 => entry.validity_type = Some(reader.varint_of(field, payload)?),
                4 => entry.validity = Some(reader.bytes_of(field, payload)?),
                5 => entry.sequence = Some(reader.varint_of(field, payload)?),
                6 => entry.ttl = Some(reader.varint_of(field, payload)?),
                7 => entry.pub_key = Some(reader.bytes_of(field, payload)?),
                8 => entry.signature_v2 = Some(reader.bytes_of(field, payload)?),
                9 => entry.data = Some(reader.bytes_of(field, payload)?),
                _ => {} // unknown: skipped, as protobuf says
            }
        }
        Ok(entry)
    }
}

#[cfg(test)]
mod tests {
    use crate::ipfs::ipns::fixtures::{fixture, name_a, today};
    use crate::ipfs::ipns::{verify_record, IpnsError};

    /// A protobuf field appended to a real record.
    fn with_field(record: &[u8], field: &[u8]) -> Vec<u8> {
        [record, field].concat()
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let name = name_a();
        let valid = fixture("ed25519-valid.bin");
        for extra in [
            &[0x78, 0x2a][..],                        // field 15, varint 42
            &[0x7a, 0x03, 1, 2, 3],                   // field 15, 3 bytes
            &[0x79, 1, 2, 3, 4, 5, 6, 7, 8],          // field 15, fixed64
            &[0x7d, 1, 2, 3, 4],                      // field 15, fixed32
            &[0x80, 0x01, 0xff, 0xff, 0xff, 0xff, 1], // field 16, a 5-byte varint
        ] {
            let record = with_field(&valid, extra);
            let verified = verify_record(&name, &record, today());
            assert!(verified.is_ok(), "{extra:02x?}: {verified:?}");
        }
    }

    #[test]
    fn malformed_protobuf() {
        let name = name_a();
        let valid = fixture("ed25519-valid.bin");
        let cases: [(&[u8], Option<u64>, &str); 7] = [
            (&[0x7a, 0x05, 1, 2], Some(15), "length past the end"),
            (&[0x78], Some(15), "truncated varint"),
            (
                &[
                    0x78, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
                ],
                Some(15),
                "varint over 64 bits",
            ),
            (&[0x7b], Some(15), "unsupported wire type (groups)"),
            (&[0x02, 0x00], Some(0), "field number out of range"),
            // Field 8 (signatureV2) as a varint.
            (&[0x40, 0x01], Some(8), "expected bytes (wire type 2)"),
            // Field 5 (sequence) as bytes.
            (&[0x2a, 0x00], Some(5), "expected a varint (wire type 0)"),
        ];
        for (extra, field, reason) in cases {
            let record = with_field(&valid, extra);
            match verify_record(&name, &record, today()) {
                Err(IpnsError::Protobuf {
                    message: "record",
                    field: f,
                    reason: r,
                    ..
                }) => assert_eq!((f, r), (field, reason), "{extra:02x?}"),
                other => panic!("{extra:02x?}: {other:?}"),
            }
        }
        let error = verify_record(&name, &with_field(&valid, &[0x7a, 0x05, 1, 2]), today());
        assert_eq!(
            error.unwrap_err().to_string(),
            "malformed record protobuf, field 15: length past the end (at byte 415)"
        );
    }
}
