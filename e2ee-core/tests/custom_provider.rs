//! A `CipherSuiteProvider` of the application's own. Groups work through
//! one that wraps the built-in provider, and the library checks what such
//! a provider returns: one that loses an HPKE ciphertext makes the Commit
//! fail instead of leaving a joiner or a subtree without its secrets.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use common::*;
use e2ee_core::crypto::{
    CipherSuite, CipherSuiteProvider, CryptoError, HpkeCiphertext, KeyPair, Rng, Secret, SignatureCheck, Signer,
    Verifier,
};
use e2ee_core::group::{Environment, Group};
use e2ee_core::key_package::NewKeyPackage;
use e2ee_core::messages::{MlsMessage, WireFormat};

/// The built-in suite, counting HPKE seals, and dropping the last
/// ciphertext of each batch once `lose_one` is set.
struct Wrapping {
    inner: &'static dyn CipherSuiteProvider,
    seals: AtomicUsize,
    lose_one: AtomicBool,
}

impl Wrapping {
    fn new(suite_id: CipherSuite) -> Self {
        Self {
            inner: suite(suite_id),
            seals: AtomicUsize::new(0),
            lose_one: AtomicBool::new(false),
        }
    }
}

impl CipherSuiteProvider for Wrapping {
    fn cipher_suite(&self) -> CipherSuite {
        self.inner.cipher_suite()
    }
    fn hash_len(&self) -> usize {
        self.inner.hash_len()
    }
    fn aead_key_len(&self) -> usize {
        self.inner.aead_key_len()
    }
    fn aead_nonce_len(&self) -> usize {
        self.inner.aead_nonce_len()
    }
    fn hash(&self, data: &[u8]) -> Vec<u8> {
        self.inner.hash(data)
    }
    fn mac(&self, key: &[u8], data: &[u8]) -> Vec<u8> {
        self.inner.mac(key, data)
    }
    fn kdf_extract(&self, salt: &[u8], ikm: &[u8]) -> Secret {
        self.inner.kdf_extract(salt, ikm)
    }
    fn kdf_expand(&self, prk: &[u8], info: &[u8], len: usize) -> Result<Secret, CryptoError> {
        self.inner.kdf_expand(prk, info, len)
    }
    fn aead_seal(&self, key: &[u8], nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.inner.aead_seal(key, nonce, aad, plaintext)
    }
    fn aead_open(&self, key: &[u8], nonce: &[u8], aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.inner.aead_open(key, nonce, aad, ciphertext)
    }
    fn hpke_seal(
        &self,
        public_key: &[u8],
        info: &[u8],
        aad: &[u8],
        plaintext: &[u8],
        rng: &mut Rng<'_>,
    ) -> Result<HpkeCiphertext, CryptoError> {
        self.seals.fetch_add(1, Ordering::Relaxed);
        self.inner.hpke_seal(public_key, info, aad, plaintext, rng)
    }
    fn hpke_seal_each(
        &self,
        recipients: &[(&[u8], &[u8])],
        info: &[u8],
        aad: &[u8],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<HpkeCiphertext>, CryptoError> {
        let mut sealed = self.inner.hpke_seal_each(recipients, info, aad, rng)?;
        self.seals.fetch_add(sealed.len(), Ordering::Relaxed);
        if self.lose_one.load(Ordering::Relaxed) {
            sealed.pop();
        }
        Ok(sealed)
    }
    fn hpke_open(
        &self,
        private_key: &[u8],
        ciphertext: &HpkeCiphertext,
        info: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.inner.hpke_open(private_key, ciphertext, info, aad)
    }
    fn hpke_export_sender(
        &self,
        public_key: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        len: usize,
        rng: &mut Rng<'_>,
    ) -> Result<(Vec<u8>, Secret), CryptoError> {
        self.inner
            .hpke_export_sender(public_key, info, exporter_context, len, rng)
    }
    fn hpke_export_receiver(
        &self,
        private_key: &[u8],
        kem_output: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        len: usize,
    ) -> Result<Secret, CryptoError> {
        self.inner
            .hpke_export_receiver(private_key, kem_output, info, exporter_context, len)
    }
    fn kem_derive_key_pair(&self, ikm: &[u8]) -> Result<KeyPair, CryptoError> {
        self.inner.kem_derive_key_pair(ikm)
    }
    fn kem_public_key(&self, private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.inner.kem_public_key(private_key)
    }
    fn signature_key_generate(&self, rng: &mut Rng<'_>) -> KeyPair {
        self.inner.signature_key_generate(rng)
    }
    fn signature_public_key(&self, private_key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.inner.signature_public_key(private_key)
    }
    fn sign(&self, private_key: &[u8], message: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.inner.sign(private_key, message)
    }
    fn signer(&self, private_key: &[u8]) -> Result<Box<dyn Signer>, CryptoError> {
        self.inner.signer(private_key)
    }
    fn verifier(&self, public_key: &[u8]) -> Result<Box<dyn Verifier>, CryptoError> {
        self.inner.verifier(public_key)
    }
    fn verify(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Result<(), CryptoError> {
        self.inner.verify(public_key, message, signature)
    }
    fn verify_many(&self, checks: &[SignatureCheck<'_>]) -> Result<(), usize> {
        self.inner.verify_many(checks)
    }
}

/// Alice's new group, and Bob's and Carol's identities and KeyPackages.
fn alice_and_two_key_packages(env: &Environment<'_>) -> (Group, [(Client, NewKeyPackage); 2]) {
    let alice = Client::new(env.cs, "alice").create_group(env);
    let [bob, carol] = ["bob", "carol"].map(|name| {
        let client = Client::new(env.cs, name);
        let key_package = client.key_package(env.cs);
        (client, key_package)
    });
    (alice, [bob, carol])
}

/// Alice's Commit adding the owners of both KeyPackages, merged: its Welcome.
fn add_both(env: &Environment<'_>, alice: &mut Group, key_packages: [&NewKeyPackage; 2]) -> MlsMessage {
    let out = commit(alice, env, adding(&key_packages, WireFormat::PUBLIC_MESSAGE));
    alice.merge_pending_commit().unwrap();
    out.welcome.unwrap()
}

#[test]
fn groups_work_through_an_applications_provider() {
    for s in SUITES {
        let provider = Wrapping::new(s);
        let env = Environment::basic(&provider);
        let (mut alice, [(bob_id, bob_kp), (carol_id, carol_kp)]) = alice_and_two_key_packages(&env);
        let welcome = add_both(&env, &mut alice, [&bob_kp, &carol_kp]);
        let mut bob = bob_id.join(&env, &welcome, &bob_kp).unwrap();
        let mut carol = carol_id.join(&env, &welcome, &carol_kp).unwrap();
        // One GroupSecrets for each joiner.
        assert_eq!(provider.seals.load(Ordering::Relaxed), 2);

        let out = commit(&mut bob, &env, with_path());
        bob.merge_pending_commit().unwrap();
        apply(&mut alice, &env, &out.commit);
        apply(&mut carol, &env, &out.commit);
        assert_agree(&env, &[&alice, &bob, &carol]);
        // The path secrets went to the other two leaves' keys.
        assert_eq!(provider.seals.load(Ordering::Relaxed), 4);
        exchange(&env, &mut carol, &mut [&mut alice, &mut bob], b"through our provider");
    }
}

#[test]
fn a_provider_that_loses_a_ciphertext_fails_the_commit() {
    let provider = Wrapping::new(CipherSuite(1));
    let env = Environment::basic(&provider);
    let (mut alice, [(bob_id, bob_kp), (_, carol_kp)]) = alice_and_two_key_packages(&env);
    provider.lose_one.store(true, Ordering::Relaxed);
    // The Welcome would lack Carol's GroupSecrets.
    let adds = adding(&[&bob_kp, &carol_kp], WireFormat::PUBLIC_MESSAGE);
    assert!(alice.commit(&env, adds, &mut e2ee_core::crypto::os_rng()).is_err());
    assert!(alice.merge_pending_commit().is_err(), "nothing pending");

    provider.lose_one.store(false, Ordering::Relaxed);
    let welcome = add_both(&env, &mut alice, [&bob_kp, &carol_kp]);
    let mut bob = bob_id.join(&env, &welcome, &bob_kp).unwrap();
    // The path would lack the secret for Carol's leaf.
    provider.lose_one.store(true, Ordering::Relaxed);
    assert!(bob.commit(&env, with_path(), &mut e2ee_core::crypto::os_rng()).is_err());
    assert_eq!(bob.epoch(), 1);
}
