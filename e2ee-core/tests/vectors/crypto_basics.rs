//! Runner for `crypto-basics.json`: the labelled operations of RFC 9420 §5 and §8.

use e2ee_core::crypto::{CipherSuiteProvider, CryptoProvider, HpkeCiphertext};
use e2ee_rustcrypto::RustCryptoProvider;
use serde_json::Value;

use super::common::{Runner, check_eq, hex_field, suite_of, u64_field};
use e2ee_core::crypto::Labelled;

/// Runs every operation of a case.
pub const RUNNER: Option<Runner> = Some(run);

fn field<'a>(case: &'a Value, key: &str) -> Result<&'a Value, String> {
    case.get(key).ok_or_else(|| format!("missing {key}"))
}

fn label(v: &Value) -> Result<Vec<u8>, String> {
    Ok(v.get("label")
        .and_then(Value::as_str)
        .ok_or("missing label")?
        .as_bytes()
        .to_vec())
}

fn run(case: &Value) -> Result<(), String> {
    let cs = RustCryptoProvider
        .cipher_suite(suite_of(case)?)
        .map_err(|e| e.to_string())?;
    let err = |e: e2ee_core::crypto::CryptoError| e.to_string();

    let v = field(case, "ref_hash")?;
    let out = cs.ref_hash(&label(v)?, &hex_field(v, "value")?).map_err(err)?;
    check_eq("ref_hash", &out, &hex_field(v, "out")?)?;

    let v = field(case, "expand_with_label")?;
    let len = u64_field(v, "length")? as u16;
    let out = cs
        .expand_with_label(&hex_field(v, "secret")?, &label(v)?, &hex_field(v, "context")?, len)
        .map_err(err)?;
    check_eq("expand_with_label", out.as_bytes(), &hex_field(v, "out")?)?;

    let v = field(case, "derive_secret")?;
    let out = cs.derive_secret(&hex_field(v, "secret")?, &label(v)?).map_err(err)?;
    check_eq("derive_secret", out.as_bytes(), &hex_field(v, "out")?)?;

    let v = field(case, "derive_tree_secret")?;
    let (generation, len) = (u64_field(v, "generation")? as u32, u64_field(v, "length")? as u16);
    let out = cs
        .derive_tree_secret(&hex_field(v, "secret")?, &label(v)?, generation, len)
        .map_err(err)?;
    check_eq("derive_tree_secret", out.as_bytes(), &hex_field(v, "out")?)?;

    check_signatures(cs, field(case, "sign_with_label")?)?;
    check_encryption(cs, field(case, "encrypt_with_label")?)
}

/// Verifies the vector's signature, and a fresh one of ours; a wrong content must fail.
fn check_signatures(cs: &dyn CipherSuiteProvider, v: &Value) -> Result<(), String> {
    let (sk, pk, content, sig) = (
        hex_field(v, "priv")?,
        hex_field(v, "pub")?,
        hex_field(v, "content")?,
        hex_field(v, "signature")?,
    );
    let label = label(v)?;
    check_eq(
        "signature public key",
        &cs.signature_public_key(&sk).map_err(|e| e.to_string())?,
        &pk,
    )?;
    cs.verify_with_label(&pk, &label, &content, &sig)
        .map_err(|e| format!("vector signature: {e}"))?;
    let ours = cs.sign_with_label(&sk, &label, &content).map_err(|e| e.to_string())?;
    cs.verify_with_label(&pk, &label, &content, &ours)
        .map_err(|e| format!("own signature: {e}"))?;
    if cs.verify_with_label(&pk, b"other label", &content, &sig).is_ok() {
        return Err("signature verified under the wrong label".into());
    }
    Ok(())
}

/// Decrypts the vector's ciphertext, and round-trips a fresh encryption.
fn check_encryption(cs: &dyn CipherSuiteProvider, v: &Value) -> Result<(), String> {
    let (sk, pk, context, pt) = (
        hex_field(v, "priv")?,
        hex_field(v, "pub")?,
        hex_field(v, "context")?,
        hex_field(v, "plaintext")?,
    );
    let label = label(v)?;
    check_eq(
        "kem public key",
        &cs.kem_public_key(&sk).map_err(|e| e.to_string())?,
        &pk,
    )?;
    let ct = HpkeCiphertext {
        kem_output: hex_field(v, "kem_output")?,
        ciphertext: hex_field(v, "ciphertext")?,
    };
    let out = cs
        .decrypt_with_label(&sk, &label, &context, &ct)
        .map_err(|e| format!("decrypt vector: {e}"))?;
    check_eq("decrypt_with_label", &out, &pt)?;
    let mut rng = super::common::rng();
    let fresh = cs
        .encrypt_with_label(&pk, &label, &context, &pt, &mut rng)
        .map_err(|e| e.to_string())?;
    let out = cs
        .decrypt_with_label(&sk, &label, &context, &fresh)
        .map_err(|e| format!("decrypt own: {e}"))?;
    check_eq("encrypt/decrypt round trip", &out, &pt)
}
