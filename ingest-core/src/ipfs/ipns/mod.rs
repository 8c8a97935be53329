//! IPNS names and signed IPNS records, verified as the IPNS Record spec says
//! (<https://specs.ipfs.tech/ipns/ipns-record/>), so that a record fetched from anyone (a
//! trustless gateway's `GET /ipns/NAME` with `Accept: application/vnd.ipfs.ipns-record`) is
//! believed only if the name's key signed it and it has not expired.
//!
//! - [`IpnsName`]: a name as users write it (`k51…`, `bafz…`, `12D3Koo…`, `Qm…`), held as the
//!   multihash of its public key.
//! - [`verify_record()`]: a marshalled record (the `IpnsEntry` protobuf) in, an [`IpnsRecord`]
//!   out, or an [`IpnsError`] saying what is wrong.
//! - [`IpnsRecord::value_path()`]: the value split into a CID and the rest of the path, or the
//!   name it points to.
//!
//! Keys: Ed25519 (which the spec requires) and RSA (legacy `Qm…` names; PKCS#1 v1.5 with
//! SHA-256, 2048 to 8192 bits as libp2p allows). secp256k1 and ECDSA, which the spec leaves
//! optional, are refused with [`IpnsError::UnsupportedKeyType`].
//!
//! No I/O here: fetching the record is the caller's. V1 signatures are never checked (the spec
//! forbids relying on them); a V1-only record is refused.
//!
//! One concern a file: `name` (names, and the hash of a key they are), `record` (the signed
//! fields, their V1 copies, validity: [`verify_record()`]), `value` (the value as a content
//! path), `entry` (the `IpnsEntry` protobuf), `key` (libp2p public keys, signatures), `der`
//! (RSA public keys in DER), `rfc3339` (the validity's timestamps), `sign` (an Ed25519 key kept
//! in a file, and records made with it: [`IpnsKey`]).

mod der;
mod entry;
mod error;
mod key;
mod name;
mod record;
mod rfc3339;
mod sign;
mod value;

pub use error::IpnsError;
pub use name::IpnsName;
pub use record::{verify_record, IpnsRecord, MAX_RECORD_SIZE};
pub use sign::{IpnsKey, IpnsKeyError};
pub use value::ValuePath;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod props;
