//! Why a name or a record was refused.

use std::convert::Infallible;
use std::time::SystemTime;

use super::key::{KEY_ED25519, KEY_RSA};

/// Why a name or a record was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IpnsError {
    /// The name is not an IPNS name.
    #[error("bad IPNS name {name:?}: {reason}")]
    BadName {
        /// The name as given.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The record is over [`MAX_RECORD_SIZE`](super::MAX_RECORD_SIZE).
    #[error("the IPNS record is {len} bytes, over the limit of {limit}")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A protobuf (the record, or the public key in it or in the name) does not parse.
    #[error("malformed {message} protobuf{}: {reason} (at byte {offset})", field_text(*.field))]
    Protobuf {
        /// Which message: `record` (`IpnsEntry`) or `public key` (`PublicKey`).
        message: &'static str,
        /// The field being read, when known.
        field: Option<u64>,
        /// Where in the message.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// A field the spec requires is absent or empty.
    #[error("the IPNS record has no {field}{}", missing_hint(.field))]
    Missing {
        /// The field: `signatureV2`, `data`, `Value`, `Validity`, `ValidityType`, `Sequence`.
        field: &'static str,
    },
    /// The signed data is not DAG-CBOR.
    #[error("the IPNS record's data is not DAG-CBOR")]
    DataNotCbor {
        /// The decoder's error.
        #[source]
        source: serde_ipld_dagcbor::DecodeError<Infallible>,
    },
    /// The signed data is DAG-CBOR, but not the map the spec describes.
    #[error("the IPNS record's data: {key}: {reason}")]
    BadData {
        /// The key (or `data` for the whole).
        key: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The record has no public key and the name does not hold one (a sha2-256 name).
    #[error("no public key for {name}: the record carries none and a sha2-256 name holds none")]
    NoPublicKey {
        /// The name.
        name: String,
    },
    /// The record's public key is not the one the name is the hash of.
    #[error("the public key in the record is not the key of {name}")]
    KeyMismatch {
        /// The name.
        name: String,
    },
    /// The public key does not parse.
    #[error("bad {key_type} public key: {reason}")]
    BadPublicKey {
        /// The key type.
        key_type: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The key is of a type not supported here.
    #[error("unsupported key type {key_type} ({}): IPNS records are verified for Ed25519 and RSA keys", key_type_name(*.key_type))]
    UnsupportedKeyType {
        /// The libp2p `KeyType` (0 RSA, 1 Ed25519, 2 secp256k1, 3 ECDSA).
        key_type: u64,
    },
    /// An RSA key of a size libp2p does not accept.
    #[error("unsupported RSA key of {bits} bits: 2048 to 8192 bits are accepted, as in libp2p")]
    RsaKeySize {
        /// The modulus length.
        bits: usize,
    },
    /// `signatureV2` does not verify under the name's key.
    #[error("the IPNS record's signature is invalid for {name}")]
    SignatureInvalid {
        /// The name.
        name: String,
    },
    /// A legacy V1 field of the protobuf differs from its signed copy in `data`.
    #[error("the record's V1 field {field} differs from the signed data (V2)")]
    V1Mismatch {
        /// The field (the protobuf's name).
        field: &'static str,
    },
    /// A validity type other than 0 (EOL), the only one defined.
    #[error("unsupported validity type {validity_type} (only 0, EOL, is defined)")]
    UnsupportedValidityType {
        /// The type.
        validity_type: u64,
    },
    /// The validity is not an RFC 3339 timestamp.
    #[error("bad validity {validity:?}: {reason}")]
    BadValidity {
        /// The validity, as in the record (lossily decoded).
        validity: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The record's validity has passed.
    #[error("the IPNS record expired at {validity}")]
    Expired {
        /// The end of validity, as written in the record.
        validity: String,
        /// The same, as a time.
        at: SystemTime,
    },
    /// The value is not a content path (or, from
    /// [`IpnsRecord::value_path`](super::IpnsRecord::value_path), not one that can be split).
    #[error("bad value {value:?} in the IPNS record: {reason}")]
    BadValue {
        /// The value (lossily decoded).
        value: String,
        /// What is wrong.
        reason: &'static str,
    },
}

fn field_text(field: Option<u64>) -> String {
    field.map(|f| format!(", field {f}")).unwrap_or_default()
}

fn missing_hint(field: &str) -> &'static str {
    match field {
        "signatureV2" | "data" => " (V1-only records are no longer valid)",
        _ => "",
    }
}

fn key_type_name(key_type: u64) -> &'static str {
    match key_type {
        KEY_RSA => "RSA",
        KEY_ED25519 => "Ed25519",
        2 => "secp256k1",
        3 => "ECDSA",
        _ => "unknown",
    }
}
