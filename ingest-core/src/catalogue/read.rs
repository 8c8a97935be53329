//! Reading a catalogue: its videos, and the record of each. No profile is needed.

use std::path::Path;

use cid::Cid;

use super::{CatalogueError, CONFLICTS_DIR};
use crate::archive::{Record, RecordError, RECORD_FILE_NAME};
use crate::car::{CarError, CarIndex};
use crate::unixfs::block::{cid_of, decode_dir, single_block_file, DAG_CBOR};
use crate::unixfs::blocks::{need, BlockSource};
use crate::unixfs::profile::CidVersion;
use crate::unixfs::read as dir;

/// A catalogue CAR opened for reading: its blocks indexed, its one root.
#[derive(Debug)]
pub struct Catalogue {
    /// The blocks.
    pub blocks: CarIndex,
    /// The catalogue's root directory.
    pub root: Cid,
}

/// A catalogue CAR could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The CAR could not be read.
    #[error("cannot read the catalogue {path}")]
    Car {
        /// The CAR.
        path: std::path::PathBuf,
        /// The cause (boxed: it carries CIDs).
        #[source]
        source: Box<CarError>,
    },
    /// The CAR does not name exactly one root.
    #[error("the catalogue {path} names {roots} roots, not one")]
    Roots {
        /// The CAR.
        path: std::path::PathBuf,
        /// How many it names.
        roots: usize,
    },
}

impl Catalogue {
    /// Indexes the catalogue CAR at `path`.
    pub fn open(path: &Path) -> Result<Catalogue, OpenError> {
        let blocks = CarIndex::open(path).map_err(|source| OpenError::Car {
            path: path.to_owned(),
            source: Box::new(source),
        })?;
        let [root] = blocks.roots() else {
            return Err(OpenError::Roots {
                path: path.to_owned(),
                roots: blocks.roots().len(),
            });
        };
        let root = *root;
        Ok(Catalogue { blocks, root })
    }

    /// Every video at `<site>/<id>` (conflicts aside), in name order: see [`videos`].
    pub fn videos(&mut self, site: Option<&str>) -> Result<Vec<CatalogueVideo>, CatalogueError> {
        videos(&mut self.blocks, &self.root, site)
    }

    /// The record of a video the catalogue lists, checked to be that video's: see
    /// [`video_record`].
    pub fn record(&mut self, video: &CatalogueVideo) -> Result<(Cid, Record), CatalogueError> {
        video_record(&mut self.blocks, video)
    }
}

/// The bytes of `record.cbor` in a per-video directory.
fn record_bytes<Src: BlockSource + ?Sized>(
    src: &mut Src,
    directory: &Cid,
) -> Result<Vec<u8>, CatalogueError> {
    let block = need(src, directory)?;
    let link = record_link(directory, &block)?;
    let leaf = need(src, &link)?;
    record_file_content(directory, &link, &leaf)
}

fn bad_directory(directory: &Cid, reason: &str) -> CatalogueError {
    CatalogueError::BadVideoDirectory {
        directory: directory.to_string(),
        reason: reason.to_owned(),
    }
}

/// The CID of `record.cbor` in the per-video directory `directory`, whose block is `block`.
pub(crate) fn record_link(directory: &Cid, block: &[u8]) -> Result<Cid, CatalogueError> {
    let node = decode_dir(block).map_err(|e| bad_directory(directory, e.0))?;
    node.links
        .iter()
        .find(|l| l.name == RECORD_FILE_NAME)
        .map(|l| l.cid)
        .ok_or_else(|| bad_directory(directory, "no record.cbor entry"))
}

/// The content of `record.cbor` (CID `link`, block `leaf`) of the per-video directory
/// `directory`.
pub(crate) fn record_file_content(
    directory: &Cid,
    link: &Cid,
    leaf: &[u8],
) -> Result<Vec<u8>, CatalogueError> {
    single_block_file(link.codec(), leaf)
        .ok_or_else(|| bad_directory(directory, "record.cbor is not a one-block file"))
}

/// The CID of the record in the per-video directory at `<site>/<id>`, checked to be the
/// record of that video.
pub(super) fn record_cid_at<Src: BlockSource + ?Sized>(
    src: &mut Src,
    directory: &Cid,
    site: &str,
    id: &str,
) -> Result<Cid, CatalogueError> {
    let video = CatalogueVideo {
        site: site.to_owned(),
        id: id.to_owned(),
        directory: *directory,
    };
    Ok(video_record(src, &video)?.0)
}

/// One video of a catalogue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueVideo {
    /// The site.
    pub site: String,
    /// The id.
    pub id: String,
    /// Its per-video directory.
    pub directory: Cid,
}

/// Every video at `<site>/<id>` of the catalogue `root` (conflicts aside), in name order.
/// Reads the root and the site directories only.
pub fn videos<Src: BlockSource + ?Sized>(
    src: &mut Src,
    root: &Cid,
    site: Option<&str>,
) -> Result<Vec<CatalogueVideo>, CatalogueError> {
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (name, site_dir, _) in dir::list(src, root)? {
        if name == CONFLICTS_DIR || site.is_some_and(|s| s != name) {
            continue;
        }
        // Two sites sharing one directory would list every video of it under both names.
        if !seen.insert(site_dir) {
            return Err(CatalogueError::BadVideoDirectory {
                directory: site_dir.to_string(),
                reason: format!("it is linked again, as site {name}"),
            });
        }
        for (id, directory, _) in dir::list(src, &site_dir)? {
            out.push(CatalogueVideo {
                site: name.clone(),
                id,
                directory,
            });
        }
    }
    Ok(out)
}

/// The record of the video `video` lists, and its CID, checked to be the record of that site
/// and id: a directory that holds another video's record makes the catalogue malformed (an
/// error naming the directory), never a video counted as archived.
pub fn video_record<Src: BlockSource + ?Sized>(
    src: &mut Src,
    video: &CatalogueVideo,
) -> Result<(Cid, Record), CatalogueError> {
    let bytes = record_bytes(src, &video.directory)?;
    record_of(video, &bytes)
}

/// The record `bytes` (the content of `record.cbor` in `video`'s directory) and its CID,
/// checked to be the record of `video`'s site and id.
pub(crate) fn record_of(
    video: &CatalogueVideo,
    bytes: &[u8],
) -> Result<(Cid, Record), CatalogueError> {
    let (cid, record) = decode_record(&video.directory, bytes)?;
    if (record.source.site.as_str(), record.source.id.as_str())
        != (video.site.as_str(), video.id.as_str())
    {
        return Err(CatalogueError::BadVideoDirectory {
            directory: video.directory.to_string(),
            reason: format!(
                "it is at {}/{} but holds the record of {}/{}",
                video.site, video.id, record.source.site, record.source.id
            ),
        });
    }
    Ok((cid, record))
}

/// The record of a per-video directory, and its CID.
pub fn read_video_record<Src: BlockSource + ?Sized>(
    src: &mut Src,
    directory: &Cid,
) -> Result<(Cid, Record), CatalogueError> {
    let bytes = record_bytes(src, directory)?;
    decode_record(directory, &bytes)
}

fn decode_record(directory: &Cid, bytes: &[u8]) -> Result<(Cid, Record), CatalogueError> {
    let record =
        Record::decode(bytes).map_err(|e: RecordError| CatalogueError::BadVideoDirectory {
            directory: directory.to_string(),
            reason: e.to_string(),
        })?;
    Ok((cid_of(CidVersion::V1, DAG_CBOR, bytes), record))
}
