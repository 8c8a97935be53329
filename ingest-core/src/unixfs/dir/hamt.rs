//! HAMT-sharded directories, laid out exactly as boxo's `hamt.Shard` lays them out.
//!
//! - Each name is hashed with murmur3-x64-128 (seed 0), keeping the first 64-bit half: boxo's
//!   `murmur3.Sum64`, multihash code 0x22 "murmur3-x64-64".
//! - With fanout 2^b, level k of the tree uses hash bits `k·b .. (k+1)·b` counted from the
//!   **most significant** bit of that 64-bit value written big-endian (kubo's behaviour; the
//!   vectors confirm it).
//! - In a shard, a bucket holding one entry links to the entry itself, named bucket-in-hex +
//!   name (`"3F" + "video-000123"`); a bucket holding two or more links to a child shard that
//!   holds them, named by the bucket alone (`"3F"`). The hex is upper-case and as wide as
//!   `fanout − 1` (two digits for 256).
//! - A shard node's links are in bucket order; its `Data` is UnixFS `{Type: HAMTShard, Data:
//!   bitfield, hashType: 0x22, fanout}`, the bitfield big-endian with bit i set when bucket i
//!   is used, leading zero bytes dropped (go-bitfield's `Bytes()`): a shard whose highest
//!   used bucket is 5 has a 1-byte bitfield.
//!
//! Built bottom-up from the entries sorted by hash: every shard's entries are then one
//! contiguous run, so the whole tree is one pass after one sort. For a set of names the tree is
//! unique: insertion order cannot change it, which is why it equals what kubo builds by inserting
//! one entry at a time.

use cid::Cid;

use std::collections::BTreeMap;

use super::edit::{check_links, EditError};
use super::{put, DirError, Entry};
use crate::unixfs::block::{cid_of, encode_hamt_shard, PbDir, PbLink, UnixFsType, DAG_PB};
use crate::unixfs::blocks::BlockSource;
use crate::unixfs::profile::{CidVersion, Profile};
use crate::unixfs::read::read_dir;
use crate::unixfs::sink::BlockSink;

/// The 64 hash bits of a name, consumed from the most significant bit down: the first half
/// (h1) of murmur3-x64-128 with seed 0, boxo's `murmur3.Sum64`.
///
/// The JS importer takes the first 8 bytes of its digest (h1, big-endian), reverses them, and
/// then consumes the buffer from its *last* byte backwards (hamt-sharding's
/// `ConsumableBuffer`), so it too starts at h1's most significant byte. The `murmur3` crate
/// returns h1 as the low half of a `u128`.
pub(crate) fn hash_name(name: &[u8]) -> u64 {
    let full = murmur3::murmur3_x64_128(&mut &name[..], 0).expect("reading a slice cannot fail");
    full as u64
}

/// The shape of a profile's HAMT: fanout, hash bits per level, and hex digits of a bucket.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    fanout: usize,
    bits: u32,
    width: usize,
}

impl Geometry {
    fn of(profile: &Profile) -> Geometry {
        Geometry::of_fanout(u64::from(profile.hamt_fanout())).expect("a profile's fanout is valid")
    }

    /// The geometry of a fanout read from a shard: a power of two from 8 to 1024 (boxo's
    /// bounds), else `None`.
    fn of_fanout(fanout: u64) -> Option<Geometry> {
        if !(fanout.is_power_of_two() && (8..=1024).contains(&fanout)) {
            return None;
        }
        let fanout = fanout as usize;
        Some(Geometry {
            fanout,
            bits: fanout.trailing_zeros(),
            width: format!("{:X}", fanout - 1).len(),
        })
    }

    /// The bucket `hash` falls in at `level`.
    fn bucket(self, hash: u64, level: u32) -> usize {
        ((hash >> (64 - self.bits * (level + 1))) as usize) & (self.fanout - 1)
    }

    /// Levels a 64-bit hash can address.
    fn levels(self) -> u32 {
        64 / self.bits
    }
}

/// Entries with their hashes, in hash order: every shard's entries are then one run.
fn hashed(entries: Vec<Entry>) -> Vec<(u64, Entry)> {
    let mut items: Vec<(u64, Entry)> = entries
        .into_iter()
        .map(|e| (hash_name(e.name.as_bytes()), e))
        .collect();
    items.sort_unstable_by_key(|(h, _)| *h);
    items
}

struct Shards<'s, S: ?Sized> {
    version: CidVersion,
    geometry: Geometry,
    fanout: usize,
    prefixes: Vec<String>,
    sink: &'s mut S,
    block: Vec<u8>,
    blocks: u64,
}

