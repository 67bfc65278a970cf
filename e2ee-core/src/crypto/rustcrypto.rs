//! The default backend: RustCrypto primitives and the `hpke` crate.
//!
//! A suite is a combination of four independent parts (KEM, AEAD, hash,
//! signature scheme), so adding a suite (P-384, P-521, X-Wing, ...) is one
//! line in [`RustCryptoProvider::cipher_suite`] plus, for a new primitive,
//! one small impl of the part's trait below.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::marker::PhantomData;

use hpke::{Deserializable, Kem as KemTrait, Serializable};
use zeroize::Zeroizing;

use super::dhkem::{self, Encapsulation};
use super::dhkem_p256;
use super::ecdsa_der;
use super::hpke_base::BaseSchedule;
use super::{
    CipherSuite, CipherSuiteProvider, CryptoError, CryptoProvider, HpkeCiphertext, KeyPair, Rng, Secret,
    SignatureCheck, Signer, Verifier, first_rejected,
};

/// Suites 1, 2 and 3 on RustCrypto and `hpke`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCryptoProvider;

type X25519 = hpke::kem::X25519HkdfSha256;
type P256Kem = hpke::kem::DhP256HkdfSha256;

static SUITE_1: Suite<X25519, hpke::aead::AesGcm128, aes_gcm::Aes128Gcm, sha2::Sha256, Ed25519> =
    Suite::new(CipherSuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_ED25519);
static SUITE_2: Suite<P256Kem, hpke::aead::AesGcm128, aes_gcm::Aes128Gcm, sha2::Sha256, EcdsaP256> =
    Suite::new(CipherSuite::MLS_128_DHKEMP256_AES128GCM_SHA256_P256);
static SUITE_3: Suite<X25519, hpke::aead::ChaCha20Poly1305, chacha20poly1305::ChaCha20Poly1305, sha2::Sha256, Ed25519> =
    Suite::new(CipherSuite::MLS_128_DHKEMX25519_CHACHA20POLY1305_SHA256_ED25519);

impl CryptoProvider for RustCryptoProvider {
    fn cipher_suite(&self, suite: CipherSuite) -> Result<&dyn CipherSuiteProvider, CryptoError> {
        match suite.0 {
            1 => Ok(&SUITE_1),
            2 => Ok(&SUITE_2),
            3 => Ok(&SUITE_3),
            other => Err(CryptoError::UnsupportedCipherSuite { suite: other }),
        }
    }

    fn supported_cipher_suites(&self) -> Vec<CipherSuite> {
        vec![CipherSuite(1), CipherSuite(2), CipherSuite(3)]
    }
}

/// One cipher suite: `K` the HPKE KEM, `HA` the HPKE AEAD, `A` the MLS
/// message AEAD (the same algorithm as `HA`), `H` the hash, `S` the signature scheme.
struct Suite<K, HA, A, H, S> {
    id: CipherSuite,
    _parts: PhantomData<Parts<K, HA, A, H, S>>,
}

/// Zero-sized marker: a suite owns no values of its parts.
type Parts<K, HA, A, H, S> = fn() -> (K, HA, A, H, S);

impl<K, HA, A, H, S> Suite<K, HA, A, H, S> {
    const fn new(id: CipherSuite) -> Self {
        Self {
            id,
            _parts: PhantomData,
        }
    }
}

/// A KEM's Encap (RFC 9180 §4.1) for several recipients at once, its Decap,
/// and the check of a recipient's key.
trait SuiteKem: KemTrait {
    /// As [`CipherSuiteProvider::kem_public_key_check`].
    fn check_public_key(public_key: &[u8]) -> Result<(), CryptoError>;

    /// `Encap(pkR)` of each of `public_keys`, in order.
    fn encap_each(
        cs: &dyn CipherSuiteProvider,
        public_keys: &[&[u8]],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<Encapsulation>, CryptoError>;

    /// `Decap(enc, skR)`: the KEM shared secret.
    fn decap(cs: &dyn CipherSuiteProvider, private_key: &[u8], enc: &[u8]) -> Result<Secret, CryptoError>;
}

/// DHKEM(X25519): our Encap, batched (see `dhkem`); the `hpke` crate's Decap.
impl SuiteKem for X25519 {
    fn check_public_key(public_key: &[u8]) -> Result<(), CryptoError> {
        dhkem::check_public_key(public_key)
    }

