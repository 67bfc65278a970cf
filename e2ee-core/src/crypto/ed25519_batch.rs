//! Batch verification of Ed25519 signatures that accepts what one-by-one
//! strict verification (`ed25519_dalek::VerifyingKey::verify_strict`)
//! accepts, and single verification on the same checks with a key decoded
//! once ([`PreparedKey`]). The batch is the `batch-verify` feature's (on by
//! default; the npm package leaves it out for size).
//!
//! One signature `(R, s)` by key `A` on message `M` is valid when
//! `[s]B = R + [h]A` with `h = SHA-512(R || A || M) mod ℓ`. A batch checks
//! one random linear combination of these equations,
//! `[Σ z_i s_i]B = Σ [z_i]R_i + Σ [z_i h_i]A_i`, with a single multiscalar
//! multiplication, which costs much less than n separate verifications.
//!
//! Strict verification rejects more than the equation does: `s` must be
//! reduced, `R` must be the canonical encoding of a curve point, and
//! neither `R` nor `A` may be of small order (a small-order key makes
//! signatures that verify for many messages). Every item is checked for all
//! of that first; the batch equation runs only if every item passes.
//!
//! The coefficients `z_i` are 128-bit values derived by hashing every input
//! of the batch, so nobody can choose signatures after seeing them (as in
//! ed25519-dalek's own `verify_batch`).
//!
//! One difference remains, inherent to checking a combination rather than
//! each equation: if some `R_i` or `A_i` has a component in the small
//! (torsion) subgroup while not being of small order itself, several
//! signatures that each fail the strict equation only in that component
//! can cancel out in the sum. Honestly generated keys and signatures never
//! have such components; they take deliberately crafted inputs, and
//! excluding them would cost a scalar multiplication per point, as much as
//! verifying one by one.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest, Sha512};

#[cfg(feature = "batch-verify")]
pub(super) use batch::verify_batch;

/// An Ed25519 public key decoded once, for verifying many signatures one at
/// a time (a sender's messages).
pub(super) struct PreparedKey {
    bytes: [u8; 32],
    point: EdwardsPoint,
    /// Strict verification rejects every signature under such a key.
    small_order: bool,
}

impl PreparedKey {
    /// `None` unless `bytes` encodes a curve point (as `VerifyingKey::from_bytes`).
    pub(super) fn new(bytes: &[u8]) -> Option<Self> {
        let bytes: [u8; 32] = bytes.try_into().ok()?;
        let point = CompressedEdwardsY(bytes).decompress()?;
        Some(Self {
            bytes,
            point,
            small_order: has_small_order(&bytes),
        })
    }

    /// Whether `signature` on `message` passes strict verification: the
    /// encoding rules, then `[s]B - [h]A = R`. `verify_strict` compares the
    /// left side's encoding with R's; here the points are compared, which
    /// saves the encoding's field inversion. For a canonical R that is not
    /// of small order (checked first), the two comparisons agree.
    pub(super) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        if self.small_order {
            return false;
        }
        let Some((r, r_bytes, s)) = parse_signature(signature) else {
            return false;
        };
        let h = challenge(&r_bytes, &self.bytes, message);
        EdwardsPoint::vartime_double_scalar_mul_basepoint(&h, &-self.point, &s) == r
    }
}

/// `R` (decoded and encoded) and `s` of a signature, if it obeys strict
/// verification's encoding rules: `s` reduced, `R` the canonical encoding
/// of a curve point that is not of small order.
fn parse_signature(signature: &[u8]) -> Option<(EdwardsPoint, [u8; 32], Scalar)> {
    let signature: &[u8; 64] = signature.try_into().ok()?;
    let (r_bytes, s_bytes) = signature.split_at(32);
    let r_bytes: [u8; 32] = r_bytes.try_into().ok()?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes.try_into().ok()?))?;
    // Strict verification compares the recomputed R by its (canonical)
    // encoding, so a non-canonical R never verifies.
    if !below_p(&r_bytes) {
        return None;
    }
    let r = CompressedEdwardsY(r_bytes).decompress()?;
    if has_small_order(&r_bytes) {
        return None;
    }
    Some((r, r_bytes, s))
}

