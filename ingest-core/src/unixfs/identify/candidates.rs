//! The settings [`super::identify_path`] tries, and how each is told to a user: a preset and the
//! fewest kubo-style flags on top of it that give the same parameters.
//!
//! The set is every combination of CID version {0, 1}, leaves {raw, dag-pb}, chunk size
//! {256 KiB, 1 MiB, and any given}, links per node {174, 1024} and, for directories, HAMT size
//! estimate {links-bytes, block-bytes}: the values of the three presets and of kubo's flags.
//! Combinations a profile refuses (a dag-pb leaf over 2 MiB) are left out, and two that give the
//! same parameters are one candidate. A file's DAG does not depend on the directory estimate,
//! so for a file the set is the distinct file parameters: 16 by default, 32 for a directory.

use std::fmt;

use crate::unixfs::profile::{CidVersion, DirSizeEstimate, Overrides, Profile};

/// Chunk sizes always tried: kubo's default (boxo `chunker.DefaultBlockSize`, 256 KiB) and
/// IPIP-0499 `unixfs-v1-2025`'s 1 MiB.
pub const DEFAULT_CHUNK_SIZES: [u32; 2] = [262_144, 1_048_576];

/// Links per internal file node tried: boxo's 174 (`helpers.DefaultLinksPerBlock`) and
/// IPIP-0499 `unixfs-v1-2025`'s 1024.
pub const MAX_LINKS: [u32; 2] = [174, 1024];

/// One setting tried: the parameters of a [`Profile`], told as a preset and the fewest flags
/// (`--cid-version`, `--raw-leaves`, `--chunker`, `--max-links`) that turn the preset into it,
/// as `ingest add` and kubo's `ipfs add` take them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    profile: Profile,
    preset: Profile,
    overrides: Overrides,
}

impl Candidate {
    /// The parameters: `preset().with_overrides(overrides())`.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The preset the flags apply to.
    pub fn preset(&self) -> &Profile {
        &self.preset
    }

    /// The flags, as overrides of [`Candidate::preset`].
    pub fn overrides(&self) -> &Overrides {
        &self.overrides
    }

    /// The flags as command-line words, e.g. `["--cid-version", "1", "--raw-leaves=false",
    /// "--chunker", "size-1048576", "--max-links", "174"]`; empty for a preset alone.
    pub fn flags(&self) -> Vec<String> {
        let o = &self.overrides;
        let mut flags = Vec::new();
        if let Some(v) = o.cid_version {
            flags.push("--cid-version".to_owned());
            flags.push(version_number(v).to_string());
        }
        match o.raw_leaves {
            Some(true) => flags.push("--raw-leaves".to_owned()),
            Some(false) => flags.push("--raw-leaves=false".to_owned()),
            None => {}
        }
        if let Some(size) = o.chunk_size {
            flags.push("--chunker".to_owned());
            flags.push(format!("size-{size}"));
        }
        if let Some(links) = o.max_links {
            flags.push("--max-links".to_owned());
            flags.push(links.to_string());
        }
        flags
    }

    /// What sorts the simplest description first: the fewest flags, then a preset of the same
    /// CID version (`unixfs-v0-2015 with --chunker size-1048576` before `unixfs-v1-2025 with
    /// --cid-version 0` when links make no difference), then the preset order.
    pub(super) fn simplicity(&self) -> (usize, bool, usize) {
        (
            self.flag_count(),
            self.preset.cid_version() != self.profile.cid_version(),
            self.preset_rank(),
        )
    }

    /// How many flags it takes.
    fn flag_count(&self) -> usize {
        let o = &self.overrides;
        usize::from(o.cid_version.is_some())
            + usize::from(o.raw_leaves.is_some())
            + usize::from(o.chunk_size.is_some())
            + usize::from(o.max_links.is_some())
    }

    /// The preset's position in [`Profile::PRESETS`].
    fn preset_rank(&self) -> usize {
        Profile::PRESETS
            .iter()
            .position(|p| p.name() == self.preset.name())
            .unwrap_or(usize::MAX)
    }
}