impl<'s, S: BlockSink + ?Sized> Shards<'s, S> {
    fn new(profile: &Profile, sink: &'s mut S) -> Self {
        let geometry = Geometry::of(profile);
        let width = geometry.width;
        Shards {
            version: profile.cid_version(),
            geometry,
            fanout: geometry.fanout,
            prefixes: (0..geometry.fanout)
                .map(|i| format!("{i:0width$X}"))
                .collect(),
            sink,
            block: Vec::new(),
            blocks: 0,
        }
    }

    fn bucket(&self, hash: u64, level: u32) -> usize {
        self.geometry.bucket(hash, level)
    }

    /// Writes the shard holding `items` (sorted by hash, all equal in the bits of the levels
    /// above) and its sub-shards; returns its CID and dag size.
    fn shard(&mut self, level: u32, items: &[(u64, Entry)]) -> Result<(Cid, u64), DirError> {
        // (bucket, entry name or "" for a sub-shard, cid, dag size), in bucket order.
        let mut links: Vec<(usize, &[u8], Cid, u64)> = Vec::new();
        let mut start = 0;
        while start < items.len() {
            let bucket = self.bucket(items[start].0, level);
            let len = items[start..]
                .iter()
                .take_while(|(h, _)| self.bucket(*h, level) == bucket)
                .count();
            let group = &items[start..start + len];
            if let [(_, entry)] = group {
                links.push((bucket, entry.name.as_bytes(), entry.cid, entry.dag_size));
            } else {
                let (cid, dag_size) = self.shard(level + 1, group)?;
                links.push((bucket, b"", cid, dag_size));
            }
            start += len;
        }
        self.write_node(
            links
                .iter()
                .map(|(b, name, cid, size)| (*b, *name, cid, *size)),
        )
    }

    /// Writes one shard node from its links `(bucket, entry name or "" for a sub-shard, CID,
    /// dag size)`, in bucket order; returns its CID and dag size.
    fn write_node<'n>(
        &mut self,
        links: impl Iterator<Item = (usize, &'n [u8], &'n Cid, u64)> + Clone,
    ) -> Result<(Cid, u64), DirError> {
        let mut bitfield = vec![0u8; self.fanout / 8];
        let last = bitfield.len() - 1;
        for (bucket, ..) in links.clone() {
            bitfield[last - bucket / 8] |= 1 << (bucket % 8);
        }
        // go-bitfield's `Bytes()` drops leading zero bytes (the JS importer trims the same).
        let used = bitfield
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bitfield.len());
        let prefixes = &self.prefixes;
        encode_hamt_shard(
            &mut self.block,
            links
                .clone()
                .map(|(b, name, cid, size)| (prefixes[b].as_bytes(), name, cid, size)),
            &bitfield[used..],
            self.fanout as u64,
        );
        let cid = cid_of(self.version, DAG_PB, &self.block);
        put(self.sink, &cid, &self.block)?;
        self.blocks += 1;
        let dag_size = super::dag_size_of(self.block.len(), links.map(|l| l.3))?;
        Ok((cid, dag_size))
    }
}

/// Writes the HAMT of `entries` (unique names) and returns its root, dag size and block count.
pub(super) fn build<S: BlockSink + ?Sized>(
    profile: &Profile,
    entries: Vec<Entry>,
    sink: &mut S,
) -> Result<(Cid, u64, u64), DirError> {
    let items = hashed(entries);
    if let Some(pair) = items.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(DirError::HashCollision {
            first: pair[0].1.name.to_string(),
            second: pair[1].1.name.to_string(),
        });
    }
    let mut shards = Shards::new(profile, sink);
    let (root, dag_size) = shards.shard(0, &items)?;
    Ok((root, dag_size, shards.blocks))
}

/// The bucket a link name starts with (`"3F"` → 0x3F), and the entry name after it (empty for
/// a sub-shard).
fn split_link_name(name: &str, width: usize) -> Option<(usize, &str)> {
    let prefix = name.get(..width)?;
    let bucket = usize::from_str_radix(prefix, 16).ok()?;
    Some((bucket, &name[width..]))
}

