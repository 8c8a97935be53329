//! Making IPNS records, for a volunteer without a node of their own: an Ed25519 key kept by
//! `ingest` in a file, its name, and records signed as the spec's "Record Creation" says.
//!
//! The key file holds the PKCS#8 document of the key (as `ring` writes it), created with mode
//! 0600 and never overwritten. A record's `data` is the DAG-CBOR map `{TTL, Value, Sequence,
//! Validity, ValidityType}` (canonical: keys by length, then bytes), `signatureV2` signs
//! `ipns-signature:` + `data`, and the V1 copies of the fields are written as kubo and js-ipns
//! write them (no `signatureV1`: the spec deprecates it). The public key is inlined in the name
//! (an identity multihash), so `pubKey` is left out.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use ring::signature::{Ed25519KeyPair, KeyPair};

use super::key::KEY_ED25519;
use super::name::IDENTITY;
use super::rfc3339::format_rfc3339;
use super::IpnsName;
use crate::unixfs::block::put_varint;

/// What `signatureV2` signs: this prefix, then `data`.
const SIGNATURE_PREFIX: &[u8] = b"ipns-signature:";

/// The largest key file read.
const MAX_KEY_FILE: u64 = 4096;

/// An Ed25519 key that signs IPNS records.
#[derive(Debug)]
pub struct IpnsKey {
    pair: Ed25519KeyPair,
    path: PathBuf,
}

/// The key file could not be read or made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IpnsKeyError {
    /// Reading or writing it failed.
    #[error("IPNS key {}: {source}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// It is not an Ed25519 key in PKCS#8.
    #[error("IPNS key {}: not an Ed25519 key in PKCS#8 (as ingest writes it)", path.display())]
    NotAKey {
        /// The key file.
        path: PathBuf,
    },
    /// Others can read it.
    #[error("IPNS key {}: readable by others (mode {mode:o}): chmod 600 it", path.display())]
    Exposed {
        /// The key file.
        path: PathBuf,
        /// Its mode.
        mode: u32,
    },
}

