//! Cipher suites and the labelled cryptographic operations of RFC 9420 §5.
//!
//! All primitives sit behind [`CipherSuiteProvider`] (one cipher suite) and
//! [`CryptoProvider`] (a lookup from suite id to provider), so a different
//! backend can be plugged in. [`RustCryptoProvider`] is the default backend,
//! built on RustCrypto and the `hpke` crate, for suites 1, 2 and 3.
//!
//! The labelled operations (§5.1–§5.2) are provided methods on
//! [`CipherSuiteProvider`], so every backend gets them for free.

mod dhkem;
mod dhkem_p256;
mod ecdsa_der;
mod hpke_base;
mod rustcrypto;
mod secret;

use alloc::boxed::Box;
use alloc::vec::Vec;

pub use rustcrypto::RustCryptoProvider;
pub use secret::{Secret, ct_eq};

use crate::codec::{self, Decode, Encode, Measured, Size, VLBytes, Writer};
use crate::error::Error;

/// The source of randomness every operation that needs it takes.
pub type Rng<'a> = dyn rand_core::CryptoRng + 'a;

/// The operating system's random number generator (the `client` feature).
#[cfg(all(any(feature = "client", test), not(fuzzing)))]
pub fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

/// In fuzz builds (`--cfg fuzzing`, set by cargo-fuzz) the "OS" generator
/// is a seeded one, so that a fuzz input replays the same run: a crash
/// found once reproduces. Never cryptographically secure.
#[cfg(all(any(feature = "client", test), fuzzing))]
pub fn os_rng() -> fuzz_rng::FuzzRng {
    fuzz_rng::FuzzRng
}

#[cfg(all(any(feature = "client", test), fuzzing))]
pub use fuzz_rng::seed_fuzz_rng;

#[cfg(all(any(feature = "client", test), fuzzing))]
mod fuzz_rng {
    use core::convert::Infallible;
    use core::sync::atomic::{AtomicU64, Ordering};

    static STATE: AtomicU64 = AtomicU64::new(0);

    /// Restarts the generator every [`super::os_rng`] draws from.
    pub fn seed_fuzz_rng(seed: u64) {
        STATE.store(seed, Ordering::Relaxed);
    }

    /// SplitMix64 over one process-wide state.
    pub struct FuzzRng;

    impl rand_core::TryRng for FuzzRng {
        type Error = Infallible;

        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            Ok(self.try_next_u64()? as u32)
        }

        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            let mut z = STATE
                .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
                .wrapping_add(0x9e37_79b9_7f4a_7c15);
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            Ok(z ^ (z >> 31))
        }

        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            for chunk in dst.chunks_mut(8) {
                let word = self.try_next_u64()?.to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
            Ok(())
        }
    }

    impl rand_core::TryCryptoRng for FuzzRng {}
}

/// An MLS cipher suite identifier (RFC 9420 §17.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Size, Encode, Decode)]
pub struct CipherSuite(pub u16);

impl CipherSuite {
    /// Suite 1: DHKEM(X25519), AES-128-GCM, SHA-256, Ed25519.
    pub const MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519: Self = Self(1);
    /// Suite 2: DHKEM(P-256), AES-128-GCM, SHA-256, ECDSA P-256.
    pub const MLS_128_DHKEMP256_AES128GCM_SHA256_P256: Self = Self(2);
    /// Suite 3: DHKEM(X25519), ChaCha20-Poly1305, SHA-256, Ed25519.
    pub const MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_ED25519: Self = Self(3);
}

