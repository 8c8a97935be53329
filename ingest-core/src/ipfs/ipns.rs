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

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cid::multibase::Base;
use cid::Cid;
use ipld_core::ipld::Ipld;
use multihash::Multihash;
use sha2::{Digest, Sha256};

/// The largest record accepted, in bytes: the spec's limit ("Record Size Limit": implementations
/// must handle records up to 10 KiB and may ignore larger ones; boxo and js-ipns refuse them).
pub const MAX_RECORD_SIZE: usize = 10 * 1024;

/// What `signatureV2` signs: this prefix, then the bytes of `data` (spec, "Record Creation" 5).
const SIGNATURE_PREFIX: &[u8] = b"ipns-signature:";

/// The multicodec of a CID naming a key (`libp2p-key`).
const LIBP2P_KEY: u64 = 0x72;
/// The identity multihash: the digest is the encoded public key itself (Ed25519 names).
const IDENTITY: u64 = 0x00;
/// sha2-256: the digest hashes the encoded public key (RSA names, `Qm…`).
const SHA2_256: u64 = 0x12;

/// A multihash of an encoded public key: an identity one holds at most 42 bytes (libp2p inlines
/// keys up to 42 bytes), a sha2-256 one 32; 64 leaves room for either.
type KeyHash = Multihash<64>;

/// An IPNS name: the multihash of a libp2p `PublicKey` protobuf. Its routing key (the DHT's) is
/// `/ipns/` followed by these multihash bytes ([`IpnsName::routing_key`]).
///
/// Displayed as kubo and boxo print names: a CIDv1 with codec `libp2p-key`, in base36
/// (`k51…` for Ed25519 keys).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IpnsName {
    multihash: KeyHash,
}

impl IpnsName {
    /// Reads a name as users give it, with or without a leading `/ipns/`:
    ///
    /// - a CIDv1 with codec `libp2p-key` (`0x72`) in any multibase: base36 `k51…` (the usual
    ///   form), base32 `bafz…`, …;
    /// - a libp2p peer id in bare base58btc: `12D3Koo…` (an Ed25519 key in an identity
    ///   multihash) or `Qm…` (the sha2-256 of an RSA key), which is how boxo tells the two apart
    ///   (a peer id starts with `1` or `Qm`).
    ///
    /// The multihash must be identity or sha2-256, the only two a key is named by.
    pub fn parse(text: &str) -> Result<IpnsName, IpnsError> {
        let bad = |reason: String| IpnsError::BadName {
            name: text.to_owned(),
            reason,
        };
        let body = text.strip_prefix("/ipns/").unwrap_or(text);
        let multihash = if body.starts_with('1') || body.starts_with("Qm") {
            let bytes = Base::Base58Btc
                .decode(body)
                .map_err(|e| bad(format!("not base58btc: {e}")))?;
            KeyHash::from_bytes(&bytes).map_err(|e| bad(format!("not a multihash: {e}")))?
        } else {
            let cid = Cid::try_from(body).map_err(|e| bad(format!("not a CID: {e}")))?;
            if cid.codec() != LIBP2P_KEY {
                return Err(bad(format!(
                    "a CID with codec {:#x}, not libp2p-key (0x72): it names content, not a key",
                    cid.codec()
                )));
            }
            *cid.hash()
        };
        IpnsName::from_multihash(multihash).map_err(bad)
    }

    /// The name of a key whose encoded `PublicKey` hashes (identity or sha2-256) to `multihash`.
    fn from_multihash(multihash: KeyHash) -> Result<IpnsName, String> {
        match multihash.code() {
            IDENTITY | SHA2_256 => Ok(IpnsName { multihash }),
            code => Err(format!(
                "multihash {code:#x}: a key is named by identity (0x0) or sha2-256 (0x12)"
            )),
        }
    }

    /// The multihash of the name's encoded public key.
    pub fn multihash(&self) -> &Multihash<64> {
        &self.multihash
    }

    /// The key under which the DHT stores the name's records: `/ipns/` + the multihash bytes.
    pub fn routing_key(&self) -> Vec<u8> {
        let mut key = b"/ipns/".to_vec();
        key.extend(self.multihash.to_bytes());
        key
    }

    /// The name as a CIDv1 with codec `libp2p-key`.
    pub fn to_cid(&self) -> Cid {
        Cid::new_v1(LIBP2P_KEY, self.multihash)
    }

    /// The name as a libp2p peer id: bare base58btc (`12D3Koo…`, `Qm…`).
    pub fn to_peer_id(&self) -> String {
        Base::Base58Btc.encode(self.multihash.to_bytes())
    }
}

impl fmt::Display for IpnsName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self
            .to_cid()
            .to_string_of_base(Base::Base36Lower)
            .map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl FromStr for IpnsName {
    type Err = IpnsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IpnsName::parse(s)
    }
}

/// A verified IPNS record: what its key signed (`IpnsEntry.data`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpnsRecord {
    /// The content path it points to: `/ipfs/CID[/path]`, or `/ipns/NAME[/path]` for another
    /// name or a DNSLink domain. A value stored as bare CID bytes (an old form that js-ipns and
    /// boxo still read) is given as `/ipfs/` + the CID in version 1.
    pub value: String,
    /// The record's version: of two valid records, the higher sequence is the newer.
    pub sequence: u64,
    /// The end of its validity (`ValidityType` 0, EOL): it is valid strictly before.
    pub validity: SystemTime,
    /// How long it may be cached before looking for a newer one, if it says (`TTL`).
    pub ttl: Option<Duration>,
}

/// A record's value, split: what [`IpnsRecord::value_path`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ValuePath<'a> {
    /// `/ipfs/CID[/rest]`: content.
    Ipfs {
        /// The root CID.
        cid: Cid,
        /// The rest of the path, empty or starting with `/` (`/sub/dir`).
        rest: &'a str,
    },
    /// `/ipns/NAME[/rest]`: another name, to resolve in turn. `name` is an IPNS name
    /// ([`IpnsName::parse`] reads it) or a DNSLink domain (`example.com`).
    Ipns {
        /// The name pointed to, as written in the value.
        name: &'a str,
        /// The rest of the path, empty or starting with `/`.
        rest: &'a str,
    },
}

