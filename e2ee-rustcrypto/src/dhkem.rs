//! The sender's side of DHKEM(X25519, HKDF-SHA256) (RFC 9180 §4.1, §7.1),
//! for many recipients at once.
//!
//! A removal in a large group with blank parents encrypts its path secret
//! to thousands of leaf keys, one HPKE Encap each. The `hpke` crate's
//! Encap computes the ephemeral public key twice (once when it generates
//! the key pair, again for `enc`) and runs X25519 as a Montgomery ladder.
//! Here each ephemeral public key is computed once, the field inversions
//! that turn Edwards points into Montgomery u-coordinates are shared by
//! the whole batch, and where curve25519-dalek has its AVX2 backend the
//! DH runs as an Edwards scalar multiplication, which that backend makes
//! faster than the ladder. Every result is the X25519 function's; the
//! tests compare with the ladder on every kind of input and, whole seals,
//! with the `hpke` crate's SealBase. Decap and DeriveKeyPair are here too,
//! on the same functions, so the npm package links one X25519 and one
//! HPKE key schedule rather than the `hpke` crate's as well; the RFC 9180
//! vectors check all three.

use alloc::vec::Vec;

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::montgomery::MontgomeryPoint;
use zeroize::Zeroizing;

use crate::hpke_base::{extract_and_expand, kem_labeled_extract, labeled_expand};
use e2ee_provider::{CipherSuiteProvider, CryptoError, KeyPair, Rng, Secret};

/// `"KEM" || I2OSP(kem_id, 2)` of DHKEM(X25519, HKDF-SHA256).
const SUITE_ID: [u8; 5] = *b"KEM\x00\x20";

/// Size of a private key, a public key and a DH result (`Nsk`, `Npk`, `Ndh`).
const LEN: usize = 32;

/// One recipient's Encap (of any KEM): the KEM shared secret and `enc`.
pub(crate) struct Encapsulation {
    /// `shared_secret` (`Nsecret` = 32 bytes).
    pub(crate) shared_secret: Secret,
    /// `enc`: the ephemeral public key.
    pub(crate) enc: Vec<u8>,
}

/// The field elements 0, 1 and p - 1 (little-endian), p = 2^255 - 19:
/// u-coordinates of points of small order.
const ZERO: [u8; LEN] = [0; LEN];
/// See [`ZERO`].
const ONE: [u8; LEN] = {
    let mut one = [0; LEN];
    one[0] = 1;
    one
};
/// See [`ZERO`].
const MINUS_ONE: [u8; LEN] = {
    let mut minus_one = [0xff; LEN];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    minus_one
};

/// Whether the 32 bytes (little-endian) are below p = 2^255 - 19.
fn below_p(bytes: &[u8; LEN]) -> bool {
    // x >= p exactly when the top byte is 0x7f, bytes 1..31 are 0xff and
    // the low byte is at least 0xed (p's low byte).
    let top = bytes[31] & 0x7f == 0x7f;
    let middle = bytes[1..31].iter().all(|&b| b == 0xff);
    !(top && middle && bytes[0] >= 0xed)
}

/// Whether the low 255 bits of `bytes` (little-endian; the top bit, which
/// X25519 ignores, is not read), reduced mod p, are one of `reduced`.
fn is_one_of(bytes: &[u8; LEN], reduced: &[[u8; LEN]]) -> bool {
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

/// The u-coordinates (little-endian) of the points of small order on
/// Curve25519 and its twist: 0 and 1, the two of order 8, and p - 1. X25519
/// of every private key with one of them is all-zero, so every Encap to it
/// fails (RFC 9180 §7.1.4). Tested against curve25519-dalek's eight-torsion
/// points and the ladder.
const SMALL_ORDER_U: [[u8; LEN]; 5] = [
    ZERO,
    ONE,
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09,
        0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00,
    ],
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44,
        0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57,
    ],
    MINUS_ONE,
];

/// Accepts an X25519 public key that Encap can use: 32 bytes, not a point
/// of small order in any encoding (the top bit is ignored, RFC 7748 §5, and
/// p and p + 1 stand for 0 and 1). Such a key in a group would make every
/// Commit whose path encrypts to it fail.
pub(crate) fn check_public_key(public_key: &[u8]) -> Result<(), CryptoError> {
    let u: [u8; LEN] = public_key.try_into().map_err(|_| CryptoError::InvalidKey)?;
    if is_one_of(&u, &SMALL_ORDER_U) {
        Err(CryptoError::InvalidKey)
    } else {
        Ok(())
    }
}

