//! The signature schemes of the MLS cipher suites, keys and signatures in
//! the encodings RFC 9420 uses: Ed25519 and Ed448 (RFC 8032, keys and
//! signatures as the RFC encodes them), ECDSA over P-256, P-384 and P-521
//! (uncompressed SEC1 public keys, the scalar as the private key, DER
//! signatures, RFC 9420 §5.1.1).

use alloc::boxed::Box;
use alloc::vec::Vec;

use e2ee_provider::{CryptoError, KeyPair, Rng, Secret, SignatureCheck, Signer, Verifier, first_rejected};
use zeroize::Zeroizing;

use crate::ecdsa_der;

/// A signature scheme: keys are raw bytes in the encodings MLS uses.
pub(crate) trait SignatureScheme: 'static {
    fn generate(rng: &mut Rng<'_>) -> KeyPair;
    fn public_key(private_key: &[u8]) -> Result<Vec<u8>, CryptoError>;
    fn signer(private_key: &[u8]) -> Result<Box<dyn Signer>, CryptoError>;
    fn verifier(public_key: &[u8]) -> Result<Box<dyn Verifier>, CryptoError>;

    fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        Self::verifier(public_key)?.verify(message, signature)
    }

    /// As `CipherSuiteProvider::verify_many`: one by one, so that the
    /// verdict on each signature never depends on the others, the build or
    /// the core count; with `parallel`, shared out over the cores.
    fn verify_many(checks: &[SignatureCheck<'_>]) -> Result<(), usize> {
        let verify = |share: &[SignatureCheck<'_>]| {
            first_rejected(share, |c| Self::verify(c.public_key, c.message, c.signature))
        };
        #[cfg(feature = "parallel")]
        return verify_shared(checks, verify);
        #[cfg(not(feature = "parallel"))]
        verify(checks)
    }
}

/// `verify` run on shares of `checks`, one per available core; the index
/// of the first rejected check in the order of `checks`.
#[cfg(feature = "parallel")]
fn verify_shared(
    checks: &[SignatureCheck<'_>],
    verify: impl Fn(&[SignatureCheck<'_>]) -> Result<(), usize> + Sync,
) -> Result<(), usize> {
    // Below this per core, starting a thread costs more than it saves.
    const MIN_PER_THREAD: usize = 64;
    let shares = e2ee_provider::parallel::shares(checks, MIN_PER_THREAD);
    let lens: Vec<usize> = shares.iter().map(|s| s.len()).collect();
    let mut offset = 0;
    for (verdict, len) in e2ee_provider::parallel::run(shares, verify).into_iter().zip(lens) {
        verdict.map_err(|i| offset + i)?;
        offset += len;
    }
    Ok(())
}

/// A key of a signature crate, prepared for [`Signer`] or [`Verifier`].
struct Prepared<T>(T);

/// Ed25519 (RFC 8032): 32-byte seeds and public keys, 64-byte signatures.
pub(crate) struct Ed25519;

impl Ed25519 {
    fn signing_key(private_key: &[u8]) -> Result<ed25519_dalek::SigningKey, CryptoError> {
        let seed: &[u8; 32] = private_key.try_into().map_err(|_| CryptoError::InvalidKey)?;
        Ok(ed25519_dalek::SigningKey::from_bytes(seed))
    }
}

impl SignatureScheme for Ed25519 {
    fn generate(rng: &mut Rng<'_>) -> KeyPair {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(seed.as_mut());
        let sk = ed25519_dalek::SigningKey::from_bytes(&seed);
        KeyPair {
            private: Secret::from_slice(seed.as_ref()),
            public: sk.verifying_key().to_bytes().to_vec(),
        }
    }

    fn public_key(private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(Self::signing_key(private_key)?.verifying_key().to_bytes().to_vec())
    }

    fn signer(private_key: &[u8]) -> Result<Box<dyn Signer>, CryptoError> {
        Ok(Box::new(Prepared(Self::signing_key(private_key)?)))
    }

    fn verifier(public_key: &[u8]) -> Result<Box<dyn Verifier>, CryptoError> {
        let bytes: &[u8; 32] = public_key.try_into().map_err(|_| CryptoError::InvalidKey)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| CryptoError::InvalidKey)?;
        Ok(Box::new(Prepared(key)))
    }
}

/// RFC 8032 signing, as ed25519-dalek implements it; the secret is
/// zeroized on drop (the crate's `zeroize` support).
impl Signer for Prepared<ed25519_dalek::SigningKey> {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let signature: ed25519_dalek::Signature = ed25519_dalek::Signer::sign(&self.0, message);
        Ok(signature.to_bytes().to_vec())
    }
}

/// `verify_strict`: small-order keys and `R`s, and non-canonical `S`, are
/// refused, so every member reaches the same verdict on the same bytes.
impl Verifier for Prepared<ed25519_dalek::VerifyingKey> {
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        let signature = ed25519_dalek::Signature::from_slice(signature).map_err(|_| CryptoError::InvalidSignature)?;
        self.0
            .verify_strict(message, &signature)
            .map_err(|_| CryptoError::InvalidSignature)
    }
}