impl IpnsRecord {
    /// The value split into its namespace's root (a CID, or another name) and the rest of the
    /// path. An `/ipns/` value is returned as [`ValuePath::Ipns`] for the caller to follow (or
    /// refuse); any other namespace, or a root that is not a CID, is an
    /// [`IpnsError::BadValue`].
    pub fn value_path(&self) -> Result<ValuePath<'_>, IpnsError> {
        let bad = |reason: &'static str| IpnsError::BadValue {
            value: self.value.clone(),
            reason,
        };
        if let Some(path) = self.value.strip_prefix("/ipfs/") {
            let (root, rest) = split_root(path);
            let cid = Cid::try_from(root).map_err(|_| bad("the root after /ipfs/ is not a CID"))?;
            Ok(ValuePath::Ipfs { cid, rest })
        } else if let Some(path) = self.value.strip_prefix("/ipns/") {
            let (name, rest) = split_root(path);
            if name.is_empty() {
                return Err(bad("no name after /ipns/"));
            }
            Ok(ValuePath::Ipns { name, rest })
        } else {
            Err(bad("neither an /ipfs/ nor an /ipns/ path"))
        }
    }
}

/// `root/rest…` → (`root`, `/rest…`).
fn split_root(path: &str) -> (&str, &str) {
    match path.find('/') {
        Some(at) => path.split_at(at),
        None => (path, ""),
    }
}

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
    /// The record is over [`MAX_RECORD_SIZE`].
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
    /// The value is not a content path (or, from [`IpnsRecord::value_path`], not one that can
    /// be split).
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

/// Verifies a marshalled IPNS record (`IpnsEntry`) for `name` at time `now`, following the
/// spec's "Record Verification", failing on the first error:
///
/// 1. at most [`MAX_RECORD_SIZE`] bytes;
/// 2. `signatureV2` and `data` present and not empty;
/// 3. the public key: `pubKey` if present, which must hash to the name (identity: the same
///    bytes; sha2-256: their hash), else the key inlined in an identity name;
/// 4. `signatureV2` verifies over `ipns-signature:` + `data` (before `data` is decoded);
/// 5. `data` decodes as DAG-CBOR with `Value`, `Validity`, `ValidityType`, `Sequence` (and
///    usually `TTL`); other keys are ignored;
/// 6. if the protobuf carries a V1 `value` or `signatureV1` (not empty), its `value`,
///    `validity`, `validityType`, `sequence` and `ttl` equal the signed ones (absent counts as
///    empty or 0, as in boxo);
/// 7. `ValidityType` 0 (EOL), and `Validity` (RFC 3339) is later than `now`.
///
/// Protobuf fields not in the spec are skipped; a field given twice counts its last value, as
/// protobuf decoders do.
pub fn verify_record(
    name: &IpnsName,
    bytes: &[u8],
    now: SystemTime,
) -> Result<IpnsRecord, IpnsError> {
    if bytes.len() > MAX_RECORD_SIZE {
        return Err(IpnsError::TooLarge {
            len: bytes.len(),
            limit: MAX_RECORD_SIZE,
        });
    }
    let entry = Entry::parse(bytes)?;
    let signature = entry
        .signature_v2
        .filter(|s| !s.is_empty())
        .ok_or(IpnsError::Missing {
            field: "signatureV2",
        })?;
    let data = entry
        .data
        .filter(|d| !d.is_empty())
        .ok_or(IpnsError::Missing { field: "data" })?;

    let key = public_key(name, entry.pub_key)?;
    let mut message = Vec::with_capacity(SIGNATURE_PREFIX.len() + data.len());
    message.extend_from_slice(SIGNATURE_PREFIX);
    message.extend_from_slice(data);
    if !key.verify(&message, signature) {
        return Err(IpnsError::SignatureInvalid {
            name: name.to_string(),
        });
    }

    let signed = Signed::decode(data)?;
    if entry.value.is_some_and(|v| !v.is_empty())
        || entry.signature_v1.is_some_and(|s| !s.is_empty())
    {
        signed.check_v1(&entry)?;
    }

    if signed.validity_type != 0 {
        return Err(IpnsError::UnsupportedValidityType {
            validity_type: signed.validity_type,
        });
    }
    let validity_text = String::from_utf8_lossy(&signed.validity).into_owned();
    let validity = std::str::from_utf8(&signed.validity)
        .map_err(|_| "not ASCII")
        .and_then(parse_rfc3339)
        .map_err(|reason| IpnsError::BadValidity {
            validity: validity_text.clone(),
            reason,
        })?;
    // The spec: the validity must be "bigger than the current time".
    if validity <= now {
        return Err(IpnsError::Expired {
            validity: validity_text,
            at: validity,
        });
    }

    Ok(IpnsRecord {
        value: value_text(&signed.value)?,
        sequence: signed.sequence,
        validity,
        ttl: signed.ttl.map(Duration::from_nanos),
    })
}

