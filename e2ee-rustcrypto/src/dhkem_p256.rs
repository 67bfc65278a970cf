//! DHKEM(P-256, HKDF-SHA256) (RFC 9180 §4.1, §7.1): Encap and Decap on
//! `p256`'s arithmetic, with public keys taken in uncompressed form only.
//!
//! RFC 9180 serializes P-256 public keys uncompressed (§7.1.1), and MLS
//! uses nothing else (its ECDSA keys are an UncompressedPointRepresentation,
//! RFC 9420 §5.1.1; [`public_key`] parses those too). The `hpke` crate's
//! SEC1 parser accepts compressed points as well, which links point
//! decompression (a square root in the field) into the npm package for
//! inputs that must be refused anyway. Here a key is `0x04 || x || y`,
//! checked to be on the curve. P-256 has cofactor 1, so that point is in
//! the prime-order group, and it is never the identity (which has no
//! coordinates). Each ephemeral key is DeriveKeyPair of 32 random bytes,
//! as the `hpke` crate's Encap draws it, so the same randomness gives the
//! same `enc`; the tests compare whole seals and exports with the crate's,
//! and the RFC 9180 vectors check DeriveKeyPair, Encap and Decap.

use alloc::vec::Vec;

use p256::elliptic_curve::point::AffineCoordinates;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::{AffinePoint, FieldBytes, PublicKey, SecretKey};
use zeroize::Zeroizing;

use crate::dhkem::Encapsulation;
use crate::hpke_base::{extract_and_expand, kem_labeled_extract, labeled_expand};
use e2ee_provider::{CipherSuiteProvider, CryptoError, KeyPair, Rng, Secret};

/// `"KEM" || I2OSP(kem_id, 2)` of DHKEM(P-256, HKDF-SHA256).
const SUITE_ID: [u8; 5] = *b"KEM\x00\x10";

/// `Nsk`: a private key is a 32-byte scalar.
const NSK: usize = 32;

/// `Npk`: `0x04 || x || y`.
const NPK: usize = 65;

/// DeserializePublicKey (RFC 9180 §7.1.1) of an uncompressed point.
pub(crate) fn public_key(bytes: &[u8]) -> Result<PublicKey, CryptoError> {
    let [4, coordinates @ ..] = bytes else {
        return Err(CryptoError::InvalidKey);
    };
    if bytes.len() != NPK {
        return Err(CryptoError::InvalidKey);
    }
    let (x, y) = coordinates.split_at(NSK);
    let (x, y) = (FieldBytes::try_from(x), FieldBytes::try_from(y));
    let (Ok(x), Ok(y)) = (x, y) else {
        return Err(CryptoError::InvalidKey);
    };
    let point: Option<AffinePoint> = AffinePoint::from_coordinates(&x, &y).into();
    point
        .and_then(|p| PublicKey::from_affine(p).ok())
        .ok_or(CryptoError::InvalidKey)
}

/// `Encap(pkR)` for each of `public_keys`, in order, with ephemeral keys
/// from `rng` (32 bytes each, drawn in order).
pub(crate) fn encap_each(
    cs: &dyn CipherSuiteProvider,
    public_keys: &[&[u8]],
    rng: &mut Rng<'_>,
) -> Result<Vec<Encapsulation>, CryptoError> {
    let mut encapsulations = Vec::with_capacity(public_keys.len());
    for &recipient in public_keys {
        let pk = public_key(recipient)?;
        let mut ikm = Zeroizing::new([0; NSK]);
        rng.fill_bytes(&mut ikm[..]);
        let ephemeral = derive_secret_key(cs, &ikm[..])?;
        let enc = ephemeral.public_key().to_sec1_point(false).as_bytes().to_vec();
        // The recipient's key is canonical (checked above): it is pkRm.
        let shared_secret = shared_secret(cs, &ephemeral, &pk, &enc, recipient)?;
        encapsulations.push(Encapsulation { shared_secret, enc });
    }
    Ok(encapsulations)
}

/// `Decap(enc, skR)`.
pub(crate) fn decap(cs: &dyn CipherSuiteProvider, private_key: &[u8], enc: &[u8]) -> Result<Secret, CryptoError> {
    let sk = secret_key(private_key)?;
    let pk_e = public_key(enc).map_err(|_| CryptoError::DecryptionFailed)?;
    let pk_rm = sk.public_key().to_sec1_point(false);
    shared_secret(cs, &sk, &pk_e, enc, pk_rm.as_bytes())
}