crate::error::error_enum! {
    /// Failures of the cryptographic provider. Verdicts on a peer's data (a
    /// signature that does not verify, a ciphertext that does not open) reach
    /// the application as [`ProtocolError`](crate::error::ProtocolError)s
    /// naming what failed; the provider reports them as these.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum CryptoError {
        /// The cipher suite is not supported by the provider.
        UnsupportedCipherSuite {
            /// The suite's number.
            suite: u16,
        } => "unsupported_cipher_suite", "unsupported cipher suite {suite}";
        /// A public or private key had the wrong length or was not a valid
        /// point.
        InvalidKey => "invalid_key", "invalid key";
        /// A signature did not verify (or was malformed).
        InvalidSignature => "invalid_signature", "invalid signature";
        /// AEAD or HPKE decryption failed: wrong key or tampered ciphertext.
        DecryptionFailed => "decryption_failed", "decryption failed";
        /// Encryption failed (e.g. an invalid recipient key).
        EncryptionFailed => "encryption_failed", "encryption failed";
        /// A KDF output length was larger than the KDF allows.
        InvalidLength => "invalid_length", "invalid KDF output length";
        /// A labelled input (§5.1.2, §5.1.3, §8) too long to encode.
        Encoding => "encoding", "labelled input too long to encode";
    }
}

/// HPKECiphertext (RFC 9420 §5.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct HpkeCiphertext {
    /// The encapsulated KEM output.
    pub kem_output: VLBytes,
    /// The AEAD ciphertext.
    pub ciphertext: VLBytes,
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
    /// The signed message; for a labelled signature, its [`sign_content`].
    pub message: &'a [u8],
    /// The signature.
    pub signature: &'a [u8],
}

/// A signature private key prepared by [`CipherSuiteProvider::signer`].
pub trait Signer: Send + Sync {
    /// Signs `message`, as [`CipherSuiteProvider::sign`] with this key.
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

// Inherent on the trait object rather than provided methods, which every
// implementation would carry a copy of.
impl<'a> dyn Signer + 'a {
    /// SignWithLabel(SignatureKey, Label, Content) (§5.1.2) with this key.
    pub fn sign_with_label(&self, label: &[u8], content: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sign(&sign_content(label, content)?)
    }
}

/// A signature public key prepared by [`CipherSuiteProvider::verifier`].
pub trait Verifier: Send + Sync {
    /// Verifies `signature` over `message`, as [`CipherSuiteProvider::verify`]
    /// with this key.
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError>;
}

impl<'a> dyn Verifier + 'a {
    /// VerifyWithLabel(VerificationKey, Label, Content, Signature) (§5.1.2)
    /// with this key.
    pub fn verify_with_label(&self, label: &[u8], content: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        self.verify(&sign_content(label, content)?, signature)
    }
}

/// The signature keys of a group's recent senders, decoded once: messages
/// come from few members at a time, and decoding an Ed25519 key (a point
/// decompression) costs about a tenth of a verification. Keyed by the key's
/// bytes, so a member's new key is a miss, never a stale hit; bounded, the
/// oldest entry making room. The bound is well above the number of members
/// who talk at once in a chat: senders taking turns in a cycle longer than
/// the cache would miss every time. About 250 bytes per entry.
#[derive(Default)]
pub(crate) struct VerifierCache {
    entries: Vec<(Vec<u8>, Box<dyn Verifier>)>,
    /// The entry the next miss replaces once the cache is full.
    oldest: usize,
}

impl VerifierCache {
    pub(crate) const CAPACITY: usize = 64;

    /// The verifier of `public_key`, decoded on a miss.
    pub(crate) fn get(
        &mut self,
        cs: &dyn CipherSuiteProvider,
        public_key: &[u8],
    ) -> Result<&dyn Verifier, CryptoError> {
        let i = match self.entries.iter().position(|(k, _)| k.as_slice() == public_key) {
            Some(i) => i,
            None => {
                let entry = (public_key.to_vec(), cs.verifier(public_key)?);
                if self.entries.len() < Self::CAPACITY {
                    self.entries.push(entry);
                    self.entries.len() - 1
                } else {
                    let i = self.oldest;
                    self.entries[i] = entry;
                    self.oldest = (i + 1) % Self::CAPACITY;
                    i
                }
            }
        };
        Ok(&*self.entries[i].1)
    }
}

/// A signature private key as stored, with its [`Signer`] prepared once.
pub(crate) struct SignatureKey {
    private: Secret,
    signer: Box<dyn Signer>,
}

impl SignatureKey {
    /// `private` of the suite `cs`, prepared for signing.
    pub(crate) fn new(cs: &dyn CipherSuiteProvider, private: Secret) -> Result<Self, CryptoError> {
        let signer = cs.signer(private.as_bytes())?;
        Ok(Self { private, signer })
    }

