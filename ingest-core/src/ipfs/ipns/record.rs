//! IPNS records: the signed fields, their V1 copies, validity, and [`verify_record`].

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use ipld_core::ipld::Ipld;

use super::entry::Entry;
use super::key::public_key;
use super::rfc3339::parse_rfc3339;
use super::value::value_text;
use super::{IpnsError, IpnsName};

/// The largest record accepted, in bytes: the spec's limit ("Record Size Limit": implementations
/// must handle records up to 10 KiB and may ignore larger ones; boxo and js-ipns refuse them).
pub const MAX_RECORD_SIZE: usize = 10 * 1024;

/// What `signatureV2` signs: this prefix, then the bytes of `data` (spec, "Record Creation" 5).
const SIGNATURE_PREFIX: &[u8] = b"ipns-signature:";

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfs::ipns::fixtures::{at, fixture, name_a, today, vectors};

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
    fn ingest_agrees_with_the_reference_validator() {
        // ingest's verifier, run on every fixture, against what js-ipns's validator said of
        // it when it was made: both accept or both refuse, except where ingest is stricter
        // on purpose (secp256k1 keys, which the spec leaves optional, and RSA keys under 2048
        // bits, as libp2p refuses them; js-ipns accepts both).
        for v in vectors() {
            let file = v["file"].as_str().unwrap();
            let name = IpnsName::parse(v["name_k51"].as_str().unwrap()).unwrap();
            let ours = verify_record(&name, &fixture(file), today());
            let js_valid = v["js_validator"].as_str() == Some("valid");
            let stricter = matches!(
                ours,
                Err(IpnsError::UnsupportedKeyType { .. } | IpnsError::RsaKeySize { .. })
            );
            if stricter {
                assert!(
                    js_valid,
                    "{file}: js-ipns refused what ingest refuses as stricter"
                );
            } else {
                assert_eq!(
                    ours.is_ok(),
                    js_valid,
                    "{file}: ingest {ours:?}, js {:?}",
                    v["js_validator"]
                );
            }
        }
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
}