/// The geometry of the shard `node` (block `cid`), read from its own fanout: reading a HAMT
/// needs no profile.
fn geometry(node: &PbDir, cid: &Cid) -> Result<Geometry, EditError> {
    if node.kind != UnixFsType::HamtShard {
        return Err(EditError::NotADirectory {
            cid: *cid,
            reason: "a HAMT links to a node that is not a shard",
        });
    }
    Geometry::of_fanout(node.fanout).ok_or(EditError::NotADirectory {
        cid: *cid,
        reason: "a HAMT fanout that is not a power of two from 8 to 1024",
    })
}

/// Reads the HAMT shard `cid` and its geometry.
fn read_shard<Src: BlockSource + ?Sized>(
    src: &mut Src,
    cid: &Cid,
) -> Result<(PbDir, Geometry), EditError> {
    let node = read_dir(src, cid)?;
    let g = geometry(&node, cid)?;
    Ok((node, g))
}

/// Finds `name` in the HAMT whose root shard `root` (block `root_cid`) is already decoded,
/// reading one shard per level below it.
pub(crate) fn lookup<Src: BlockSource + ?Sized>(
    src: &mut Src,
    root: PbDir,
    root_cid: &Cid,
    name: &str,
) -> Result<Option<(Cid, u64)>, EditError> {
    let hash = hash_name(name.as_bytes());
    let (mut node, mut cid) = (root, *root_cid);
    let mut level = 0;
    loop {
        let g = geometry(&node, &cid)?;
        if level >= g.levels() {
            return Err(EditError::NotADirectory {
                cid,
                reason: "a HAMT deeper than its hash allows",
            });
        }
        let bucket = g.bucket(hash, level);
        let Some(link) = node
            .links
            .iter()
            .find(|l| split_link_name(&l.name, g.width).is_some_and(|(b, _)| b == bucket))
        else {
            return Ok(None);
        };
        match split_link_name(&link.name, g.width) {
            Some((_, "")) => cid = link.cid,
            Some((_, entry)) if entry == name => return Ok(Some((link.cid, link.dag_size))),
            _ => return Ok(None),
        }
        node = read_dir(src, &cid)?;
        level += 1;
    }
}

/// Finds each of `names` in the HAMT rooted at `root`, reading each shard on their paths once
/// (a lookup one name at a time decodes the root shard again for every name).
pub(crate) fn lookup_many<Src: BlockSource + ?Sized>(
    src: &mut Src,
    root: &Cid,
    names: &[&str],
) -> Result<Vec<Option<(Cid, u64)>>, EditError> {
    let mut found = vec![None; names.len()];
    // (hash, index into names), grouped by shard as the walk goes down.
    let items: Vec<(u64, usize)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (hash_name(n.as_bytes()), i))
        .collect();
    let mut stack = vec![(*root, 0u32, items)];
    while let Some((shard, level, items)) = stack.pop() {
        let (node, g) = read_shard(src, &shard)?;
        if level >= g.levels() {
            return Err(EditError::NotADirectory {
                cid: shard,
                reason: "a HAMT deeper than its hash allows",
            });
        }
        let width = g.width;
        let mut links: BTreeMap<usize, &PbLink> = BTreeMap::new();
        for link in &node.links {
            if let Some((bucket, _)) = split_link_name(&link.name, width) {
                links.insert(bucket, link);
            }
        }
        let mut deeper: BTreeMap<usize, Vec<(u64, usize)>> = BTreeMap::new();
        for (hash, i) in items {
            let bucket = g.bucket(hash, level);
            let Some(link) = links.get(&bucket) else {
                continue;
            };
            match split_link_name(&link.name, width) {
                Some((_, "")) => deeper.entry(bucket).or_default().push((hash, i)),
                Some((_, entry)) if entry == names[i] => found[i] = Some((link.cid, link.dag_size)),
                _ => {}
            }
        }
        for (bucket, items) in deeper {
            stack.push((links[&bucket].cid, level + 1, items));
        }
    }
    Ok(found)
}

