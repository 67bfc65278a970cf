//! The RustCrypto provider of e2ee: the cipher suites of RFC 9420 on
//! RustCrypto crates and the `hpke` crate, with the compositions of our
//! own they needed (`dhkem`, `dhkem_p256`, the X448 DHKEM in `kem`,
//! `hpke_base`, `ecdsa_der`).
//!
//! A suite is static data: four components (KEM, AEAD, hash, signature
//! scheme) named by type, so adding a suite is one line in
//! [`RustCryptoProvider`]'s table plus, for a new primitive, one small
//! impl of the component's trait. Suites 1, 2 and 3 are always built;
//! 4 and 6 (X448, Ed448) come with the feature `x448`, 5 with `p521`, 7
//! with `p384`. The tests in `tests/` run the Wycheproof, RFC 9180 and
//! RFC 8032 vectors through the provider interface, so that any provider
//! can be held to them.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod dhkem;
mod dhkem_p256;
mod ecdsa_der;
mod hash;
mod hpke_base;
mod kem;
mod signature;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::marker::PhantomData;

use e2ee_provider::{
    CipherSuite, CipherSuiteProvider, CryptoError, CryptoProvider, HpkeCiphertext, KeyPair, Rng, Secret,
    SignatureCheck, Signer, Verifier,
};

use crate::hash::HashFunction;
use crate::hpke_base::Hpke;
use crate::kem::SuiteKem;
use crate::signature::SignatureScheme;

/// The MLS cipher suites on RustCrypto: 1, 2 and 3, and 4 to 7 as built
/// (features `x448`, `p521`, `p384`).
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCryptoProvider;

/// The suites, in order of preference (the order of their ids).
static SUITES: &[&dyn CipherSuiteProvider] = &[
    &Suite::<kem::X25519, aes_gcm::Aes128Gcm, sha2::Sha256, signature::Ed25519>::new(1),
    &Suite::<kem::P256, aes_gcm::Aes128Gcm, sha2::Sha256, signature::EcdsaP256>::new(2),
    &Suite::<kem::X25519, chacha20poly1305::ChaCha20Poly1305, sha2::Sha256, signature::Ed25519>::new(3),
    #[cfg(feature = "x448")]
    &Suite::<kem::X448, aes_gcm::Aes256Gcm, sha2::Sha512, signature::Ed448>::new(4),
    #[cfg(feature = "p521")]
    &Suite::<kem::P521, aes_gcm::Aes256Gcm, sha2::Sha512, signature::EcdsaP521>::new(5),
    #[cfg(feature = "x448")]
    &Suite::<kem::X448, chacha20poly1305::ChaCha20Poly1305, sha2::Sha512, signature::Ed448>::new(6),
    #[cfg(feature = "p384")]
    &Suite::<kem::P384, aes_gcm::Aes256Gcm, sha2::Sha384, signature::EcdsaP384>::new(7),
];

impl CryptoProvider for RustCryptoProvider {
    fn cipher_suite(&self, suite: CipherSuite) -> Result<&dyn CipherSuiteProvider, CryptoError> {
        SUITES
            .iter()
            .find(|cs| cs.cipher_suite() == suite)
            .copied()
            .ok_or(CryptoError::UnsupportedCipherSuite { suite: suite.0 })
    }

    fn supported_cipher_suites(&self) -> Vec<CipherSuite> {
        SUITES.iter().map(|cs| cs.cipher_suite()).collect()
    }
}

/// One cipher suite: `K` the KEM, `A` the AEAD (of HPKE and of MLS
/// messages alike), `H` the hash (and with it HKDF, HMAC and HPKE's KDF),
/// `S` the signature scheme.
struct Suite<K, A, H, S> {
    id: CipherSuite,
    _parts: PhantomData<Parts<K, A, H, S>>,
}

/// Zero-sized marker: a suite owns no values of its parts.
type Parts<K, A, H, S> = fn() -> (K, A, H, S);

impl<K, A, H, S> Suite<K, A, H, S> {
    const fn new(id: u16) -> Self {
        Self {
            id: CipherSuite(id),
            _parts: PhantomData,
        }
    }
}

/// An AEAD of the suites, with its HPKE `aead_id` (RFC 9180 §7.3).
trait SuiteAead: aes_gcm::aead::Aead + aes_gcm::aead::AeadInOut + aes_gcm::aead::KeyInit + 'static {
    const AEAD_ID: u16;
}

impl SuiteAead for aes_gcm::Aes128Gcm {
    const AEAD_ID: u16 = 0x0001;
}

impl SuiteAead for aes_gcm::Aes256Gcm {
    const AEAD_ID: u16 = 0x0002;
}

impl SuiteAead for chacha20poly1305::ChaCha20Poly1305 {
    const AEAD_ID: u16 = 0x0003;
}

/// HPKE on the suite's parts: the KEM's Encap or Decap ([`SuiteKem`]),
/// the key schedule from `hpke_base` (so several seals share one hash of
/// their info; the RFC 9180 vectors and a test against the `hpke` crate's
/// own SealBase check it), the suite's AEAD. Through [`Hpke`], whose code
/// exists once for all suites.
impl<K, A, H, S> Suite<K, A, H, S>
where
    Self: CipherSuiteProvider,
    K: SuiteKem,
    A: SuiteAead,
    H: HashFunction,
{
    fn hpke(&self) -> Hpke<'_> {
        Hpke {
            cs: self,
            ids: [K::KEM_ID, H::KDF_ID, A::AEAD_ID],
            encap_each: K::encap_each,
            decap: K::decap,
        }
    }
}

