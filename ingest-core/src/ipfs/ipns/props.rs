//! Property tests of everything that reads an IPNS record or name from untrusted input:
//! [`verify_record`] on arbitrary bytes and on the fixtures with bytes flipped, cut or spliced
//! in, the public keys in them (protobuf, then DER), names and RFC 3339 validities. Never a
//! panic; what comes out (a record, an error message) is bounded by what went in; and a
//! mutated record verifies only if its signed `data` and `signatureV2` are the original's.

use std::sync::OnceLock;

use proptest::prelude::*;

use super::entry::Entry;
use super::fixtures::{fixture, today, vectors};
use super::key::decode_public_key;
use super::rfc3339::parse_rfc3339;
use super::{verify_record, IpnsError, IpnsName, IpnsRecord};
use crate::testutil::{mutate, Edits};

/// A fixture: its name, its bytes, and whether it verifies (today).
struct Fixture {
    name: IpnsName,
    bytes: Vec<u8>,
    valid: bool,
}

/// Every record of `fixtures/ipns/vectors.json`, read once.
fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        vectors()
            .iter()
            .map(|v| {
                let name = IpnsName::parse(v["name_k51"].as_str().expect("a name")).expect("valid");
                let bytes = fixture(v["file"].as_str().expect("a file"));
                let valid = verify_record(&name, &bytes, today()).is_ok();
                Fixture { name, bytes, valid }
            })
            .collect()
    })
}

/// Checks what `verify_record` makes of `bytes`: a record or an error bounded by the input.
fn check(name: &IpnsName, bytes: &[u8]) -> Result<Option<IpnsRecord>, TestCaseError> {
    match verify_record(name, bytes, today()) {
        Ok(record) => {
            // A path as written, or `/ipfs/` + bare CID bytes in base32 (8 characters for 5
            // bytes).
            prop_assert!(record.value.len() <= 2 * bytes.len() + 16);
            Ok(Some(record))
        }
        Err(error) => {
            // Lossy decoding turns a byte into at most 3; a name is under 100 characters.
            let text = error.to_string();
            prop_assert!(
                text.len() <= 3 * bytes.len() + 400,
                "{} bytes: {text}",
                bytes.len()
            );
            Ok(None)
        }
    }
}

/// The `data` and `signatureV2` of a record, if it parses.
fn signed(bytes: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let entry = Entry::parse(bytes).ok()?;
    Some((entry.data?.to_vec(), entry.signature_v2?.to_vec()))
}

fn edits() -> impl Strategy<Value = Edits> {
    proptest::collection::vec((any::<usize>(), any::<u8>(), 0u8..3), 1..5)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Arbitrary bytes as a record, under each fixture's name: never valid.
    #[test]
    fn any_bytes_are_refused(
        which in any::<proptest::sample::Index>(),
        bytes in proptest::collection::vec(any::<u8>(), 0..1200),
    ) {
        let fixture = which.get(fixtures());
        prop_assert!(check(&fixture.name, &bytes)?.is_none());
    }

    /// Each fixture, mutated. A valid one verifies again only with its own signed data and
    /// signature (bytes outside them, such as an unknown field or the V1 copies, may change).
    #[test]
    fn mutated_records_verify_only_as_signed(
        which in any::<proptest::sample::Index>(),
        edits in edits(),
    ) {
        let fixture = which.get(fixtures());
        let mut bytes = fixture.bytes.clone();
        mutate(&mut bytes, &edits);
        if check(&fixture.name, &bytes)?.is_some() && fixture.valid {
            prop_assert_eq!(signed(&bytes), signed(&fixture.bytes));
        }
    }

    /// The public keys of the fixtures (Ed25519, RSA in DER, secp256k1), mutated, read
    /// directly: the protobuf, then the DER of an RSA key.
    #[test]
    fn mutated_public_keys_never_panic(
        which in any::<proptest::sample::Index>(),
        edits in edits(),
    ) {
        let keys: Vec<&[u8]> = fixtures()
            .iter()
            .filter_map(|f| Entry::parse(&f.bytes).ok()?.pub_key)
            .collect();
        prop_assume!(!keys.is_empty());
        let mut key = which.get(&keys).to_vec();
        mutate(&mut key, &edits);
        let _ = decode_public_key(&key);
    }

    /// Any text as a name, and names in every form mutated: a name or a `BadName`.
    #[test]
    fn any_text_is_a_name_or_refused(
        which in any::<proptest::sample::Index>(),
        form in 0usize..3,
        edits in edits(),
        text in "\\PC{0,80}",
    ) {
        let _ = IpnsName::parse(&text);
        let v = which.get(&vectors()).clone();
        let forms = ["name_k51", "name_base32", "name_peer_id"];
        let mut bytes = v[forms[form]].as_str().unwrap_or_default().as_bytes().to_vec();
        mutate(&mut bytes, &edits);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            match IpnsName::parse(text) {
                Ok(name) => prop_assert!(name.multihash().size() <= 64),
                Err(error) => prop_assert!(matches!(error, IpnsError::BadName { .. }), "{error}"),
            }
        }
    }

    /// Any text, and valid timestamps mutated, as a validity.
    #[test]
    fn any_text_is_a_validity_or_refused(
        text in "\\PC{0,40}",
        edits in edits(),
    ) {
        let _ = parse_rfc3339(&text);
        let mut bytes = b"2126-01-01T00:00:00.123456789+02:30".to_vec();
        mutate(&mut bytes, &edits);
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = parse_rfc3339(text);
        }
    }
}
