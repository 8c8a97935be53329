//! What the tests of the IPNS modules share: the records of `fixtures/ipns/` and times.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::IpnsName;

/// `fixtures/ipns/`: records made by the JavaScript reference implementation (`make.mjs`).
pub(super) fn fixture(file: &str) -> Vec<u8> {
    let path = format!("{}/../fixtures/ipns/{file}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(super) fn vectors() -> Vec<serde_json::Value> {
    let json: serde_json::Value =
        serde_json::from_slice(&fixture("vectors.json")).expect("vectors.json parses");
    json["records"].as_array().expect("records").clone()
}

pub(super) fn name_a() -> IpnsName {
    let v = &vectors()[0];
    IpnsName::parse(v["name_k51"].as_str().unwrap()).unwrap()
}

/// Seconds since 1970 (GNU `date -u -d … +%s` gave the values in the tests).
pub(super) fn at(seconds: i64) -> SystemTime {
    if seconds >= 0 {
        UNIX_EPOCH + Duration::from_secs(seconds as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(seconds.unsigned_abs())
    }
}

/// 2025-11-30, between the fixtures' past (2020) and future (2126) validities.
pub(super) fn today() -> SystemTime {
    at(1_764_460_800)
}