/// Every entry of the HAMT rooted at `root` (reads every shard once).
///
/// The HAMT is untrusted, so its shape is checked as it is read, and the work is bounded by the
/// blocks read: the walk keeps an explicit stack, no deeper than the hash allows (8 levels at
/// fanout 256); a shard linked from two places, a sub-shard of another fanout and an entry in
/// a bucket its name's hash does not select are errors naming the shard.
pub(crate) fn list<Src: BlockSource + ?Sized>(
    src: &mut Src,
    root: &Cid,
    out: &mut Vec<(String, Cid, u64)>,
) -> Result<(), EditError> {
    let malformed = |cid: &Cid, reason| EditError::NotADirectory { cid: *cid, reason };
    let (root_node, g) = read_shard(src, root)?;
    let mut seen = std::collections::HashSet::from([*root]);
    // (shard, its node, the buckets on the path to it).
    let mut stack = vec![(*root, root_node, Vec::new())];
    while let Some((cid, node, path)) = stack.pop() {
        if geometry(&node, &cid)?.fanout != g.fanout {
            return Err(malformed(&cid, "a HAMT sub-shard of another fanout"));
        }
        let level = path.len() as u32;
        for link in node.links {
            let Some((bucket, entry)) = split_link_name(&link.name, g.width) else {
                return Err(malformed(&cid, "a HAMT link name without its bucket"));
            };
            if bucket >= g.fanout {
                return Err(malformed(&cid, "a HAMT bucket past the fanout"));
            }
            if entry.is_empty() {
                if level + 1 >= g.levels() {
                    return Err(malformed(&cid, "a HAMT deeper than its hash allows"));
                }
                if !seen.insert(link.cid) {
                    return Err(malformed(&link.cid, "a HAMT shard linked from two places"));
                }
                let child = read_dir(src, &link.cid)?;
                let mut child_path = path.clone();
                child_path.push(bucket);
                stack.push((link.cid, child, child_path));
                continue;
            }
            let hash = hash_name(entry.as_bytes());
            let placed = path
                .iter()
                .chain([&bucket])
                .enumerate()
                .all(|(k, &b)| g.bucket(hash, k as u32) == b);
            if !placed {
                return Err(malformed(
                    &cid,
                    "a HAMT entry in a bucket its name's hash does not select",
                ));
            }
            out.push((entry.to_owned(), link.cid, link.dag_size));
        }
    }
    Ok(())
}

/// Sets `entries` (unique names, new or replacing) in the HAMT rooted at `root`, rewriting only
/// the shards on their paths; every shard read is replaced and its CID pushed to `replaced`.
/// The result is the HAMT a full build of the new set of entries gives.
pub(super) fn update<S: BlockSink + ?Sized, Src: BlockSource + ?Sized>(
    profile: &Profile,
    src: &mut Src,
    root: &Cid,
    entries: Vec<Entry>,
    sink: &mut S,
    replaced: &mut Vec<Cid>,
) -> Result<(Cid, u64, u64), EditError> {
    let width = Geometry::of(profile).width;
    let items = hashed(entries);
    let mut shards = Shards::new(profile, sink);
    let (cid, dag_size) = update_shard(&mut shards, src, root, 0, &items, width, replaced)?;
    Ok((cid, dag_size, shards.blocks))
}

fn update_shard<S: BlockSink + ?Sized, Src: BlockSource + ?Sized>(
    shards: &mut Shards<'_, S>,
    src: &mut Src,
    cid: &Cid,
    level: u32,
    items: &[(u64, Entry)],
    width: usize,
    replaced: &mut Vec<Cid>,
) -> Result<(Cid, u64), EditError> {
    if level >= shards.geometry.levels() {
        return Err(EditError::NotADirectory {
            cid: *cid,
            reason: "a HAMT deeper than its hash allows",
        });
    }
    let node = read_dir(src, cid)?;
    if node.kind != UnixFsType::HamtShard || node.fanout != shards.fanout as u64 {
        return Err(EditError::NotADirectory {
            cid: *cid,
            reason: "not a HAMT shard of this profile's fanout",
        });
    }
    check_links(src, &node)?;
    replaced.push(*cid);
    // The existing link of each bucket (a shard holds at most one per bucket). Every entry
    // must sit where its name's hash leads: the buckets of the levels above are those of the
    // new items routed here (they share them), and this level's is its link's.
    let prefix = items.first().map(|(h, _)| *h);
    let mut existing: BTreeMap<usize, PbLink> = BTreeMap::new();
    for link in node.links {
        let (bucket, entry) =
            split_link_name(&link.name, width).ok_or(EditError::NotADirectory {
                cid: *cid,
                reason: "a HAMT link name without its bucket",
            })?;
        if !entry.is_empty() {
            let hash = hash_name(entry.as_bytes());
            let placed = shards.bucket(hash, level) == bucket
                && prefix.is_none_or(|p| {
                    (0..level).all(|k| shards.bucket(hash, k) == shards.bucket(p, k))
                });
            if !placed {
                return Err(EditError::NotADirectory {
                    cid: *cid,
                    reason: "a HAMT entry in a bucket its name's hash does not select",
                });
            }
        }
        existing.insert(bucket, link);
    }
    // The new entries of each bucket, in hash order.
    let mut incoming: BTreeMap<usize, Vec<(u64, Entry)>> = BTreeMap::new();
    for item in items {
        incoming
            .entry(shards.bucket(item.0, level))
            .or_default()
            .push(item.clone());
    }
    let mut links: BTreeMap<usize, (String, Cid, u64)> = existing
        .iter()
        .map(|(b, l)| (*b, (l.name[width..].to_owned(), l.cid, l.dag_size)))
        .collect();
    for (bucket, mut new) in incoming {
        let link = match existing.get(&bucket) {
            Some(l) if l.name.len() == width => {
                // A sub-shard: descend.
                let (c, size) =
                    update_shard(shards, src, &l.cid, level + 1, &new, width, replaced)?;
                (String::new(), c, size)
            }
            Some(l) => {
                // One entry already here: it joins the new ones unless one replaces it.
                let name = &l.name[width..];
                if !new.iter().any(|(_, e)| &*e.name == name) {
                    let entry = Entry {
                        name: name.into(),
                        cid: l.cid,
                        dag_size: l.dag_size,
                    };
                    new.push((hash_name(name.as_bytes()), entry));
                    new.sort_unstable_by_key(|(h, _)| *h);
                }
                place(shards, level, &new)?
            }
            None => place(shards, level, &new)?,
        };
        links.insert(bucket, link);
    }
    Ok(shards.write_node(
        links
            .iter()
            .map(|(b, (name, cid, size))| (*b, name.as_bytes(), cid, *size)),
    )?)
}

