//! Blocks: the one place that encodes dag-pb / UnixFS bytes and computes CIDs.
//!
//! The encoders are written by hand rather than through `ipld-dagpb` or `rust-unixfs`, for two
//! reasons. Speed: a leaf is encoded *in place* around its chunk (a header written into headroom
//! the chunker reserved in front of the data, a trailer after it), so a 1 MiB chunk is never
//! copied to be hashed or written, and internal nodes are encoded into one reused buffer.
//! Exactness: every byte follows what kubo (go-codec-dagpb + boxo's UnixFS protobuf) writes, and
//! the few shapes we produce (file leaf, file node, directory, HAMT shard, symlink) are small
//! enough to state here field by field. Both dag-pb and UnixFS are protobuf (proto2):
//!
//! ```text
//! PBNode { Links (2): repeated PBLink   -- written before Data, as the dag-pb spec requires
//!          Data  (1): bytes }           -- a UnixFS Data message
//! PBLink { Hash (1): bytes (CID), Name (2): string (always present, "" in files), Tsize (3): uint64 }
//! UnixFS { Type (1): File=2 | Directory=1 | Symlink=4 | HAMTShard=5, Data (2): bytes,
//!          filesize (3), blocksizes (4, repeated, not packed), hashType (5), fanout (6) }
//! ```

use cid::Cid;
use multihash::Multihash;
use sha2::{Digest, Sha256};

use crate::protobuf::{self, Field, Reader};
use crate::unixfs::profile::CidVersion;

/// Multicodec of dag-pb blocks.
pub const DAG_PB: u64 = 0x70;
/// Multicodec of raw blocks.
pub const RAW: u64 = 0x55;
/// Multicodec of DAG-CBOR blocks.
pub const DAG_CBOR: u64 = 0x71;
/// Multihash code of sha2-256.
pub const SHA2_256: u64 = 0x12;

/// Bytes the chunker reserves in front of each chunk for a dag-pb leaf header: at most
/// `0a` + a 5-byte varint + `08 02` + `12` + a 5-byte varint = 14, rounded up.
pub(crate) const LEAF_HEADROOM: usize = 16;
/// Bytes the chunker reserves after each chunk for a dag-pb leaf trailer: `18` + a varint of the
/// chunk length (at most 4 bytes for a chunk under 2 MiB), rounded up.
pub(crate) const LEAF_TAILROOM: usize = 8;

/// UnixFS node types (the `Type` field of the UnixFS `Data` message), as this crate writes and
/// reads them. `Raw` (0) and `Metadata` (3) are never produced by an import; `Raw` is read as a
/// piece of a file, as kubo reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum UnixFsType {
    /// Content bytes in a dag-pb node (old importers' leaves): read as a piece of a file.
    Raw = 0,
    /// A plain directory: one node, links sorted by name.
    Directory = 1,
    /// A file or a piece of one.
    File = 2,
    /// Metadata about another node (never written by kubo's importer; not read here).
    Metadata = 3,
    /// A symbolic link; the target is the node's data.
    Symlink = 4,
    /// One shard of a HAMT-sharded directory.
    HamtShard = 5,
}

impl UnixFsType {
    /// The type with number `n`, if it is one of those above.
    pub fn from_number(n: u64) -> Option<UnixFsType> {
        [
            UnixFsType::Raw,
            UnixFsType::Directory,
            UnixFsType::File,
            UnixFsType::Metadata,
            UnixFsType::Symlink,
            UnixFsType::HamtShard,
        ]
        .into_iter()
        .find(|t| *t as u64 == n)
    }

    /// A piece of a file: [`UnixFsType::File`] or [`UnixFsType::Raw`].
    pub fn is_file(self) -> bool {
        matches!(self, UnixFsType::File | UnixFsType::Raw)
    }

    /// A directory: [`UnixFsType::Directory`] or one shard of a HAMT.
    pub fn is_directory(self) -> bool {
        matches!(self, UnixFsType::Directory | UnixFsType::HamtShard)
    }
}