/// `h = SHA-512(R || A || M) mod ℓ`.
fn challenge(r_bytes: &[u8; 32], a_bytes: &[u8; 32], message: &[u8]) -> Scalar {
    let mut hash = Sha512::new();
    hash.update(r_bytes);
    hash.update(a_bytes);
    hash.update(message);
    Scalar::from_bytes_mod_order_wide(&hash.finalize().into())
}

/// Whether the low 255 bits of `bytes` (little-endian), such as an encoded
/// point's y-coordinate or an X25519 u-coordinate, are below p = 2^255 - 19.
/// For an Edwards point, the only other non-canonical encodings, x = 0 with
/// the sign bit set, are of the points (0, ±1), which are of small order
/// and rejected as such.
fn below_p(bytes: &[u8; 32]) -> bool {
    // y >= p exactly when the top byte is 0x7f, bytes 1..31 are 0xff and
    // the low byte is at least 0xed (p's low byte).
    let top = bytes[31] & 0x7f == 0x7f;
    let middle = bytes[1..31].iter().all(|&b| b == 0xff);
    !(top && middle && bytes[0] >= 0xed)
}

/// The field elements 0, 1 and p - 1 (little-endian): coordinates of
/// points of small order both as Edwards y and as Montgomery u.
pub(super) const ZERO: [u8; 32] = [0; 32];
/// See [`ZERO`].
pub(super) const ONE: [u8; 32] = {
    let mut one = [0; 32];
    one[0] = 1;
    one
};
/// See [`ZERO`].
pub(super) const MINUS_ONE: [u8; 32] = {
    let mut minus_one = [0xff; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    minus_one
};

/// Whether the low 255 bits of `bytes` (little-endian; the top bit, a sign
/// or ignored, is not read), reduced mod p, are one of `reduced`.
pub(super) fn is_one_of(bytes: &[u8; 32], reduced: &[[u8; 32]]) -> bool {
    let mut x = *bytes;
    x[31] &= 0x7f;
    if !below_p(&x) {
        // x - p, which is below 19, is in the low byte.
        let low = x[0] - 0xed;
        x = ZERO;
        x[0] = low;
    }
    reduced.contains(&x)
}

/// The y-coordinates (little-endian, sign bit clear) of the eight points of
/// small order: the identity (y = 1), the point of order 2 (y = p - 1), those
/// of order 4 (y = 0) and those of order 8 (two values of y, each with two
/// signs of x). Tested against curve25519-dalek's `is_small_order`.
const SMALL_ORDER_Y: [[u8; 32]; 5] = [
    ZERO,
    ONE,
    MINUS_ONE,
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf,
        0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20,
        0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a,
    ],
];

/// Whether the point that `bytes` decodes to (decoding must have succeeded)
/// is of small order, as `EdwardsPoint::is_small_order` says, from its
/// y-coordinate alone: each y belongs to at most two points, ±x, and both
/// are of small order or neither is. This saves three point doublings per
/// point, about 5 % of a join's batch.
fn has_small_order(bytes: &[u8; 32]) -> bool {
    is_one_of(bytes, &SMALL_ORDER_Y)
}

/// The batch (the `batch-verify` feature).
#[cfg(feature = "batch-verify")]
mod batch {
    use alloc::vec::Vec;

    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::edwards::EdwardsPoint;
    use curve25519_dalek::scalar::Scalar;
    use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
    use sha2::{Digest, Sha512};

    use super::{PreparedKey, challenge, parse_signature};
    use crate::crypto::SignatureCheck;

    /// Domain separation of the coefficient derivation.
    const COEFFICIENT_LABEL: &[u8] = b"e2ee ed25519 batch coefficients v1";

    /// One parsed signature, ready for the batch equation.
    struct Parsed {
        r: EdwardsPoint,
        a: EdwardsPoint,
        s: Scalar,
        /// `h = SHA-512(R || A || M) mod ℓ`.
        h: Scalar,
    }

