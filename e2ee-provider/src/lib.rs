//! The interface between the e2ee MLS protocol (`e2ee-core`) and a
//! cryptographic provider.
//!
//! A provider implements [`CipherSuiteProvider`] for each cipher suite it
//! offers (the primitives of RFC 9420 §5.1: hash, MAC, KDF, AEAD, HPKE,
//! signatures) and [`CryptoProvider`], the lookup from suite id to those
//! primitives. Everything RFC 9420 itself defines on top of them (the
//! labelled operations of §5, the key schedule, TreeKEM) stays in the
//! protocol crate, so a provider holds no protocol code and cannot get it
//! wrong. `e2ee-rustcrypto` is the provider the project ships; the
//! conformance suite it passes (the module `conformance`, feature
//! `conformance`) can hold any provider to the same vectors.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod parallel;
mod secret;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

pub use secret::{Secret, ct_eq};

/// The source of randomness every operation that needs it takes.
pub type Rng<'a> = dyn rand_core::CryptoRng + 'a;

/// An MLS cipher suite identifier (RFC 9420 §17.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CipherSuite(pub u16);

impl CipherSuite {
    /// Suite 1: DHKEM(X25519), AES-128-GCM, SHA-256, Ed25519.
    pub const MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519: Self = Self(1);
    /// Suite 2: DHKEM(P-256), AES-128-GCM, SHA-256, ECDSA P-256.
    pub const MLS_128_DHKEMP256_AES128GCM_SHA256_P256: Self = Self(2);
    /// Suite 3: DHKEM(X25519), ChaCha20-Poly1305, SHA-256, Ed25519.
    pub const MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_ED25519: Self = Self(3);
    /// Suite 4: DHKEM(X448), AES-256-GCM, SHA-512, Ed448.
    pub const MLS_256_DHKEMX448_AES256GCM_SHA512_ED448: Self = Self(4);
    /// Suite 5: DHKEM(P-521), AES-256-GCM, SHA-512, ECDSA P-521.
    pub const MLS_256_DHKEMP521_AES256GCM_SHA512_P521: Self = Self(5);
    /// Suite 6: DHKEM(X448), ChaCha20-Poly1305, SHA-512, Ed448.
    pub const MLS_256_DHKEMX448_CHACHA20POLY1305_SHA512_ED448: Self = Self(6);
    /// Suite 7: DHKEM(P-384), AES-256-GCM, SHA-384, ECDSA P-384.
    pub const MLS_256_DHKEMP384_AES256GCM_SHA384_P384: Self = Self(7);
}

/// Failures of a cryptographic provider. The protocol reports verdicts on
/// a peer's data (a signature that does not verify, a ciphertext that
/// does not open) to the application as protocol errors naming what
/// failed; a provider reports them as these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// The cipher suite is not supported by the provider.
    UnsupportedCipherSuite {
        /// The suite's number.
        suite: u16,
    },
    /// A public or private key had the wrong length or was not a valid
    /// point.
    InvalidKey,
    /// A signature did not verify (or was malformed).
    InvalidSignature,
    /// AEAD or HPKE decryption failed: wrong key or tampered ciphertext.
    DecryptionFailed,
    /// Encryption failed (e.g. an invalid recipient key).
    EncryptionFailed,
    /// A KDF output length was larger than the KDF allows.
    InvalidLength,
    /// A labelled input (RFC 9420 §5.1.2, §5.1.3, §8) too long to encode.
    Encoding,
}

impl CryptoError {
    /// A stable machine-readable code, for bindings and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedCipherSuite { .. } => "unsupported_cipher_suite",
            Self::InvalidKey => "invalid_key",
            Self::InvalidSignature => "invalid_signature",
            Self::DecryptionFailed => "decryption_failed",
            Self::EncryptionFailed => "encryption_failed",
            Self::InvalidLength => "invalid_length",
            Self::Encoding => "encoding",
        }
    }
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnsupportedCipherSuite { suite } => write!(f, "unsupported cipher suite {suite}"),
            Self::InvalidKey => f.write_str("invalid key"),
            Self::InvalidSignature => f.write_str("invalid signature"),
            Self::DecryptionFailed => f.write_str("decryption failed"),
            Self::EncryptionFailed => f.write_str("encryption failed"),
            Self::InvalidLength => f.write_str("invalid KDF output length"),
            Self::Encoding => f.write_str("labelled input too long to encode"),
        }
    }
}

impl core::error::Error for CryptoError {}