    /// The private key as stored.
    pub(crate) fn private(&self) -> &Secret {
        &self.private
    }

    /// The prepared signer.
    pub(crate) fn signer(&self) -> &dyn Signer {
        &*self.signer
    }
}

/// The primitives of one MLS cipher suite. Implement this to plug in another
/// backend; the labelled operations of §5 come as provided methods.
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
    /// The default accepts every key; [`RustCryptoProvider`] checks.
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
    /// backend may spread the work over cores (as [`RustCryptoProvider`]
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

    /// ExpandWithLabel(Secret, Label, Context, Length) (§8).
    fn expand_with_label(&self, secret: &[u8], label: &[u8], context: &[u8], len: u16) -> Result<Secret, CryptoError> {
        let info = labelled(b"MLS 1.0 ", label, context)?;
        let mut full = Vec::with_capacity(2 + info.len());
        full.extend_from_slice(&len.to_be_bytes());
        full.extend_from_slice(&info);
        self.kdf_expand(secret, &full, usize::from(len))
    }

    /// DeriveSecret(Secret, Label) = ExpandWithLabel(Secret, Label, "", Nh) (§8).
    fn derive_secret(&self, secret: &[u8], label: &[u8]) -> Result<Secret, CryptoError> {
        self.expand_with_label(secret, label, &[], self.hash_len() as u16)
    }

    /// DeriveTreeSecret(Secret, Label, Generation, Length) (§9).
    fn derive_tree_secret(
        &self,
        secret: &[u8],
        label: &[u8],
        generation: u32,
        len: u16,
    ) -> Result<Secret, CryptoError> {
        self.expand_with_label(secret, label, &generation.to_be_bytes(), len)
    }

    /// RefHash(Label, Value) (§5.2).
    fn ref_hash(&self, label: &[u8], value: &[u8]) -> Result<Vec<u8>, CryptoError> {
        // RefHashInput { opaque label<V>; opaque value<V>; }
        Ok(self.hash(&labelled(b"", label, value)?))
    }

    /// MakeKeyPackageRef(value) (§5.2).
    fn make_key_package_ref(&self, key_package: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.ref_hash(b"MLS 1.0 KeyPackage Reference", key_package)
    }

    /// MakeProposalRef(value) (§5.2).
    fn make_proposal_ref(&self, authenticated_content: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.ref_hash(b"MLS 1.0 Proposal Reference", authenticated_content)
    }

    /// SignWithLabel(SignatureKey, Label, Content) (§5.1.2).
    fn sign_with_label(&self, private_key: &[u8], label: &[u8], content: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sign(private_key, &sign_content(label, content)?)
    }

    /// VerifyWithLabel(VerificationKey, Label, Content, Signature) (§5.1.2).
    fn verify_with_label(
        &self,
        public_key: &[u8],
        label: &[u8],
        content: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.verify(public_key, &sign_content(label, content)?, signature)
    }

    /// EncryptWithLabel(PublicKey, Label, Context, Plaintext) (§5.1.3).
    fn encrypt_with_label(
        &self,
        public_key: &[u8],
        label: &[u8],
        context: &[u8],
        plaintext: &[u8],
        rng: &mut Rng<'_>,
    ) -> Result<HpkeCiphertext, CryptoError> {
        self.hpke_seal(public_key, &encrypt_context(label, context)?, &[], plaintext, rng)
    }

    /// DecryptWithLabel(PrivateKey, Label, Context, KEMOutput, Ciphertext) (§5.1.3).
    fn decrypt_with_label(
        &self,
        private_key: &[u8],
        label: &[u8],
        context: &[u8],
        ciphertext: &HpkeCiphertext,
    ) -> Result<Vec<u8>, CryptoError> {
        self.hpke_open(private_key, ciphertext, &encrypt_context(label, context)?, &[])
    }
}

/// The message SignWithLabel signs (§5.1.2): the encoded
/// `SignContent { "MLS 1.0 " + label, content }`. For building
/// [`SignatureCheck`]s of labelled signatures.
pub fn sign_content(label: &[u8], content: &[u8]) -> Result<Vec<u8>, CryptoError> {
    labelled(b"MLS 1.0 ", label, content)
}

