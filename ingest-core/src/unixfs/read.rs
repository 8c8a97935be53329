//! Reading UnixFS out of any [`BlockSource`]: nodes by kind, files, directories (flat and
//! HAMT-sharded) and paths. The one reader behind `get`, path resolution, catalogue reads (`ls`,
//! `todo`, `export-archive`, merge bases) and the site.
//!
//! Every block comes from the source already checked against its CID; what is checked here is
//! that the blocks are the UnixFS they claim to be: a file's nodes are file nodes whose sizes
//! agree (a node's `filesize` with its data and `blocksizes`, each child's content with the size
//! its parent states, so a file is never longer than its root says), a directory's nodes
//! directories or shards of one HAMT, a DAG no deeper than [`MAX_FILE_DEPTH`].
//!
//! Memory: a directory's entries (about 130 bytes each) while it is listed; a file is streamed
//! block by block, holding the links of the nodes on the current path.

use std::io::Write;

use cid::Cid;

use super::block::{decode_dir, decode_node, PbDir, PbLink, PbNode, UnixFsType, DAG_PB, RAW};
use super::blocks::{need, BlockError, BlockSource};
use super::dir::{hamt, EditError};

/// A file's DAG at most this deep (a balanced DAG of 2 MiB blocks is a few levels).
pub const MAX_FILE_DEPTH: usize = 32;

/// What a UnixFS node is, read from its first block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Node {
    /// A file (a raw block, or a dag-pb file node and the blocks under it).
    File,
    /// A directory, flat or HAMT-sharded.
    Directory {
        /// Whether it is a HAMT.
        sharded: bool,
    },
    /// A symbolic link, and its target.
    Symlink {
        /// The target, as stored.
        target: String,
    },
}

