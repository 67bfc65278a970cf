//! The DER form of an ECDSA signature, as MLS's `ecdsa_secpXXXr1_shaXXX`
//! schemes carry it (RFC 9420 §5.1.2, RFC 8446 §4.2.3): `Ecdsa-Sig-Value
//! ::= SEQUENCE { r INTEGER, s INTEGER }` (RFC 3279 §2.2.3).
//!
//! Why not the `der` crate (through `ecdsa`'s `der` feature): its general
//! ASN.1 reader and writer, and their error texts, would add 5.0 KB to the
//! gzipped npm package, for one fixed shape of at most 72 bytes. The tests
//! hold this code to that crate's results.

use alloc::vec;
use alloc::vec::Vec;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;

/// The DER encoding of the signature `(r, s)`, each given big-endian in
/// the curve's scalar length (at most 66 bytes, P-521's).
pub(crate) fn encode(r: &[u8], s: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(2 * (3 + r.len()));
    for value in [r, s] {
        // Minimal two's complement: no leading zero bytes, except one
        // before a set top bit (the INTEGER would be negative otherwise).
        let start = value
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(value.len().saturating_sub(1));
        let digits = &value[start..];
        let pad = digits.first().is_none_or(|&b| b & 0x80 != 0);
        body.extend_from_slice(&[INTEGER, (digits.len() + usize::from(pad)) as u8]);
        if pad {
            body.push(0);
        }
        body.extend_from_slice(digits);
    }
    let mut out = Vec::with_capacity(3 + body.len());
    out.push(SEQUENCE);
    // At most 2 × 69 bytes: one length byte, after 0x81 from 128 on.
    if body.len() >= 0x80 {
        out.push(0x81);
    }
    out.push(body.len() as u8);
    out.extend_from_slice(&body);
    out
}

/// `r || s` (`scalar_len` bytes each, big-endian) of a DER signature;
/// `None` unless `der` is exactly one SEQUENCE of two minimally encoded,
/// non-negative INTEGERs that fit in `scalar_len` bytes. Whether they are
/// valid scalars is the signature type's check.
pub(crate) fn decode(der: &[u8], scalar_len: usize) -> Option<Vec<u8>> {
    let (body, rest) = element(der, SEQUENCE)?;
    let (r, body) = element(body, INTEGER)?;
    let (s, body) = element(body, INTEGER)?;
    if !rest.is_empty() || !body.is_empty() {
        return None;
    }
    let mut rs = vec![0u8; 2 * scalar_len];
    for (value, out) in [r, s].into_iter().zip(rs.chunks_exact_mut(scalar_len)) {
        let digits = unsigned(value)?;
        out.get_mut(scalar_len.checked_sub(digits.len())?..)?
            .copy_from_slice(digits);
    }
    Some(rs)
}

/// The content of the element with `tag` at the start of `bytes`, and what
/// follows it. Lengths below 128 in the short form, and from 128 to 255 as
/// `0x81` and one byte, as DER requires: every element here is shorter.
fn element(bytes: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (len, rest) = match bytes {
        [t, len, rest @ ..] if *t == tag && *len < 0x80 => (*len, rest),
        [t, 0x81, len, rest @ ..] if *t == tag && *len >= 0x80 => (*len, rest),
        _ => return None,
    };
    rest.split_at_checked(usize::from(len))
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
        decode(der, 32).and_then(|rs| Signature::from_slice(&rs).ok())
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
        assert!(decode(&sequence(&[&one, &one]), 32).is_some());
        // A negative INTEGER; a needless zero byte; an empty INTEGER.
        assert_eq!(decode(&sequence(&[&[0x02, 0x01, 0x81], &one]), 32), None);
        assert_eq!(decode(&sequence(&[&[0x02, 0x02, 0x00, 0x01], &one]), 32), None);
        assert_eq!(decode(&sequence(&[&[0x02, 0x00], &one]), 32), None);
        // The long form of a short length; bytes after the SEQUENCE.
        assert_eq!(decode(&[&[SEQUENCE, 0x81, 0x06][..], &one, &one].concat(), 32), None);
        assert_eq!(decode(&[sequence(&[&one, &one]), vec![0]].concat(), 32), None);
        // 33 bytes of magnitude.
        let big = [&[0x02, 0x21][..], &[0x7f; 33]].concat();
        assert_eq!(decode(&sequence(&[&big, &one]), 32), None);
    }
}
