//! Ed25519 signing that reads a large message once instead of twice.
//!
//! RFC 8032 derives the secret nonce from the message:
//! `r = SHA-512(prefix || M)`, then `R = [r]B`, `k = SHA-512(R || A || M)`
//! and `s = r + k·a`. The message is hashed twice with SHA-512. A GroupInfo
//! that carries the ratchet tree is about 1.8 MB at 10,000 members, and
//! those two passes were most of the cost of an add Commit with its Welcome.
//!
//! Verification checks only `[s]B = R + [k]A`; it cannot see how `r` was
//! chosen. Any secret, unpredictable `r` that is never reused for another
//! message gives a valid Ed25519 signature. For messages of
//! [`LARGE_MESSAGE`] bytes or more, [`SigningKey`] derives it from a SHA-256
//! digest of the message, which costs a third of a SHA-512 pass here (SHA-NI):
//!
//! ```text
//! nonce_key = SHA-512(NONCE_KEY_LABEL || prefix)[..32]
//! r         = SHA-512(nonce_key || SHA-256(M)) mod ℓ
//! ```
//!
//! - `r` is a pseudorandom function of the message under a secret key, as in
//!   RFC 8032, and deterministic: no random generator to fail.
//! - Two messages share `r` only if their SHA-256 digests collide. RFC 8032's
//!   derivation does not rely on that; here it does, at the 128-bit level of
//!   the cipher suites that use Ed25519 (1 and 3), whose transcript and tree
//!   hashes are SHA-256 and rely on it already.
//! - `nonce_key` differs from RFC 8032's `prefix`, so a nonce of this path
//!   never equals one the RFC 8032 path derives for any other message (short
//!   of a SHA-512 collision), whatever the key is used to sign.
//!
//! Shorter messages are signed by ed25519-dalek as RFC 8032 specifies, byte
//! for byte; there the scalar multiplication dominates and nothing is gained.

use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::hazmat::ExpandedSecretKey;
use sha2::{Digest, Sha256, Sha512};
use zeroize::{Zeroize, Zeroizing};

/// Messages this long or longer are signed with the nonce of the module
/// documentation. A GroupInfo with the tree of about 90 members or more.
pub(super) const LARGE_MESSAGE: usize = 16 * 1024;

/// Domain separation of the nonce key from RFC 8032's `prefix`.
const NONCE_KEY_LABEL: &[u8] = b"e2ee ed25519 large-message nonce key v1";

/// An Ed25519 signing key (zeroized on drop, by ed25519-dalek).
pub(super) struct SigningKey(pub(super) ed25519_dalek::SigningKey);

impl SigningKey {
    /// The 64-byte signature `R || s` of `message`.
    pub(super) fn sign(&self, message: &[u8]) -> [u8; 64] {
        if message.len() < LARGE_MESSAGE {
            return ed25519_dalek::Signer::sign(&self.0, message).to_bytes();
        }
        self.sign_large(message)
    }

    fn sign_large(&self, message: &[u8]) -> [u8; 64] {
        let expanded = ExpandedSecretKey::from(self.0.as_bytes());
        let mut r = nonce(&expanded.hash_prefix, message);
        let big_r = EdwardsPoint::mul_base(&r).compress();
        let k = Scalar::from_hash(
            Sha512::new()
                .chain_update(big_r.as_bytes())
                .chain_update(self.0.verifying_key().as_bytes())
                .chain_update(message),
        );
        let s = k * expanded.scalar + r;
        r.zeroize();
        let mut signature = [0u8; 64];
        signature[..32].copy_from_slice(big_r.as_bytes());
        signature[32..].copy_from_slice(s.as_bytes());
        signature
    }
}

/// `r = SHA-512(nonce_key || SHA-256(M)) mod ℓ` (module documentation).
fn nonce(prefix: &[u8; 32], message: &[u8]) -> Scalar {
    let mut nonce_key = Zeroizing::new([0u8; 64]);
    Sha512::new()
        .chain_update(NONCE_KEY_LABEL)
        .chain_update(prefix)
        .finalize_into((&mut *nonce_key).into());
    Scalar::from_hash(
        Sha512::new()
            .chain_update(&nonce_key[..32])
            .chain_update(Sha256::digest(message)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey(ed25519_dalek::SigningKey::from_bytes(&[seed; 32]))
    }

    fn verifies(key: &SigningKey, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        key.0.verifying_key().verify_strict(message, &signature).is_ok()
    }

    #[test]
    fn short_messages_are_signed_as_rfc_8032_specifies() {
        let key = key(1);
        let message = [9u8; LARGE_MESSAGE - 1];
        let rfc = ed25519_dalek::Signer::sign(&key.0, &message).to_bytes();
        assert_eq!(key.sign(&message), rfc);
    }

    #[test]
    fn large_messages_verify_strictly_with_another_nonce() {
        let key = key(2);
        let mut message = alloc::vec![7u8; LARGE_MESSAGE];
        let signature = key.sign(&message);
        assert!(verifies(&key, &message, &signature));
        // This path was taken: RFC 8032's nonce would give another R.
        let rfc = ed25519_dalek::Signer::sign(&key.0, &message[..]).to_bytes();
        assert_ne!(signature[..32], rfc[..32]);
        // Deterministic, and a different message gets a different nonce.
        assert_eq!(key.sign(&message), signature);
        message[LARGE_MESSAGE / 2] ^= 1;
        let other = key.sign(&message);
        assert_ne!(other[..32], signature[..32]);
        assert!(verifies(&key, &message, &other));
        assert!(!verifies(&key, &message, &signature));
    }

    #[test]
    fn large_signatures_depend_on_the_key() {
        let message = alloc::vec![3u8; 2 * LARGE_MESSAGE];
        let (one, two) = (key(4), key(5));
        let signature = one.sign(&message);
        assert_ne!(signature, two.sign(&message));
        assert!(!verifies(&two, &message, &signature));
    }
}
