//! Cryptography as the protocol uses it: the provider interface
//! (re-exported from `e2ee-provider`), the labelled operations of RFC 9420
//! §5.1–§5.2 and §8 built on it, and the keys a group keeps prepared.
//!
//! The primitives sit behind [`CipherSuiteProvider`] (one cipher suite) and
//! [`CryptoProvider`] (a lookup from suite id to provider), so any backend
//! can be plugged in. With the `rustcrypto` feature (on by default),
//! [`RustCryptoProvider`] from `e2ee-rustcrypto` is the built-in backend.

use alloc::boxed::Box;
use alloc::vec::Vec;

pub use e2ee_provider::{
    CipherSuite, CipherSuiteProvider, CryptoError, CryptoProvider, HpkeCiphertext, KeyPair, Rng, Secret,
    SignatureCheck, Signer, Verifier, ct_eq,
};
#[cfg(any(feature = "rustcrypto", test))]
pub use e2ee_rustcrypto::RustCryptoProvider;

use crate::codec::{self, CodecError, Decode, Encode, Measured, Reader, Size, Writer};
use crate::error::Error;

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

// The provider interface knows nothing of the wire format; the encodings of
// its types are the protocol's.
impl Size for CipherSuite {
    fn encoded_len(&self) -> usize {
        2
    }
}

impl Encode for CipherSuite {
    fn fixed_len() -> Option<usize> {
        Some(2)
    }

    fn encode_to(&self, w: &mut Writer) {
        self.0.encode_to(w);
    }
}

impl Decode for CipherSuite {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        u16::decode_from(r).map(Self)
    }
}

/// `struct { opaque kem_output<V>; opaque ciphertext<V>; }` (§5.1.3).
impl Size for HpkeCiphertext {
    fn encoded_len(&self) -> usize {
        codec::opaque_len(self.kem_output.len()) + codec::opaque_len(self.ciphertext.len())
    }
}

impl Encode for HpkeCiphertext {
    fn encode_to(&self, w: &mut Writer) {
        w.opaque(&self.kem_output);
        w.opaque(&self.ciphertext);
    }
}

impl Decode for HpkeCiphertext {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(Self {
            kem_output: r.opaque()?.to_vec(),
            ciphertext: r.opaque()?.to_vec(),
        })
    }
}

// Secrets encode as `opaque secret<V>`, for storing a group's state
// (`group::Group::export_state`); decoding copies straight into a `Secret`.
impl Size for Secret {
    fn encoded_len(&self) -> usize {
        codec::opaque_len(self.len())
    }
}

impl Encode for Secret {
    fn encode_to(&self, w: &mut Writer) {
        w.opaque(self.as_bytes());
    }
}

impl Decode for Secret {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(Secret::from_slice(r.opaque()?))
    }
}

/// Encodes `value`, which holds secrets (e.g. GroupSecrets), so that no
/// copy is left behind in freed memory as the buffer grows.
pub(crate) fn encode_secret<T: Encode + ?Sized>(value: &T) -> Result<Secret, CodecError> {
    let mut w = Writer::for_secrets();
    value.encode_to(&mut w);
    Ok(Secret::new(w.finish()?))
}

/// SignWithLabel (§5.1.2) with a prepared key.
pub trait SignWithLabel {
    /// SignWithLabel(SignatureKey, Label, Content) with this key.
    fn sign_with_label(&self, label: &[u8], content: &[u8]) -> Result<Vec<u8>, CryptoError>;
}

impl<T: Signer + ?Sized> SignWithLabel for T {
    fn sign_with_label(&self, label: &[u8], content: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.sign(&sign_content(label, content)?)
    }
}

/// VerifyWithLabel (§5.1.2) with a prepared key.
pub trait VerifyWithLabel {
    /// VerifyWithLabel(VerificationKey, Label, Content, Signature) with
    /// this key.
    fn verify_with_label(&self, label: &[u8], content: &[u8], signature: &[u8]) -> Result<(), CryptoError>;
}

impl<T: Verifier + ?Sized> VerifyWithLabel for T {
    fn verify_with_label(&self, label: &[u8], content: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
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

/// The labelled operations of RFC 9420 §5.1–§5.2 and §8, on any suite's
/// primitives. Defined here rather than in the provider interface, so that
/// no provider has to get the protocol's encodings right.
pub trait Labelled: CipherSuiteProvider {
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

impl<T: CipherSuiteProvider + ?Sized> Labelled for T {}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn suites() -> impl Iterator<Item = &'static dyn CipherSuiteProvider> {
        RustCryptoProvider
            .supported_cipher_suites()
            .into_iter()
            .map(|s| RustCryptoProvider.cipher_suite(s).unwrap())
    }

    /// Prepared keys sign and verify as the one-shot calls do, and the
    /// verifier cache stays bounded and never answers for another key.
    #[test]
    fn prepared_keys_and_the_verifier_cache() {
        let mut rng = os_rng();
        for cs in suites() {
            let capacity = VerifierCache::CAPACITY;
            let keys: Vec<KeyPair> = (0..capacity + 2).map(|_| cs.signature_key_generate(&mut rng)).collect();
            let mut cache = VerifierCache::default();
            for (i, kp) in keys.iter().enumerate() {
                let signer = cs.signer(kp.private.as_bytes()).unwrap();
                let sig = signer.sign_with_label(b"L", b"msg").unwrap();
                cs.verify_with_label(&kp.public, b"L", b"msg", &sig).unwrap();
                let verifier = cache.get(cs, &kp.public).unwrap();
                verifier.verify_with_label(b"L", b"msg", &sig).unwrap();
                assert!(verifier.verify_with_label(b"L", b"msh", &sig).is_err());
                // The previous key, cached, rejects this key's signature.
                if let Some(previous) = i.checked_sub(1).map(|j| &keys[j]) {
                    let verifier = cache.get(cs, &previous.public).unwrap();
                    assert!(verifier.verify_with_label(b"L", b"msg", &sig).is_err());
                }
                assert!(cache.entries.len() <= capacity);
            }
            assert_eq!(cache.entries.len(), capacity);
            assert!(cache.get(cs, &[1, 2, 3]).is_err());
            assert!(cs.signer(&[1, 2, 3]).is_err());
        }
    }

    /// The labelled operations (§5.1.2, §5.1.3) round-trip and bind their
    /// label and context.
    #[test]
    fn labelled_operations_bind_label_and_context() {
        let mut rng = os_rng();
        for cs in suites() {
            let kp = cs.signature_key_generate(&mut rng);
            let sig = cs.sign_with_label(kp.private.as_bytes(), b"L", b"msg").unwrap();
            cs.verify_with_label(&kp.public, b"L", b"msg", &sig).unwrap();
            assert!(cs.verify_with_label(&kp.public, b"M", b"msg", &sig).is_err());
            assert!(cs.verify_with_label(&kp.public, b"L", b"msh", &sig).is_err());
            let kem = cs.kem_key_generate(&mut rng).unwrap();
            let ct = cs
                .encrypt_with_label(&kem.public, b"L", b"ctx", b"secret", &mut rng)
                .unwrap();
            let open =
                |label: &[u8], context: &[u8]| cs.decrypt_with_label(kem.private.as_bytes(), label, context, &ct);
            assert_eq!(open(b"L", b"ctx").unwrap(), b"secret");
            assert!(open(b"L", b"other").is_err());
            assert!(open(b"M", b"ctx").is_err());
        }
    }
}