    fn encap_each(
        cs: &dyn CipherSuiteProvider,
        public_keys: &[&[u8]],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<Encapsulation>, CryptoError> {
        dhkem::encap_each(cs, public_keys, rng)
    }

    fn decap(_: &dyn CipherSuiteProvider, private_key: &[u8], enc: &[u8]) -> Result<Secret, CryptoError> {
        let sk = <Self as KemTrait>::PrivateKey::from_bytes(private_key).map_err(|_| CryptoError::InvalidKey)?;
        let enc = <Self as KemTrait>::EncappedKey::from_bytes(enc).map_err(|_| CryptoError::DecryptionFailed)?;
        // `SharedSecret` zeroizes itself when dropped.
        let shared_secret = <Self as KemTrait>::decap(&sk, None, &enc).map_err(|_| CryptoError::DecryptionFailed)?;
        Ok(Secret::from_slice(&shared_secret.0))
    }
}

/// DHKEM(P-256): ours (see `dhkem_p256`), uncompressed keys only.
impl SuiteKem for P256Kem {
    fn check_public_key(public_key: &[u8]) -> Result<(), CryptoError> {
        dhkem_p256::public_key(public_key).map(drop)
    }

    fn encap_each(
        cs: &dyn CipherSuiteProvider,
        public_keys: &[&[u8]],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<Encapsulation>, CryptoError> {
        dhkem_p256::encap_each(cs, public_keys, rng)
    }

    fn decap(cs: &dyn CipherSuiteProvider, private_key: &[u8], enc: &[u8]) -> Result<Secret, CryptoError> {
        dhkem_p256::decap(cs, private_key, enc)
    }
}

/// HPKE SealBase and OpenBase on the suite's parts: the KEM's Encap or
/// Decap ([`SuiteKem`]), the key schedule from `hpke_base` (so several
/// seals share one hash of their info; a test checks the result equals the
/// `hpke` crate's own SealBase), the suite's AEAD.
impl<K, HA, A, H, S> Suite<K, HA, A, H, S>
where
    Self: CipherSuiteProvider,
    K: SuiteKem,
    HA: hpke::aead::Aead,
    H: HashFunction,
{
    /// The key schedule of this suite's HPKE under `info`.
    fn hpke_schedule(&self, info: &[u8]) -> BaseSchedule<'_> {
        let ids = [K::KEM_ID, <H::HpkeKdf as hpke::kdf::Kdf>::KDF_ID, HA::AEAD_ID];
        BaseSchedule::new(self, ids, info)
    }
}

impl<K, HA, A, H, S> CipherSuiteProvider for Suite<K, HA, A, H, S>
where
    K: SuiteKem,
    HA: hpke::aead::Aead,
    A: aes_gcm::aead::Aead + aes_gcm::aead::AeadInOut + aes_gcm::aead::KeyInit,
    H: HashFunction,
    S: SignatureScheme,
{
    fn cipher_suite(&self) -> CipherSuite {
        self.id
    }

    fn hash_len(&self) -> usize {
        H::LEN
    }

    fn aead_key_len(&self) -> usize {
        <A as aes_gcm::aead::KeySizeUser>::key_size()
    }

    fn aead_nonce_len(&self) -> usize {
        <A::NonceSize as hybrid_array::typenum::Unsigned>::USIZE
    }

    fn hash(&self, data: &[u8]) -> Vec<u8> {
        H::hash(data)
    }

    fn mac(&self, key: &[u8], data: &[u8]) -> Vec<u8> {
        H::mac(key, data)
    }

    fn kdf_extract(&self, salt: &[u8], ikm: &[u8]) -> Secret {
        H::extract(salt, ikm)
    }

    fn kdf_expand(&self, prk: &[u8], info: &[u8], len: usize) -> Result<Secret, CryptoError> {
        H::expand(prk, info, len)
    }

    fn aead_seal(&self, key: &[u8], nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        // Through the in-place form: one instance of the cipher's code.
        // The tags of all our AEADs are 16 bytes.
        let mut buffer = Vec::with_capacity(plaintext.len() + 16);
        buffer.extend_from_slice(plaintext);
        self.aead_seal_in_place(key, nonce, aad, &mut buffer, 0)?;
        Ok(buffer)
    }

    fn aead_seal_in_place(
        &self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        buffer: &mut Vec<u8>,
        start: usize,
    ) -> Result<(), CryptoError> {
        let (cipher, nonce) = aead_parts::<A>(key, nonce)?;
        let plaintext = buffer.get_mut(start..).ok_or(CryptoError::InvalidLength)?;
        let tag = cipher
            .encrypt_inout_detached(&nonce, aad, plaintext.into())
            .map_err(|_| CryptoError::EncryptionFailed)?;
        buffer.extend_from_slice(&tag);
        Ok(())
    }

    fn aead_open(&self, key: &[u8], nonce: &[u8], aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let (cipher, nonce) = aead_parts::<A>(key, nonce)?;
        cipher
            .decrypt(&nonce, aes_gcm::aead::Payload { msg: ciphertext, aad })
            .map_err(|_| CryptoError::DecryptionFailed)
    }

    fn hpke_seal(
        &self,
        public_key: &[u8],
        info: &[u8],
        aad: &[u8],
        plaintext: &[u8],
        rng: &mut Rng<'_>,
    ) -> Result<HpkeCiphertext, CryptoError> {
        let mut sealed = self.hpke_seal_each(&[(public_key, plaintext)], info, aad, rng)?;
        sealed.pop().ok_or(CryptoError::EncryptionFailed)
    }

    fn hpke_seal_each(
        &self,
        recipients: &[(&[u8], &[u8])],
        info: &[u8],
        aad: &[u8],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<HpkeCiphertext>, CryptoError> {
        // The info hashed once for all recipients (see `hpke_base`), the
        // KEM run for all of them at once (see `dhkem`).
        let schedule = self.hpke_schedule(info);
        let public_keys: Vec<&[u8]> = recipients.iter().map(|(public_key, _)| *public_key).collect();
        let encapsulations = K::encap_each(self, &public_keys, rng)?;
        let seal = |(encapsulation, (_, plaintext)): (Encapsulation, &(&[u8], &[u8]))| {
            let (key, nonce) = schedule.key_and_nonce(encapsulation.shared_secret.as_bytes())?;
            Ok(HpkeCiphertext {
                kem_output: encapsulation.enc.into(),
                ciphertext: self.aead_seal(key.as_bytes(), nonce.as_bytes(), aad, plaintext)?.into(),
            })
        };
        encapsulations.into_iter().zip(recipients).map(seal).collect()
    }

    fn hpke_open(
        &self,
        private_key: &[u8],
        ciphertext: &HpkeCiphertext,
        info: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let shared_secret = <K as SuiteKem>::decap(self, private_key, ciphertext.kem_output.as_slice())?;
        let (key, nonce) = self.hpke_schedule(info).key_and_nonce(shared_secret.as_bytes())?;
        self.aead_open(key.as_bytes(), nonce.as_bytes(), aad, ciphertext.ciphertext.as_slice())
    }

    fn hpke_export_sender(
        &self,
        public_key: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        len: usize,
        rng: &mut Rng<'_>,
    ) -> Result<(Vec<u8>, Secret), CryptoError> {
        let encapsulation = K::encap_each(self, &[public_key], rng)?
            .pop()
            .ok_or(CryptoError::EncryptionFailed)?;
        let exported =
            self.hpke_schedule(info)
                .export(encapsulation.shared_secret.as_bytes(), exporter_context, len)?;
        Ok((encapsulation.enc, exported))
    }

    fn hpke_export_receiver(
        &self,
        private_key: &[u8],
        kem_output: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        len: usize,
    ) -> Result<Secret, CryptoError> {
        let shared_secret = <K as SuiteKem>::decap(self, private_key, kem_output)?;
        self.hpke_schedule(info)
            .export(shared_secret.as_bytes(), exporter_context, len)
    }

    fn kem_derive_key_pair(&self, ikm: &[u8]) -> Result<KeyPair, CryptoError> {
        let (sk, pk) = K::derive_keypair(ikm);
        let private = Zeroizing::new(sk.to_bytes());
        Ok(KeyPair {
            private: Secret::from_slice(&private),
            public: pk.to_bytes().to_vec(),
        })
    }

    fn kem_public_key(&self, private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sk = K::PrivateKey::from_bytes(private_key).map_err(|_| CryptoError::InvalidKey)?;
        Ok(K::sk_to_pk(&sk).to_bytes().to_vec())
    }

    fn kem_public_key_check(&self, public_key: &[u8]) -> Result<(), CryptoError> {
        K::check_public_key(public_key)
    }

    fn signature_key_generate(&self, rng: &mut Rng<'_>) -> KeyPair {
        S::generate(rng)
    }

    fn signature_public_key(&self, private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        S::public_key(private_key)
    }

    fn sign(&self, private_key: &[u8], message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        S::signer(private_key)?.sign(message)
    }

    fn signer(&self, private_key: &[u8]) -> Result<Box<dyn Signer>, CryptoError> {
        S::signer(private_key)
    }

    fn verifier(&self, public_key: &[u8]) -> Result<Box<dyn Verifier>, CryptoError> {
        S::verifier(public_key)
    }

    fn verify(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        S::verify(public_key, message, signature)
    }

    fn verify_many(&self, checks: &[SignatureCheck<'_>]) -> Result<(), usize> {
        S::verify_many(checks)
    }
}

fn aead_parts<A>(key: &[u8], nonce: &[u8]) -> Result<(A, aes_gcm::aead::Nonce<A>), CryptoError>
where
    A: aes_gcm::aead::Aead + aes_gcm::aead::KeyInit,
{
    let cipher = A::new_from_slice(key).map_err(|_| CryptoError::InvalidKey)?;
    let nonce = aes_gcm::aead::Nonce::<A>::try_from(nonce).map_err(|_| CryptoError::InvalidLength)?;
    Ok((cipher, nonce))
}

/// The hash-based parts of a suite: hash, HMAC and HKDF, and the HPKE KDF
/// built on the same hash (suite 7 would add `Sha384` with `HkdfSha384`).
trait HashFunction: 'static {
    const LEN: usize;
    type HpkeKdf: hpke::kdf::Kdf;
    fn hash(data: &[u8]) -> Vec<u8>;
    fn mac(key: &[u8], data: &[u8]) -> Vec<u8>;
    fn extract(salt: &[u8], ikm: &[u8]) -> Secret;
    fn expand(prk: &[u8], info: &[u8], len: usize) -> Result<Secret, CryptoError>;
}

impl HashFunction for sha2::Sha256 {
    const LEN: usize = 32;
    type HpkeKdf = hpke::kdf::HkdfSha256;

    fn hash(data: &[u8]) -> Vec<u8> {
        hash::<Self>(data)
    }

    fn mac(key: &[u8], data: &[u8]) -> Vec<u8> {
        mac::<Self>(key, data)
    }

    fn extract(salt: &[u8], ikm: &[u8]) -> Secret {
        extract::<Self>(salt, ikm)
    }

    fn expand(prk: &[u8], info: &[u8], len: usize) -> Result<Secret, CryptoError> {
        expand::<Self>(prk, info, len)
    }
}

fn hash<H: sha2::Digest>(data: &[u8]) -> Vec<u8> {
    H::digest(data).to_vec()
}

fn mac<H>(key: &[u8], data: &[u8]) -> Vec<u8>
where
    H: hmac::EagerHash,
    hmac::Hmac<H>: hmac::KeyInit + hmac::Mac,
{
    use hmac::{KeyInit, Mac};
    // HMAC accepts keys of any length, so this cannot fail.
    let mut m = <hmac::Hmac<H> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn extract<H>(salt: &[u8], ikm: &[u8]) -> Secret
where
    H: hmac::EagerHash,
    hmac::Hmac<H>: hmac::KeyInit + hmac::Mac + Clone,
{
    let (prk, _) = hkdf::Hkdf::<H>::extract(Some(salt), ikm);
    Secret::from_slice(&prk)
}

fn expand<H>(prk: &[u8], info: &[u8], len: usize) -> Result<Secret, CryptoError>
where
    H: hmac::EagerHash,
    hmac::Hmac<H>: hmac::KeyInit + hmac::Mac + Clone,
{
    let hk = hkdf::Hkdf::<H>::from_prk(prk).map_err(|_| CryptoError::InvalidKey)?;
    let mut out = Secret::zero(len);
    hk.expand(info, out.as_mut_bytes())
        .map_err(|_| CryptoError::InvalidLength)?;
    Ok(out)
}

/// A signature scheme: keys are raw bytes in the encodings MLS uses.
trait SignatureScheme: 'static {
    fn generate(rng: &mut Rng<'_>) -> KeyPair;
    fn public_key(private_key: &[u8]) -> Result<Vec<u8>, CryptoError>;
    fn signer(private_key: &[u8]) -> Result<Box<dyn Signer>, CryptoError>;
    fn verifier(public_key: &[u8]) -> Result<Box<dyn Verifier>, CryptoError>;

    fn verify(public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        Self::verifier(public_key)?.verify(message, signature)
    }

    /// As [`CipherSuiteProvider::verify_many`]: one by one, so that the
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
    let shares = crate::parallel::shares(checks, MIN_PER_THREAD);
    let lens: Vec<usize> = shares.iter().map(|s| s.len()).collect();
    let mut offset = 0;
    for (verdict, len) in crate::parallel::run(shares, verify).into_iter().zip(lens) {
        verdict.map_err(|i| offset + i)?;
        offset += len;
    }
    Ok(())
}

/// Ed25519 (RFC 8032): 32-byte seeds and public keys, 64-byte signatures.
struct Ed25519;

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
        Ok(Box::new(Self::signing_key(private_key)?))
    }

    fn verifier(public_key: &[u8]) -> Result<Box<dyn Verifier>, CryptoError> {
        let bytes: &[u8; 32] = public_key.try_into().map_err(|_| CryptoError::InvalidKey)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|_| CryptoError::InvalidKey)?;
        Ok(Box::new(key))
    }
}

/// RFC 8032 signing, as ed25519-dalek implements it; the secret is
/// zeroized on drop (the crate's `zeroize` support).
impl Signer for ed25519_dalek::SigningKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let signature: ed25519_dalek::Signature = ed25519_dalek::Signer::sign(self, message);
        Ok(signature.to_bytes().to_vec())
    }
}