/// Reading a UnixFS file or node failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The source did not give a block.
    #[error(transparent)]
    Block(#[from] BlockError),
    /// A block is not the UnixFS it should be.
    #[error("block {cid}: {reason}")]
    Malformed {
        /// The block.
        cid: Box<Cid>,
        /// What is wrong.
        reason: String,
    },
    /// Writing the content failed.
    #[error("cannot write the content of {cid}")]
    Write {
        /// The file.
        cid: Box<Cid>,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn malformed(cid: &Cid, reason: impl Into<String>) -> ReadError {
    ReadError::Malformed {
        cid: Box::new(*cid),
        reason: reason.into(),
    }
}

/// What the node `cid` is (reads its first block, unless it is a raw block).
pub fn node_kind<Src: BlockSource + ?Sized>(src: &mut Src, cid: &Cid) -> Result<Node, ReadError> {
    match cid.codec() {
        RAW => Ok(Node::File),
        DAG_PB => {
            let block = need(src, cid)?;
            let node = decode_node(&block).map_err(|e| malformed(cid, e.0))?;
            match node.kind {
                k if k.is_file() => Ok(Node::File),
                UnixFsType::Directory => Ok(Node::Directory { sharded: false }),
                UnixFsType::HamtShard => Ok(Node::Directory { sharded: true }),
                UnixFsType::Symlink => String::from_utf8(node.data)
                    .map(|target| Node::Symlink { target })
                    .map_err(|_| malformed(cid, "a symlink whose target is not UTF-8")),
                kind => Err(malformed(
                    cid,
                    format!("UnixFS type {kind:?} is not supported"),
                )),
            }
        }
        codec => Err(malformed(
            cid,
            format!("codec 0x{codec:x} is neither a UnixFS file nor a directory"),
        )),
    }
}

/// Writes the content of the UnixFS file `cid` to `out`, block by block in order; the source is
/// told first that the whole file will be read ([`BlockSource::will_read`]) and then, node by
/// node, which children come next ([`BlockSource::prefetch`]). Returns the bytes written.
pub fn read_file<Src: BlockSource + ?Sized>(
    src: &mut Src,
    cid: &Cid,
    out: &mut dyn Write,
) -> Result<u64, ReadError> {
    if cid.codec() == DAG_PB {
        // Not final: what the hint could not fetch is fetched as it is read.
        let _ = src.will_read(cid);
    }
    write_file(src, cid, out, 0)
}

fn write_file<Src: BlockSource + ?Sized>(
    src: &mut Src,
    cid: &Cid,
    out: &mut dyn Write,
    depth: usize,
) -> Result<u64, ReadError> {
    let write_error = |source| ReadError::Write {
        cid: Box::new(*cid),
        source,
    };
    let block = need(src, cid)?;
    match cid.codec() {
        RAW => {
            out.write_all(&block).map_err(write_error)?;
            return Ok(block.len() as u64);
        }
        DAG_PB => {}
        codec => {
            return Err(malformed(
                cid,
                format!("codec 0x{codec:x} is not a UnixFS file"),
            ))
        }
    }
    let node = decode_node(&block).map_err(|e| malformed(cid, e.0))?;
    if !node.kind.is_file() {
        return Err(malformed(cid, "not a UnixFS file"));
    }
    if depth > MAX_FILE_DEPTH {
        return Err(malformed(
            cid,
            format!("a file DAG over {MAX_FILE_DEPTH} levels deep"),
        ));
    }
    let parts = node_size(cid, &node)?;
    out.write_all(&node.data).map_err(write_error)?;
    let mut written = node.data.len() as u64;
    let children: Vec<Cid> = node.links.iter().map(|l| l.cid).collect();
    // Not final either: a child the source could not fetch now is asked for when it is read.
    let _ = src.prefetch(&children);
    for (child, &declared) in children.iter().zip(&node.blocksizes) {
        let got = write_file(src, child, out, depth + 1)?;
        if got != declared {
            return Err(malformed(
                cid,
                format!("its child {child} holds {got} bytes, and it says {declared}"),
            ));
        }
        written += got;
    }
    debug_assert_eq!(written, parts);
    Ok(written)
}

/// The content size a file node states, checked for agreement: as many `blocksizes` as links,
/// and a `filesize` (when set) equal to its own data plus the blocksizes. The sizes of the
/// children themselves are checked as they are read ([`read_file`]).
fn node_size(cid: &Cid, node: &PbNode) -> Result<u64, ReadError> {
    if node.blocksizes.len() != node.links.len() {
        return Err(malformed(
            cid,
            format!(
                "{} links but {} block sizes",
                node.links.len(),
                node.blocksizes.len()
            ),
        ));
    }
    let parts = node
        .blocksizes
        .iter()
        .try_fold(node.data.len() as u64, |sum, &b| sum.checked_add(b))
        .ok_or_else(|| malformed(cid, "block sizes that add up past 2^64"))?;
    match node.filesize {
        Some(size) if size != parts => Err(malformed(
            cid,
            format!("it says it holds {size} bytes, and its parts add up to {parts}"),
        )),
        _ => Ok(parts),
    }
}

/// The size the file `cid` states for its content (its root's sizes checked for agreement;
/// the rest is checked as it is read): what to make room for before reading it.
pub fn declared_size<Src: BlockSource + ?Sized>(
    src: &mut Src,
    cid: &Cid,
) -> Result<u64, ReadError> {
    let block = need(src, cid)?;
    match cid.codec() {
        RAW => Ok(block.len() as u64),
        DAG_PB => {
            let node = decode_node(&block).map_err(|e| malformed(cid, e.0))?;
            if !node.kind.is_file() {
                return Err(malformed(cid, "not a UnixFS file"));
            }
            node_size(cid, &node)
        }
        codec => Err(malformed(
            cid,
            format!("codec 0x{codec:x} is not a UnixFS file"),
        )),
    }
}

/// Reads and decodes the directory node `cid`.
pub(crate) fn read_dir<Src: BlockSource + ?Sized>(
    src: &mut Src,
    cid: &Cid,
) -> Result<PbDir, EditError> {
    let block = need(src, cid)?;
    decode_dir(&block).map_err(|e| EditError::NotADirectory {
        cid: *cid,
        reason: e.0,
    })
}

/// The entry `name` of the directory `dir`, if it has one: (CID, dag size).
pub fn lookup<Src: BlockSource + ?Sized>(
    src: &mut Src,
    dir: &Cid,
    name: &str,
) -> Result<Option<(Cid, u64)>, EditError> {
    let node = read_dir(src, dir)?;
    if node.kind == UnixFsType::HamtShard {
        return hamt::lookup(src, node, dir, name);
    }
    Ok(node
        .links
        .into_iter()
        .find(|l| l.name == name)
        .map(|l| (l.cid, l.dag_size)))
}

/// The entries `names` of the directory `dir` (each `None` if absent), reading every node on
/// their paths once.
pub fn lookup_many<Src: BlockSource + ?Sized>(
    src: &mut Src,
    dir: &Cid,
    names: &[&str],
) -> Result<Vec<Option<(Cid, u64)>>, EditError> {
    let node = read_dir(src, dir)?;
    if node.kind == UnixFsType::HamtShard {
        return hamt::lookup_many(src, dir, names);
    }
    let links: std::collections::HashMap<&str, (Cid, u64)> = node
        .links
        .iter()
        .map(|l| (l.name.as_str(), (l.cid, l.dag_size)))
        .collect();
    Ok(names.iter().map(|n| links.get(n).copied()).collect())
}

/// Every entry of the directory `dir`: (name, CID, dag size), in name order. The source is
/// told first ([`BlockSource::will_list`]).
pub fn list<Src: BlockSource + ?Sized>(
    src: &mut Src,
    dir: &Cid,
) -> Result<Vec<(String, Cid, u64)>, EditError> {
    src.will_list(dir)?;
    let node = read_dir(src, dir)?;
    let mut out = Vec::new();
    if node.kind == UnixFsType::HamtShard {
        hamt::list(src, dir, &mut out)?;
        out.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    } else {
        out = node
            .links
            .into_iter()
            .map(
                |PbLink {
                     name,
                     cid,
                     dag_size,
                 }| (name, cid, dag_size),
            )
            .collect();
    }
    Ok(out)
}

/// Walks `path` (entry names) down from the directory `root`: the CID it names, or the
/// directory that lacks an entry (its CID, the names walked so far, and the missing name).
pub fn resolve<Src: BlockSource + ?Sized>(
    src: &mut Src,
    root: &Cid,
    path: &[String],
) -> Result<Result<Cid, NotFound>, EditError> {
    let mut cid = *root;
    for (i, name) in path.iter().enumerate() {
        match lookup(src, &cid, name)? {
            Some((child, _)) => cid = child,
            None => {
                return Ok(Err(NotFound {
                    dir: cid,
                    walked: path[..i].to_vec(),
                    name: name.clone(),
                }))
            }
        }
    }
    Ok(Ok(cid))
}

/// A path that names an entry its directory does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotFound {
    /// The directory.
    pub dir: Cid,
    /// The names walked to it.
    pub walked: Vec<String>,
    /// The entry it lacks.
    pub name: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::dir::DirBuilder;
    use crate::unixfs::importer::import_bytes;
    use crate::unixfs::profile::Profile;
    use crate::unixfs::sink::MemorySink;

    /// A file of several levels read back through the reader, under every profile.
    #[test]
    fn a_file_reads_back_byte_for_byte() {
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for profile in &Profile::PRESETS {
            let mut store = MemorySink::new();
            let (summary, _) = import_bytes(profile, &data, &mut store).unwrap();
            let mut out = Vec::new();
            let n = read_file(&mut store, &summary.root, &mut out).unwrap();
            assert_eq!(n, data.len() as u64, "{}", profile.name());
            assert!(out == data, "{}", profile.name());
            assert_eq!(
                node_kind(&mut store, &summary.root).unwrap(),
                Node::File,
                "{}",
                profile.name()
            );
        }
    }

    /// A file `hello.txt` in a directory `a` in an outer directory, under the 2025 profile:
    /// the roots of the file, the inner and the outer directory.
    fn nested_dirs(store: &mut MemorySink) -> (Cid, Cid, Cid) {
        let profile = &Profile::UNIXFS_V1_2025;
        let (file, _) = import_bytes(profile, b"hello", &mut *store).unwrap();
        let mut inner = DirBuilder::new(profile);
        inner.add("hello.txt", file.root, file.dag_size).unwrap();
        let inner = inner.finish(store).unwrap();
        let mut outer = DirBuilder::new(profile);
        outer.add("a", inner.root, inner.dag_size).unwrap();
        let outer = outer.finish(store).unwrap();
        (file.root, inner.root, outer.root)
    }

    /// A directory is a directory, not a file: reading it as one is refused.
    #[test]
    fn a_directory_is_not_a_file() {
        let mut store = MemorySink::new();
        let (_, _, outer) = nested_dirs(&mut store);
        assert_eq!(
            node_kind(&mut store, &outer).unwrap(),
            Node::Directory { sharded: false }
        );
        let err = read_file(&mut store, &outer, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("not a UnixFS file"), "{err}");
    }

    /// A path walks down to its entry; an absent one names the directory it stopped in, the
    /// names walked and the name missing.
    #[test]
    fn a_path_walks_down_to_its_entry_or_names_where_it_stopped() {
        let mut store = MemorySink::new();
        let (file, inner, outer) = nested_dirs(&mut store);
        let path = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            resolve(&mut store, &outer, &path(&["a", "hello.txt"])).unwrap(),
            Ok(file)
        );
        let absent = resolve(&mut store, &outer, &path(&["a", "nope", "x"]))
            .unwrap()
            .unwrap_err();
        assert_eq!(absent.dir, inner);
        assert_eq!(absent.walked, path(&["a"]));
        assert_eq!(absent.name, "nope");
    }

    /// A block missing from the store is named.
    #[test]
    fn a_missing_block_is_named() {
        let (_, _, outer) = nested_dirs(&mut MemorySink::new());
        let mut empty = MemorySink::new();
        let err = read_file(&mut empty, &outer, &mut Vec::new()).unwrap_err();
        assert!(
            matches!(&err, ReadError::Block(BlockError::Missing { cid }) if **cid == outer),
            "{err}"
        );
    }

    /// A file node whose `filesize` disagrees with its parts is refused, before a byte is
    /// written, and so is one with more links than block sizes.
    #[test]
    fn a_file_node_whose_sizes_disagree_is_refused() {
        use crate::unixfs::block::{cid_of, encode_file_node, Link};
        use crate::unixfs::profile::CidVersion;
        use crate::unixfs::sink::BlockSink;
        let mut store = MemorySink::new();
        let leaf = vec![5u8; 1000];
        let leaf_cid = cid_of(CidVersion::V1, RAW, &leaf);
        store.put(&leaf_cid, &leaf).unwrap();
        let link = Link {
            cid: leaf_cid,
            dag_size: 1000,
        };
        let mut node = Vec::new();
        encode_file_node(&mut node, &[(link.clone(), 1000), (link, 1000)]);
        // filesize 2000 (d0 0f) becomes 1990 (c6 0f): the same length, another number.
        let at = node
            .windows(3)
            .position(|w| w == [0x08, 0x02, 0x18])
            .unwrap()
            + 3;
        assert_eq!(node[at..at + 2], [0xd0, 0x0f]);
        node[at] = 0xc6;
        let cid = cid_of(CidVersion::V1, DAG_PB, &node);
        store.put(&cid, &node).unwrap();
        let mut out = Vec::new();
        let err = read_file(&mut store, &cid, &mut out).unwrap_err();
        assert!(
            err.to_string()
                .contains("says it holds 1990 bytes, and its parts add up to 2000"),
            "{err}"
        );
        assert!(out.is_empty());
        assert!(declared_size(&mut store, &cid).is_err());
    }
}
