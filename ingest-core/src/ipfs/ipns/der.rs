//! DER, just enough to take an RSA public key out of a PKIX `SubjectPublicKeyInfo` and size
//! its modulus.

/// DER: the content of the element at the head of `input` if its tag is `tag`, moving past it.
/// Only definite lengths of up to 2 length bytes (64 KiB), minimally encoded; an 8192-bit key is
/// about 1 KiB.
fn der<'a>(input: &mut &'a [u8], tag: u8) -> Option<&'a [u8]> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len0, rest) = rest.split_first()?;
    let (len, rest) = match len0 {
        0..=0x7f => (usize::from(len0), rest),
        0x81 => {
            let (&len, rest) = rest.split_first()?;
            (len >= 0x80).then_some((usize::from(len), rest))?
        }
        0x82 => {
            let (len, rest) = rest.split_first_chunk::<2>()?;
            let len = usize::from(u16::from_be_bytes(*len));
            (len >= 0x100).then_some((len, rest))?
        }
        _ => return None,
    };
    if len > rest.len() {
        return None;
    }
    let (content, rest) = rest.split_at(len);
    *input = rest;
    Some(content)
}

/// The `RSAPublicKey` inside a `SubjectPublicKeyInfo` whose algorithm is rsaEncryption
/// (RFC 5280 4.1, RFC 8017 A.1): `SEQUENCE { SEQUENCE { OID, NULL }, BIT STRING }`.
pub(super) fn rsa_public_key(spki: &[u8]) -> Option<&[u8]> {
    /// 1.2.840.113549.1.1.1, rsaEncryption.
    const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    let mut outer = spki;
    let mut info = der(&mut outer, 0x30)?;
    let mut algorithm = der(&mut info, 0x30)?;
    let key = der(&mut info, 0x03)?;
    if !outer.is_empty() || !info.is_empty() {
        return None;
    }
    if der(&mut algorithm, 0x06)? != RSA_ENCRYPTION {
        return None;
    }
    // The parameters are NULL (RFC 3279 2.3.1); tolerate their absence.
    if !algorithm.is_empty() && (!der(&mut algorithm, 0x05)?.is_empty() || !algorithm.is_empty()) {
        return None;
    }
    // A BIT STRING starts with its count of unused bits: 0 for a DER structure.
    match key.split_first()? {
        (0, rsa) => Some(rsa),
        _ => None,
    }
}

/// The size in bits of the modulus of an `RSAPublicKey` (`SEQUENCE { INTEGER n, INTEGER e }`).
/// ring checks the rest of the structure.
pub(super) fn rsa_modulus_bits(rsa: &[u8]) -> Option<usize> {
    let mut outer = rsa;
    let mut key = der(&mut outer, 0x30)?;
    let modulus = der(&mut key, 0x02)?;
    // A positive INTEGER may start with one zero byte.
    let modulus = match modulus {
        [0, rest @ ..] => rest,
        _ => modulus,
    };
    let (&top, rest) = modulus.split_first()?;
    (top != 0).then(|| rest.len() * 8 + (8 - top.leading_zeros() as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths() {
        assert_eq!(der(&mut &[0x04, 0x01, 7][..], 0x04), Some(&[7][..]));
        assert_eq!(der(&mut &[0x04, 0x01, 7][..], 0x05), None);
        assert_eq!(der(&mut &[0x04, 0x02, 7][..], 0x04), None);
        // Long forms must be minimal.
        assert_eq!(der(&mut &[0x04, 0x81, 0x01, 7][..], 0x04), None);
        let long = [&[0x04, 0x81, 0x80][..], &[0; 0x80]].concat();
        assert_eq!(der(&mut &long[..], 0x04).map(<[u8]>::len), Some(0x80));
        assert_eq!(der(&mut &[0x04, 0x82, 0x00, 0x80][..], 0x04), None);
        assert_eq!(der(&mut &[0x04, 0x83, 0, 0, 1][..], 0x04), None);
    }
}
