//! The DER form of an ECDSA signature, as MLS's `ecdsa_secp256r1_sha256`
//! carries it (RFC 9420 §5.1.2, RFC 8446 §4.2.3): `Ecdsa-Sig-Value ::=
//! SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 §2.2.3).
//!
//! Why not the `der` crate (through `ecdsa`'s `der` feature): its general
//! ASN.1 reader and writer, and their error texts, would add 5.0 KB to the
//! gzipped npm package, for one fixed shape of at most 72 bytes. The tests
//! hold this code to that crate's results.

use alloc::vec::Vec;

/// The bytes of each of `r` and `s` (P-256 scalars).
const SCALAR_LEN: usize = 32;
const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;

/// The DER encoding of the signature `(r, s)`, each given as 32 bytes
/// big-endian.
pub(crate) fn encode(r: &[u8], s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + 2 * (3 + SCALAR_LEN));
    out.extend_from_slice(&[SEQUENCE, 0]);
    for value in [r, s] {
        // Minimal two's complement: no leading zero bytes, except one
        // before a set top bit (the INTEGER would be negative otherwise).
        let start = value
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(value.len().saturating_sub(1));
        let digits = &value[start..];
        let pad = digits.first().is_none_or(|&b| b & 0x80 != 0);
        out.extend_from_slice(&[INTEGER, (digits.len() + usize::from(pad)) as u8]);
        if pad {
            out.push(0);
        }
        out.extend_from_slice(digits);
    }
    // At most 2 × 35 bytes: the short form of the length.
    out[1] = (out.len() - 2) as u8;
    out
}

/// `r || s` (32 bytes each, big-endian) of a DER signature; `None` unless
/// `der` is exactly one SEQUENCE of two minimally encoded, non-negative
/// INTEGERs that fit in 32 bytes. Whether they are valid scalars is the
/// signature type's check.
pub(crate) fn decode(der: &[u8]) -> Option<[u8; 2 * SCALAR_LEN]> {
    let (body, rest) = element(der, SEQUENCE)?;
    let (r, body) = element(body, INTEGER)?;
    let (s, body) = element(body, INTEGER)?;
    if !rest.is_empty() || !body.is_empty() {
        return None;
    }
    let mut rs = [0u8; 2 * SCALAR_LEN];
    for (value, out) in [r, s].into_iter().zip(rs.chunks_exact_mut(SCALAR_LEN)) {
        let digits = unsigned(value)?;
        out.get_mut(SCALAR_LEN.checked_sub(digits.len())?..)?
            .copy_from_slice(digits);
    }
    Some(rs)
}

/// The content of the element with `tag` at the start of `bytes`, and what
/// follows it. Only the short form of the length: every element here is
/// under 128 bytes, and DER encodes such lengths in the short form.
fn element(bytes: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match bytes {
        [t, len, rest @ ..] if *t == tag && *len < 0x80 && rest.len() >= usize::from(*len) => {
            Some(rest.split_at(usize::from(*len)))
        }
        _ => None,
    }
}

/// The magnitude of a minimally encoded, non-negative INTEGER's content.
fn unsigned(content: &[u8]) -> Option<&[u8]> {
    match content {
        [] => None,
        [first, ..] if first & 0x80 != 0 => None,
        // A zero byte is there only to keep the next byte's top bit from
        // reading as a sign.
        [0, next, ..] if next & 0x80 == 0 => None,
        [0, rest @ ..] if !rest.is_empty() => Some(rest),
        _ => Some(content),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::Signature;
    use proptest::prelude::*;

    /// A scalar of 32 bytes whose first `zeros` bytes are zero (short
    /// INTEGERs) and, if none are, whose top bit is `high` (padded
    /// INTEGERs; after zeros the first byte left is random).
    fn scalar() -> impl Strategy<Value = [u8; 32]> {
        (any::<[u8; 32]>(), 0usize..32, any::<bool>()).prop_map(|(mut b, zeros, high)| {
            b[0] = if high { b[0] | 0x80 } else { b[0] & 0x7f };
            b[..zeros].fill(0);
            b
        })
    }

    fn signature() -> impl Strategy<Value = Signature> {
        (scalar(), scalar()).prop_filter_map("not a valid scalar pair", |(r, s)| {
            Signature::from_slice(&[r, s].concat()).ok()
        })
    }

    /// Our decoding, then the signature type's scalar checks.
    fn ours(der: &[u8]) -> Option<Signature> {
        decode(der).and_then(|rs| Signature::from_slice(&rs).ok())
    }

    proptest! {
        #[test]
        fn encodes_as_the_der_crate(sig in signature()) {
            let rs = sig.to_bytes();
            let der = encode(&rs[..32], &rs[32..]);
            let theirs = sig.to_der();
            prop_assert_eq!(&der[..], theirs.as_bytes());
            prop_assert_eq!(ours(&der), Some(sig));
        }

        /// Every change to a valid encoding is accepted or refused as the
        /// `der` crate does, with the same result.
        #[test]
        fn decodes_as_the_der_crate(
            sig in signature(),
            edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..4), 1..4),
        ) {
            let mut der = sig.to_der().as_bytes().to_vec();
            for (at, byte, kind) in edits {
                let i = at.index(der.len() + 1);
                match kind {
                    0 if i < der.len() => der[i] = byte,
                    1 => der.insert(i, byte),
                    2 if i < der.len() => { der.remove(i); }
                    _ => der.truncate(i),
                }
            }
            prop_assert_eq!(ours(&der), Signature::from_der(&der).ok());
        }
    }

    #[test]
    fn refuses_what_der_forbids() {
        let one = [0x02, 0x01, 0x01];
        let sequence = |parts: &[&[u8]]| {
            let body = parts.concat();
            [&[SEQUENCE, body.len() as u8][..], &body].concat()
        };
        assert!(decode(&sequence(&[&one, &one])).is_some());
        // A negative INTEGER; a needless zero byte; an empty INTEGER.
        assert_eq!(decode(&sequence(&[&[0x02, 0x01, 0x81], &one])), None);
        assert_eq!(decode(&sequence(&[&[0x02, 0x02, 0x00, 0x01], &one])), None);
        assert_eq!(decode(&sequence(&[&[0x02, 0x00], &one])), None);
        // The long form of a short length; bytes after the SEQUENCE.
        assert_eq!(decode(&[&[SEQUENCE, 0x81, 0x06][..], &one, &one].concat()), None);
        assert_eq!(decode(&[sequence(&[&one, &one]), vec![0]].concat()), None);
        // 33 bytes of magnitude.
        let big = [&[0x02, 0x21][..], &[0x7f; 33]].concat();
        assert_eq!(decode(&sequence(&[&big, &one])), None);
    }
}