/// The sha2-256 multihash of `bytes`.
pub fn sha2_256(bytes: &[u8]) -> Multihash<64> {
    let digest = Sha256::digest(bytes);
    Multihash::wrap(SHA2_256, &digest).expect("a 32-byte digest fits in 64 bytes")
}

/// The CID of `bytes` as a block of `codec` under `version`.
///
/// CIDv0 can only name dag-pb: a raw block is always CIDv1, as kubo does when raw leaves are
/// combined with CIDv0.
pub fn cid_of(version: CidVersion, codec: u64, bytes: &[u8]) -> Cid {
    cid_of_digest(version, codec, &Sha256::digest(bytes).into())
}

/// [`cid_of`] for a block whose sha2-256 `digest` is already known (a block hashed in pieces).
pub(crate) fn cid_of_digest(version: CidVersion, codec: u64, digest: &[u8; 32]) -> Cid {
    let mh = Multihash::wrap(SHA2_256, digest).expect("a 32-byte digest fits in 64 bytes");
    match version {
        CidVersion::V0 if codec == DAG_PB => Cid::new_v0(mh).expect("sha2-256 is valid for CIDv0"),
        _ => Cid::new_v1(codec, mh),
    }
}

/// Appends `v` as a protobuf varint.
#[inline]
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Bytes `v` takes as a varint.
#[inline]
pub(crate) fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends a protobuf length-delimited field header (`tag`, then the length).
#[inline]
fn put_len_field(out: &mut Vec<u8>, tag: u8, len: usize) {
    out.push(tag);
    put_varint(out, len as u64);
}

/// Encoded length of a length-delimited field whose payload is `len` bytes.
#[inline]
fn len_field_len(len: usize) -> usize {
    1 + varint_len(len as u64) + len
}

/// A link from a dag-pb node to a child.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// The child's CID.
    pub cid: Cid,
    /// The child's dag size (Tsize): bytes of every block under and including it.
    pub dag_size: u64,
}

fn link_len(cid_len: usize, name_len: usize, dag_size: u64) -> usize {
    len_field_len(cid_len) + len_field_len(name_len) + 1 + varint_len(dag_size)
}

/// Appends one PBLink (field 2 of PBNode) to `out`; its name is `prefix` followed by `name`
/// (a HAMT link name is the bucket in hex, then the entry name).
fn put_link(out: &mut Vec<u8>, cid: &Cid, prefix: &[u8], name: &[u8], dag_size: u64) {
    let cid_len = cid.encoded_len();
    let name_len = prefix.len() + name.len();
    put_len_field(out, 0x12, link_len(cid_len, name_len, dag_size));
    put_len_field(out, 0x0a, cid_len);
    cid.write_bytes(&mut *out)
        .expect("writing to a Vec cannot fail");
    put_len_field(out, 0x12, name_len);
    out.extend_from_slice(prefix);
    out.extend_from_slice(name);
    out.push(0x18);
    put_varint(out, dag_size);
}

/// The bytes a dag-pb leaf of an `n`-byte chunk (`n > 0`) puts before and after the chunk:
/// the leaf block is `head ‖ chunk ‖ tail` (at most [`LEAF_HEADROOM`] and [`LEAF_TAILROOM`]
/// bytes). [`wrap_file_leaf`] writes them around a chunk in place; a leaf can also be hashed in
/// pieces from them.
pub(crate) fn file_leaf_frame(n: usize) -> (Vec<u8>, Vec<u8>) {
    let mut head = Vec::with_capacity(LEAF_HEADROOM);
    let mut tail = Vec::with_capacity(LEAF_TAILROOM);
    tail.push(0x18);
    put_varint(&mut tail, n as u64);
    let unixfs_len = 2 + len_field_len(n) + tail.len();
    put_len_field(&mut head, 0x0a, unixfs_len);
    head.extend_from_slice(&[0x08, UnixFsType::File as u8]);
    put_len_field(&mut head, 0x12, n);
    (head, tail)
}

