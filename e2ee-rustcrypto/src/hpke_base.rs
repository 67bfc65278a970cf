//! HPKE's key schedule in base mode (RFC 9180 §5.1), for sealing to many
//! recipients under one info.
//!
//! The `hpke` crate hashes the info for every seal (`info_hash`). A
//! Welcome's info holds the whole encrypted GroupInfo (with the tree), so
//! through the crate a Commit adding k members to a group of n would hash
//! k copies of an O(n) buffer, and adding every member of a large group at
//! once would be quadratic. [`BaseSchedule`] hashes the info once and
//! derives each recipient's AEAD key and nonce (or exported secret) from
//! its KEM shared secret; the KEM (see `kem`) and the AEAD
//! (the suite's) stay the callers'. Opening and the receiver's export use it
//! too, so the package holds one key schedule rather than the crate's per
//! suite. The tests check the results against the `hpke` crate's own
//! SealBase and sender export. The DHKEMs' `ExtractAndExpand` is here as
//! well.

use alloc::vec::Vec;

use e2ee_provider::{CipherSuiteProvider, CryptoError, HpkeCiphertext, Rng, Secret};
use zeroize::Zeroizing;

use crate::dhkem::Encapsulation;

/// `mode_base` (RFC 9180 §5.1, Table 1).
const MODE_BASE: u8 = 0x00;

/// A KEM's Encap of several recipients (see `kem::SuiteKem`).
pub(crate) type EncapEach =
    fn(&dyn CipherSuiteProvider, &[&[u8]], &mut Rng<'_>) -> Result<Vec<Encapsulation>, CryptoError>;

/// A KEM's Decap (see `kem::SuiteKem`).
pub(crate) type Decap = fn(&dyn CipherSuiteProvider, &[u8], &[u8]) -> Result<Secret, CryptoError>;

/// HPKE in base mode (RFC 9180 §5, §6.1) of one suite: its primitives, its
/// `(kem_id, kdf_id, aead_id)` and its KEM. Not generic, so the package
/// holds this code once rather than once per suite.
pub(crate) struct Hpke<'a> {
    pub(crate) cs: &'a dyn CipherSuiteProvider,
    pub(crate) ids: [u16; 3],
    pub(crate) encap_each: EncapEach,
    pub(crate) decap: Decap,
}

impl Hpke<'_> {
    fn schedule(&self, info: &[u8]) -> BaseSchedule<'_> {
        BaseSchedule::new(self.cs, self.ids, info)
    }

    /// SealBase of each `(public_key, plaintext)` under one `info` and
    /// `aad`: the info hashed once, the KEM run for all recipients at once.
    pub(crate) fn seal_each(
        &self,
        recipients: &[(&[u8], &[u8])],
        info: &[u8],
        aad: &[u8],
        rng: &mut Rng<'_>,
    ) -> Result<Vec<HpkeCiphertext>, CryptoError> {
        let schedule = self.schedule(info);
        let public_keys: Vec<&[u8]> = recipients.iter().map(|(public_key, _)| *public_key).collect();
        let encapsulations = (self.encap_each)(self.cs, &public_keys, rng)?;
        let seal = |(encapsulation, (_, plaintext)): (Encapsulation, &(&[u8], &[u8]))| {
            let (key, nonce) = schedule.key_and_nonce(encapsulation.shared_secret.as_bytes())?;
            Ok(HpkeCiphertext {
                kem_output: encapsulation.enc,
                ciphertext: self.cs.aead_seal(key.as_bytes(), nonce.as_bytes(), aad, plaintext)?,
            })
        };
        encapsulations.into_iter().zip(recipients).map(seal).collect()
    }

    /// OpenBase.
    pub(crate) fn open(
        &self,
        private_key: &[u8],
        ciphertext: &HpkeCiphertext,
        info: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let shared_secret = (self.decap)(self.cs, private_key, &ciphertext.kem_output)?;
        let (key, nonce) = self.schedule(info).key_and_nonce(shared_secret.as_bytes())?;
        self.cs
            .aead_open(key.as_bytes(), nonce.as_bytes(), aad, &ciphertext.ciphertext)
    }

    /// SetupBaseS, then Export: `(enc, exported)`.
    pub(crate) fn export_sender(
        &self,
        public_key: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        len: usize,
        rng: &mut Rng<'_>,
    ) -> Result<(Vec<u8>, Secret), CryptoError> {
        let encapsulation = (self.encap_each)(self.cs, &[public_key], rng)?
            .pop()
            .ok_or(CryptoError::EncryptionFailed)?;
        let exported = self
            .schedule(info)
            .export(encapsulation.shared_secret.as_bytes(), exporter_context, len)?;
        Ok((encapsulation.enc, exported))
    }

    /// SetupBaseR, then Export.
    pub(crate) fn export_receiver(
        &self,
        private_key: &[u8],
        kem_output: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        len: usize,
    ) -> Result<Secret, CryptoError> {
        let shared_secret = (self.decap)(self.cs, private_key, kem_output)?;
        self.schedule(info)
            .export(shared_secret.as_bytes(), exporter_context, len)
    }
}

/// `key_schedule_context` for one info, and the suite to derive with.
pub(crate) struct BaseSchedule<'a> {
    /// Its HKDF is the HPKE KDF: in every MLS cipher suite, HPKE's KDF is
    /// the suite's.
    cs: &'a dyn CipherSuiteProvider,
    /// `"HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2)`.
    suite_id: [u8; 10],
    /// `mode || psk_id_hash || info_hash`.
    context: Vec<u8>,
}