/// `verify_strict`: small-order keys and `R`s, and non-canonical `S`, are
/// refused, so every member reaches the same verdict on the same bytes.
impl Verifier for ed25519_dalek::VerifyingKey {
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        let signature = ed25519_dalek::Signature::from_slice(signature).map_err(|_| CryptoError::InvalidSignature)?;
        self.verify_strict(message, &signature)
            .map_err(|_| CryptoError::InvalidSignature)
    }
}

impl Signer for p256::ecdsa::SigningKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(self, message);
        let rs = sig.to_bytes();
        let (r, s) = rs.split_at(rs.len() / 2);
        Ok(ecdsa_der::encode(r, s))
    }
}

impl Verifier for p256::ecdsa::VerifyingKey {
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        let rs = ecdsa_der::decode(signature).ok_or(CryptoError::InvalidSignature)?;
        let sig = p256::ecdsa::Signature::from_slice(&rs).map_err(|_| CryptoError::InvalidSignature)?;
        p256::ecdsa::signature::Verifier::verify(self, message, &sig).map_err(|_| CryptoError::InvalidSignature)
    }
}

/// ECDSA over P-256 with SHA-256: 32-byte scalars, uncompressed SEC1 public
/// keys and DER-encoded signatures, as TLS 1.3's ecdsa_secp256r1_sha256.
struct EcdsaP256;

