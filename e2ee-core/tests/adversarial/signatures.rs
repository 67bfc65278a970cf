//! Signature verification gives one verdict per signature, whatever the
//! build, the other signatures checked with it, or the core count.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::scalar::Scalar;
use e2ee_core::crypto::{CipherSuite, CipherSuiteProvider, CryptoProvider, SignatureCheck, os_rng};
use e2ee_rustcrypto::RustCryptoProvider;
use sha2::{Digest, Sha512};

fn ed25519() -> &'static dyn CipherSuiteProvider {
    RustCryptoProvider.cipher_suite(CipherSuite(1)).unwrap()
}

/// A key pair as the Ed25519 arithmetic sees it: the secret scalar `a` and
/// the public key `A = aB`, encoded.
fn key() -> (Scalar, [u8; 32]) {
    let mut wide = [0u8; 64];
    rand_core::Rng::fill_bytes(&mut os_rng(), &mut wide);
    let a = Scalar::from_bytes_mod_order_wide(&wide);
    (a, (ED25519_BASEPOINT_POINT * a).compress().to_bytes())
}

/// A signature of `message` whose `R` has a component of small order: `R'
/// = rB + T`, `S = r + H(R' || A || M)a`. The cofactored equation `8SB =
/// 8R' + 8kA` holds, the one RFC 8032 verifiers check without the cofactor
/// does not, and a batch with random coefficients accepts it whenever the
/// coefficient is a multiple of T's order: so verifiers that batch disagree
/// with those that do not.
fn mixed_order_signature(a: Scalar, public: &[u8; 32], message: &[u8], torsion: usize) -> Vec<u8> {
    let mut wide = [0u8; 64];
    rand_core::Rng::fill_bytes(&mut os_rng(), &mut wide);
    let r = Scalar::from_bytes_mod_order_wide(&wide);
    let big_r = (ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[torsion])
        .compress()
        .to_bytes();
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(big_r)
            .chain_update(public)
            .chain_update(message),
    );
    let s = r + k * a;
    [big_r, s.to_bytes()].concat()
}

/// Genuine signatures by fresh keys: (public key, message, signature).
fn genuine(n: usize) -> Vec<(Vec<u8>, Vec<u8>, Vec<u8>)> {
    let cs = ed25519();
    (0..n)
        .map(|i| {
            let pair = cs.signature_key_generate(&mut os_rng());
            let message = format!("message {i}").into_bytes();
            let signature = cs.sign(pair.private.as_bytes(), &message).unwrap();
            (pair.public, message, signature)
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

/// An insider signs with an `R` of mixed order, retrying offline until a
/// batch verifier would accept: every such signature is refused, alone and
/// at any place among many genuine ones (sizes that split over cores with
/// the `parallel` feature), so no two members can disagree on it.
#[test]
fn mixed_order_signatures_are_refused_alone_and_among_many() {
    let cs = ed25519();
    let (a, public) = key();
    for torsion in 1..8 {
        let message = format!("leaf node {torsion}").into_bytes();
        let forged = mixed_order_signature(a, &public, &message, torsion);
        assert!(cs.verify(&public, &message, &forged).is_err());
        for n in [4, 64, 300] {
            let mut items = genuine(n);
            assert_eq!(cs.verify_many(&checks(&items)), Ok(()));
            for place in [0, n / 2, n - 1] {
                let saved = items[place].clone();
                items[place] = (public.to_vec(), message.clone(), forged.clone());
                assert_eq!(cs.verify_many(&checks(&items)), Err(place), "{torsion} {n} {place}");
                items[place] = saved;
            }
        }
    }
}

/// Many independent forgeries, as an attacker retrying offline would make,
/// each among a few genuine signatures: a verifier whose verdict depended
/// on chance (batch coefficients) would accept some of them.
#[test]
fn no_mixed_order_forgery_out_of_many_is_accepted() {
    let cs = ed25519();
    let (a, public) = key();
    let mut items = genuine(8);
    for i in 0..128 {
        let message = format!("forgery {i}").into_bytes();
        let forged = mixed_order_signature(a, &public, &message, 1 + i % 7);
        let place = i % items.len();
        let saved = std::mem::replace(&mut items[place], (public.to_vec(), message, forged));
        assert_eq!(cs.verify_many(&checks(&items)), Err(place), "forgery {i}");
        items[place] = saved;
    }
}

/// Signing is RFC 8032's for every message length: the nonce is
/// SHA-512(prefix || M), never derived from a digest of M, which a
/// collision of that digest between two signed messages would turn into
/// the signing key. Checked against the RFC's formulas computed here.
#[test]
fn signing_follows_rfc_8032_for_long_messages() {
    let cs = ed25519();
    let pair = cs.signature_key_generate(&mut os_rng());
    for len in [0, 100, 16 * 1024, 100_000] {
        let message: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let signature = cs.sign(pair.private.as_bytes(), &message).unwrap();
        assert_eq!(
            signature,
            rfc8032_sign(pair.private.as_bytes(), &message),
            "{len} bytes"
        );
    }
}

/// RFC 8032 §5.1.6, step by step.
fn rfc8032_sign(seed: &[u8], message: &[u8]) -> Vec<u8> {
    let h = Sha512::digest(seed);
    let mut scalar_bytes = [0u8; 32];
    scalar_bytes.copy_from_slice(&h[..32]);
    scalar_bytes[0] &= 248;
    scalar_bytes[31] &= 127;
    scalar_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(scalar_bytes);
    let public = (ED25519_BASEPOINT_POINT * a).compress().to_bytes();
    let r = Scalar::from_hash(Sha512::new().chain_update(&h[32..]).chain_update(message));
    let big_r = (ED25519_BASEPOINT_POINT * r).compress().to_bytes();
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(big_r)
            .chain_update(public)
            .chain_update(message),
    );
    [big_r, (r + k * a).to_bytes()].concat()
}

/// A signature with a non-canonical `S` (S + l) or a small-order public
/// key is refused, as `verify_strict` refuses it.
#[test]
fn non_canonical_s_and_weak_keys_are_refused() {
    let cs = ed25519();
    let items = genuine(1);
    let (public, message, signature) = &items[0];
    // S + l, where l = 2^252 + 27742317777372353535851937790883648493.
    let mut s = [0u8; 32];
    s.copy_from_slice(&signature[32..]);
    let mut bumped = Vec::from(&signature[..32]);
    bumped.extend_from_slice(&add_l(&s));
    assert!(cs.verify(public, message, &bumped).is_err());
    // The identity as a public key, with a signature R = identity, S = 0
    // that the unreduced equation accepts for every message.
    let identity = curve25519_dalek::edwards::EdwardsPoint::default().compress().to_bytes();
    let weak = [identity, [0; 32]].concat();
    assert!(cs.verify(&identity, b"anything", &weak).is_err());
    let forged = [(identity.to_vec(), b"anything".to_vec(), weak)];
    assert_eq!(cs.verify_many(&checks(&forged)), Err(0));
}

/// `s + l` as 32 little-endian bytes (s < l, so no overflow past 2^253).
fn add_l(s: &[u8; 32]) -> [u8; 32] {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(L[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    out
}