    /// Whether every signature of `checks` satisfies the strict verification
    /// equation and encoding rules (see the module documentation). `false`
    /// says only that some item fails; find which one by verifying one by one.
    pub(in crate::crypto) fn verify_batch(checks: &[SignatureCheck<'_>]) -> bool {
        let Some(parsed) = checks.iter().map(parse).collect::<Option<Vec<Parsed>>>() else {
            return false;
        };
        let z = coefficients(checks, &parsed);
        let base = -z.iter().zip(&parsed).map(|(z, p)| z * p.s).sum::<Scalar>();
        let scalars = core::iter::once(base)
            .chain(z.iter().copied())
            .chain(z.iter().zip(&parsed).map(|(z, p)| z * p.h));
        let points = core::iter::once(ED25519_BASEPOINT_POINT)
            .chain(parsed.iter().map(|p| p.r))
            .chain(parsed.iter().map(|p| p.a));
        EdwardsPoint::vartime_multiscalar_mul(scalars, points).is_identity()
    }

    /// Parses one item, applying every check strict verification makes besides
    /// the equation; `None` if one fails.
    fn parse(check: &SignatureCheck<'_>) -> Option<Parsed> {
        let key = PreparedKey::new(check.public_key).filter(|key| !key.small_order)?;
        let (r, r_bytes, s) = parse_signature(check.signature)?;
        let h = challenge(&r_bytes, &key.bytes, check.message);
        Some(Parsed { r, a: key.point, s, h })
    }

    /// The 128-bit coefficients, from a hash of every key, signature and `h`
    /// (which covers the message) in the batch.
    fn coefficients(checks: &[SignatureCheck<'_>], parsed: &[Parsed]) -> Vec<Scalar> {
        let mut transcript = Sha512::new();
        transcript.update(COEFFICIENT_LABEL);
        transcript.update((checks.len() as u64).to_le_bytes());
        for (check, p) in checks.iter().zip(parsed) {
            transcript.update(check.public_key);
            transcript.update(check.signature);
            transcript.update(p.h.as_bytes());
        }
        let seed = transcript.finalize();
        // Each SHA-512(seed || j) gives four coefficients, 4j to 4j + 3.
        let blocks = checks.len().div_ceil(4) as u64;
        (0..blocks)
            .flat_map(|j| {
                let mut h = Sha512::new();
                h.update(seed);
                h.update(j.to_le_bytes());
                let wide: [u8; 64] = h.finalize().into();
                (0..4).map(move |k| {
                    let mut z = [0u8; 16];
                    z.copy_from_slice(&wide[16 * k..16 * (k + 1)]);
                    Scalar::from(u128::from_le_bytes(z))
                })
            })
            .take(checks.len())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;

    use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    use curve25519_dalek::traits::IsIdentity;

    use super::*;
    use crate::crypto::{CipherSuite, CipherSuiteProvider, CryptoProvider, RustCryptoProvider, SignatureCheck, os_rng};

    fn ed25519() -> &'static dyn CipherSuiteProvider {
        RustCryptoProvider.cipher_suite(CipherSuite(1)).unwrap()
    }

    /// Six genuine (public key, message, signature) triples.
    fn genuine() -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
        let cs = ed25519();
        (0..6u8)
            .map(|i| {
                let kp = cs.signature_key_generate(&mut os_rng());
                let message = vec![i; 10 + usize::from(i)];
                let signature = cs.sign(kp.private.as_bytes(), &message).unwrap();
                (kp.public, message, signature)
            })
            .collect()
    }

    fn checks(items: &[(Vec<u8>, Vec<u8>, Vec<u8>)]) -> Vec<SignatureCheck<'_>> {
        items
            .iter()
            .map(|(public_key, message, signature)| SignatureCheck {
                public_key,
                message,
                signature,
            })
            .collect()
    }

    /// ed25519-dalek's `verify_strict`, the reference.
    fn strict(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let (Ok(key), Ok(signature)) = (
            <[u8; 32]>::try_from(public_key),
            ed25519_dalek::Signature::from_slice(signature),
        ) else {
            return false;
        };
        ed25519_dalek::VerifyingKey::from_bytes(&key).is_ok_and(|key| key.verify_strict(message, &signature).is_ok())
    }

    /// Our single verification, through the provider.
    fn single(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        ed25519().verify(public_key, message, signature).is_ok()
    }