/// `profile NAME`, or `profile NAME with FLAGS`.
impl fmt::Display for Candidate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "profile {}", self.preset.name())?;
        let flags = self.flags();
        if !flags.is_empty() {
            write!(f, " with {}", flags.join(" "))?;
        }
        Ok(())
    }
}

pub(super) fn version_number(v: CidVersion) -> u8 {
    match v {
        CidVersion::V0 => 0,
        CidVersion::V1 => 1,
    }
}

/// Whether `a` and `b` build the same file DAG from the same bytes.
pub(super) fn same_file_parameters(a: &Profile, b: &Profile) -> bool {
    a.cid_version() == b.cid_version()
        && a.raw_leaves() == b.raw_leaves()
        && a.chunk_size() == b.chunk_size()
        && a.max_links() == b.max_links()
}

/// Whether `a` and `b` build the same DAG from the same tree.
fn same_parameters(a: &Profile, b: &Profile) -> bool {
    same_file_parameters(a, b)
        && a.dir_size_estimate() == b.dir_size_estimate()
        && a.hamt_threshold() == b.hamt_threshold()
        && a.hamt_fanout() == b.hamt_fanout()
}

/// The simplest description of `wanted`: over the presets (only those with its directory
/// estimate unless `file_only`) and every subset of flags, the fewest flags, then the earliest
/// preset.
fn describe(wanted: &Profile, file_only: bool) -> Option<Candidate> {
    let versions = [None, Some(CidVersion::V0), Some(CidVersion::V1)];
    let raws = [None, Some(true), Some(false)];
    let chunks = [None, Some(wanted.chunk_size() as u32)];
    let links = [None, Some(wanted.max_links() as u32)];
    let mut best: Option<Candidate> = None;
    for preset in Profile::PRESETS {
        if !file_only && preset.dir_size_estimate() != wanted.dir_size_estimate() {
            continue;
        }
        for cid_version in versions {
            for raw_leaves in raws {
                for chunk_size in chunks {
                    for max_links in links {
                        let overrides = Overrides {
                            cid_version,
                            raw_leaves,
                            chunk_size,
                            max_links,
                        };
                        let Ok(profile) = preset.with_overrides(&overrides) else {
                            continue;
                        };
                        let same = if file_only {
                            same_file_parameters(&profile, wanted)
                        } else {
                            same_parameters(&profile, wanted)
                        };
                        if !same {
                            continue;
                        }
                        let c = Candidate {
                            profile,
                            preset: preset.clone(),
                            overrides,
                        };
                        let better = best
                            .as_ref()
                            .is_none_or(|b| c.simplicity() < b.simplicity());
                        if better {
                            best = Some(c);
                        }
                    }
                }
            }
        }
    }
    best
}