/// DeriveKeyPair's private key (RFC 9180 §7.1.3): the first candidate
/// that is a scalar from 1 to n - 1 (P-256's bitmask is 0xff).
fn derive_secret_key(cs: &dyn CipherSuiteProvider, ikm: &[u8]) -> Result<SecretKey, CryptoError> {
    let dkp_prk = kem_labeled_extract(cs, &SUITE_ID, b"dkp_prk", ikm);
    for counter in 0..=255u8 {
        let candidate = labeled_expand(cs, &SUITE_ID, &dkp_prk, b"candidate", &[counter], NSK)?;
        if let Ok(sk) = secret_key(candidate.as_bytes()) {
            return Ok(sk);
        }
    }
    // A 2^-8192 chance: DeriveKeyPairError.
    Err(CryptoError::InvalidKey)
}

/// `DeriveKeyPair(ikm)`.
pub(crate) fn derive_key_pair(cs: &dyn CipherSuiteProvider, ikm: &[u8]) -> Result<KeyPair, CryptoError> {
    let sk = derive_secret_key(cs, ikm)?;
    Ok(KeyPair {
        private: Secret::from_slice(&Zeroizing::new(sk.to_bytes())),
        public: sk.public_key().to_sec1_point(false).as_bytes().to_vec(),
    })
}

/// The public key of a private key.
pub(crate) fn public_key_of(private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
    Ok(secret_key(private_key)?
        .public_key()
        .to_sec1_point(false)
        .as_bytes()
        .to_vec())
}

/// A private key: 32 bytes, a scalar from 1 to n - 1.
fn secret_key(bytes: &[u8]) -> Result<SecretKey, CryptoError> {
    let bytes = <&FieldBytes>::try_from(bytes).map_err(|_| CryptoError::InvalidKey)?;
    SecretKey::from_bytes(bytes).map_err(|_| CryptoError::InvalidKey)
}

/// `ExtractAndExpand(DH(sk, pk), enc || pkRm)`. The DH result is the
/// x-coordinate of `[sk]pk`; with `pk` in the group and `sk` non-zero it is
/// never the identity.
fn shared_secret(
    cs: &dyn CipherSuiteProvider,
    sk: &SecretKey,
    pk: &PublicKey,
    enc: &[u8],
    pk_rm: &[u8],
) -> Result<Secret, CryptoError> {
    let dh = p256::ecdh::diffie_hellman(sk.to_nonzero_scalar(), pk.as_affine());
    let kem_context = [enc, pk_rm].concat();
    extract_and_expand(cs, &SUITE_ID, dh.raw_secret_bytes(), &kem_context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hpke::{Kem as _, Serializable as _};

    /// A key the `hpke` crate serializes, in all its forms.
    fn sample() -> Vec<u8> {
        let (_, pk) = hpke::kem::DhP256HkdfSha256::derive_keypair(&[7; 32]);
        pk.to_bytes().to_vec()
    }

    #[test]
    fn uncompressed_keys_on_the_curve_only() {
        let good = sample();
        assert!(public_key(&good).is_ok());
        // The compressed form of the same point: refused (RFC 9180 §7.1.1).
        let point = public_key(&good).unwrap();
        let compressed = point.to_sec1_point(true);
        assert_eq!(public_key(compressed.as_bytes()), Err(CryptoError::InvalidKey));
        // Off the curve, truncated, too long, the identity, a wrong tag.
        let mut off = good.clone();
        off[64] ^= 1;
        let mut tag = good.clone();
        tag[0] = 0x06;
        let long = [&good[..], &[0][..]].concat();
        for bad in [&off[..], &good[..64], &long[..], &[0][..], &tag[..], &[][..]] {
            assert_eq!(public_key(bad), Err(CryptoError::InvalidKey));
        }
        // Coordinates of p or more are not field elements.
        let mut big = good.clone();
        big[1..33].fill(0xff);
        assert_eq!(public_key(&big), Err(CryptoError::InvalidKey));
    }

    #[test]
    fn private_keys_are_32_byte_scalars_below_the_order() {
        assert!(secret_key(&[1; 32]).is_ok());
        for bad in [&[0; 32][..], &[0xff; 32][..], &[1; 31][..], &[1; 33][..]] {
            assert_eq!(secret_key(bad).err(), Some(CryptoError::InvalidKey));
        }
    }
}
