//! Public keys: libp2p's `PublicKey` protobuf (`KeyType` in field 1, `Data` in field 2), the key
//! a name stands for, and signature checks.

use sha2::{Digest, Sha256};

use super::der::{rsa_modulus_bits, rsa_public_key};
use super::entry::Message;
use super::name::IDENTITY;
use super::{IpnsError, IpnsName};

/// libp2p `KeyType` RSA: `Data` is a PKIX `SubjectPublicKeyInfo` (DER).
pub(super) const KEY_RSA: u64 = 0;
/// libp2p `KeyType` Ed25519: `Data` is the 32-byte key.
pub(super) const KEY_ED25519: u64 = 1;

/// A public key that can verify a signature.
#[derive(Debug)]
pub(super) enum PublicKey<'a> {
    /// The 32 bytes of the key.
    Ed25519(&'a [u8]),
    /// The PKCS#1 `RSAPublicKey` (DER) taken out of the `SubjectPublicKeyInfo`.
    Rsa(&'a [u8]),
}

impl PublicKey<'_> {
    /// Whether `signature` signs `message`: Ed25519, or RSA PKCS#1 v1.5 with SHA-256 (libp2p's
    /// RSA signatures).
    pub(super) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
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
pub(super) fn public_key<'a>(
    name: &'a IpnsName,
    pub_key: Option<&'a [u8]>,
) -> Result<PublicKey<'a>, IpnsError> {
    let digest = name.multihash().digest();
    let encoded = match pub_key.filter(|k| !k.is_empty()) {
        Some(encoded) => {
            let matches = match name.multihash().code() {
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
        None if name.multihash().code() == IDENTITY => digest,
        None => {
            return Err(IpnsError::NoPublicKey {
                name: name.to_string(),
            })
        }
    };
    decode_public_key(encoded)
}

/// Reads a libp2p `PublicKey` protobuf.
pub(super) fn decode_public_key(encoded: &[u8]) -> Result<PublicKey<'_>, IpnsError> {
    let mut reader = Message::new(encoded, "public key");
    let (mut key_type, mut data) = (None, None);
    while let Some((field, payload)) = reader.next()? {
        match field {
            1 => key_type = Some(reader.varint_of(field, payload)?),
            2 => data = Some(reader.bytes_of(field, payload)?),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfs::ipns::entry::Entry;
    use crate::ipfs::ipns::fixtures::{fixture, vectors};

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