    /// Both the batch itself and `verify_many` (batch, then the search for
    /// the culprit) agree with one-by-one strict verification, and our
    /// single verification agrees with it on every item.
    fn assert_rejected_at(items: &[(Vec<u8>, Vec<u8>, Vec<u8>)], bad: usize) {
        let cs = ed25519();
        for (i, (pk, m, sig)) in items.iter().enumerate() {
            assert_eq!(single(pk, m, sig), strict(pk, m, sig), "single verification, item {i}");
        }
        let (pk, m, sig) = &items[bad];
        assert!(!strict(pk, m, sig), "reference");
        #[cfg(feature = "batch-verify")]
        {
            assert!(!verify_batch(&checks(items)), "batch");
            assert!(!verify_batch(&checks(&items[bad..=bad])), "batch of one");
        }
        assert_eq!(cs.verify_many(&checks(items)), Err(bad), "verify_many");
    }

    #[test]
    fn genuine_signatures_pass_and_a_bad_one_is_found() {
        let cs = ed25519();
        let mut items = genuine();
        #[cfg(feature = "batch-verify")]
        assert!(verify_batch(&checks(&items)));
        assert_eq!(cs.verify_many(&checks(&items)), Ok(()));
        assert_eq!(cs.verify_many(&[]), Ok(()));
        items[4].1.push(0);
        items[2].2[7] ^= 1;
        assert_rejected_at(&items, 2);
        // Wrong lengths are rejections, not errors of the batch.
        let mut items = genuine();
        items[3].0.pop();
        assert_rejected_at(&items, 3);
        let mut items = genuine();
        items[1].2.push(0);
        assert_rejected_at(&items, 1);
    }

    #[test]
    fn a_large_batch_finds_the_culprit() {
        // Large enough for the `parallel` feature to split it over threads.
        let cs = ed25519();
        let kp = cs.signature_key_generate(&mut os_rng());
        let mut items: Vec<_> = (0..600u32)
            .map(|i| {
                let message = i.to_be_bytes().to_vec();
                let signature = cs.sign(kp.private.as_bytes(), &message).unwrap();
                (kp.public.clone(), message, signature)
            })
            .collect();
        assert_eq!(cs.verify_many(&checks(&items)), Ok(()));
        items[450].1[0] ^= 1;
        items[520].2[3] ^= 1;
        assert_eq!(cs.verify_many(&checks(&items)), Err(450));
    }