/// Writes a dag-pb leaf in place around a chunk and returns the block's range in `buf`.
///
/// `buf[LEAF_HEADROOM..LEAF_HEADROOM + n]` holds the chunk; the header goes right before it and
/// the trailer right after, giving `PBNode { Data: UnixFS { Type: File, Data: chunk,
/// filesize: n } }`, byte for byte what boxo writes for a leaf. `buf` must be at least
/// `LEAF_HEADROOM + n + LEAF_TAILROOM` long.
fn wrap_file_leaf(buf: &mut [u8], n: usize) -> std::ops::Range<usize> {
    let (head, tail) = file_leaf_frame(n);
    let start = LEAF_HEADROOM - head.len();
    buf[start..LEAF_HEADROOM].copy_from_slice(&head);
    let end = LEAF_HEADROOM + n;
    buf[end..end + tail.len()].copy_from_slice(&tail);
    start..end + tail.len()
}

/// The dag-pb leaf of an empty file: `PBNode { Data: UnixFS { Type: File, filesize: 0 } }`.
/// boxo leaves the UnixFS `Data` field out when there is no content.
const EMPTY_FILE_LEAF: [u8; 6] = [0x0a, 0x04, 0x08, UnixFsType::File as u8, 0x18, 0x00];

/// The leaf rule, in one place: encodes the chunk `buf[LEAF_HEADROOM..LEAF_HEADROOM + n]` as
/// a leaf block in place and returns the block's range in `buf` and its CID.
///
/// - raw leaves: the chunk itself, always named with CIDv1 (kubo does so even when the rest of
///   the DAG is CIDv0);
/// - dag-pb leaves: the chunk wrapped in a UnixFS File node ([`wrap_file_leaf`]), named with
///   `version`; an empty file (`n == 0`) is the node without a `Data` field, as boxo writes it.
///
/// `buf` must be at least `LEAF_HEADROOM + n + LEAF_TAILROOM` long.
pub(crate) fn encode_leaf(
    raw: bool,
    version: CidVersion,
    buf: &mut [u8],
    n: usize,
) -> (std::ops::Range<usize>, Cid) {
    let block = if raw {
        LEAF_HEADROOM..LEAF_HEADROOM + n
    } else if n == 0 {
        let start = LEAF_HEADROOM - EMPTY_FILE_LEAF.len();
        buf[start..LEAF_HEADROOM].copy_from_slice(&EMPTY_FILE_LEAF);
        start..LEAF_HEADROOM
    } else {
        wrap_file_leaf(buf, n)
    };
    let (version, codec) = if raw {
        (CidVersion::V1, RAW)
    } else {
        (version, DAG_PB)
    };
    let cid = cid_of(version, codec, &buf[block.clone()]);
    (block, cid)
}

/// Encodes an internal file node into `out` (cleared first).
///
/// `children` are `(link, file bytes under that child)`. The node is `PBNode { Links: [{Hash,
/// Name: "", Tsize}…], Data: UnixFS { Type: File, filesize: Σ, blocksizes: [...] } }`.
pub(crate) fn encode_file_node(out: &mut Vec<u8>, children: &[(Link, u64)]) {
    out.clear();
    for (link, _) in children {
        put_link(out, &link.cid, b"", b"", link.dag_size);
    }
    let file_size: u64 = children.iter().map(|(_, size)| size).sum();
    let unixfs_len = 2
        + 1
        + varint_len(file_size)
        + children
            .iter()
            .map(|(_, size)| 1 + varint_len(*size))
            .sum::<usize>();
    put_len_field(out, 0x0a, unixfs_len);
    out.extend_from_slice(&[0x08, UnixFsType::File as u8, 0x18]);
    put_varint(out, file_size);
    for (_, size) in children {
        out.push(0x20);
        put_varint(out, *size);
    }
}

