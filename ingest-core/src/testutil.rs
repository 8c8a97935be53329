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
