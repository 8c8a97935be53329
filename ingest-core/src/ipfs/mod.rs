//! Talking to IPFS (feature `http`): pushing archives and catalogues to a node over the Kubo RPC
//! API, asking pinning services to pin them, publishing a catalogue under an IPNS name, and
//! reading catalogues, records and files back from untrusted gateways and nodes.
//!
//! - [`rpc`]: a Kubo RPC API client ([`KuboRpc`]): `dag/import` streamed, `pin/ls`, `id`,
//!   `name/publish`; finds the API as kubo's own client does ([`find_api`]).
//! - [`pinning`]: an IPFS Pinning Service API client ([`PinningService`]): pin without
//!   duplicating, wait, replace a named pin.
//! - [`push()`]: what `ingest push` does: archives (their blocks derived from their files) and
//!   CARs (checked block by block before a byte leaves) to a node and a service.
//! - [`publish()`]: what `ingest publish` does: a catalogue pushed, then named.
//! - Reading from IPFS: [`Remote`] ([`remote`]) fetches blocks from trustless gateways
//!   ([`gateway`]) and nodes, checks each against its CID and keeps them in a bounded local
//!   [`cache`]; whole DAGs come as CAR streams ([`walk`]); [`ContentPath`]s (`/ipfs/…`,
//!   `/ipns/…`, [`path`]) are resolved by walking verified blocks ([`resolve`]); [`Source`]
//!   ([`blocks`]) is "a CAR file or IPFS", opened from what the user typed ([`open`]); records
//!   named by CID are fetched for a merge by [`fetch_records`].
//! - [`get()`]: what `ingest get` does: a verified download of a file or directory tree.
//! - [`ipns`]: IPNS names and signed records, verified as the IPNS Record spec says
//!   ([`verify_record`]).
//!
//! The clients are blocking (each upload runs a small runtime of its own): call them from
//! threads, not from inside an async runtime.
//!
//! Nothing unverified is sent: a node stores whatever blocks it is given (js-ipfs and Helia
//! keep a block whose bytes do not match its CID), so every block is checked here first. And
//! nothing unverified is read: every block from a gateway or a node is checked against its CID
//! before it is used, cached or written.

pub mod blocks;
pub mod cache;
pub mod gateway;
mod get;
pub mod ipns;
pub mod path;
pub mod pinning;
mod publish;
mod push;
pub mod records;
pub mod remote;
pub mod resolve;
pub mod routing;
pub mod rpc;
mod stream;
pub mod walk;

pub use blocks::{local, open, OpenSourceError, Source, SourceConfig};
pub use cache::{BlockCache, CacheError, DEFAULT_CACHE_SIZE};
pub use gateway::{FetchError, Gateway, GatewayOptions, Scope};
pub use get::{get, GetError, GetOptions, GetSummary, DEFAULT_MAX_ENTRIES};
pub use ipns::{verify_record, IpnsError, IpnsKey, IpnsKeyError, IpnsName, IpnsRecord, ValuePath};
pub use path::ContentPath;
pub use pinning::{
    PinAction, PinRequest, PinRequestStatus, PinStatus, PinningError, PinningOptions,
    PinningService, RemotePinned, Token,
};
pub use publish::{publish, PublishError, PublishOptions, PublishedCatalogue};
pub use push::{
    find_inputs, push, PushError, PushEvent, PushInput, PushOptions, PushStatus, Pushed,
};
pub use records::{fetch_records, RecordList};
pub use remote::{Endpoint, EndpointStats, Progress, Remote, RemoteOptions, SourceError};
pub use rpc::{
    find_api, Auth, ImportedRoot, KuboRpc, NodeId, NodeKey, Published, RpcError, RpcOptions,
};