/// Appends a UnixFS Data message of `ty` with no other field than an optional payload
/// (directories, symlinks) wrapped as PBNode field 1.
fn put_unixfs_simple(out: &mut Vec<u8>, ty: UnixFsType, payload: Option<&[u8]>) {
    let inner = 2 + payload.map_or(0, |p| len_field_len(p.len()));
    put_len_field(out, 0x0a, inner);
    out.extend_from_slice(&[0x08, ty as u8]);
    if let Some(p) = payload {
        put_len_field(out, 0x12, p.len());
        out.extend_from_slice(p);
    }
}

/// Bytes of a flat directory's PBNode Data field, `0a 02 08 01`.
pub(crate) const DIR_DATA_LEN: usize = 4;

/// Encodes a flat directory: links (already sorted by name bytes) then `UnixFS {Type: Directory}`.
pub(crate) fn encode_directory<'a>(
    out: &mut Vec<u8>,
    links: impl IntoIterator<Item = (&'a [u8], &'a Cid, u64)>,
) {
    out.clear();
    for (name, cid, dag_size) in links {
        put_link(out, cid, b"", name, dag_size);
    }
    put_unixfs_simple(out, UnixFsType::Directory, None);
}

/// Encodes a UnixFS symlink whose target is `target`.
pub fn encode_symlink(target: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(target.len() + 8);
    put_unixfs_simple(&mut out, UnixFsType::Symlink, Some(target));
    out
}

/// Encodes a HAMT shard node: `links` are `(bucket prefix, entry name, cid, dag_size)` in
/// bucket order (a sub-shard's entry name is empty), `bitfield` the occupied buckets
/// (big-endian, `fanout / 8` bytes), hash type murmur3-x64-64 (0x22).
pub(crate) fn encode_hamt_shard<'a>(
    out: &mut Vec<u8>,
    links: impl IntoIterator<Item = (&'a [u8], &'a [u8], &'a Cid, u64)>,
    bitfield: &[u8],
    fanout: u64,
) {
    out.clear();
    for (prefix, name, cid, dag_size) in links {
        put_link(out, cid, prefix, name, dag_size);
    }
    let inner = 2 + len_field_len(bitfield.len()) + 2 + 1 + varint_len(fanout);
    put_len_field(out, 0x0a, inner);
    out.extend_from_slice(&[0x08, UnixFsType::HamtShard as u8]);
    put_len_field(out, 0x12, bitfield.len());
    out.extend_from_slice(bitfield);
    out.extend_from_slice(&[0x28, 0x22, 0x30]);
    put_varint(out, fanout);
}

/// The encoded size of one directory link: what `block-bytes` adds per entry.
pub(crate) fn dir_link_encoded_len(cid: &Cid, name: &[u8], dag_size: u64) -> usize {
    len_field_len(link_len(cid.encoded_len(), name.len(), dag_size))
}

/// One link of a decoded dag-pb node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PbLink {
    pub(crate) cid: Cid,
    pub(crate) name: String,
    pub(crate) dag_size: u64,
}

/// A decoded dag-pb directory or HAMT shard node (the only kinds read back).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PbDir {
    pub(crate) links: Vec<PbLink>,
    /// [`UnixFsType::Directory`] or [`UnixFsType::HamtShard`].
    pub(crate) kind: UnixFsType,
    /// The shard's fanout (HAMT only).
    pub(crate) fanout: u64,
}

/// Why a block is not a UnixFS directory this project can read.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub(crate) struct PbError(pub(crate) &'static str);

impl From<protobuf::Error> for PbError {
    fn from(error: protobuf::Error) -> Self {
        PbError(error.what.reason())
    }
}

