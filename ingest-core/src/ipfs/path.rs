//! What users name: a CID, `/ipfs/CID[/path]`, `ipfs://CID[/path]`, `/ipns/NAME[/path]`,
//! `ipns://NAME[/path]`.

use std::fmt;

use cid::Cid;

use super::remote::SourceError;
use crate::unixfs::dir;

/// What a user names: immutable content (`/ipfs/…`) or a name (`/ipns/…`), and a path below.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContentPath {
    /// `/ipfs/CID[/path]`, `ipfs://CID[/path]` or a bare `CID[/path]`.
    Ipfs {
        /// The root.
        cid: Cid,
        /// The path below it, one entry name each.
        path: Vec<String>,
    },
    /// `/ipns/NAME[/path]` or `ipns://NAME[/path]`.
    Ipns {
        /// The name: a key (`k51…`, `12D3Koo…`) or a DNSLink domain.
        name: String,
        /// The path below what it points to.
        path: Vec<String>,
    },
}

impl ContentPath {
    /// Parses `text`; `None` when it is none of the forms above (a local file, then).
    pub fn parse(text: &str) -> Option<Result<ContentPath, SourceError>> {
        let (ns, rest) = if let Some(rest) = text.strip_prefix("/ipfs/") {
            ("ipfs", rest)
        } else if let Some(rest) = text.strip_prefix("ipfs://") {
            ("ipfs", rest)
        } else if let Some(rest) = text.strip_prefix("/ipns/") {
            ("ipns", rest)
        } else if let Some(rest) = text.strip_prefix("ipns://") {
            ("ipns", rest)
        } else {
            let first = text.split('/').next().unwrap_or_default();
            Cid::try_from(first).ok()?;
            ("ipfs", text)
        };
        Some(Self::parse_parts(text, ns, rest))
    }

    fn parse_parts(text: &str, ns: &str, rest: &str) -> Result<ContentPath, SourceError> {
        let bad = |reason: String| SourceError::BadPath {
            path: text.to_owned(),
            reason,
        };
        let mut parts = rest.split('/');
        let head = parts.next().unwrap_or_default();
        let mut path = Vec::new();
        for part in parts.filter(|p| !p.is_empty()) {
            dir::check_entry_name(part).map_err(|e| bad(e.to_string()))?;
            path.push(part.to_owned());
        }
        if ns == "ipfs" {
            let cid = Cid::try_from(head).map_err(|e| bad(format!("not a CID ({e})")))?;
            Ok(ContentPath::Ipfs { cid, path })
        } else if head.is_empty() {
            Err(bad("no name after /ipns/".into()))
        } else {
            Ok(ContentPath::Ipns {
                name: head.to_owned(),
                path,
            })
        }
    }

    /// The path below the root or name.
    pub fn path(&self) -> &[String] {
        match self {
            ContentPath::Ipfs { path, .. } | ContentPath::Ipns { path, .. } => path,
        }
    }
}

impl fmt::Display for ContentPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContentPath::Ipfs { cid, .. } => write!(f, "/ipfs/{cid}")?,
            ContentPath::Ipns { name, .. } => write!(f, "/ipns/{name}")?,
        }
        for part in self.path() {
            write!(f, "/{part}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_paths() {
        let cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy";
        let parsed = |t: &str| ContentPath::parse(t).map(|r| r.map(|p| p.to_string()));
        for text in [
            cid.to_owned(),
            format!("/ipfs/{cid}"),
            format!("ipfs://{cid}"),
            format!("/ipfs/{cid}/"),
        ] {
            assert_eq!(
                parsed(&text).unwrap().unwrap(),
                format!("/ipfs/{cid}"),
                "{text}"
            );
        }
        assert_eq!(
            parsed(&format!("ipfs://{cid}/a/b")).unwrap().unwrap(),
            format!("/ipfs/{cid}/a/b")
        );
        assert_eq!(
            parsed("/ipns/k51qzi5uqu5dl/site").unwrap().unwrap(),
            "/ipns/k51qzi5uqu5dl/site"
        );
        assert!(parsed("catalogue.car").is_none(), "a file name");
        assert!(parsed("/ipfs/notacid").unwrap().is_err());
        assert!(parsed(&format!("/ipfs/{cid}/a/../b")).unwrap().is_err());
        assert!(parsed("/ipns/").unwrap().is_err());
    }
}
