//! A real trustless gateway for the network tests: Helia 7 + `@helia/verified-fetch` 8 over a
//! filesystem blockstore, fully offline (no libp2p, no routers, no DNS), started, filled and
//! stopped by `tests/helia-gateway.sh` ([`HeliaGateway`]).
//!
//! Like the components of [`crate::ipfs`], it runs only in a private network namespace
//! (`tests/netns.sh`) and is stopped by its PID when dropped. What it answers, as verified-fetch
//! 8.0.4 does:
//!
//! - `Accept: application/vnd.ipld.raw`: the block's bytes (`Content-Type:
//!   application/vnd.ipld.raw`, `X-Ipfs-Roots`, Range honoured); a block it lacks: 412 at once.
//! - `Accept: application/vnd.ipld.car`: a CARv1 (`Content-Type: application/vnd.ipld.car;
//!   version=1; order=unk; dups=y`, or `order=dfs; dups=n` when asked, no `X-Ipfs-Roots`)
//!   whose header root is the CID the path ends at; for `/ipfs/ROOT/a/b` the blocks along the
//!   path come first, then the target's. `dag-scope=block|entity|all` (default all) and
//!   `entity-bytes` are honoured; the `format` query is not. A block missing while the CAR
//!   streams (the root included: the status is 200 by then) cuts the response: the chunked body
//!   ends without its last chunk.
//! - `GET /ipns/NAME` with `Accept: application/vnd.ipfs.ipns-record`: the record stored by
//!   [`HeliaGateway::publish`], byte for byte (404 when there is none); `/ipns/NAME/...` resolves
//!   from that record.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::ipfs::{curl_bytes, require_private_network};

/// Runs `tests/helia-gateway.sh ARGS`, and returns its `key=value` lines.
fn script(args: &[&str]) -> HashMap<String, String> {
    crate::ipfs::script("helia-gateway.sh", args)
}

/// A trustless gateway on 127.0.0.1 over the blocks and IPNS records in its directory; stopped
/// when dropped.
#[derive(Debug)]
pub struct HeliaGateway {
    dir: PathBuf,
    /// Its URL (`http://127.0.0.1:P`), to which `/ipfs/...` and `/ipns/...` are appended.
    pub url: String,
    /// The server's PID.
    pub pid: u32,
}

impl HeliaGateway {
    /// Starts a gateway whose blocks (`dir/blocks`), IPNS records (`dir/ipns`), keys and log
    /// are in `dir` (what is already there is served).
    pub fn start(dir: &Path) -> HeliaGateway {
        require_private_network();
        let env = script(&["start", path_str(dir)]);
        HeliaGateway {
            dir: dir.to_owned(),
            url: env["gateway"].clone(),
            pid: env["pid"].parse().unwrap(),
        }
    }

    /// Its directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Imports every block of the CAR `car` (served at once, no restart needed) and returns the
    /// roots of its header. Panics if any block is not sha2-256 or does not hash to its CID
    /// (then nothing is imported).
    pub fn import(&self, car: &Path) -> Vec<String> {
        let env = script(&["import", path_str(&self.dir), path_str(car)]);
        env["roots"]
            .split(',')
            .filter(|r| !r.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Publishes a signed IPNS record `/ipfs/<cid>` valid for `validity` (whole seconds, at
    /// least one), under the gateway's own Ed25519 key, its sequence one above the previous
    /// one's. Returns the name in both forms: the base36 libp2p-key CID (`k51…`) and the
    /// base58btc peer id (`12D3Koo…`).
    pub fn publish(&self, cid: &str, validity: Duration) -> (String, String) {
        let seconds = validity.as_secs().max(1).to_string();
        let env = script(&["publish", path_str(&self.dir), cid, &seconds]);
        (env["name"].clone(), env["peer"].clone())
    }

    /// `GET <url><path>` with `Accept: <accept>` (curl's `*/*` when `None`): the status and
    /// the body's bytes.
    pub fn get(&self, path: &str, accept: Option<&str>) -> (u16, Vec<u8>) {
        let url = format!("{}{path}", self.url);
        match accept {
            Some(accept) => curl_bytes(&["-H", &format!("Accept: {accept}"), &url]),
            None => curl_bytes(&[&url]),
        }
    }
}

impl Drop for HeliaGateway {
    fn drop(&mut self) {
        script(&["stop", path_str(&self.dir)]);
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}