/// Any decoded dag-pb node with UnixFS data: a file (or a piece of one), a directory, a HAMT
/// shard, a symlink.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PbNode {
    pub(crate) links: Vec<PbLink>,
    /// The UnixFS type.
    pub(crate) kind: UnixFsType,
    /// The UnixFS `Data` bytes: a file's content in this node, a symlink's target.
    pub(crate) data: Vec<u8>,
    /// The UnixFS `filesize`, if set.
    pub(crate) filesize: Option<u64>,
    /// The UnixFS `blocksizes`: the content bytes under each link of a file node.
    pub(crate) blocksizes: Vec<u64>,
    /// The shard's fanout (HAMT only).
    pub(crate) fanout: u64,
}

/// Decodes a dag-pb node with UnixFS data from untrusted bytes (a block, so at most 2 MiB;
/// every length is checked against what is left).
pub(crate) fn decode_node(block: &[u8]) -> Result<PbNode, PbError> {
    let mut node = Reader::new(block);
    let mut links = Vec::new();
    let mut data = None;
    while let Some((field, payload)) = node.next_field()? {
        match (field, payload) {
            (2, Field::Bytes(bytes)) => {
                let mut link = Reader::new(bytes);
                let (mut cid, mut name, mut dag_size) = (None, String::new(), 0);
                while let Some((f, p)) = link.next_field()? {
                    match (f, p) {
                        (1, Field::Bytes(hash)) => {
                            cid = Some(
                                Cid::try_from(hash)
                                    .map_err(|_| PbError("link with an invalid CID"))?,
                            )
                        }
                        (2, Field::Bytes(text)) => {
                            name = String::from_utf8(text.to_vec())
                                .map_err(|_| PbError("link name is not UTF-8"))?
                        }
                        (3, Field::Varint(size)) => dag_size = size,
                        _ => {} // another field, or the wrong wire type: skipped
                    }
                }
                links.push(PbLink {
                    cid: cid.ok_or(PbError("link without a CID"))?,
                    name,
                    dag_size,
                });
            }
            (1, Field::Bytes(bytes)) => data = Some(bytes),
            _ => {}
        }
    }
    let mut unixfs = Reader::new(data.ok_or(PbError("node without UnixFS data"))?);
    let mut kind = None;
    let mut out = PbNode {
        links,
        kind: UnixFsType::Raw,
        data: Vec::new(),
        filesize: None,
        blocksizes: Vec::new(),
        fanout: 0,
    };
    while let Some((field, payload)) = unixfs.next_field()? {
        match (field, payload) {
            (1, Field::Varint(number)) => {
                kind = Some(UnixFsType::from_number(number).ok_or(PbError("unknown UnixFS type"))?)
            }
            (2, Field::Bytes(bytes)) => out.data = bytes.to_vec(),
            (3, Field::Varint(size)) => out.filesize = Some(size),
            (4, Field::Varint(size)) => out.blocksizes.push(size),
            (4, Field::Bytes(bytes)) => {
                // Packed repeated field.
                let mut packed = Reader::new(bytes);
                while !packed.is_empty() {
                    out.blocksizes.push(packed.varint()?);
                }
            }
            (6, Field::Varint(fanout)) => out.fanout = fanout,
            _ => {}
        }
    }
    out.kind = kind.ok_or(PbError("UnixFS data without a type"))?;
    Ok(out)
}

/// Decodes a dag-pb directory or HAMT shard node from untrusted bytes (see [`decode_node`]).
pub(crate) fn decode_dir(block: &[u8]) -> Result<PbDir, PbError> {
    let node = decode_node(block)?;
    let kind = match node.kind {
        kind @ (UnixFsType::Directory | UnixFsType::HamtShard) => kind,
        _ => return Err(PbError("not a UnixFS directory")),
    };
    Ok(PbDir {
        links: node.links,
        kind,
        fanout: node.fanout,
    })
}