/// HPKECiphertext (RFC 9420 §5.1.3): what HPKE SealBase returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HpkeCiphertext {
    /// The encapsulated KEM output.
    pub kem_output: Vec<u8>,
    /// The AEAD ciphertext.
    pub ciphertext: Vec<u8>,
}
/// A key pair: private key (zeroized on drop) and encoded public key.
#[derive(Clone, Debug)]
pub struct KeyPair {
    /// The private key in the suite's encoding.
    pub private: Secret,
    /// The public key in the suite's encoding.
    pub public: Vec<u8>,
}

/// One signature to verify, for [`CipherSuiteProvider::verify_many`].
#[derive(Clone, Copy, Debug)]
pub struct SignatureCheck<'a> {
    /// The signer's public key.
    pub public_key: &'a [u8],
    /// The signed message; for a labelled signature (RFC 9420 §5.1.2), its
    /// encoded `SignContent`.
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a [u8],
}

/// A signature private key prepared by [`CipherSuiteProvider::signer`].
pub trait Signer: Send + Sync {
    /// Signs `message`, as [`CipherSuiteProvider::sign`] with this key.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

/// A signature public key prepared by [`CipherSuiteProvider::verifier`].
pub trait Verifier: Send + Sync {
    /// Verifies `signature` over `message`, as [`CipherSuiteProvider::verify`]
    /// with this key.
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError>;
}

/// The primitives of one MLS cipher suite. Implement this to plug in another
/// backend; the protocol builds the labelled operations of RFC 9420 §5 on
/// these.
pub trait CipherSuiteProvider: Send + Sync {
    /// The suite these primitives implement.
    fn cipher_suite(&self) -> CipherSuite;
    /// Output length of the hash and KDF (`Nh`).
    fn hash_len(&self) -> usize;
    /// AEAD key length (`Nk`).
    fn aead_key_len(&self) -> usize;
    /// AEAD nonce length (`Nn`).
    fn aead_nonce_len(&self) -> usize;

    /// The suite's hash function.
    fn hash(&self, data: &[u8]) -> Vec<u8>;
    /// HMAC with the suite's hash.
    fn mac(&self, key: &[u8], data: &[u8]) -> Vec<u8>;
    /// HKDF-Extract.
    fn kdf_extract(&self, salt: &[u8], ikm: &[u8]) -> Secret;
    /// HKDF-Expand to `len` bytes.
    fn kdf_expand(&self, prk: &[u8], info: &[u8], len: usize) -> Result<Secret, CryptoError>;