/// The value as a content path: a path as written (it must be UTF-8), or bare CID bytes as
/// `/ipfs/` + the CID in version 1 (js-ipns and boxo read this old form too). An empty value is
/// refused, as js-ipns does (boxo reads it as the empty identity CID).
fn value_text(value: &[u8]) -> Result<String, IpnsError> {
    let bad = |reason| IpnsError::BadValue {
        value: String::from_utf8_lossy(value).into_owned(),
        reason,
    };
    match value.first() {
        None => Err(bad("empty")),
        Some(b'/') => std::str::from_utf8(value)
            .map(str::to_owned)
            .map_err(|_| bad("a path that is not UTF-8")),
        Some(_) => {
            let cid = Cid::try_from(value)
                .and_then(Cid::into_v1)
                .map_err(|_| bad("neither a path nor CID bytes"))?;
            Ok(format!("/ipfs/{cid}"))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Protobuf: a reader of the wire format, enough for `IpnsEntry` and `PublicKey`.

/// A protobuf field's payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wire<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 2.
    Bytes(&'a [u8]),
    /// Wire types 1 and 5 (fixed 64 and 32 bits): no field read here has them.
    Fixed,
}

/// Reads protobuf fields one after the other from a bounded slice.
struct PbReader<'a> {
    bytes: &'a [u8],
    pos: usize,
    message: &'static str,
}

impl<'a> PbReader<'a> {
    fn new(bytes: &'a [u8], message: &'static str) -> Self {
        PbReader {
            bytes,
            pos: 0,
            message,
        }
    }

    fn error(&self, field: Option<u64>, reason: &'static str) -> IpnsError {
        IpnsError::Protobuf {
            message: self.message,
            field,
            offset: self.pos,
            reason,
        }
    }

    /// A base-128 varint of at most 10 bytes that fits in 64 bits.
    fn varint(&mut self, field: Option<u64>) -> Result<u64, IpnsError> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&byte) = self.bytes.get(self.pos) else {
                return Err(self.error(field, "truncated varint"));
            };
            self.pos += 1;
            let bits = u64::from(byte & 0x7f);
            // The tenth byte holds bit 63 only.
            if i == 9 && bits > 1 {
                return Err(self.error(field, "varint over 64 bits"));
            }
            value |= bits << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(self.error(field, "varint over 10 bytes"))
    }

    fn take(&mut self, len: u64, field: Option<u64>) -> Result<&'a [u8], IpnsError> {
        let left = self.bytes.len() - self.pos;
        let len = usize::try_from(len)
            .ok()
            .filter(|&len| len <= left)
            .ok_or_else(|| self.error(field, "length past the end"))?;
        let taken = &self.bytes[self.pos..self.pos + len];
        self.pos += len;
        Ok(taken)
    }

    /// The next field: its number and payload, or `None` at the end.
    fn next(&mut self) -> Result<Option<(u64, Wire<'a>)>, IpnsError> {
        if self.pos == self.bytes.len() {
            return Ok(None);
        }
        let tag = self.varint(None)?;
        let field = tag >> 3;
        if field == 0 || field > u64::from(u32::MAX >> 3) {
            return Err(self.error(Some(field), "field number out of range"));
        }
        let wire = match tag & 7 {
            0 => Wire::Varint(self.varint(Some(field))?),
            1 => {
                self.take(8, Some(field))?;
                Wire::Fixed
            }
            2 => {
                let len = self.varint(Some(field))?;
                Wire::Bytes(self.take(len, Some(field))?)
            }
            5 => {
                self.take(4, Some(field))?;
                Wire::Fixed
            }
            _ => return Err(self.error(Some(field), "unsupported wire type (groups)")),
        };
        Ok(Some((field, wire)))
    }

    fn bytes_of(&self, field: u64, wire: Wire<'a>) -> Result<&'a [u8], IpnsError> {
        match wire {
            Wire::Bytes(bytes) => Ok(bytes),
            _ => Err(self.error(Some(field), "expected bytes (wire type 2)")),
        }
    }

    fn varint_of(&self, field: u64, wire: Wire<'a>) -> Result<u64, IpnsError> {
        match wire {
            Wire::Varint(value) => Ok(value),
            _ => Err(self.error(Some(field), "expected a varint (wire type 0)")),
        }
    }
}

/// The `IpnsEntry` protobuf, fields numbered as in the spec's "Record Serialization Format".
#[derive(Debug, Default)]
struct Entry<'a> {
    /// 1: legacy V1 copy of `data[Value]`.
    value: Option<&'a [u8]>,
    /// 2: legacy V1 signature, never checked.
    signature_v1: Option<&'a [u8]>,
    /// 3: legacy V1 copy of `data[ValidityType]`.
    validity_type: Option<u64>,
    /// 4: legacy V1 copy of `data[Validity]`.
    validity: Option<&'a [u8]>,
    /// 5: legacy V1 copy of `data[Sequence]`.
    sequence: Option<u64>,
    /// 6: legacy V1 copy of `data[TTL]`.
    ttl: Option<u64>,
    /// 7: the public key, when the name cannot hold it.
    pub_key: Option<&'a [u8]>,
    /// 8: the signature of `ipns-signature:` + `data`.
    signature_v2: Option<&'a [u8]>,
    /// 9: the signed DAG-CBOR document.
    data: Option<&'a [u8]>,
}

impl<'a> Entry<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, IpnsError> {
        let mut entry = Entry::default();
        let mut reader = PbReader::new(bytes, "record");
        while let Some((field, wire)) = reader.next()? {
            match field {
                1 => entry.value = Some(reader.bytes_of(field, wire)?),
                2 => entry.signature_v1 = Some(reader.bytes_of(field, wire)?),
                3 => entry.validity_type = Some(reader.varint_of(field, wire)?),
                4 => entry.validity = Some(reader.bytes_of(field, wire)?),
                5 => entry.sequence = Some(reader.varint_of(field, wire)?),
                6 => entry.ttl = Some(reader.varint_of(field, wire)?),
                7 => entry.pub_key = Some(reader.bytes_of(field, wire)?),
                8 => entry.signature_v2 = Some(reader.bytes_of(field, wire)?),
                9 => entry.data = Some(reader.bytes_of(field, wire)?),
                _ => {} // unknown: skipped, as protobuf says
            }
        }
        Ok(entry)
    }
}

// ---------------------------------------------------------------------------------------------
// The signed data.

/// `IpnsEntry.data`, decoded.
#[derive(Debug)]
struct Signed {
    value: Vec<u8>,
    validity: Vec<u8>,
    validity_type: u64,
    sequence: u64,
    ttl: Option<u64>,
}