impl EcdsaP256 {
    fn signing_key(private_key: &[u8]) -> Result<p256::ecdsa::SigningKey, CryptoError> {
        p256::ecdsa::SigningKey::from_slice(private_key).map_err(|_| CryptoError::InvalidKey)
    }

    fn encode_public(sk: &p256::ecdsa::SigningKey) -> Vec<u8> {
        sk.verifying_key().to_sec1_point(false).as_bytes().to_vec()
    }
}

impl SignatureScheme for EcdsaP256 {
    fn generate(rng: &mut Rng<'_>) -> KeyPair {
        // Rejection-sample a valid scalar from uniform bytes.
        loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(bytes.as_mut());
            if let Ok(sk) = Self::signing_key(bytes.as_ref()) {
                return KeyPair {
                    private: Secret::from_slice(bytes.as_ref()),
                    public: Self::encode_public(&sk),
                };
            }
        }
    }

    fn public_key(private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        Ok(Self::encode_public(&Self::signing_key(private_key)?))
    }

    fn signer(private_key: &[u8]) -> Result<Box<dyn Signer>, CryptoError> {
        Ok(Box::new(Self::signing_key(private_key)?))
    }

    fn verifier(public_key: &[u8]) -> Result<Box<dyn Verifier>, CryptoError> {
        // Uncompressed points only, as for the KEM (see `dhkem_p256`).
        let vk = p256::ecdsa::VerifyingKey::from(dhkem_p256::public_key(public_key)?);
        Ok(Box::new(vk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::os_rng;
    use hpke::OpModeS;

    fn suites() -> impl Iterator<Item = &'static dyn CipherSuiteProvider> {
        RustCryptoProvider
            .supported_cipher_suites()
            .into_iter()
            .map(|s| RustCryptoProvider.cipher_suite(s).unwrap())
    }

    /// A generator that repeats: SHA-256 of a counter (tests only), so two
    /// seals can draw the same ephemeral keys.
    struct Replay(u64);

    impl rand_core::TryRng for Replay {
        type Error = core::convert::Infallible;

        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            let mut bytes = [0; 4];
            self.try_fill_bytes(&mut bytes)?;
            Ok(u32::from_le_bytes(bytes))
        }

        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            let mut bytes = [0; 8];
            self.try_fill_bytes(&mut bytes)?;
            Ok(u64::from_le_bytes(bytes))
        }

        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
            for chunk in dst.chunks_mut(32) {
                self.0 += 1;
                chunk.copy_from_slice(&sha2::Sha256::hash(&self.0.to_be_bytes())[..chunk.len()]);
            }
            Ok(())
        }
    }

    impl rand_core::TryCryptoRng for Replay {}

    /// The `hpke` crate's own SealBase, the reference for ours.
    fn crate_seal<HA: hpke::aead::Aead, Kdf: hpke::kdf::Kdf, K: KemTrait>(
        public_key: &[u8],
        info: &[u8],
        plaintext: &[u8],
        rng: &mut Replay,
    ) -> HpkeCiphertext {
        let pk = K::PublicKey::from_bytes(public_key).unwrap();
        let (enc, ct) =
            hpke::single_shot_seal_with_rng::<HA, Kdf, K>(&OpModeS::Base, &pk, info, plaintext, b"aad", rng).unwrap();
        HpkeCiphertext {
            kem_output: enc.to_bytes().to_vec().into(),
            ciphertext: ct.into(),
        }
    }

    /// Our SealBase (its info hashed once for many recipients) gives exactly
    /// what the `hpke` crate's gives with the same ephemeral keys, alone or
    /// to many, and each recipient opens its own plaintext.
    #[test]
    fn seal_is_the_crates_seal_base() {
        let info = vec![0x5a; 70_000];
        for cs in suites() {
            let reference = match cs.cipher_suite().0 {
                1 => crate_seal::<hpke::aead::AesGcm128, hpke::kdf::HkdfSha256, X25519>,
                2 => crate_seal::<hpke::aead::AesGcm128, hpke::kdf::HkdfSha256, P256Kem>,
                3 => crate_seal::<hpke::aead::ChaCha20Poly1305, hpke::kdf::HkdfSha256, X25519>,
                other => panic!("suite {other} has no reference here"),
            };
            let keys: Vec<_> = (0..3).map(|_| cs.kem_key_generate(&mut os_rng()).unwrap()).collect();
            let plaintexts: [&[u8]; 3] = [b"first", b"", &[7; 100]];
            let recipients: Vec<(&[u8], &[u8])> = keys
                .iter()
                .zip(plaintexts)
                .map(|(k, p)| (k.public.as_slice(), p))
                .collect();
            let each = cs.hpke_seal_each(&recipients, &info, b"aad", &mut Replay(0)).unwrap();
            let (mut ours, mut theirs) = (Replay(0), Replay(0));
            for ((key, plaintext), sealed) in keys.iter().zip(plaintexts).zip(&each) {
                let expected = reference(&key.public, &info, plaintext, &mut theirs);
                assert_eq!(sealed, &expected, "{:?}", cs.cipher_suite());
                let one = cs.hpke_seal(&key.public, &info, b"aad", plaintext, &mut ours).unwrap();
                assert_eq!(one, expected, "{:?}", cs.cipher_suite());
                let opened = cs.hpke_open(key.private.as_bytes(), sealed, &info, b"aad").unwrap();
                assert_eq!(opened, plaintext);
                // OpenBase refuses what does not match: the aad, the info, the key.
                let other = keys.iter().find(|k| k.public != key.public).unwrap();
                for (private, info, aad) in [
                    (&key.private, &info[..], &b"aae"[..]),
                    (&key.private, &info[1..], &b"aad"[..]),
                    (&other.private, &info[..], &b"aad"[..]),
                ] {
                    let refused = cs.hpke_open(private.as_bytes(), sealed, info, aad);
                    assert_eq!(refused, Err(CryptoError::DecryptionFailed), "{:?}", cs.cipher_suite());
                }
            }
            assert_eq!(
                cs.hpke_seal_each(&[(b"not a key", b"x")], &info, b"", &mut os_rng()),
                Err(CryptoError::InvalidKey)
            );
        }
    }

    /// The `hpke` crate's SetupBaseS + Export, the reference for ours.
    fn crate_export<HA: hpke::aead::Aead, Kdf: hpke::kdf::Kdf, K: KemTrait>(
        public_key: &[u8],
        info: &[u8],
        rng: &mut Replay,
    ) -> (Vec<u8>, Vec<u8>) {
        let pk = K::PublicKey::from_bytes(public_key).unwrap();
        let (enc, ctx) = hpke::setup_sender_with_rng::<HA, Kdf, K>(&OpModeS::Base, &pk, info, rng).unwrap();
        let mut exported = vec![0; 48];
        ctx.export(b"exporter context", &mut exported).unwrap();
        (enc.to_bytes().to_vec(), exported)
    }

    /// Our sender export gives what the crate's does with the same
    /// ephemeral key, and what the receiver exports.
    #[test]
    fn sender_export_is_the_crates() {
        for cs in suites() {
            let reference = match cs.cipher_suite().0 {
                1 => crate_export::<hpke::aead::AesGcm128, hpke::kdf::HkdfSha256, X25519>,
                2 => crate_export::<hpke::aead::AesGcm128, hpke::kdf::HkdfSha256, P256Kem>,
                3 => crate_export::<hpke::aead::ChaCha20Poly1305, hpke::kdf::HkdfSha256, X25519>,
                other => panic!("suite {other} has no reference here"),
            };
            let key = cs.kem_key_generate(&mut os_rng()).unwrap();
            let (enc, exported) = cs
                .hpke_export_sender(&key.public, b"info", b"exporter context", 48, &mut Replay(3))
                .unwrap();
            assert_eq!(
                (enc.clone(), exported.as_bytes().to_vec()),
                reference(&key.public, b"info", &mut Replay(3))
            );
            let received = cs
                .hpke_export_receiver(key.private.as_bytes(), &enc, b"info", b"exporter context", 48)
                .unwrap();
            assert_eq!(received.as_bytes(), exported.as_bytes());
        }
    }

    #[test]
    fn unknown_suite_is_a_typed_error() {
        assert_eq!(
            RustCryptoProvider.cipher_suite(CipherSuite(7)).err(),
            Some(CryptoError::UnsupportedCipherSuite { suite: 7 })
        );
    }

    #[test]
    fn aead_rejects_tampering_and_bad_lengths() {
        for cs in suites() {
            let key = vec![7u8; cs.aead_key_len()];
            let nonce = vec![9u8; cs.aead_nonce_len()];
            let mut ct = cs.aead_seal(&key, &nonce, b"aad", b"hello").unwrap();
            assert_eq!(cs.aead_open(&key, &nonce, b"aad", &ct).unwrap(), b"hello");
            assert_eq!(
                cs.aead_open(&key, &nonce, b"other", &ct),
                Err(CryptoError::DecryptionFailed)
            );
            ct[0] ^= 1;
            assert_eq!(
                cs.aead_open(&key, &nonce, b"aad", &ct),
                Err(CryptoError::DecryptionFailed)
            );
            assert_eq!(
                cs.aead_open(&key[1..], &nonce, b"aad", &ct),
                Err(CryptoError::InvalidKey)
            );
            assert_eq!(
                cs.aead_open(&key, &nonce[1..], b"aad", &ct),
                Err(CryptoError::InvalidLength)
            );
            assert_eq!(
                cs.aead_open(&key, &nonce, b"aad", &[]),
                Err(CryptoError::DecryptionFailed)
            );
        }
    }

    #[test]
    fn aead_in_place_matches_the_one_shot_seal() {
        for cs in suites() {
            let key = vec![7u8; cs.aead_key_len()];
            let nonce = vec![9u8; cs.aead_nonce_len()];
            let expected = cs.aead_seal(&key, &nonce, b"aad", b"hello").unwrap();
            let mut buffer = b"headerhello".to_vec();
            cs.aead_seal_in_place(&key, &nonce, b"aad", &mut buffer, 6).unwrap();
            assert_eq!(&buffer[..6], b"header");
            assert_eq!(buffer[6..], expected);
            let mut short = b"hi".to_vec();
            assert_eq!(
                cs.aead_seal_in_place(&key, &nonce, b"aad", &mut short, 3),
                Err(CryptoError::InvalidLength)
            );
            assert_eq!(
                cs.aead_seal_in_place(&key[1..], &nonce, b"aad", &mut short, 0),
                Err(CryptoError::InvalidKey)
            );
        }
    }

    /// Prepared keys sign and verify as the one-shot calls do, and the
    /// verifier cache stays bounded and never answers for another key.
    #[test]
    fn prepared_keys_and_the_verifier_cache() {
        let mut rng = crate::crypto::os_rng();
        for cs in suites() {
            let capacity = crate::crypto::VerifierCache::CAPACITY;
            let keys: Vec<KeyPair> = (0..capacity + 2).map(|_| cs.signature_key_generate(&mut rng)).collect();
            let mut cache = crate::crypto::VerifierCache::default();
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

    #[test]
    fn signatures_and_hpke_round_trip_and_reject_garbage() {
        let mut rng = crate::crypto::os_rng();
        for cs in suites() {
            let kp = cs.signature_key_generate(&mut rng);
            assert_eq!(cs.signature_public_key(kp.private.as_bytes()).unwrap(), kp.public);
            let sig = cs.sign_with_label(kp.private.as_bytes(), b"L", b"msg").unwrap();
            cs.verify_with_label(&kp.public, b"L", b"msg", &sig).unwrap();
            assert!(cs.verify_with_label(&kp.public, b"L", b"msh", &sig).is_err());
            assert!(cs.verify(&kp.public, b"msg", &[]).is_err());
            assert!(cs.verify(&[1, 2, 3], b"msg", &sig).is_err());
            assert!(cs.sign(&[], b"msg").is_err());

            let kem = cs.kem_key_generate(&mut rng).unwrap();
            let ct = cs
                .encrypt_with_label(&kem.public, b"L", b"ctx", b"secret", &mut rng)
                .unwrap();
            assert_eq!(
                cs.decrypt_with_label(kem.private.as_bytes(), b"L", b"ctx", &ct)
                    .unwrap(),
                b"secret"
            );
            assert!(
                cs.decrypt_with_label(kem.private.as_bytes(), b"L", b"other", &ct)
                    .is_err()
            );
            let garbage = HpkeCiphertext {
                kem_output: vec![1u8; 3].into(),
                ciphertext: vec![0u8; 40].into(),
            };
            assert!(
                cs.decrypt_with_label(kem.private.as_bytes(), b"L", b"ctx", &garbage)
                    .is_err()
            );
            assert!(cs.encrypt_with_label(&[0u8; 5], b"L", b"ctx", b"x", &mut rng).is_err());

            let (enc, exported) = cs.hpke_export_sender(&kem.public, b"", b"label", 32, &mut rng).unwrap();
            let received = cs
                .hpke_export_receiver(kem.private.as_bytes(), &enc, b"", b"label", 32)
                .unwrap();
            assert_eq!(exported, received);
            assert!(cs.kdf_expand(&[0u8; 32], b"", 255 * 32 + 1).is_err());
            assert!(cs.kdf_expand(&[0u8; 4], b"", 32).is_err());
        }
    }
}