impl<'a> BaseSchedule<'a> {
    /// The schedule of the HPKE suite `(kem_id, kdf_id, aead_id)` under
    /// `info`, with no PSK (base mode).
    pub(crate) fn new(cs: &'a dyn CipherSuiteProvider, ids: [u16; 3], info: &[u8]) -> Self {
        let mut suite_id = [0; 10];
        suite_id[..4].copy_from_slice(b"HPKE");
        for (slot, id) in suite_id[4..].chunks_exact_mut(2).zip(ids) {
            slot.copy_from_slice(&id.to_be_bytes());
        }
        let mut schedule = Self {
            cs,
            suite_id,
            context: Vec::new(),
        };
        let psk_id_hash = schedule.labeled_extract(b"", b"psk_id_hash", b"");
        let info_hash = schedule.labeled_extract(b"", b"info_hash", info);
        schedule.context = [&[MODE_BASE], psk_id_hash.as_bytes(), info_hash.as_bytes()].concat();
        schedule
    }

    /// The AEAD key and base nonce of a context set up with `shared_secret`
    /// (`KeySchedule`, the exporter secret left out). A single-shot seal
    /// uses the base nonce itself (sequence number 0).
    pub(crate) fn key_and_nonce(&self, shared_secret: &[u8]) -> Result<(Secret, Secret), CryptoError> {
        let secret = self.secret(shared_secret);
        let key = self.labeled_expand(&secret, b"key", self.cs.aead_key_len())?;
        let nonce = self.labeled_expand(&secret, b"base_nonce", self.cs.aead_nonce_len())?;
        Ok((key, nonce))
    }

    /// `Context.Export(exporter_context, len)` (RFC 9180 §5.3) of a context
    /// set up with `shared_secret`.
    pub(crate) fn export(
        &self,
        shared_secret: &[u8],
        exporter_context: &[u8],
        len: usize,
    ) -> Result<Secret, CryptoError> {
        let secret = self.secret(shared_secret);
        let exporter_secret = self.labeled_expand(&secret, b"exp", self.cs.hash_len())?;
        labeled_expand(self.cs, &self.suite_id, &exporter_secret, b"sec", exporter_context, len)
    }

    /// `secret` of `KeySchedule` (base mode: the PSK is empty).
    fn secret(&self, shared_secret: &[u8]) -> Secret {
        self.labeled_extract(shared_secret, b"secret", b"")
    }

    /// `LabeledExtract(salt, label, ikm)` (RFC 9180 §4). The labelled
    /// input holds no secret here (the shared secret is the salt), so it
    /// is not zeroized.
    fn labeled_extract(&self, salt: &[u8], label: &[u8], ikm: &[u8]) -> Secret {
        self.cs.kdf_extract(salt, &labeled_ikm(&self.suite_id, label, ikm))
    }

    /// `LabeledExpand(prk, label, key_schedule_context, len)` (RFC 9180 §4).
    fn labeled_expand(&self, prk: &Secret, label: &[u8], len: usize) -> Result<Secret, CryptoError> {
        labeled_expand(self.cs, &self.suite_id, prk, label, &self.context, len)
    }
}

/// `LabeledExtract("", label, ikm)` (RFC 9180 §4) of a KEM with `suite_id`,
/// for a secret `ikm`: its labelled copy is zeroized.
pub(crate) fn kem_labeled_extract(cs: &dyn CipherSuiteProvider, suite_id: &[u8], label: &[u8], ikm: &[u8]) -> Secret {
    cs.kdf_extract(b"", &Zeroizing::new(labeled_ikm(suite_id, label, ikm)))
}

/// A DHKEM's `ExtractAndExpand(dh, kem_context)` (RFC 9180 §4.1), with the
/// suite's HKDF: in every MLS suite the KEM's KDF is the suite's, and a
/// DHKEM's `Nsecret` is its `Nh`.
pub(crate) fn extract_and_expand(
    cs: &dyn CipherSuiteProvider,
    suite_id: &[u8],
    dh: &[u8],
    kem_context: &[u8],
) -> Result<Secret, CryptoError> {
    let eae_prk = kem_labeled_extract(cs, suite_id, b"eae_prk", dh);
    labeled_expand(cs, suite_id, &eae_prk, b"shared_secret", kem_context, cs.hash_len())
}

/// `labeled_ikm` of `LabeledExtract` (RFC 9180 §4) under `suite_id`. The
/// caller zeroizes it when `ikm` is secret (a DH result); an info of
/// megabytes is not worth wiping.
pub(crate) fn labeled_ikm(suite_id: &[u8], label: &[u8], ikm: &[u8]) -> Vec<u8> {
    [b"HPKE-v1", suite_id, label, ikm].concat()
}

/// `LabeledExpand(prk, label, info, len)` (RFC 9180 §4) under `suite_id`,
/// with the HKDF of `cs`.
pub(crate) fn labeled_expand(
    cs: &dyn CipherSuiteProvider,
    suite_id: &[u8],
    prk: &Secret,
    label: &[u8],
    info: &[u8],
    len: usize,
) -> Result<Secret, CryptoError> {
    let length = u16::try_from(len).map_err(|_| CryptoError::InvalidLength)?;
    let info = [&length.to_be_bytes()[..], b"HPKE-v1", suite_id, label, info].concat();
    cs.kdf_expand(prk.as_bytes(), &info, len)
}