impl Signed {
    fn decode(data: &[u8]) -> Result<Signed, IpnsError> {
        // The decoder stops at 256 levels of nesting (cbor4ii's slice reader), and the data is
        // under 10 KiB: unknown keys cost little to read.
        let ipld: Ipld = serde_ipld_dagcbor::from_slice(data)
            .map_err(|source| IpnsError::DataNotCbor { source })?;
        let Ipld::Map(map) = ipld else {
            return Err(IpnsError::BadData {
                key: "data",
                reason: "not a map",
            });
        };
        let bytes = |key: &'static str| match map.get(key) {
            None => Err(IpnsError::Missing { field: key }),
            Some(Ipld::Bytes(b)) => Ok(b.clone()),
            Some(_) => Err(IpnsError::BadData {
                key,
                reason: "not bytes",
            }),
        };
        Ok(Signed {
            value: bytes("Value")?,
            validity: bytes("Validity")?,
            validity_type: uint(&map, "ValidityType")?.ok_or(IpnsError::Missing {
                field: "ValidityType",
            })?,
            sequence: uint(&map, "Sequence")?.ok_or(IpnsError::Missing { field: "Sequence" })?,
            ttl: uint(&map, "TTL")?,
        })
    }

    /// Step 7 of the spec's verification: the V1 copies equal the signed values.
    fn check_v1(&self, entry: &Entry<'_>) -> Result<(), IpnsError> {
        let mismatch = |field| Err(IpnsError::V1Mismatch { field });
        if entry.value.unwrap_or_default() != self.value.as_slice() {
            return mismatch("value");
        }
        if entry.validity.unwrap_or_default() != self.validity.as_slice() {
            return mismatch("validity");
        }
        if entry.validity_type.unwrap_or(0) != self.validity_type {
            return mismatch("validityType");
        }
        if entry.sequence.unwrap_or(0) != self.sequence {
            return mismatch("sequence");
        }
        if entry.ttl.unwrap_or(0) != self.ttl.unwrap_or(0) {
            return mismatch("ttl");
        }
        Ok(())
    }
}

/// An unsigned 64-bit integer of the map, if there.
fn uint(map: &BTreeMap<String, Ipld>, key: &'static str) -> Result<Option<u64>, IpnsError> {
    match map.get(key) {
        None => Ok(None),
        Some(Ipld::Integer(i)) => u64::try_from(*i).map(Some).map_err(|_| IpnsError::BadData {
            key,
            reason: "not an unsigned 64-bit integer",
        }),
        Some(_) => Err(IpnsError::BadData {
            key,
            reason: "not an integer",
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Public keys (libp2p's `PublicKey` protobuf: `KeyType` in field 1, `Data` in field 2).

/// libp2p `KeyType` RSA: `Data` is a PKIX `SubjectPublicKeyInfo` (DER).
const KEY_RSA: u64 = 0;
/// libp2p `KeyType` Ed25519: `Data` is the 32-byte key.
const KEY_ED25519: u64 = 1;

/// A public key that can verify a signature.
#[derive(Debug)]
enum PublicKey<'a> {
    /// The 32 bytes of the key.
    Ed25519(&'a [u8]),
    /// The PKCS#1 `RSAPublicKey` (DER) taken out of the `SubjectPublicKeyInfo`.
    Rsa(&'a [u8]),
}

impl PublicKey<'_> {
    /// Whether `signature` signs `message`: Ed25519, or RSA PKCS#1 v1.5 with SHA-256 (libp2p's
    /// RSA signatures).
    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        use ring::signature::{UnparsedPublicKey, ED25519, RSA_PKCS1_2048_8192_SHA256};
        match self {
            PublicKey::Ed25519(key) => UnparsedPublicKey::new(&ED25519, key)
                .verify(message, signature)
                .is_ok(),
            PublicKey::Rsa(key) => UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key)
                .verify(message, signature)
                .is_ok(),
        }
    }
}

/// The key to verify `name`'s record with: the record's `pubKey` if it has one (checked
/// against the name), else the key an identity name holds.
fn public_key<'a>(
    name: &'a IpnsName,
    pub_key: Option<&'a [u8]>,
) -> Result<PublicKey<'a>, IpnsError> {
    let digest = name.multihash.digest();
    let encoded = match pub_key.filter(|k| !k.is_empty()) {
        Some(encoded) => {
            let matches = match name.multihash.code() {
                IDENTITY => encoded == digest,
                _ => Sha256::digest(encoded).as_slice() == digest,
            };
            if !matches {
                return Err(IpnsError::KeyMismatch {
                    name: name.to_string(),
                });
            }
            encoded
        }
        None if name.multihash.code() == IDENTITY => digest,
        None => {
            return Err(IpnsError::NoPublicKey {
                name: name.to_string(),
            })
        }
    };
    decode_public_key(encoded)
}

/// Reads a libp2p `PublicKey` protobuf.
fn decode_public_key(encoded: &[u8]) -> Result<PublicKey<'_>, IpnsError> {
    let mut reader = PbReader::new(encoded, "public key");
    let (mut key_type, mut data) = (None, None);
    while let Some((field, wire)) = reader.next()? {
        match field {
            1 => key_type = Some(reader.varint_of(field, wire)?),
            2 => data = Some(reader.bytes_of(field, wire)?),
            _ => {}
        }
    }
    let missing = |reason| IpnsError::Protobuf {
        message: "public key",
        field: None,
        offset: encoded.len(),
        reason,
    };
    let key_type = key_type.ok_or_else(|| missing("no KeyType (field 1)"))?;
    let data = data.ok_or_else(|| missing("no Data (field 2)"))?;
    match key_type {
        KEY_ED25519 if data.len() == 32 => Ok(PublicKey::Ed25519(data)),
        KEY_ED25519 => Err(IpnsError::BadPublicKey {
            key_type: "Ed25519",
            reason: format!("{} bytes, not 32", data.len()),
        }),
        KEY_RSA => {
            let bad = |reason: &str| IpnsError::BadPublicKey {
                key_type: "RSA",
                reason: reason.to_owned(),
            };
            let rsa = rsa_public_key(data).ok_or_else(|| bad("not a PKIX RSA public key"))?;
            let bits = rsa_modulus_bits(rsa).ok_or_else(|| bad("not a PKCS#1 RSAPublicKey"))?;
            if !(2048..=8192).contains(&bits) {
                return Err(IpnsError::RsaKeySize { bits });
            }
            Ok(PublicKey::Rsa(rsa))
        }
        key_type => Err(IpnsError::UnsupportedKeyType { key_type }),
    }
}