/// `Encap(pkR)` for each of `public_keys`, in order, with ephemeral keys
/// from `rng` (32 bytes each, drawn in order, each through DeriveKeyPair
/// as the `hpke` crate does). `cs` supplies the HKDF, which must be
/// HKDF-SHA256 (the KEM's KDF; true of every MLS suite with X25519).
pub(crate) fn encap_each(
    cs: &dyn CipherSuiteProvider,
    public_keys: &[&[u8]],
    rng: &mut Rng<'_>,
) -> Result<Vec<Encapsulation>, CryptoError> {
    let recipients = public_keys
        .iter()
        .map(|key| <[u8; LEN]>::try_from(*key).map_err(|_| CryptoError::InvalidKey))
        .collect::<Result<Vec<_>, _>>()?;
    let ephemeral = recipients
        .iter()
        .map(|_| derive_private_key(cs, rng))
        .collect::<Result<Vec<_>, _>>()?;
    let enc = public_keys_of(&ephemeral);
    let shared = diffie_hellman_each(&ephemeral, &recipients);
    let mut encapsulations = Vec::with_capacity(recipients.len());
    for ((dh, enc), recipient) in shared.iter().zip(enc).zip(&recipients) {
        // RFC 9180 §7.1.4: an all-zero DH result (a small-order key) aborts.
        if e2ee_provider::ct_eq(dh, &[0; LEN]) {
            return Err(CryptoError::EncryptionFailed);
        }
        let kem_context = [enc.as_bytes(), &recipient[..]].concat();
        encapsulations.push(Encapsulation {
            shared_secret: extract_and_expand(cs, &SUITE_ID, dh, &kem_context)?,
            enc: enc.to_bytes().to_vec(),
        });
    }
    Ok(encapsulations)
}

/// An ephemeral private key: `DeriveKeyPair(random(Nsk))` (RFC 9180
/// §7.1.3), as GenerateKeyPair, so that the same randomness gives the same
/// `enc` as in other implementations that derive it so (the `hpke` crate).
fn derive_private_key(cs: &dyn CipherSuiteProvider, rng: &mut Rng<'_>) -> Result<Zeroizing<[u8; LEN]>, CryptoError> {
    let mut ikm = Zeroizing::new([0; LEN]);
    rng.fill_bytes(&mut ikm[..]);
    derive_private(cs, &ikm[..])
}

/// `DeriveKeyPair(ikm)`'s private key (RFC 9180 §7.1.3), clamped as
/// SerializePrivateKey must (§7.1.2; X25519 clamps it anyway).
fn derive_private(cs: &dyn CipherSuiteProvider, ikm: &[u8]) -> Result<Zeroizing<[u8; LEN]>, CryptoError> {
    let dkp_prk = kem_labeled_extract(cs, &SUITE_ID, b"dkp_prk", ikm);
    let private = labeled_expand(cs, &SUITE_ID, &dkp_prk, b"sk", b"", LEN)?;
    let mut key = Zeroizing::new([0; LEN]);
    key.copy_from_slice(private.as_bytes());
    key[0] &= 0xf8;
    key[LEN - 1] = (key[LEN - 1] & 0x7f) | 0x40;
    Ok(key)
}

/// `DeriveKeyPair(ikm)`.
pub(crate) fn derive_key_pair(cs: &dyn CipherSuiteProvider, ikm: &[u8]) -> Result<KeyPair, CryptoError> {
    let private = derive_private(cs, ikm)?;
    let public = public_keys_of(core::slice::from_ref(&private)).remove(0);
    Ok(KeyPair {
        private: Secret::from_slice(&private[..]),
        public: public.to_bytes().to_vec(),
    })
}

/// The public key of a private key.
pub(crate) fn public_key(private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let private = Zeroizing::new(<[u8; LEN]>::try_from(private_key).map_err(|_| CryptoError::InvalidKey)?);
    Ok(public_keys_of(core::slice::from_ref(&private))
        .remove(0)
        .to_bytes()
        .to_vec())
}