    #[test]
    fn a_signature_under_a_small_order_key_is_rejected_by_both_paths() {
        // A = the identity (order 1), R = [s]B: then [s]B = R + [h]A for every
        // message, so cofactorless verification without the weak-key check
        // accepts this "signature" of anything.
        let s = Scalar::from(0x1234_5678_9abc_def0_u64);
        let r = (ED25519_BASEPOINT_POINT * s).compress().to_bytes();
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut signature = r.to_vec();
        signature.extend_from_slice(s.as_bytes());
        let message = b"anything at all".to_vec();
        use ed25519_dalek::Verifier;
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&identity).unwrap();
        let sig = ed25519_dalek::Signature::from_slice(&signature).unwrap();
        assert!(
            vk.verify(&message, &sig).is_ok(),
            "the crafted signature fools plain verify"
        );
        assert!(vk.verify_strict(&message, &sig).is_err());
        let mut items = genuine();
        items.insert(3, (identity.to_vec(), message, signature));
        assert_rejected_at(&items, 3);
    }

    /// A key with a component of order 8, A' = [a]B + T: strict
    /// (cofactorless) verification of an honest signature succeeds exactly
    /// when 8 divides h. Our single verification must agree on every message,
    /// and on signatures whose R has such a component.
    #[test]
    fn single_verification_agrees_with_verify_strict_on_mixed_order_points() {
        let t = CompressedEdwardsY(SMALL_ORDER_Y[3]).decompress().unwrap();
        assert!(t.is_small_order() && !(t + t + t + t).is_identity(), "T is of order 8");
        let a = Scalar::from(0x0123_4567_89ab_cdef_u64) * Scalar::from(0xfedc_ba98_7654_3210_u64);
        let key = (ED25519_BASEPOINT_POINT * a + t).compress().to_bytes();
        let (mut accepted, mut rejected) = (0, 0);
        for i in 0..256u32 {
            let message = i.to_be_bytes();
            let r = Scalar::from(u64::from(i) * 7919 + 13);
            for torsion_in_r in [false, true] {
                let big_r = ED25519_BASEPOINT_POINT * r + if torsion_in_r { t } else { EdwardsPoint::default() };
                let r_bytes = big_r.compress().to_bytes();
                let s = r + challenge(&r_bytes, &key, &message) * a;
                let signature = [&r_bytes[..], s.as_bytes()].concat();
                let expected = strict(&key, &message, &signature);
                assert_eq!(
                    single(&key, &message, &signature),
                    expected,
                    "message {i}, torsion in R {torsion_in_r}"
                );
                if expected {
                    accepted += 1;
                } else {
                    rejected += 1;
                }
            }
        }
        // Both outcomes occurred, so the comparison meant something.
        assert!(
            accepted > 10 && rejected > 10,
            "{accepted} accepted, {rejected} rejected"
        );
    }

    /// Random bit flips in keys, messages and signatures: our single
    /// verification and `verify_strict` agree on each.
    #[test]
    fn single_verification_agrees_with_verify_strict_on_corruptions() {
        for (key, message, signature) in genuine() {
            assert!(single(&key, &message, &signature) && strict(&key, &message, &signature));
            for bit in (0..8 * 64).step_by(5) {
                let mut sig = signature.clone();
                sig[bit / 8] ^= 1 << (bit % 8);
                assert_eq!(single(&key, &message, &sig), strict(&key, &message, &sig), "bit {bit}");
            }
            for bit in (0..8 * 32).step_by(7) {
                let mut k = key.clone();
                k[bit / 8] ^= 1 << (bit % 8);
                assert_eq!(
                    single(&k, &message, &signature),
                    strict(&k, &message, &signature),
                    "key bit {bit}"
                );
            }
        }
    }

    #[test]
    fn a_non_reduced_s_is_rejected_by_both_paths() {
        // s + ℓ verifies the same equation as s, but is not reduced.
        const ELL: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let mut items = genuine();
        let sig = &mut items[5].2;
        let mut carry = 0u16;
        for (b, l) in sig[32..].iter_mut().zip(ELL) {
            let sum = u16::from(*b) + u16::from(l) + carry;
            *b = sum as u8;
            carry = sum >> 8;
        }
        assert_rejected_at(&items, 5);
    }

    /// p = 2^255 - 19, little-endian.
    fn p_bytes() -> [u8; 32] {
        let mut p = [0xff; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        p
    }

    #[test]
    fn canonical_y_agrees_with_recompression() {
        // The 19 values y = p .. 2^255 - 1, with either sign bit, and their
        // canonical neighbours.
        let mut cases = Vec::new();
        for low in 0xd0..=0xff_u8 {
            for sign in [0, 0x80] {
                let mut y = p_bytes();
                y[0] = low;
                y[31] |= sign;
                cases.push(y);
            }
        }
        for y in cases {
            let canonical = below_p(&y);
            assert_eq!(canonical, y[0] < 0xed, "{y:?}");
            if let Some(point) = CompressedEdwardsY(y).decompress()
                && !point.is_small_order()
            {
                assert_eq!(canonical, point.compress().to_bytes() == y, "{y:?}");
            }
        }
    }

    #[test]
    fn small_order_from_y_agrees_with_the_curve() {
        // Every encoding with a listed y, either sign, and the non-canonical
        // ones (y + p), decodes to a point of small order, and between them
        // they give all eight such points.
        let mut found: Vec<EdwardsPoint> = Vec::new();
        let non_canonical: Vec<[u8; 32]> = (0xed..=0xff_u8)
            .map(|low| {
                let mut y = p_bytes();
                y[0] = low;
                y
            })
            .collect();
        for y in SMALL_ORDER_Y.iter().chain(&non_canonical) {
            for sign in [0, 0x80] {
                let mut bytes = *y;
                bytes[31] |= sign;
                let Some(point) = CompressedEdwardsY(bytes).decompress() else {
                    continue;
                };
                assert_eq!(has_small_order(&bytes), point.is_small_order(), "{bytes:?}");
                if point.is_small_order() && !found.contains(&point) {
                    found.push(point);
                }
            }
        }
        assert_eq!(found.len(), 8);
        // Ordinary points, and a torsion point added to one, are not.
        for i in 1..200u64 {
            let point = ED25519_BASEPOINT_POINT * Scalar::from(i);
            for p in [point, point + found[i as usize % 8]] {
                let bytes = p.compress().to_bytes();
                assert_eq!(has_small_order(&bytes), p.is_small_order());
                assert!(!has_small_order(&bytes));
            }
        }
    }
}