/// Every candidate for a file (`file_only`: distinct file parameters) or a directory, with the
/// chunk sizes of [`DEFAULT_CHUNK_SIZES`] and `extra_chunk_sizes`. Sizes a profile refuses for
/// every leaf encoding make no candidate (the caller checks them first).
pub(super) fn candidates(extra_chunk_sizes: &[u32], file_only: bool) -> Vec<Candidate> {
    let mut chunk_sizes: Vec<u32> = DEFAULT_CHUNK_SIZES
        .iter()
        .chain(extra_chunk_sizes)
        .copied()
        .collect();
    chunk_sizes.sort_unstable();
    chunk_sizes.dedup();
    let estimates: &[DirSizeEstimate] = if file_only {
        &[DirSizeEstimate::LinksBytes]
    } else {
        &[DirSizeEstimate::LinksBytes, DirSizeEstimate::BlockBytes]
    };
    let mut out: Vec<Candidate> = Vec::new();
    for &estimate in estimates {
        // The parameters wanted, as a preset with that estimate and every flag set.
        let Some(base) = Profile::PRESETS
            .into_iter()
            .find(|p| p.dir_size_estimate() == estimate)
        else {
            continue;
        };
        for version in [CidVersion::V0, CidVersion::V1] {
            for raw in [false, true] {
                for &chunk in &chunk_sizes {
                    for links in MAX_LINKS {
                        let all = Overrides {
                            cid_version: Some(version),
                            raw_leaves: Some(raw),
                            chunk_size: Some(chunk),
                            max_links: Some(links),
                        };
                        let Ok(wanted) = base.with_overrides(&all) else {
                            continue;
                        };
                        if let Some(c) = describe(&wanted, file_only) {
                            let seen = out.iter().any(|o| {
                                if file_only {
                                    same_file_parameters(&o.profile, &c.profile)
                                } else {
                                    same_parameters(&o.profile, &c.profile)
                                }
                            });
                            if !seen {
                                out.push(c);
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(set: &[Candidate], v: CidVersion, raw: bool, chunk: usize, links: usize) -> &Candidate {
        set.iter()
            .find(|c| {
                let p = c.profile();
                p.cid_version() == v
                    && p.raw_leaves() == raw
                    && p.chunk_size() == chunk
                    && p.max_links() == links
            })
            .expect("a candidate with these parameters")
    }

    #[test]
    fn the_default_set_has_16_file_and_32_directory_settings() {
        assert_eq!(candidates(&[], true).len(), 16);
        assert_eq!(candidates(&[], false).len(), 32);
        // A repeated or default size adds nothing; a new one adds a row of each.
        assert_eq!(candidates(&[262_144, 262_144], true).len(), 16);
        assert_eq!(candidates(&[4096], true).len(), 24);
        // 2 MiB chunks are valid for raw leaves only: a dag-pb leaf would pass 2 MiB.
        assert_eq!(candidates(&[2 << 20], true).len(), 20);
    }

    #[test]
    fn presets_are_told_by_name_alone() {
        let set = candidates(&[], false);
        for preset in Profile::PRESETS {
            let c = set
                .iter()
                .find(|c| same_parameters(c.profile(), &preset))
                .expect("every preset is a candidate");
            assert_eq!(c.to_string(), format!("profile {}", preset.name()));
            assert!(c.flags().is_empty());
        }
    }

    #[test]
    fn overrides_are_the_fewest_flags_that_give_the_parameters() {
        let files = candidates(&[], true);
        let c = find(&files, CidVersion::V1, false, 1 << 20, 174);
        assert_eq!(
            c.to_string(),
            "profile unixfs-v1-2025 with --raw-leaves=false --max-links 174"
        );
        let c = find(&files, CidVersion::V0, false, 1 << 20, 174);
        assert_eq!(
            c.to_string(),
            "profile unixfs-v0-2015 with --chunker size-1048576"
        );
        let c = find(&files, CidVersion::V0, true, 262_144, 174);
        assert_eq!(c.to_string(), "profile unixfs-v0-2015 with --raw-leaves");
        // In a directory the estimate counts: links-bytes with 1 MiB chunks and 1024 links is
        // kubo-cidv1 with two flags, not unixfs-v1-2025.
        let dirs = candidates(&[], false);
        let c = dirs
            .iter()
            .find(|c| {
                let p = c.profile();
                p.dir_size_estimate() == DirSizeEstimate::LinksBytes
                    && p.cid_version() == CidVersion::V1
                    && p.raw_leaves()
                    && p.chunk_size() == 1 << 20
                    && p.max_links() == 1024
            })
            .unwrap();
        assert_eq!(
            c.to_string(),
            "profile kubo-cidv1 with --chunker size-1048576 --max-links 1024"
        );
    }

    #[test]
    fn every_description_reproduces_its_parameters() {
        for c in candidates(&[4096, 2 << 20], false) {
            let again = c.preset().with_overrides(c.overrides()).unwrap();
            assert!(same_parameters(&again, c.profile()), "{c}");
        }
    }
}
