//! The record's codec: canonical DAG-CBOR out of the schema's serde derives, and a strict reader
//! of untrusted bytes.
//!
//! Encoding: [`Record`] → IPLD (through its `Serialize` derive) → `serde_ipld_dagcbor`, which
//! orders map keys canonically. Decoding: bytes → IPLD (bounded by [`MAX_RECORD_LEN`] and the
//! decoder's nesting limit) → the canonical check (the IPLD must re-encode to the same bytes)
//! → the version → [`Record`] through its `Deserialize` derive, driven by [`Value`], a
//! deserializer over IPLD that knows the path of every value it hands out and what the schema
//! asked for there, so every error is a typed [`RecordError`] naming the field.

use std::fmt;

use ipld_core::ipld::Ipld;
use serde::de::{self, Visitor};
use serde::Deserialize;

use super::{Record, RecordError, MAX_RECORD_LEN, RECORD_VERSION};

/// Encodes a valid record (the caller validated it).
pub(super) fn encode(record: &Record) -> Vec<u8> {
    let mut ipld = ipld_core::serde::to_ipld(record).expect("a record always maps to IPLD");
    if let Ipld::Map(map) = &mut ipld {
        map.insert("version".to_owned(), Ipld::Integer(RECORD_VERSION.into()));
    }
    serde_ipld_dagcbor::to_vec(&ipld).expect("an IPLD map always encodes")
}

/// The record as IPLD, its version included (what [`encode`] writes).
pub(super) fn to_ipld(record: &Record) -> Ipld {
    serde_ipld_dagcbor::from_slice(&encode(record)).expect("a record's encoding decodes")
}

/// Reads a record from untrusted bytes; the schema's rules are checked by the caller.
pub(super) fn decode(bytes: &[u8]) -> Result<Record, RecordError> {
    if bytes.len() > MAX_RECORD_LEN {
        return Err(RecordError::TooLarge {
            len: bytes.len(),
            max: MAX_RECORD_LEN,
        });
    }
    let ipld: Ipld = serde_ipld_dagcbor::from_slice(bytes).map_err(decode_error)?;
    // Canonical form: the bytes must be exactly what this code would write for them. (The
    // version is checked first below, so the error for a newer record names its version.)
    let canonical = serde_ipld_dagcbor::to_vec(&ipld).ok().as_deref() == Some(bytes);
    let Ipld::Map(mut map) = ipld else {
        return Err(wrong("record", "a map"));
    };
    // The version first: a newer record may have a shape this code cannot read.
    match map.remove("version") {
        Some(Ipld::Integer(v)) if v == RECORD_VERSION as i128 => {}
        Some(Ipld::Integer(v)) if v > 0 => {
            return Err(RecordError::UnsupportedVersion {
                version: u64::try_from(v).unwrap_or(u64::MAX),
            })
        }
        None => {
            return Err(RecordError::Missing {
                field: "version".into(),
            })
        }
        Some(_) => return Err(wrong("version", "a positive integer")),
    }
    if !canonical {
        return Err(RecordError::NotCanonical {
            reason: "it does not re-encode to the same bytes",
        });
    }
    Record::deserialize(Value(Ipld::Map(map))).map_err(SchemaError::finish)
}

fn wrong(field: &str, expected: &'static str) -> RecordError {
    RecordError::WrongType {
        field: field.to_owned(),
        expected,
    }
}

/// The decoder's error, by kind. `serde_ipld_dagcbor` maps the errors of its CBOR reader
/// (cbor4ii) to typed variants, except those it does not know yet, which it passes on as `Msg`
/// holding their display (its own comment: "loses structured info but preserves the Display
/// string"); for those alone the variant's name is matched, so an upgrade that moves a check
/// down into cbor4ii still reports the same kind of error.
fn decode_error(e: serde_ipld_dagcbor::DecodeError<std::convert::Infallible>) -> RecordError {
    use serde_ipld_dagcbor::DecodeError as D;
    let msg = match &e {
        D::Msg(msg) => msg.as_str(),
        _ => "",
    };
    let not_canonical = |reason| RecordError::NotCanonical { reason };
    let reason = match e {
        D::NonMinimal { .. } => {
            return not_canonical("an integer or a length is not written in its shortest form")
        }
        D::IndefiniteSize => return not_canonical("it uses an indefinite-length item"),
        D::UnorderedKey => return not_canonical("its map keys are not in canonical order"),
        D::Eof { .. } => "it is truncated".to_owned(),
        D::TrailingData => "bytes follow the end of the record".to_owned(),
        D::DepthOverflow { .. } => "it is nested too deeply".to_owned(),
        _ if msg.starts_with("NonMinimal") => {
            return not_canonical("an integer or a length is not written in its shortest form")
        }
        _ if msg.starts_with("IndefiniteSize") => {
            return not_canonical("it uses an indefinite-length item")
        }
        _ if msg.starts_with("UnorderedKey") => {
            return not_canonical("its map keys are not in canonical order")
        }
        _ if msg.starts_with("Eof") => "it is truncated".to_owned(),
        D::Msg(msg) => msg,
        other => format!("{other:?}"),
    };
    RecordError::Decode { reason }
}

