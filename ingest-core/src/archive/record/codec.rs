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
use serde::de::{self, IntoDeserializer, Visitor};
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
    Record::deserialize(Value {
        ipld: Ipld::Map(map),
        path: String::new(),
    })
    .map_err(|e| e.at("").error)
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
/// the innermost value that knows its path names the field.
#[derive(Debug)]
pub(super) struct SchemaError {
    error: RecordError,
    /// Whether `error` names its field already.
    located: bool,
}

impl SchemaError {
    fn located(error: RecordError) -> SchemaError {
        SchemaError {
            error,
            located: true,
        }
    }

    fn unlocated(error: RecordError) -> SchemaError {
        SchemaError {
            error,
            located: false,
        }
    }

    /// Names `path` as the field of an error that names none yet (or only a key inside it).
    fn at(mut self, path: &str) -> SchemaError {
        if self.located {
            return self;
        }
        let field = match &mut self.error {
            RecordError::Invalid { field, .. }
            | RecordError::Missing { field }
            | RecordError::UnknownField { field }
            | RecordError::WrongType { field, .. } => field,
            _ => return self,
        };
        *field = match (path.is_empty(), field.is_empty()) {
            (true, true) => "record".to_owned(),
            (false, true) => path.to_owned(),
            (true, false) => std::mem::take(field),
            (false, false) => format!("{path}.{field}"),
        };
        self.located = true;
        self
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
        SchemaError::unlocated(RecordError::Invalid {
            field: String::new(),
            reason: msg.to_string(),
        })
    }

    fn missing_field(field: &'static str) -> Self {
        SchemaError::unlocated(RecordError::Missing {
            field: field.to_owned(),
        })
    }

    fn unknown_field(field: &str, _expected: &'static [&'static str]) -> Self {
        SchemaError::unlocated(RecordError::UnknownField {
            field: field.to_owned(),
        })
    }
}

/// One IPLD value of a record and its path (`files[0].cid`).
struct Value {
    ipld: Ipld,
    path: String,
}

impl Value {
    /// This value is not what the schema asked for here.
    fn wrong(&self, expected: &'static str) -> SchemaError {
        let field = if self.path.is_empty() {
            "record"
        } else {
            &self.path
        };
        SchemaError::located(wrong(field, expected))
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = SchemaError;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, SchemaError> {
        Err(self.wrong("a value of the schema"))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        match self.ipld {
            Ipld::String(s) => visitor.visit_string(s),
            _ => Err(self.wrong("a string")),
        }
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        match self.ipld {
            Ipld::Integer(i) if u64::try_from(i).is_ok() => visitor.visit_u64(i as u64),
            _ => Err(self.wrong("an unsigned integer")),
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
        match self.ipld {
            Ipld::Link(cid) => {
                let bytes = cid.to_bytes();
                visitor
                    .visit_newtype_struct(de::value::BytesDeserializer::<SchemaError>::new(&bytes))
            }
            _ => Err(self.wrong("a CID link")),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        match self.ipld {
            Ipld::List(items) => visitor.visit_seq(Items {
                items: items.into_iter().enumerate(),
                path: self.path,
            }),
            _ => Err(self.wrong("a list")),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, SchemaError> {
        match self.ipld {
            Ipld::Map(map) => {
                let path = self.path;
                let entries = Entries {
                    entries: map.into_iter(),
                    value: None,
                    path: path.clone(),
                };
                visitor.visit_map(entries).map_err(|e| e.at(&path))
            }
            _ => Err(self.wrong("a map")),
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

/// The items of a list, each knowing its index.
struct Items {
    items: std::iter::Enumerate<std::vec::IntoIter<Ipld>>,
    path: String,
}

impl<'de> de::SeqAccess<'de> for Items {
    type Error = SchemaError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, SchemaError> {
        let Some((i, ipld)) = self.items.next() else {
            return Ok(None);
        };
        let path = format!("{}[{i}]", self.path);
        seed.deserialize(Value {
            ipld,
            path: path.clone(),
        })
        .map(Some)
        .map_err(|e| e.at(&path))
    }
}

/// The entries of a map, each value knowing its key.
struct Entries {
    entries: std::collections::btree_map::IntoIter<String, Ipld>,
    value: Option<(String, Ipld)>,
    path: String,
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
        let path = if self.path.is_empty() {
            key.clone()
        } else {
            format!("{}.{key}", self.path)
        };
        self.value = Some((path, ipld));
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, SchemaError> {
        let (path, ipld) = self.value.take().expect("a key before its value");
        seed.deserialize(Value {
            ipld,
            path: path.clone(),
        })
        .map_err(|e| e.at(&path))
    }
}