/// The link a bucket gets for `items` (in hash order): the entry itself, or a new sub-shard.
fn place<S: BlockSink + ?Sized>(
    shards: &mut Shards<'_, S>,
    level: u32,
    items: &[(u64, Entry)],
) -> Result<(String, Cid, u64), EditError> {
    if let [(_, e)] = items {
        return Ok((e.name.to_string(), e.cid, e.dag_size));
    }
    if let Some(pair) = items.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(EditError::Dir(DirError::HashCollision {
            first: pair[0].1.name.to_string(),
            second: pair[1].1.name.to_string(),
        }));
    }
    let (cid, size) = shards.shard(level + 1, items)?;
    Ok((String::new(), cid, size))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unixfs::block::RAW;
    use crate::unixfs::sink::MemorySink;

    /// Writes a fanout-256 shard of `links` (bucket, entry name or "" for a sub-shard, CID)
    /// with any shape, right or wrong.
    fn shard(store: &mut MemorySink, links: &[(usize, &str, Cid)]) -> Cid {
        let mut bitfield = [0u8; 32];
        for (b, ..) in links {
            bitfield[31 - b / 8] |= 1 << (b % 8);
        }
        let prefixes: Vec<String> = links.iter().map(|(b, ..)| format!("{b:02X}")).collect();
        let mut block = Vec::new();
        encode_hamt_shard(
            &mut block,
            links
                .iter()
                .zip(&prefixes)
                .map(|((_, name, cid), p)| (p.as_bytes(), name.as_bytes(), cid, 1)),
            &bitfield,
            256,
        );
        let cid = cid_of(CidVersion::V1, DAG_PB, &block);
        store.put(&cid, &block).unwrap();
        cid
    }

    fn file() -> Cid {
        cid_of(CidVersion::V1, RAW, b"x")
    }

    fn bucket0(name: &str) -> usize {
        (hash_name(name.as_bytes()) >> 56) as usize
    }

    #[test]
    fn a_chain_deeper_than_the_hash_is_refused_without_recursion() {
        // 20,000 nested shards: more than a thread's stack would survive recursively.
        // The top levels follow the buckets of "a", so lookups and edits walk down the chain.
        let g = Geometry::of(&crate::unixfs::Profile::UNIXFS_V1_2025);
        let hash = hash_name(b"a");
        let on_path = |depth: u32| {
            if depth < g.levels() {
                g.bucket(hash, depth)
            } else {
                0
            }
        };
        let mut store = MemorySink::new();
        let mut cid = shard(&mut store, &[(on_path(20_000), "a", file())]);
        for depth in (0..20_000).rev() {
            cid = shard(&mut store, &[(on_path(depth), "", cid)]);
        }
        let mut out = Vec::new();
        let err = list(&mut store, &cid, &mut out).unwrap_err();
        assert!(
            err.to_string().contains("deeper than its hash allows"),
            "{err}"
        );
        let root = read_dir(&mut store, &cid).unwrap();
        let err = lookup(&mut store, root, &cid, "a").unwrap_err();
        assert!(
            err.to_string().contains("deeper than its hash allows"),
            "{err}"
        );
        let err = lookup_many(&mut store, &cid, &["a"]).unwrap_err();
        assert!(
            err.to_string().contains("deeper than its hash allows"),
            "{err}"
        );
        let entry = Entry {
            name: "a".into(),
            cid: file(),
            dag_size: 1,
        };
        let err = update(
            &crate::unixfs::Profile::UNIXFS_V1_2025,
            &mut store.clone(),
            &cid,
            vec![entry],
            &mut MemorySink::new(),
            &mut Vec::new(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("deeper than its hash allows"),
            "{err}"
        );
    }

    #[test]
    fn a_shard_linked_from_two_places_is_refused() {
        // A "diamond": one shard under every bucket of the root would list its entries 256
        // times (and 256^k times k levels down).
        let mut store = MemorySink::new();
        let name = "video-1";
        let inner = shard(&mut store, &[(bucket0(name), name, file())]);
        let links: Vec<(usize, &str, Cid)> = (0..256).map(|b| (b, "", inner)).collect();
        let root = shard(&mut store, &links);
        let err = list(&mut store, &root, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("linked from two places"), "{err}");
    }

    use crate::unixfs::blocks::BlockError;

    /// A store that answers `contains` for real, as a catalogue's does.
    #[derive(Clone)]
    struct Strict(MemorySink);

    impl BlockSource for Strict {
        fn get(&mut self, cid: &Cid) -> Result<Option<Vec<u8>>, BlockError> {
            Ok(self.0.get(cid).map(<[u8]>::to_vec))
        }
        fn contains(&mut self, cid: &Cid) -> bool {
            self.0.get(cid).is_some()
        }
    }

    fn edit(store: &mut MemorySink, root: &Cid, name: &str) -> Result<Cid, EditError> {
        let entry = Entry {
            name: name.into(),
            cid: file(),
            dag_size: 1,
        };
        // The entries' files are stored too: only the shards' shape is under test.
        store.put(&file(), b"x").unwrap();
        update(
            &crate::unixfs::Profile::UNIXFS_V1_2025,
            &mut Strict(store.clone()),
            root,
            vec![entry],
            &mut MemorySink::new(),
            &mut Vec::new(),
        )
        .map(|(cid, ..)| cid)
    }

    #[test]
    fn an_edit_checks_the_shards_on_its_path() {
        // A sub-shard the source lacks: the edited tree would link a missing block.
        let mut store = MemorySink::new();
        let name = "video-1";
        let absent = cid_of(CidVersion::V1, DAG_PB, b"not stored");
        let root = shard(&mut store, &[(bucket0(name), "", absent)]);
        let err = edit(&mut store, &root, "video-2").unwrap_err();
        assert!(
            matches!(&err, EditError::Block(BlockError::Missing { cid }) if **cid == absent),
            "{err}"
        );

        // An entry in a bucket its hash does not select, on the edited path.
        let wrong = (bucket0(name) + 1) % 256;
        let root = shard(&mut store, &[(wrong, name, file())]);
        let other = (0..)
            .map(|i| format!("video-x{i}"))
            .find(|n| bucket0(n) == wrong)
            .unwrap();
        let err = edit(&mut store, &root, &other).unwrap_err();
        assert!(err.to_string().contains("does not select"), "{err}");
    }

    #[test]
    fn an_entry_in_the_wrong_bucket_is_refused() {
        let mut store = MemorySink::new();
        let name = "video-1";
        let wrong = (bucket0(name) + 1) % 256;
        let root = shard(&mut store, &[(wrong, name, file())]);
        let err = list(&mut store, &root, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("does not select"), "{err}");
        // In the right bucket it lists.
        let root = shard(&mut store, &[(bucket0(name), name, file())]);
        let mut out = Vec::new();
        list(&mut store, &root, &mut out).unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn hash_bits_start_at_the_first_byte_of_murmur3() {
        // @multiformats/murmur3, which the JS importer uses, gives murmur3-x64-128 of
        // "video-000123" as 618cf399229ea507a8ead749768b2d6c; bucket 0x61 comes first.
        let js_first_half = [0x61, 0x8c, 0xf3, 0x99, 0x22, 0x9e, 0xa5, 0x07];
        assert_eq!(
            super::hash_name(b"video-000123"),
            u64::from_be_bytes(js_first_half)
        );
    }
}