/// Ed448 (RFC 8032, pure, with the empty context): 57-byte seeds and
/// public keys, 114-byte signatures.
#[cfg(feature = "x448")]
pub(crate) struct Ed448;

#[cfg(feature = "x448")]
impl Ed448 {
    const LEN: usize = 57;

    /// Whether bits 448 to 454 of an encoded point are zero. RFC 8032
    /// §5.2.3 decodes them into y, which must then be below p: with any of
    /// them set it is not. `ed448-goldilocks` ignores them, which would
    /// accept other encodings of the same point (Wycheproof's Ed448 tests
    /// 63 to 65) where other implementations refuse.
    fn canonical_point(bytes: &[u8]) -> bool {
        bytes.get(Self::LEN - 1).is_some_and(|last| last & 0x7f == 0)
    }

    fn signing_key(private_key: &[u8]) -> Result<ed448_goldilocks::SigningKey, CryptoError> {
        let seed = ed448_goldilocks::SecretKey::try_from(private_key).map_err(|_| CryptoError::InvalidKey)?;
        Ok(ed448_goldilocks::SigningKey::from(&seed))
    }
}

#[cfg(feature = "x448")]
impl SignatureScheme for Ed448 {
    fn generate(rng: &mut Rng<'_>) -> KeyPair {
        let mut seed = Zeroizing::new([0u8; Self::LEN]);
        rng.fill_bytes(seed.as_mut());
        let public = Self::public_key(seed.as_ref()).expect("a seed of the right length");
        KeyPair {
            private: Secret::from_slice(seed.as_ref()),
            public,
        }
    }

    fn public_key(private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(Self::signing_key(private_key)?.verifying_key().as_bytes().to_vec())
    }

    fn signer(private_key: &[u8]) -> Result<Box<dyn Signer>, CryptoError> {
        Ok(Box::new(Prepared(Self::signing_key(private_key)?)))
    }

    fn verifier(public_key: &[u8]) -> Result<Box<dyn Verifier>, CryptoError> {
        let bytes = <[u8; Self::LEN]>::try_from(public_key).map_err(|_| CryptoError::InvalidKey)?;
        if !Self::canonical_point(&bytes) {
            return Err(CryptoError::InvalidKey);
        }
        let key = ed448_goldilocks::VerifyingKey::from_bytes(&bytes).map_err(|_| CryptoError::InvalidKey)?;
        Ok(Box::new(Prepared(key)))
    }
}

#[cfg(feature = "x448")]
impl Signer for Prepared<ed448_goldilocks::SigningKey> {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(self.0.sign_raw(message).to_bytes().to_vec())
    }
}

#[cfg(feature = "x448")]
impl Verifier for Prepared<ed448_goldilocks::VerifyingKey> {
    /// RFC 8032 §5.2.7, with `R` decoded as §5.2.3 says (see
    /// [`Ed448::canonical_point`]).
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        if !Ed448::canonical_point(signature) {
            return Err(CryptoError::InvalidSignature);
        }
        let signature =
            ed448_goldilocks::Signature::from_slice(signature).map_err(|_| CryptoError::InvalidSignature)?;
        self.0
            .verify_raw(&signature, message)
            .map_err(|_| CryptoError::InvalidSignature)
    }
}