/// The content of a one-block UnixFS file: a raw block is its content; a dag-pb leaf carries it
/// in its UnixFS `Data` field. `None` for a file of several blocks, or a dag-pb block that does
/// not read (any protobuf error, at a tag or in a field: a partial read is never content).
pub(crate) fn single_block_file(codec: u64, block: &[u8]) -> Option<Vec<u8>> {
    if codec == RAW {
        return Some(block.to_vec());
    }
    let mut node = Reader::new(block);
    let mut data = None;
    while let Some((field, payload)) = node.next_field().ok()? {
        match (field, payload) {
            (1, Field::Bytes(bytes)) => data = Some(bytes),
            (2, Field::Bytes(_)) => return None, // links: more than one block
            _ => {}
        }
    }
    let mut unixfs = Reader::new(data?);
    let mut content = Vec::new();
    while let Some((field, payload)) = unixfs.next_field().ok()? {
        if let (2, Field::Bytes(bytes)) = (field, payload) {
            content = bytes.to_vec();
        }
    }
    Some(content)
}

#[cfg(test)]
mod props;

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Untrusted blocks never panic the directory decoder, and a directory it encodes
        /// decodes back to its links.
        #[test]
        fn decode_dir_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600)) {
            let _ = decode_dir(&bytes);
            let _ = decode_node(&bytes);
            let _ = single_block_file(DAG_PB, &bytes);
        }
    }

    #[test]
    fn a_directory_decodes_to_its_links() {
        let cid = cid_of(CidVersion::V1, RAW, b"x");
        let mut out = Vec::new();
        encode_directory(
            &mut out,
            [(b"a".as_slice(), &cid, 1), (b"b".as_slice(), &cid, 300)],
        );
        let dir = decode_dir(&out).unwrap();
        assert_eq!(dir.kind, UnixFsType::Directory);
        let links: Vec<_> = dir
            .links
            .iter()
            .map(|l| (l.name.as_str(), l.cid, l.dag_size))
            .collect();
        assert_eq!(links, [("a", cid, 1), ("b", cid, 300)]);
    }

    #[test]
    fn varint_lengths() {
        for v in [0u64, 1, 127, 128, 16383, 16384, u32::MAX as u64, u64::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out.len(), varint_len(v), "{v}");
        }
    }

    #[test]
    fn empty_file_leaf_is_the_well_known_empty_file() {
        // `ipfs add` of an empty file, quoted in kubo's own `ipfs add --help`.
        let mut buf = [0u8; LEAF_HEADROOM + LEAF_TAILROOM];
        let (_, cid) = encode_leaf(false, CidVersion::V0, &mut buf, 0);
        assert_eq!(
            cid.to_string(),
            "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
        );
    }

    #[test]
    fn hello_world_leaf_matches_kubo() {
        // `printf 'hello world\n' | ipfs add` (kubo, quoted in the oracle README).
        let data = b"hello world\n";
        let mut buf = vec![0u8; LEAF_HEADROOM + data.len() + LEAF_TAILROOM];
        buf[LEAF_HEADROOM..LEAF_HEADROOM + data.len()].copy_from_slice(data);
        let range = wrap_file_leaf(&mut buf, data.len());
        let cid = cid_of(CidVersion::V0, DAG_PB, &buf[range]);
        assert_eq!(
            cid.to_string(),
            "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
        );
    }

    #[test]
    fn full_leaf_block_length() {
        // PROFILES.md: a full 262144-byte unixfs-v0-2015 leaf block is 262158 bytes.
        let n = 262_144;
        let mut buf = vec![0u8; LEAF_HEADROOM + n + LEAF_TAILROOM];
        assert_eq!(wrap_file_leaf(&mut buf, n).len(), 262_158);
    }

    #[test]
    fn empty_directory_matches_kubo() {
        // `ipfs object new unixfs-dir` / the empty directory every kubo node knows.
        let mut out = Vec::new();
        encode_directory(&mut out, []);
        assert_eq!(out, [0x0a, 0x02, 0x08, 0x01]);
        assert_eq!(
            cid_of(CidVersion::V0, DAG_PB, &out).to_string(),
            "QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn"
        );
    }
}
