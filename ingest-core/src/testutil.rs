//! What the unit tests of several modules share.

/// Edits for [`mutate`]: (where, a byte, what: 0 flip, 1 cut, 2 insert).
pub(crate) type Edits = Vec<(usize, u8, u8)>;

/// Applies adversarial edits to valid bytes: flips a byte, cuts the rest, or splices one in.
pub(crate) fn mutate(bytes: &mut Vec<u8>, edits: &Edits) {
    for &(at, byte, kind) in edits {
        let at = at % (bytes.len() + 1);
        match kind {
            0 if at < bytes.len() => bytes[at] ^= byte | 1,
            1 => bytes.truncate(at),
            _ => bytes.insert(at, byte),
        }
    }
}

/// The vectors' content generator (`fixtures/vectors/README.md`): SHA-256(seed ‖ u64le(i)) for
/// i = 0, 1, …, truncated to `size` bytes.
pub(crate) fn vector_content(seed: &str, size: usize) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut out = Vec::with_capacity(size + 32);
    let mut i = 0u64;
    while out.len() < size {
        let mut h = Sha256::new();
        h.update(seed.as_bytes());
        h.update(i.to_le_bytes());
        out.extend_from_slice(&h.finalize());
        i += 1;
    }
    out.truncate(size);
    out
}
