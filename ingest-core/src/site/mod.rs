//! The catalogue as a website: static pages over the catalogue, themselves a UnixFS directory,
//! that anyone can open from any gateway with nothing but a browser.
//!
//! ```text
//! site/
//!   index.html  site.html  video.html  search.html   the pages (home, a site, a video, search)
//!   assets/app.js  assets/style.css                  their script and style
//!
//! The binary carries the script, the style, one page shell and each page's content; the
//! pages are the shell filled in with the site's title.
//!   README                                           what this is, for whoever lists the directory
//!   catalogue/                                       the catalogue, linked by CID (not copied)
//!   data/index.json                                  the title, the sites and their counts
//!   data/sites/<site>/<n>.json                       a site's listing, page n (newest first)
//!   data/search/<k>.json                             search shard k (see `search`)
//!   data/conflicts/<k>.json                          the other records of videos with several
//! ```
//!
//! Every URL in the pages is relative, so the site works under a path gateway
//! (`/ipfs/<root>/`), a subdomain gateway and `/ipns/<name>/`; a video plays from
//! `catalogue/<site>/<id>/<file>` with the gateway's range requests.
//!
//! **Deterministic.** The root depends only on the catalogue's root, the title and the version
//! of this library (the pages and the data formats are its own): [`build`] of the same
//! catalogue gives the same site on every machine. Files and directories are imported under
//! [`PROFILE`] whatever the catalogue's profile.
//!
//! **Incremental.** Listing pages have content-defined boundaries (`pages`), so new videos
//! rewrite only the pages they land on; the other pages are the same blocks. With a base (the
//! site of an earlier catalogue, made by this version), the entries of videos whose per-video
//! directory is unchanged come from the base's pages, and only new or changed records are
//! read: the result is the site a full build gives, byte for byte. The base is trusted to be
//! what this version made of some catalogue (its blocks are checked against their CIDs, not
//! its entries against records).
//!
//! **Bounded.** A page is at most [`MAX_PAGE`] videos and one block; a search word lists at
//! most [`search::CAP`] videos; a shard aims at [`search::SHARD_BYTES`]. The search index
//! covers titles, uploaders and the first [`MAX_LISTED_TAGS`] tags.

mod base;
mod build;
mod entry;
mod pages;
pub mod search;
pub mod words;

pub use base::SiteBase;
pub use build::{build, write_site_car, SiteOptions, SiteReport, BASE_SAMPLE};
pub use entry::MAX_LISTED_TAGS;
pub use pages::{MAX_PAGE, MAX_PAGE_BYTES, MIN_PAGE};

use crate::car::CarError;
use crate::catalogue::CatalogueError;
use crate::io::OutputError;
use crate::unixfs::dir::{DirError, EditError};
use crate::unixfs::{ImportError, Profile};

/// The profile the site's own files and directories are imported with.
pub const PROFILE: Profile = Profile::UNIXFS_V1_2025;

/// What made a site: written in `data/index.json`, and required of a base.
pub const GENERATOR: &str = concat!("ingest ", env!("CARGO_PKG_VERSION"));

/// The title of a site built without one.
pub const DEFAULT_TITLE: &str = "Video archive";

/// The longest title, in bytes.
pub const MAX_TITLE_LEN: usize = 256;

/// The script and the style, as the binary carries them: (path in the site, content).
pub const ASSETS: [(&str, &str); 2] = [
    ("assets/app.js", include_str!("assets/app.js")),
    ("assets/style.css", include_str!("assets/style.css")),
];

/// The pages: (file name, `data-page`, label, the content of `<main>` below its heading), each
/// rendered into one shell (`assets/page.html`) with the site's title by [`page_html`].
pub const PAGES: [(&str, &str, &str, &str); 4] = [
    (
        "index.html",
        "home",
        "",
        include_str!("assets/main/home.html"),
    ),
    (
        "site.html",
        "site",
        "Site",
        include_str!("assets/main/site.html"),
    ),
    (
        "video.html",
        "video",
        "Video",
        include_str!("assets/main/video.html"),
    ),
    (
        "search.html",
        "search",
        "Search",
        include_str!("assets/main/search.html"),
    ),
];

/// The shell every page shares: head, header, `<main>` and footer.
const PAGE_SHELL: &str = include_str!("assets/page.html");

/// The HTML of the page `page` (one of [`PAGES`]) of a site titled `title`: the shell with the
/// page's name, its label (the title, for the home page) and its content.
pub fn page_html(page: &(&str, &str, &str, &str), title: &str) -> String {
    let (_, name, label, main) = *page;
    let title = html_text(title);
    let label = if label.is_empty() {
        title.as_str()
    } else {
        label
    };
    PAGE_SHELL
        .replace("{{page}}", name)
        .replace("{{label}}", label)
        .replace("{{title}}", &title)
        .replace("{{main}}", main)
}

/// `text` as HTML text (and attribute values).
fn html_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A site could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SiteError {
    /// The catalogue could not be read.
    #[error("cannot read the catalogue")]
    Catalogue(#[source] CatalogueError),
    /// The base site could not be read.
    #[error("cannot read the base site")]
    Base(#[source] Box<EditError>),
    /// The base is not a site `ingest site` made.
    #[error("the base is not a site `ingest site` made: {0}")]
    BadBase(String),
    /// The base was made by another version.
    #[error("the base site was made by {generator}, not {GENERATOR}: build the site in full (without a base)")]
    BaseVersion {
        /// What made it.
        generator: String,
    },
    /// The title is too long or has a control character.
    #[error("the title is not usable: {0}")]
    Title(&'static str),
    /// A directory of the site could not be built (a site or id the catalogue holds cannot be a
    /// file name), or the output refused a block.
    #[error("cannot build the site's directory {path}")]
    Directory {
        /// The directory, in the site.
        path: String,
        /// The cause (boxed: it carries CIDs).
        #[source]
        source: Box<DirError>,
    },
    /// A file of the site could not be written to the output.
    #[error("cannot write the site's file {path}")]
    File {
        /// The file, in the site.
        path: String,
        /// The cause.
        #[source]
        source: Box<ImportError>,
    },
    /// The CAR could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The CAR.
        path: std::path::PathBuf,
        /// The cause (boxed: it carries CIDs).
        #[source]
        source: Box<CarError>,
    },
    /// The output could not be created or moved into place.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// Appends the JSON of `value` to `out`: the site's data are strings, numbers, lists and maps
/// with string keys, which always serialize.
pub(crate) fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    serde_json::to_writer(out, value)
        .expect("JSON of strings, numbers, lists and string-keyed maps");
}

impl SiteError {
    pub(crate) fn base(e: impl Into<EditError>) -> SiteError {
        SiteError::Base(Box::new(e.into()))
    }
}

impl From<CatalogueError> for SiteError {
    fn from(e: CatalogueError) -> Self {
        SiteError::Catalogue(e)
    }
}

impl From<EditError> for SiteError {
    fn from(e: EditError) -> Self {
        SiteError::Catalogue(CatalogueError::from(e))
    }
}

impl From<crate::unixfs::BlockError> for SiteError {
    fn from(e: crate::unixfs::BlockError) -> Self {
        SiteError::Catalogue(CatalogueError::from(e))
    }
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