/// A [`RecordError`] as a serde error: the deserializer builds it from the typed cause, and
/// each level it passes on the way out adds its key or index, so the path of the field costs
/// nothing unless there is an error (a merge decodes a million records).
#[derive(Debug)]
pub(super) struct SchemaError {
    /// The error; its field is filled in by [`SchemaError::finish`].
    error: RecordError,
    /// The path, innermost segment first.
    path: Vec<Segment>,
}

#[derive(Debug)]
enum Segment {
    Key(String),
    Index(usize),
}

impl SchemaError {
    fn new(error: RecordError) -> SchemaError {
        SchemaError {
            error,
            path: Vec::new(),
        }
    }

    /// The error came from inside `segment`.
    fn within(mut self, segment: Segment) -> SchemaError {
        self.path.push(segment);
        self
    }

    /// The error, naming its field (`files[0].cid`; `record` for the record itself).
    fn finish(mut self) -> RecordError {
        let mut path = String::new();
        for segment in self.path.iter().rev() {
            match segment {
                Segment::Key(key) if path.is_empty() => path.push_str(key),
                Segment::Key(key) => {
                    path.push('.');
                    path.push_str(key);
                }
                Segment::Index(i) => {
                    path.push('[');
                    path.push_str(&i.to_string());
                    path.push(']');
                }
            }
        }
        if path.is_empty() {
            path.push_str("record");
        }
        match &mut self.error {
            RecordError::Invalid { field, .. }
            | RecordError::Missing { field }
            | RecordError::UnknownField { field }
            | RecordError::WrongType { field, .. } => *field = path,
            _ => {}
        }
        self.error
    }
}

impl fmt::Display for SchemaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for SchemaError {}

impl de::Error for SchemaError {
    /// A value the schema's own checks refused (`try_from`, `deserialize_with`).
    fn custom<T: fmt::Display>(msg: T) -> Self {
        SchemaError::new(RecordError::Invalid {
            field: String::new(),
            reason: msg.to_string(),
        })
    }

    fn missing_field(field: &'static str) -> Self {
        SchemaError::new(RecordError::Missing {
            field: String::new(),
        })
        .within(Segment::Key(field.to_owned()))
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        SchemaError::new(RecordError::UnknownField {
            field: String::new(),
        })
        .within(Segment::Key(field.to_owned()))
    }
}

/// One IPLD value of a record.
struct Value(Ipld);

impl Value {
    /// This value is not what the schema asked for here.
    fn wrong(expected: &'static str) -> SchemaError {
        SchemaError::new(wrong("", expected))
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = SchemaError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, SchemaError> {
        Err(Value::wrong("a value of the schema"))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        match self.0 {
            Ipld::String(s) => visitor.visit_string(s),
            _ => Err(Value::wrong("a string")),
        }
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        match self.0 {
            Ipld::Integer(i) if u64::try_from(i).is_ok() => visitor.visit_u64(i as u64),
            _ => Err(Value::wrong("an unsigned integer")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        // Absent is `None` (serde's default for a missing `Option`); a present value, null
        // included, must be of the field's type.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, SchemaError> {
        if name != cid::serde::CID_SERDE_PRIVATE_IDENTIFIER {
            return visitor.visit_newtype_struct(self);
        }
        match self.0 {
            Ipld::Link(cid) => {
                let bytes = cid.to_bytes();
                visitor
                    .visit_newtype_struct(de::value::BytesDeserializer::<SchemaError>::new(&bytes))
            }
            _ => Err(Value::wrong("a CID link")),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        match self.0 {
            Ipld::List(items) => visitor.visit_seq(Items(items.into_iter().enumerate())),
            _ => Err(Value::wrong("a list")),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        match self.0 {
            Ipld::Map(map) => visitor.visit_map(Entries {
                entries: map.into_iter(),
                value: None,
            }),
            _ => Err(Value::wrong("a map")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, SchemaError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        self.deserialize_string(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u128 f32 f64 char bytes byte_buf unit unit_struct
        tuple tuple_struct enum ignored_any
    }
}

/// The items of a list; an error inside one names its index.
struct Items(std::iter::Enumerate<std::vec::IntoIter<Ipld>>);

impl<'de> de::SeqAccess<'de> for Items {
    type Error = SchemaError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, SchemaError> {
        let Some((i, ipld)) = self.0.next() else {
            return Ok(None);
        };
        seed.deserialize(Value(ipld))
            .map(Some)
            .map_err(|e| e.within(Segment::Index(i)))
    }
}

/// The entries of a map; an error inside a value names its key.
struct Entries {
    entries: std::collections::btree_map::IntoIter<String, Ipld>,
    /// The entry whose key was just read.
    value: Option<(String, Ipld)>,
}

impl<'de> de::MapAccess<'de> for Entries {
    type Error = SchemaError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, SchemaError> {
        let Some((key, ipld)) = self.entries.next() else {
            return Ok(None);
        };
        let key_seen = seed.deserialize(de::value::StrDeserializer::<SchemaError>::new(&key));
        self.value = Some((key, ipld));
        key_seen.map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, SchemaError> {
        let (key, ipld) = self.value.take().expect("a key before its value");
        seed.deserialize(Value(ipld))
            .map_err(|e| e.within(Segment::Key(key)))
    }
}