/// `Decap(enc, skR)`: `ExtractAndExpand(DH(skR, enc), enc || pkRm)`, an
/// all-zero DH result refused (§7.1.4).
pub(crate) fn decap(cs: &dyn CipherSuiteProvider, private_key: &[u8], enc: &[u8]) -> Result<Secret, CryptoError> {
    let private = Zeroizing::new(<[u8; LEN]>::try_from(private_key).map_err(|_| CryptoError::InvalidKey)?);
    let enc: [u8; LEN] = enc.try_into().map_err(|_| CryptoError::DecryptionFailed)?;
    let private = core::slice::from_ref(&private);
    let dh = diffie_hellman_each(private, &[enc]);
    if e2ee_provider::ct_eq(&dh[0], &[0; LEN]) {
        return Err(CryptoError::DecryptionFailed);
    }
    let pk_rm = public_keys_of(private).remove(0);
    let kem_context = [&enc[..], pk_rm.as_bytes()].concat();
    extract_and_expand(cs, &SUITE_ID, &dh[0], &kem_context)
}

/// X25519(sk, 9) of each key, with one field inversion for all of them.
fn public_keys_of(private_keys: &[Zeroizing<[u8; LEN]>]) -> Vec<MontgomeryPoint> {
    let points: Vec<_> = private_keys
        .iter()
        .map(|key| EdwardsPoint::mul_base_clamped(**key))
        .collect();
    EdwardsPoint::to_montgomery_batch(&points)
}

/// X25519(sk_i, pk_i) for each pair, as 32-byte u-coordinates. Where
/// curve25519-dalek's AVX2 backend makes the Edwards multiplication the
/// faster way, a public key on the curve is multiplied as an Edwards point
/// (either sign of x gives the same u-coordinate); a point on the twist,
/// or any point on a portable backend, goes through the ladder.
fn diffie_hellman_each(private_keys: &[Zeroizing<[u8; LEN]>], public_keys: &[[u8; LEN]]) -> Zeroizing<Vec<[u8; LEN]>> {
    let via_edwards = edwards_is_faster();
    let mut shared = Zeroizing::new(Vec::with_capacity(public_keys.len()));
    // Results on the Edwards curve, and where they go in `shared`.
    let mut on_edwards = Zeroizing::new(Vec::new());
    let mut slots = Vec::new();
    for (private, public) in private_keys.iter().zip(public_keys) {
        let point = MontgomeryPoint(*public);
        match via_edwards.then(|| point.to_edwards(0)).flatten() {
            Some(edwards) => {
                slots.push(shared.len());
                on_edwards.push(edwards.mul_clamped(**private));
                shared.push([0; LEN]);
            }
            None => shared.push(point.mul_clamped(**private).to_bytes()),
        }
    }
    let mut converted = Zeroizing::new(EdwardsPoint::to_montgomery_batch(&on_edwards));
    for (slot, u) in slots.into_iter().zip(converted.iter_mut()) {
        shared[slot] = u.to_bytes();
    }
    shared
}