/// DER: the content of the element at the head of `input` if its tag is `tag`, moving past it.
/// Only definite lengths of up to 2 length bytes (64 KiB), minimally encoded; an 8192-bit key is
/// about 1 KiB.
fn der<'a>(input: &mut &'a [u8], tag: u8) -> Option<&'a [u8]> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len0, rest) = rest.split_first()?;
    let (len, rest) = match len0 {
        0..=0x7f => (usize::from(len0), rest),
        0x81 => {
            let (&len, rest) = rest.split_first()?;
            (len >= 0x80).then_some((usize::from(len), rest))?
        }
        0x82 => {
            let (len, rest) = rest.split_first_chunk::<2>()?;
            let len = usize::from(u16::from_be_bytes(*len));
            (len >= 0x100).then_some((len, rest))?
        }
        _ => return None,
    };
    if len > rest.len() {
        return None;
    }
    let (content, rest) = rest.split_at(len);
    *input = rest;
    Some(content)
}

/// The `RSAPublicKey` inside a `SubjectPublicKeyInfo` whose algorithm is rsaEncryption
/// (RFC 5280 4.1, RFC 8017 A.1): `SEQUENCE { SEQUENCE { OID, NULL }, BIT STRING }`.
fn rsa_public_key(spki: &[u8]) -> Option<&[u8]> {
    /// 1.2.840.113549.1.1.1, rsaEncryption.
    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let mut outer = spki;
    let mut info = der(&mut outer, 0x30)?;
    let mut algorithm = der(&mut info, 0x30)?;
    let key = der(&mut info, 0x03)?;
    if !outer.is_empty() || !info.is_empty() {
        return None;
    }
    if der(&mut algorithm, 0x06)? != RSA_ENCRYPTION {
        return None;
    }
    // The parameters are NULL (RFC 3279 2.3.1); tolerate their absence.
    if !algorithm.is_empty() && (!der(&mut algorithm, 0x05)?.is_empty() || !algorithm.is_empty()) {
        return None;
    }
    // A BIT STRING starts with its count of unused bits: 0 for a DER structure.
    match key.split_first()? {
        (0, rsa) => Some(rsa),
        _ => None,
    }
}

/// The size in bits of the modulus of an `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`).
/// ring checks the rest of the structure.
fn rsa_modulus_bits(rsa: &[u8]) -> Option<usize> {
    let mut outer = rsa;
    let mut key = der(&mut outer, 0x30)?;
    let modulus = der(&mut key, 0x02)?;
    // A positive INTEGER may start with one zero byte.
    let modulus = match modulus {
        [0, rest @ ..] => rest,
        _ => modulus,
    };
    let (&top, rest) = modulus.split_first()?;
    (top != 0).then(|| rest.len() * 8 + (8 - top.leading_zeros() as usize))
}

// ---------------------------------------------------------------------------------------------
// RFC 3339 timestamps.