impl IpnsKey {
    /// The key in the file at `path`, made (and written, mode 0600) if there is none: the key,
    /// and whether it was made now.
    pub fn load_or_create(path: &Path) -> Result<(IpnsKey, bool), IpnsKeyError> {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
        let io = |source| IpnsKeyError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::symlink_metadata(path) {
            Ok(meta) => {
                if meta.mode() & 0o077 != 0 {
                    return Err(IpnsKeyError::Exposed {
                        path: path.to_owned(),
                        mode: meta.mode() & 0o7777,
                    });
                }
                let bytes = crate::io::read_small_file(path, MAX_KEY_FILE)
                    .map_err(|e| io(std::io::Error::other(e)))?;
                let pair =
                    Ed25519KeyPair::from_pkcs8(&bytes).map_err(|_| IpnsKeyError::NotAKey {
                        path: path.to_owned(),
                    })?;
                Ok((
                    IpnsKey {
                        pair,
                        path: path.to_owned(),
                    },
                    false,
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let rng = ring::rand::SystemRandom::new();
                let document = Ed25519KeyPair::generate_pkcs8(&rng)
                    .map_err(|_| io(std::io::Error::other("no random numbers")))?;
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(io)?;
                }
                // create_new: a key is never overwritten, even by a run racing this one.
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(path)
                    .map_err(io)?;
                file.write_all(document.as_ref()).map_err(io)?;
                file.sync_all().map_err(io)?;
                let pair = Ed25519KeyPair::from_pkcs8(document.as_ref()).map_err(|_| {
                    IpnsKeyError::NotAKey {
                        path: path.to_owned(),
                    }
                })?;
                Ok((
                    IpnsKey {
                        pair,
                        path: path.to_owned(),
                    },
                    true,
                ))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The file the key is kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The key's IPNS name: the identity multihash of its libp2p `PublicKey` protobuf.
    pub fn name(&self) -> IpnsName {
        let public = self.pair.public_key().as_ref();
        let mut encoded = vec![0x08, KEY_ED25519 as u8, 0x12, public.len() as u8];
        encoded.extend_from_slice(public);
        let multihash = multihash::Multihash::<64>::wrap(IDENTITY, &encoded)
            .expect("36 bytes fit an identity multihash");
        IpnsName::from_key_hash(multihash)
    }

    /// A record pointing the name at `value` (`/ipfs/CID…`), with `sequence`, valid until
    /// `validity`, to be cached for `ttl`: the marshalled `IpnsEntry`.
    pub fn sign(&self, value: &str, sequence: u64, validity: SystemTime, ttl: Duration) -> Vec<u8> {
        let validity = format_rfc3339(validity);
        let ttl = u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX);
        // DAG-CBOR, keys in canonical order: TTL, Value, Sequence, Validity, ValidityType.
        let mut data = Vec::new();
        cbor_head(&mut data, 5, 5);
        cbor_text(&mut data, "TTL");
        cbor_head(&mut data, 0, ttl);
        cbor_text(&mut data, "Value");
        cbor_bytes(&mut data, value.as_bytes());
        cbor_text(&mut data, "Sequence");
        cbor_head(&mut data, 0, sequence);
        cbor_text(&mut data, "Validity");
        cbor_bytes(&mut data, validity.as_bytes());
        cbor_text(&mut data, "ValidityType");
        cbor_head(&mut data, 0, 0);
        let mut message = SIGNATURE_PREFIX.to_vec();
        message.extend_from_slice(&data);
        let signature = self.pair.sign(&message);

        let mut entry = Vec::new();
        proto_bytes(&mut entry, 1, value.as_bytes());
        proto_varint(&mut entry, 3, 0);
        proto_bytes(&mut entry, 4, validity.as_bytes());
        proto_varint(&mut entry, 5, sequence);
        proto_varint(&mut entry, 6, ttl);
        proto_bytes(&mut entry, 8, signature.as_ref());
        proto_bytes(&mut entry, 9, &data);
        entry
    }
}

/// A CBOR head: major type `major`, argument `n`, in the shortest form (as DAG-CBOR requires).
fn cbor_head(out: &mut Vec<u8>, major: u8, n: u64) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(m | 26);
            out.extend((n as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend(n.to_be_bytes());
        }
    }
}

fn cbor_text(out: &mut Vec<u8>, text: &str) {
    cbor_head(out, 3, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

fn cbor_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    cbor_head(out, 2, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn proto_varint(out: &mut Vec<u8>, field: u64, n: u64) {
    put_varint(out, field << 3);
    put_varint(out, n);
}

fn proto_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, (field << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ipfs::ipns::verify_record;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_signed_record_verifies_and_says_what_was_signed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys/outbox.key");
        let (key, made) = IpnsKey::load_or_create(&path).unwrap();
        assert!(made);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (again, made) = IpnsKey::load_or_create(&path).unwrap();
        assert!(!made);
        assert_eq!(again.name(), key.name());
        assert!(key.name().to_string().starts_with("k51"), "{}", key.name());

        let now = SystemTime::now();
        let value = "/ipfs/bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";
        let validity = now + Duration::from_secs(48 * 3600);
        let bytes = key.sign(value, 7, validity, Duration::from_secs(300));
        let record = verify_record(&key.name(), &bytes, now).unwrap();
        assert_eq!(record.value, value);
        assert_eq!(record.sequence, 7);
        assert_eq!(record.ttl, Some(Duration::from_secs(300)));
        // Another key's name does not take it.
        let (other, _) = IpnsKey::load_or_create(&dir.path().join("other.key")).unwrap();
        assert!(verify_record(&other.name(), &bytes, now).is_err());
        // Expired once past its validity.
        assert!(verify_record(&key.name(), &bytes, validity + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn a_key_others_can_read_or_that_is_not_a_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        IpnsKey::load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = IpnsKey::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::write(&path, b"not a key").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = IpnsKey::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("not an Ed25519 key"), "{err}");
    }

    #[test]
    fn cbor_heads_are_shortest() {
        for (n, want) in [
            (0u64, vec![0x00]),
            (23, vec![0x17]),
            (24, vec![0x18, 24]),
            (256, vec![0x19, 1, 0]),
            (1 << 32, vec![0x1b, 0, 0, 0, 1, 0, 0, 0, 0]),
        ] {
            let mut out = Vec::new();
            cbor_head(&mut out, 0, n);
            assert_eq!(out, want, "{n}");
        }
    }
}