    /// AEAD encryption; returns ciphertext with tag.
    fn aead_seal(&self, key: &[u8], nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError>;
    /// AEAD decryption.
    fn aead_open(&self, key: &[u8], nonce: &[u8], aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError>;
    /// AEAD encryption in place: the plaintext `buffer[start..]` becomes
    /// the ciphertext, the tag appended. For large plaintexts (a Welcome's
    /// GroupInfo holds the tree); this default goes through
    /// [`Self::aead_seal`] and copies.
    fn aead_seal_in_place(
        &self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut Vec<u8>,
        start: usize,
    ) -> Result<(), CryptoError> {
        let plaintext = buffer.get(start..).ok_or(CryptoError::InvalidLength)?;
        let ciphertext = self.aead_seal(key, nonce, aad, plaintext)?;
        buffer.truncate(start);
        buffer.extend_from_slice(&ciphertext);
        Ok(())
    }

    /// HPKE SealBase (RFC 9180) to `public_key`.
    fn hpke_seal(
        &self,
        public_key: &[u8],
        info: &[u8],
        aad: &[u8],
        plaintext: &[u8],
        rng: &mut Rng<'_>,
    ) -> Result<HpkeCiphertext, CryptoError>;
    /// HPKE SealBase of each `(public_key, plaintext)` of `recipients`, all
    /// under the same `info` and `aad`, in order. A Welcome seals every new
    /// member's GroupSecrets under an info that holds the whole encrypted
    /// GroupInfo (and with it the tree), so a provider should hash that
    /// info once (RFC 9180 §5.1 `info_hash`) rather than once per
    /// recipient; this default seals one by one.
    fn hpke_seal_each(
        &self,
        recipients: &[(&[u8], &[u8])],
        info: &[u8],
        aad: &[u8],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<HpkeCiphertext>, CryptoError> {
        recipients
            .iter()
            .map(|(public_key, plaintext)| self.hpke_seal(public_key, info, aad, plaintext, rng))
            .collect()
    }
    /// HPKE OpenBase with `private_key`.
    fn hpke_open(
        &self,
        private_key: &[u8],
        ciphertext: &HpkeCiphertext,
        info: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError>;
    /// HPKE SetupBaseS followed by Export: returns `(kem_output, exported)`.
    fn hpke_export_sender(
        &self,
        public_key: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        len: usize,
        rng: &mut Rng<'_>,
    ) -> Result<(Vec<u8>, Secret), CryptoError>;
    /// HPKE SetupBaseR followed by Export.
    fn hpke_export_receiver(
        &self,
        private_key: &[u8],
        kem_output: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        len: usize,
    ) -> Result<Secret, CryptoError>;
    /// The KEM's DeriveKeyPair (RFC 9180 §7.1.3).
    fn kem_derive_key_pair(&self, ikm: &[u8]) -> Result<KeyPair, CryptoError>;
    /// The public key belonging to a KEM private key.
    fn kem_public_key(&self, private_key: &[u8]) -> Result<Vec<u8>, CryptoError>;
    /// Accepts a KEM public key that HPKE can encrypt to, else
    /// [`CryptoError::InvalidKey`]: one that decodes (RFC 9180 §7.1.1) and,
    /// for X25519, is not of small order (every Encap to such a key fails,
    /// §7.1.4). KeyPackages, leaf nodes, UpdatePaths and received trees are
    /// checked with it, so that no member can make the others' Commits fail.
    /// The default accepts every key; `e2ee-rustcrypto` checks.
    fn kem_public_key_check(&self, public_key: &[u8]) -> Result<(), CryptoError> {
        let _ = public_key;
        Ok(())
    }

    /// A fresh signature key pair.
    fn signature_key_generate(&self, rng: &mut Rng<'_>) -> KeyPair;
    /// The public key belonging to a signature private key.
    fn signature_public_key(&self, private_key: &[u8]) -> Result<Vec<u8>, CryptoError>;
    /// Signs `message` (the scheme hashes internally as it defines).
    fn sign(&self, private_key: &[u8], message: &[u8]) -> Result<Vec<u8>, CryptoError>;
    /// `private_key` decoded once for signing many messages, as
    /// [`Self::sign`] would with it. A group keeps one: for Ed25519,
    /// decoding (expanding the seed, computing the public key) costs about
    /// as much as the signature itself.
    fn signer(&self, private_key: &[u8]) -> Result<Box<dyn Signer>, CryptoError>;
    /// `public_key` decoded once for verifying many signatures, as
    /// [`Self::verify`] would with it.
    fn verifier(&self, public_key: &[u8]) -> Result<Box<dyn Verifier>, CryptoError>;
    /// Verifies `signature` over `message`.
    fn verify(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), CryptoError>;

    /// Verifies every signature of `checks`. Accepts exactly when
    /// [`Self::verify`] accepts each of them; otherwise returns the index
    /// of the first one it rejects. The default verifies one by one; a
    /// backend may spread the work over cores (as `e2ee-rustcrypto`
    /// does with the `parallel` feature), but a batch that accepts any
    /// other set than one by one would split groups whose members build
    /// differently.
    fn verify_many(&self, checks: &[SignatureCheck<'_>]) -> Result<(), usize> {
        first_rejected(checks, |c| self.verify(c.public_key, c.message, c.signature))
    }

    /// A fresh KEM key pair: DeriveKeyPair over `Nh` random bytes.
    fn kem_key_generate(&self, rng: &mut Rng<'_>) -> Result<KeyPair, CryptoError> {
        let mut ikm = Secret::zero(self.hash_len());
        rng.fill_bytes(ikm.as_mut_bytes());
        self.kem_derive_key_pair(ikm.as_bytes())
    }

    /// `Nh` random bytes, as a secret.
    fn random_secret(&self, rng: &mut Rng<'_>) -> Secret {
        let mut s = Secret::zero(self.hash_len());
        rng.fill_bytes(s.as_mut_bytes());
        s
    }
}

/// The index of the first of `checks` that `verify` rejects.
pub fn first_rejected<E>(
    checks: &[SignatureCheck<'_>],
    verify: impl Fn(&SignatureCheck<'_>) -> Result<(), E>,
) -> Result<(), usize> {
    match checks.iter().position(|c| verify(c).is_err()) {
        Some(i) => Err(i),
        None => Ok(()),
    }
}

/// A lookup from cipher suite id to that suite's primitives.
pub trait CryptoProvider: Send + Sync {
    /// The primitives for `suite`, or `UnsupportedCipherSuite`.
    fn cipher_suite(&self, suite: CipherSuite) -> Result<&dyn CipherSuiteProvider, CryptoError>;
    /// The suites this provider supports, in order of preference.
    fn supported_cipher_suites(&self) -> Vec<CipherSuite>;
}