/// Reads an RFC 3339 timestamp as boxo does (Go's `time.RFC3339Nano` layout):
/// `YYYY-MM-DDTHH:MM:SS[.F…](Z|±HH:MM)` with 1 to 9 fraction digits, `T` and `Z` in upper
/// case, seconds 0 to 59 (Go refuses a leap second). js-ipns writes `…T00:00:00.000000000Z`,
/// boxo trims trailing zeros.
fn parse_rfc3339(text: &str) -> Result<SystemTime, &'static str> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Result<i64, &'static str> {
        let part = b.get(range).ok_or("too short")?;
        part.iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit()
                .then(|| n * 10 + i64::from(d - b'0'))
                .ok_or("a digit expected")
        })
    };
    let expect = |at: usize, c: u8| match b.get(at) {
        Some(&x) if x == c => Ok(()),
        _ => Err("not YYYY-MM-DDTHH:MM:SS"),
    };
    let year = digits(0..4)?;
    expect(4, b'-')?;
    let month = digits(5..7)?;
    expect(7, b'-')?;
    let day = digits(8..10)?;
    expect(10, b'T')?;
    let hour = digits(11..13)?;
    expect(13, b':')?;
    let minute = digits(14..16)?;
    expect(16, b':')?;
    let second = digits(17..19)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return Err("no such date");
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err("no such time of day");
    }

    let mut at = 19;
    let mut nanos = 0u32;
    if b.get(at) == Some(&b'.') {
        let start = at + 1;
        let end = start + b[start..].iter().take_while(|d| d.is_ascii_digit()).count();
        if end == start || end - start > 9 {
            return Err("1 to 9 digits of a second expected after '.'");
        }
        let fraction = digits(start..end)?;
        // Scale to nanoseconds: "5" is 500000000.
        nanos = u32::try_from(fraction * 10i64.pow(9 - (end - start) as u32))
            .map_err(|_| "fraction out of range")?;
        at = end;
    }
    let offset = match b.get(at) {
        Some(b'Z') if at + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if at + 6 == b.len() => {
            let hours = digits(at + 1..at + 3)?;
            expect(at + 3, b':')?;
            let minutes = digits(at + 4..at + 6)?;
            if hours > 23 || minutes > 59 {
                return Err("no such time offset");
            }
            let offset = hours * 3600 + minutes * 60;
            if sign == b'+' {
                offset
            } else {
                -offset
            }
        }
        _ => return Err("'Z' or a time offset (+HH:MM) expected at the end"),
    };
    let seconds =
        days_since_epoch(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second - offset;
    // Years 0000-9999 give about ±2.5e11 seconds: no overflow, and a SystemTime holds them on
    // the usual platforms (checked all the same).
    let whole = Duration::from_secs(seconds.unsigned_abs());
    let time = if seconds >= 0 {
        UNIX_EPOCH.checked_add(whole)
    } else {
        UNIX_EPOCH.checked_sub(whole)
    };
    time.and_then(|t| t.checked_add(Duration::from_nanos(nanos.into())))
        .ok_or("out of this system's range of times")
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to the given date of the proleptic Gregorian calendar (negative
/// before), for years 0 to 9999.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    // Leap days of the years before `year`, counting from year 0 (a leap year).
    let leap_days_before = |y: i64| {
        if y <= 0 {
            0
        } else {
            (y - 1) / 4 - (y - 1) / 100 + (y - 1) / 400 + 1
        }
    };
    let days_before_year = |y: i64| 365 * y + leap_days_before(y);
    let days_before_month: i64 = (1..month).map(|m| days_in_month(year, m)).sum();
    days_before_year(year) + days_before_month + (day - 1) - days_before_year(1970)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `fixtures/ipns/`: records made by the JavaScript reference implementation (`make.mjs`).
    fn fixture(file: &str) -> Vec<u8> {
        let path = format!("{}/../fixtures/ipns/{file}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn vectors() -> Vec<serde_json::Value> {
        let json: serde_json::Value =
            serde_json::from_slice(&fixture("vectors.json")).expect("vectors.json parses");
        json["records"].as_array().expect("records").clone()
    }

    fn name_a() -> IpnsName {
        let v = &vectors()[0];
        IpnsName::parse(v["name_k51"].as_str().unwrap()).unwrap()
    }

    /// Seconds since 1970 (GNU `date -u -d … +%s` gave the values in the tests).
    fn at(seconds: i64) -> SystemTime {
        if seconds >= 0 {
            UNIX_EPOCH + Duration::from_secs(seconds as u64)
        } else {
            UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
        }
    }

    /// 2025-11-30, between the fixtures' past (2020) and future (2126) validities.
    fn today() -> SystemTime {
        at(1_764_460_800)
    }

    /// Every fixture gives the outcome vectors.json expects of it.
    #[test]
    fn fixtures_give_their_expected_outcome() {
        let vectors = vectors();
        assert!(vectors.len() >= 16);
        for v in &vectors {
            let file = v["file"].as_str().unwrap();
            let name = IpnsName::parse(v["name_k51"].as_str().unwrap()).unwrap();
            let outcome = verify_record(&name, &fixture(file), today());
            let expect = v["expect"].as_str().unwrap();
            let what = format!("{file} ({}) under {name}: {outcome:?}", v["about"]);
            match expect {
                "valid" => {
                    let record = outcome.unwrap_or_else(|e| panic!("{what}: {e}"));
                    assert_eq!(record.value, v["value"].as_str().unwrap(), "{what}");
                    assert_eq!(record.sequence.to_string(), v["sequence"], "{what}");
                    let ttl = record.ttl.map(|t| t.as_nanos().to_string());
                    assert_eq!(ttl.as_deref(), v["ttl_ns"].as_str(), "{what}");
                    let validity = parse_rfc3339(v["validity"].as_str().unwrap()).unwrap();
                    assert_eq!(record.validity, validity, "{what}");
                }
                "expired" => assert!(matches!(outcome, Err(IpnsError::Expired { .. })), "{what}"),
                "signature" => assert!(
                    matches!(outcome, Err(IpnsError::SignatureInvalid { .. })),
                    "{what}"
                ),
                "v1-v2-mismatch" => assert!(
                    matches!(outcome, Err(IpnsError::V1Mismatch { field: "value" })),
                    "{what}"
                ),
                "key-mismatch" => {
                    assert!(
                        matches!(outcome, Err(IpnsError::KeyMismatch { .. })),
                        "{what}"
                    )
                }
                "missing-v2" => assert!(
                    matches!(
                        outcome,
                        Err(IpnsError::Missing {
                            field: "signatureV2"
                        })
                    ),
                    "{what}"
                ),
                "too-large" => assert!(
                    matches!(outcome, Err(IpnsError::TooLarge { limit: 10240, .. })),
                    "{what}"
                ),
                "unsupported-key" => assert!(
                    matches!(outcome, Err(IpnsError::UnsupportedKeyType { key_type: 2 })),
                    "{what}"
                ),
                "rsa-key-size" => assert!(
                    matches!(outcome, Err(IpnsError::RsaKeySize { bits: 1024 })),
                    "{what}"
                ),
                other => panic!("{file}: unknown expectation {other}"),
            }
        }
    }

    /// The JavaScript validator agreed with every expectation when the fixtures were made.
    #[test]
    fn the_reference_validator_agreed() {
        for v in vectors() {
            let (expect, js) = (v["expect"].as_str().unwrap(), v["js_validator"].as_str());
            let agreed = match expect {
                "valid" => js == Some("valid"),
                // ingest refuses secp256k1 keys, which the spec leaves optional, and RSA keys
                // under 2048 bits, as libp2p does; js-ipns accepts both.
                "unsupported-key" | "rsa-key-size" => js == Some("valid"),
                _ => js != Some("valid"),
            };
            assert!(agreed, "{}: expect {expect}, js said {js:?}", v["file"]);
        }
    }

    #[test]
    fn a_name_in_each_form_is_the_same_name() {
        for v in vectors() {
            let k51 = IpnsName::parse(v["name_k51"].as_str().unwrap()).unwrap();
            let base32 = IpnsName::parse(v["name_base32"].as_str().unwrap()).unwrap();
            let peer = IpnsName::parse(v["name_peer_id"].as_str().unwrap()).unwrap();
            let path = IpnsName::parse(&format!("/ipns/{}", v["name_k51"].as_str().unwrap()));
            assert_eq!(k51, base32);
            assert_eq!(k51, peer);
            assert_eq!(k51, path.unwrap());
            assert_eq!(k51.to_string(), v["name_k51"].as_str().unwrap());
            assert_eq!(k51.to_peer_id(), v["name_peer_id"].as_str().unwrap());
            assert_eq!(
                k51.routing_key(),
                [b"/ipns/".as_slice(), &k51.multihash().to_bytes()].concat()
            );
        }
    }

    #[test]
    fn names_by_their_hash() {
        let ed = name_a();
        assert!(ed.to_peer_id().starts_with("12D3Koo"));
        assert_eq!(ed.multihash().code(), IDENTITY);
        // 0x00 0x24, then the 36-byte PublicKey protobuf: 08 01 (Ed25519) 12 20 (32 bytes).
        assert_eq!(
            &ed.multihash().to_bytes()[..6],
            &[0x00, 0x24, 0x08, 0x01, 0x12, 0x20]
        );
        let rsa = vectors()
            .into_iter()
            .find(|v| v["file"] == "rsa-valid.bin")
            .unwrap();
        let rsa = IpnsName::parse(rsa["name_peer_id"].as_str().unwrap()).unwrap();
        assert!(rsa.to_peer_id().starts_with("Qm"));
        assert_eq!(rsa.multihash().code(), SHA2_256);
    }

    #[test]
    fn bad_names() {
        for (text, why) in [
            ("", "empty"),
            ("k51", "truncated"),
            ("hello", "not a multibase CID"),
            // hello.txt's CID: raw codec, content not a key.
            (
                "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4",
                "raw codec",
            ),
            ("12D3KooW", "truncated peer id"),
            ("Qm0OIl", "not base58"),
        ] {
            let error = IpnsName::parse(text).unwrap_err();
            assert!(matches!(error, IpnsError::BadName { .. }), "{why}: {error}");
        }
        // A libp2p-key CID with a sha2-512 multihash (0x13, 64 bytes): not how keys are named.
        let sha512 = Multihash::<64>::wrap(0x13, &[7; 64]).unwrap();
        let cid = Cid::new_v1(LIBP2P_KEY, sha512).to_string();
        let error = IpnsName::parse(&cid).unwrap_err();
        assert!(error.to_string().contains("multihash 0x13"), "{error}");
    }

    #[test]
    fn now_decides_expiry() {
        let name = name_a();
        // Just before and at the end of validity (2126-01-01T00:00:00.123456789Z).
        let end = at(4_922_899_200) + Duration::from_nanos(123_456_789);
        let valid = fixture("ed25519-valid.bin");
        let before = verify_record(&name, &valid, end - Duration::from_nanos(1)).unwrap();
        assert_eq!(before.validity, end);
        let error = verify_record(&name, &valid, end).unwrap_err();
        assert!(matches!(error, IpnsError::Expired { at, .. } if at == end));
        assert_eq!(
            error.to_string(),
            "the IPNS record expired at 2126-01-01T00:00:00.123456789Z"
        );
        // The expired record (2020-01-01) was valid in 2019.
        let expired = fixture("ed25519-expired.bin");
        assert!(verify_record(&name, &expired, at(1_546_300_800)).is_ok());
        let error = verify_record(&name, &expired, today()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the IPNS record expired at 2020-01-01T00:00:00.000000000Z"
        );
    }

    #[test]
    fn size_limit() {
        let name = name_a();
        // At the limit: read (and refused for what it holds, not its size).
        let at_limit = vec![0; MAX_RECORD_SIZE];
        let error = verify_record(&name, &at_limit, today()).unwrap_err();
        assert!(matches!(error, IpnsError::Protobuf { .. }), "{error}");
        // Limit + 1: refused before reading.
        let over = vec![0; MAX_RECORD_SIZE + 1];
        let error = verify_record(&name, &over, today()).unwrap_err();
        assert!(matches!(
            error,
            IpnsError::TooLarge {
                len: 10241,
                limit: 10240
            }
        ));
    }

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

    #[test]
    fn missing_fields() {
        let name = name_a();
        let error = verify_record(&name, &[], today()).unwrap_err();
        assert!(matches!(
            error,
            IpnsError::Missing {
                field: "signatureV2"
            }
        ));
        // An empty signatureV2 counts as absent.
        let error = verify_record(&name, &[0x42, 0x00], today()).unwrap_err();
        assert!(matches!(
            error,
            IpnsError::Missing {
                field: "signatureV2"
            }
        ));
        let error = verify_record(&name, &[0x42, 0x01, 0x00], today()).unwrap_err();
        assert!(matches!(error, IpnsError::Missing { field: "data" }));
    }

    #[test]
    fn a_sha256_name_needs_the_key_in_the_record() {
        let rsa = vectors()
            .into_iter()
            .find(|v| v["file"] == "rsa-valid.bin")
            .unwrap();
        let name = IpnsName::parse(rsa["name_peer_id"].as_str().unwrap()).unwrap();
        // The V2-only Ed25519 record carries no pubKey.
        let error = verify_record(&name, &fixture("ed25519-v2-only.bin"), today()).unwrap_err();
        assert!(matches!(error, IpnsError::NoPublicKey { .. }), "{error}");
    }

    #[test]
    fn value_paths() {
        let record = |value: &str| IpnsRecord {
            value: value.into(),
            sequence: 0,
            validity: UNIX_EPOCH,
            ttl: None,
        };
        let cid: Cid = "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
            .parse()
            .unwrap();
        let ipfs = record(&format!("/ipfs/{cid}/sub/dir"));
        assert_eq!(
            ipfs.value_path().unwrap(),
            ValuePath::Ipfs {
                cid,
                rest: "/sub/dir"
            }
        );
        let bare = record(&format!("/ipfs/{cid}"));
        assert_eq!(
            bare.value_path().unwrap(),
            ValuePath::Ipfs { cid, rest: "" }
        );
        let v0 = record("/ipfs/QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o/a");
        assert!(matches!(
            v0.value_path(),
            Ok(ValuePath::Ipfs { rest: "/a", .. })
        ));
        let name = record("/ipns/example.com/x");
        assert_eq!(
            name.value_path().unwrap(),
            ValuePath::Ipns {
                name: "example.com",
                rest: "/x"
            }
        );
        for bad in ["/ipfs/", "/ipfs/nope/x", "/ipns/", "/ipld/x", "ipfs/x"] {
            let error = record(bad).value_path().unwrap_err();
            assert!(
                matches!(error, IpnsError::BadValue { .. }),
                "{bad}: {error}"
            );
        }
        // A real record's value.
        let verified = verify_record(&name_a(), &fixture("ed25519-valid.bin"), today()).unwrap();
        assert!(matches!(
            verified.value_path(),
            Ok(ValuePath::Ipfs {
                rest: "/sub/dir",
                ..
            })
        ));
    }

    #[test]
    fn values_as_cid_bytes() {
        // The old form: the value as bare CID bytes (here a CIDv0, dag-pb), given in v1 (the
        // v1 form from js multiformats 13.4.2: `CID.parse(v0).toV1().toString()`).
        let v0: Cid = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
            .parse()
            .unwrap();
        assert_eq!(
            value_text(&v0.to_bytes()).unwrap(),
            "/ipfs/bafybeicg2rebjoofv4kbyovkw7af3rpiitvnl6i7ckcywaq6xjcxnc2mby"
        );
        assert!(matches!(
            value_text(b""),
            Err(IpnsError::BadValue {
                reason: "empty",
                ..
            })
        ));
        assert!(value_text(b"\xff\x01").is_err());
        assert!(value_text(b"/ipfs/\xff").is_err());
    }

    #[test]
    fn rfc3339() {
        // Expected seconds from GNU date (`date -u -d TEXT +%s`).
        for (text, seconds, nanos) in [
            ("2126-01-01T00:00:00Z", 4_922_899_200, 0),
            ("2126-01-01T00:00:00.123456789Z", 4_922_899_200, 123_456_789),
            ("2020-01-01T00:00:00.000000000Z", 1_577_836_800, 0),
            ("2020-01-01T00:00:00.5Z", 1_577_836_800, 500_000_000),
            ("1969-12-31T23:59:59Z", -1, 0),
            ("1969-12-31T23:59:59.25Z", -1, 250_000_000),
            ("2024-02-29T12:34:56+02:00", 1_709_202_896, 0),
            ("2024-02-29T08:04:56-02:30", 1_709_202_896, 0),
            ("0001-01-01T00:00:00Z", -62_135_596_800, 0),
            ("9999-12-31T23:59:59Z", 253_402_300_799, 0),
            ("1900-03-01T00:00:00Z", -2_203_891_200, 0),
            ("2000-03-01T00:00:00Z", 951_868_800, 0),
        ] {
            let expected = at(seconds) + Duration::from_nanos(nanos);
            assert_eq!(parse_rfc3339(text), Ok(expected), "{text}");
        }
        for bad in [
            "",
            "2126-01-01",
            "2126-01-01T00:00:00",             // no zone
            "2126-01-01 00:00:00Z",            // space for T
            "2126-01-01t00:00:00z",            // lower case
            "2126-01-01T00:00:00.Z",           // no fraction digits
            "2126-01-01T00:00:00.1234567890Z", // 10 fraction digits
            "2126-01-01T00:00:60Z",            // leap second
            "2126-01-01T24:00:00Z",
            "2023-02-29T00:00:00Z", // not a leap year
            "1900-02-29T00:00:00Z", // not a leap year
            "2126-13-01T00:00:00Z",
            "2126-00-01T00:00:00Z",
            "2126-04-31T00:00:00Z",
            "2126-01-01T00:00:00+0200",
            "2126-01-01T00:00:00+24:00",
            "2126-01-01T00:00:00Zjunk",
            "+126-01-01T00:00:00Z",
            "２126-01-01T00:00:00Z",
        ] {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
        // 2000 is a leap year.
        assert!(parse_rfc3339("2000-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn der_lengths() {
        assert_eq!(der(&mut &[0x04, 0x01, 7][..], 0x04), Some(&[7][..]));
        assert_eq!(der(&mut &[0x04, 0x01, 7][..], 0x05), None);
        assert_eq!(der(&mut &[0x04, 0x02, 7][..], 0x04), None);
        // Long forms must be minimal.
        assert_eq!(der(&mut &[0x04, 0x81, 0x01, 7][..], 0x04), None);
        let long = [&[0x04, 0x81, 0x80][..], &[0; 0x80]].concat();
        assert_eq!(der(&mut &long[..], 0x04).map(<[u8]>::len), Some(0x80));
        assert_eq!(der(&mut &[0x04, 0x82, 0x00, 0x80][..], 0x04), None);
        assert_eq!(der(&mut &[0x04, 0x83, 0, 0, 1][..], 0x04), None);
    }

    #[test]
    fn rsa_key_from_the_fixture() {
        let rsa = vectors()
            .into_iter()
            .find(|v| v["file"] == "rsa-valid.bin")
            .unwrap();
        let name = IpnsName::parse(rsa["name_peer_id"].as_str().unwrap()).unwrap();
        let record = fixture("rsa-valid.bin");
        let entry = Entry::parse(&record).unwrap();
        let Ok(PublicKey::Rsa(key)) = public_key(&name, entry.pub_key) else {
            panic!("not an RSA key");
        };
        assert_eq!(rsa_modulus_bits(key), Some(2048));
    }

    #[test]
    fn key_type_errors_name_the_type() {
        let error = IpnsError::UnsupportedKeyType { key_type: 3 };
        assert_eq!(
            error.to_string(),
            "unsupported key type 3 (ECDSA): IPNS records are verified for Ed25519 and RSA keys"
        );
        // A PublicKey protobuf with a 31-byte Ed25519 key.
        let key = [&[0x08, 0x01, 0x12, 31][..], &[0; 31]].concat();
        assert!(matches!(
            decode_public_key(&key),
            Err(IpnsError::BadPublicKey {
                key_type: "Ed25519",
                ..
            })
        ));
        // No Data.
        assert!(matches!(
            decode_public_key(&[0x08, 0x01]),
            Err(IpnsError::Protobuf {
                message: "public key",
                ..
            })
        ));
    }
}