/// [`sign_content`] with `content` written in place: the message, and
/// where the content starts in it. The capacity leaves `extra` bytes after
/// it (e.g. for the signature that follows a GroupInfoTBS).
pub(crate) fn sign_content_of(label: &[u8], content: &dyn Measured, extra: usize) -> Result<(Vec<u8>, usize), Error> {
    let len = content.encoded_len();
    let mut w = Writer::from_vec(labelled_header(b"MLS 1.0 ", label, len, len + extra)?);
    let start = w.as_slice().len();
    content.encode_to(&mut w);
    let message = w.finish()?;
    // The length prefix was written from the size: the two must agree.
    if message.len() != start + len {
        return Err(CryptoError::InvalidLength.into());
    }
    Ok((message, start))
}

/// The `EncryptContext` of EncryptWithLabel (§5.1.3): the HPKE info.
pub(crate) fn encrypt_context(label: &[u8], context: &[u8]) -> Result<Vec<u8>, CryptoError> {
    labelled(b"MLS 1.0 ", label, context)
}

/// The `EncryptContext` of EncryptWithLabel (§5.1.3) up to its context,
/// for a context of `context_len` bytes.
pub(crate) fn encrypt_context_header(label: &[u8], context_len: usize) -> Result<Vec<u8>, CryptoError> {
    labelled_header(b"MLS 1.0 ", label, context_len, 0)
}

/// [`CipherSuiteProvider::hpke_seal_each`], checked to give one ciphertext
/// per recipient: a provider that returned fewer would leave a joiner of a
/// Welcome, or a node of an UpdatePath, silently without its secret.
pub(crate) fn hpke_seal_all(
    cs: &dyn CipherSuiteProvider,
    recipients: &[(&[u8], &[u8])],
    info: &[u8],
    rng: &mut Rng<'_>,
) -> Result<Vec<HpkeCiphertext>, CryptoError> {
    let sealed = cs.hpke_seal_each(recipients, info, &[], rng)?;
    if sealed.len() != recipients.len() {
        return Err(CryptoError::EncryptionFailed);
    }
    Ok(sealed)
}

/// The index of the first of `checks` that `verify` rejects.
pub(crate) fn first_rejected<E>(
    checks: &[SignatureCheck<'_>],
    verify: impl Fn(&SignatureCheck<'_>) -> Result<(), E>,
) -> Result<(), usize> {
    match checks.iter().position(|c| verify(c).is_err()) {
        Some(i) => Err(i),
        None => Ok(()),
    }
}

/// Encodes `struct { opaque label<V> = prefix + label; opaque content<V>; }`,
/// the shape shared by KDFLabel, SignContent and EncryptContext.
fn labelled(prefix: &[u8], label: &[u8], content: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut out = labelled_header(prefix, label, content.len(), content.len())?;
    out.extend_from_slice(content);
    Ok(out)
}

/// `labelled` up to its content, for a content of `content_len` bytes,
/// with capacity for `room` bytes more. A large content (a GroupInfo
/// holding the tree) is then written in place rather than copied in.
fn labelled_header(prefix: &[u8], label: &[u8], content_len: usize, room: usize) -> Result<Vec<u8>, CryptoError> {
    let mut out = codec::Writer::with_capacity(prefix.len() + label.len() + 8 + room);
    out.length(prefix.len() + label.len());
    out.put(prefix);
    out.put(label);
    out.length(content_len);
    // Only a content of 2^30 bytes or more fails to encode.
    out.finish().map_err(|_| CryptoError::Encoding)
}

/// A lookup from cipher suite id to that suite's primitives.
pub trait CryptoProvider: Send + Sync {
    /// The primitives for `suite`, or `UnsupportedCipherSuite`.
    fn cipher_suite(&self, suite: CipherSuite) -> Result<&dyn CipherSuiteProvider, CryptoError>;
    /// The suites this provider supports, in order of preference.
    fn supported_cipher_suites(&self) -> Vec<CipherSuite>;
}
