//! IPNS names: what users write (`k51…`, `bafz…`, `12D3Koo…`, `Qm…`), held as the multihash
//! of the name's public key.

use std::fmt;
use std::str::FromStr;

use cid::multibase::Base;
use cid::Cid;
use multihash::Multihash;

use super::IpnsError;

/// The multicodec of a CID naming a key (`libp2p-key`).
const LIBP2P_KEY: u64 = 0x72;
/// The identity multihash: the digest is the encoded public key itself (Ed25519 names).
pub(super) const IDENTITY: u64 = 0x00;
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

    /// The name of the key whose encoded `PublicKey` is in the identity multihash `multihash`
    /// (a key made here).
    pub(super) fn from_key_hash(multihash: KeyHash) -> IpnsName {
        IpnsName { multihash }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfs::ipns::fixtures::{name_a, vectors};

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
}