/// ECDSA on one curve with its hash (`$curve` the curve's crate): the
/// scalar as the private key (`$len` bytes), uncompressed SEC1 public keys
/// (parsed by `$parse`) and DER-encoded signatures, as TLS 1.3's
/// ecdsa_secpXXXr1_shaXXX.
macro_rules! ecdsa_scheme {
    ($(#[$meta:meta])* $name:ident, $curve:ident, $len:expr, $parse:expr) => {
        $(#[$meta])*
        pub(crate) struct $name;

        $(#[$meta])*
        impl $name {
            fn signing_key(private_key: &[u8]) -> Result<$curve::ecdsa::SigningKey, CryptoError> {
                let scalar = crate::kem::scalar_bytes(private_key, $len)?;
                $curve::ecdsa::SigningKey::from_slice(&scalar).map_err(|_| CryptoError::InvalidKey)
            }

            fn encode_public(sk: &$curve::ecdsa::SigningKey) -> Vec<u8> {
                sk.verifying_key().to_sec1_point(false).as_bytes().to_vec()
            }
        }

        $(#[$meta])*
        impl SignatureScheme for $name {
            fn generate(rng: &mut Rng<'_>) -> KeyPair {
                use $curve::elliptic_curve::Generate;
                let secret = $curve::SecretKey::generate_from_rng(rng);
                let private = Secret::from_slice(&Zeroizing::new(secret.to_bytes()));
                let public = Self::public_key(private.as_bytes()).expect("a valid scalar");
                KeyPair { private, public }
            }

            fn public_key(private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
                Ok(Self::encode_public(&Self::signing_key(private_key)?))
            }

            fn signer(private_key: &[u8]) -> Result<Box<dyn Signer>, CryptoError> {
                Ok(Box::new(Prepared(Self::signing_key(private_key)?)))
            }

            fn verifier(public_key: &[u8]) -> Result<Box<dyn Verifier>, CryptoError> {
                let parse: fn(&[u8]) -> Result<$curve::PublicKey, CryptoError> = $parse;
                Ok(Box::new(Prepared($curve::ecdsa::VerifyingKey::from(parse(public_key)?))))
            }
        }

        $(#[$meta])*
        impl Signer for Prepared<$curve::ecdsa::SigningKey> {
            fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
                let sig: $curve::ecdsa::Signature = $curve::ecdsa::signature::Signer::sign(&self.0, message);
                let rs = sig.to_bytes();
                let (r, s) = rs.split_at(rs.len() / 2);
                Ok(ecdsa_der::encode(r, s))
            }
        }

        $(#[$meta])*
        impl Verifier for Prepared<$curve::ecdsa::VerifyingKey> {
            fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
                let rs = ecdsa_der::decode(signature, $len).ok_or(CryptoError::InvalidSignature)?;
                let sig = $curve::ecdsa::Signature::from_slice(&rs).map_err(|_| CryptoError::InvalidSignature)?;
                $curve::ecdsa::signature::Verifier::verify(&self.0, message, &sig)
                    .map_err(|_| CryptoError::InvalidSignature)
            }
        }
    };
}

// Uncompressed points only, as for the KEM (see `dhkem_p256`).
ecdsa_scheme!(EcdsaP256, p256, 32, crate::dhkem_p256::public_key);
ecdsa_scheme!(
    #[cfg(feature = "p384")]
    EcdsaP384,
    p384,
    48,
    |bytes| uncompressed_point(bytes, 48, p384::PublicKey::from_sec1_bytes)
);
ecdsa_scheme!(
    #[cfg(feature = "p521")]
    EcdsaP521,
    p521,
    66,
    |bytes| uncompressed_point(bytes, 66, p521::PublicKey::from_sec1_bytes)
);

/// A public key given as `0x04 || x || y` (coordinates of `len` bytes),
/// the only form RFC 9180 and RFC 9420 use: compressed points and the
/// identity are refused, so every member reaches the same verdict.
#[cfg(any(feature = "p384", feature = "p521"))]
pub(crate) fn uncompressed_point<K, E>(
    bytes: &[u8],
    len: usize,
    parse: fn(&[u8]) -> Result<K, E>,
) -> Result<K, CryptoError> {
    match bytes {
        [4, rest @ ..] if rest.len() == 2 * len => parse(bytes).map_err(|_| CryptoError::InvalidKey),
        _ => Err(CryptoError::InvalidKey),
    }
}