/// Whether curve25519-dalek multiplies on its AVX2 backend: it chooses
/// that backend at run time on x86-64 CPUs with AVX2.
fn edwards_is_faster() -> bool {
    #[cfg(all(feature = "std", target_arch = "x86_64"))]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(all(feature = "std", target_arch = "x86_64")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RustCryptoProvider;
    use crate::test_rng::os_rng;
    use e2ee_provider::{CipherSuite, CryptoProvider};
    use rand_core::Rng as _;

    /// The ladder: the X25519 function itself (RFC 7748 §5).
    fn ladder(private: &[u8; LEN], public: &[u8; LEN]) -> [u8; LEN] {
        MontgomeryPoint(*public).mul_clamped(*private).to_bytes()
    }

    fn random_bytes() -> [u8; LEN] {
        let mut bytes = [0; LEN];
        os_rng().fill_bytes(&mut bytes);
        bytes
    }

    /// u-coordinates of every kind: honest keys, random strings (half on the
    /// twist), the small-order points, -1 (exceptional in the birational
    /// map), non-canonical encodings (>= p, top bit set).
    fn inputs() -> Vec<[u8; LEN]> {
        let mut inputs: Vec<[u8; LEN]> = (0..64)
            .map(|_| MontgomeryPoint::mul_base_clamped(random_bytes()).to_bytes())
            .chain((0..64).map(|_| random_bytes()))
            .collect();
        // p - 1 (that is, -1), then p and p + 1 (0 and 1, not reduced).
        for low in [0xec, 0xed, 0xee] {
            let mut bytes = [0xff; LEN];
            bytes[0] = low;
            bytes[31] = 0x7f;
            inputs.push(bytes);
        }
        let mut one = [0; LEN];
        one[0] = 1;
        inputs.extend([[0; LEN], one]);
        // The points of order 8 (cr.yp.to/ecdh.html#validate).
        for hex in [
            "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
            "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        ] {
            let mut bytes = [0; LEN];
            hex::decode_to_slice(hex, &mut bytes).unwrap();
            inputs.push(bytes);
        }
        // X25519 ignores the top bit of u.
        let with_top_bit: Vec<_> = inputs.iter().map(|u| top_bit_set(*u)).collect();
        inputs.extend(with_top_bit);
        inputs
    }

    fn top_bit_set(mut u: [u8; LEN]) -> [u8; LEN] {
        u[31] |= 0x80;
        u
    }

    #[test]
    fn diffie_hellman_is_the_ladder_on_every_input() {
        let public_keys = inputs();
        let private_keys: Vec<_> = public_keys.iter().map(|_| Zeroizing::new(random_bytes())).collect();
        let shared = diffie_hellman_each(&private_keys, &public_keys);
        let mut twist = 0;
        for ((private, public), dh) in private_keys.iter().zip(&public_keys).zip(shared.iter()) {
            assert_eq!(dh, &ladder(private, public), "u = {}", hex::encode(public));
            twist += usize::from(MontgomeryPoint(*public).to_edwards(0).is_none());
        }
        // The inputs cover the curve and its twist: with AVX2 both ways ran.
        assert!(twist > 10 && twist < public_keys.len() - 10, "{twist}");
    }

    #[test]
    fn public_keys_are_the_ladder_on_the_base_point() {
        let private_keys: Vec<_> = (0..20).map(|_| Zeroizing::new(random_bytes())).collect();
        let mut nine = [0; LEN];
        nine[0] = 9;
        for (private, public) in private_keys.iter().zip(public_keys_of(&private_keys)) {
            assert_eq!(public.to_bytes(), ladder(private, &nine));
        }
    }

    /// RFC 7748 §5.2's first test vector, through the batch.
    #[test]
    fn rfc7748_vector() {
        let mut scalar = [0; LEN];
        let mut u = [0; LEN];
        let mut expected = [0; LEN];
        hex::decode_to_slice(
            "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
            &mut scalar,
        )
        .unwrap();
        hex::decode_to_slice(
            "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
            &mut u,
        )
        .unwrap();
        hex::decode_to_slice(
            "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
            &mut expected,
        )
        .unwrap();
        assert_eq!(diffie_hellman_each(&[Zeroizing::new(scalar)], &[u])[0], expected);
    }

    /// The check refuses exactly the keys whose every DH result is all
    /// zero: on every kind of input, it agrees with the ladder under a
    /// random private key (the small-order inputs give zero for any key).
    #[test]
    fn the_key_check_refuses_exactly_the_small_order_points() {
        let mut refused = 0;
        for public in inputs() {
            let zero = ladder(&random_bytes(), &public) == [0; LEN];
            assert_eq!(check_public_key(&public).is_err(), zero, "u = {}", hex::encode(public));
            refused += usize::from(zero);
        }
        // 0, 1, -1, p, p + 1 and the two of order 8, each with and without
        // the top bit.
        assert_eq!(refused, 14);
        assert_eq!(check_public_key(&[1; LEN - 1]), Err(CryptoError::InvalidKey));
    }

    /// The list holds the u-coordinates of the eight-torsion points of the
    /// curve and -1, the twist's point of order 4.
    #[test]
    fn the_small_order_list_is_the_torsion() {
        let mut expected: Vec<[u8; LEN]> = curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|p| p.to_montgomery().to_bytes())
            .chain([MINUS_ONE])
            .collect();
        expected.sort();
        expected.dedup();
        let mut list = SMALL_ORDER_U.to_vec();
        list.sort();
        assert_eq!(list, expected);
    }

    #[test]
    fn small_order_keys_and_bad_lengths_are_refused() {
        let cs = RustCryptoProvider.cipher_suite(CipherSuite(1)).unwrap();
        let honest = MontgomeryPoint::mul_base_clamped(random_bytes()).to_bytes();
        assert!(encap_each(cs, &[&honest], &mut os_rng()).is_ok());
        assert_eq!(
            encap_each(cs, &[&honest, &[0; LEN]], &mut os_rng()).err(),
            Some(CryptoError::EncryptionFailed)
        );
        assert_eq!(
            encap_each(cs, &[&honest[..31]], &mut os_rng()).err(),
            Some(CryptoError::InvalidKey)
        );
    }
}
