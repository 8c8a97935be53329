//! A record's value: a content path (`/ipfs/CID[/path]`, `/ipns/NAME[/path]`), or the bare
//! CID bytes of an older form.

use cid::Cid;

use super::{IpnsError, IpnsRecord};

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
    /// ([`IpnsName::parse`](super::IpnsName::parse) reads it) or a DNSLink domain
    /// (`example.com`).
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

/// The value as a content path: a path as written (it must be UTF-8), or bare CID bytes as
/// `/ipfs/` + the CID in version 1 (js-ipns and boxo read this old form too). An empty value is
/// refused, as js-ipns does (boxo reads it as the empty identity CID).
pub(super) fn value_text(value: &[u8]) -> Result<String, IpnsError> {
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

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::ipfs::ipns::fixtures::{fixture, name_a, today};
    use crate::ipfs::ipns::verify_record;

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
}