impl<K, A, H, S> CipherSuiteProvider for Suite<K, A, H, S>
where
    K: SuiteKem,
    A: SuiteAead,
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
        let mut sealed = self.hpke().seal_each(&[(public_key, plaintext)], info, aad, rng)?;
        sealed.pop().ok_or(CryptoError::EncryptionFailed)
    }

    fn hpke_seal_each(
        &self,
        recipients: &[(&[u8], &[u8])],
        info: &[u8],
        aad: &[u8],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<HpkeCiphertext>, CryptoError> {
        self.hpke().seal_each(recipients, info, aad, rng)
    }

    fn hpke_open(
        &self,
        private_key: &[u8],
        ciphertext: &HpkeCiphertext,
        info: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.hpke().open(private_key, ciphertext, info, aad)
    }

    fn hpke_export_sender(
        &self,
        public_key: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        len: usize,
        rng: &mut Rng<'_>,
    ) -> Result<(Vec<u8>, Secret), CryptoError> {
        self.hpke().export_sender(public_key, info, exporter_context, len, rng)
    }

    fn hpke_export_receiver(
        &self,
        private_key: &[u8],
        kem_output: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        len: usize,
    ) -> Result<Secret, CryptoError> {
        self.hpke()
            .export_receiver(private_key, kem_output, info, exporter_context, len)
    }

    fn kem_derive_key_pair(&self, ikm: &[u8]) -> Result<KeyPair, CryptoError> {
        K::derive_key_pair(self, ikm)
    }

    fn kem_public_key(&self, private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        K::public_key(private_key)
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

/// The operating system's generator, for the tests.
#[cfg(test)]
mod test_rng {
    pub(crate) fn os_rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
        rand_core::UnwrapErr(getrandom::SysRng)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_rng::os_rng;
    use alloc::vec;
    use hpke::OpModeS;
    use hpke::kem::{DhP256HkdfSha256 as P256Kem, X25519HkdfSha256 as X25519};
    use hpke::{Deserializable, Kem as KemTrait, Serializable};

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
            kem_output: enc.to_bytes().to_vec(),
            ciphertext: ct,
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
                #[cfg(feature = "p521")]
                5 => crate_seal::<hpke::aead::AesGcm256, hpke::kdf::HkdfSha512, hpke::kem::DhP521HkdfSha512>,
                #[cfg(feature = "p384")]
                7 => crate_seal::<hpke::aead::AesGcm256, hpke::kdf::HkdfSha384, hpke::kem::DhP384HkdfSha384>,
                // No X448 in the `hpke` crate: the RFC 9180 vectors check
                // suites 4 and 6.
                _ => continue,
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
                #[cfg(feature = "p521")]
                5 => crate_export::<hpke::aead::AesGcm256, hpke::kdf::HkdfSha512, hpke::kem::DhP521HkdfSha512>,
                #[cfg(feature = "p384")]
                7 => crate_export::<hpke::aead::AesGcm256, hpke::kdf::HkdfSha384, hpke::kem::DhP384HkdfSha384>,
                _ => continue,
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
            RustCryptoProvider.cipher_suite(CipherSuite(8)).err(),
            Some(CryptoError::UnsupportedCipherSuite { suite: 8 })
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

    #[test]
    fn signatures_and_hpke_round_trip_and_reject_garbage() {
        let mut rng = os_rng();
        for cs in suites() {
            let kp = cs.signature_key_generate(&mut rng);
            assert_eq!(cs.signature_public_key(kp.private.as_bytes()).unwrap(), kp.public);
            let sig = cs.sign(kp.private.as_bytes(), b"msg").unwrap();
            cs.verify(&kp.public, b"msg", &sig).unwrap();
            assert!(cs.verify(&kp.public, b"msh", &sig).is_err());
            let prepared = cs.signer(kp.private.as_bytes()).unwrap().sign(b"msg").unwrap();
            cs.verifier(&kp.public).unwrap().verify(b"msg", &prepared).unwrap();
            assert!(cs.verifier(&kp.public).unwrap().verify(b"msh", &prepared).is_err());
            assert!(cs.verify(&kp.public, b"msg", &[]).is_err());
            assert!(cs.verify(&[1, 2, 3], b"msg", &sig).is_err());
            assert!(cs.sign(&[], b"msg").is_err());

            let kem = cs.kem_key_generate(&mut rng).unwrap();
            let ct = cs.hpke_seal(&kem.public, b"ctx", b"", b"secret", &mut rng).unwrap();
            assert_eq!(
                cs.hpke_open(kem.private.as_bytes(), &ct, b"ctx", b"").unwrap(),
                b"secret"
            );
            assert!(cs.hpke_open(kem.private.as_bytes(), &ct, b"other", b"").is_err());
            let garbage = HpkeCiphertext {
                kem_output: vec![1u8; 3],
                ciphertext: vec![0u8; 40],
            };
            assert!(cs.hpke_open(kem.private.as_bytes(), &garbage, b"ctx", b"").is_err());
            assert!(cs.hpke_seal(&[0u8; 5], b"ctx", b"", b"x", &mut rng).is_err());

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
