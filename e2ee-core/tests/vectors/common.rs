//! Shared helpers for the vector runners.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::Value;

/// What one case came to.
pub enum Outcome {
    /// Every check of the case matched.
    Passed,
    /// Not run, with the reason (e.g. an unsupported cipher suite).
    Skipped(String),
    /// A check did not match, or the implementation returned an error.
    Failed(String),
}

/// A runner checks one case; `Err` is a failure with its reason.
pub type Runner = fn(&Value) -> Result<(), String>;

/// Whether the provider, as built, has cipher suite `suite`.
fn supported(suite: u64) -> bool {
    use e2ee_core::crypto::CryptoProvider;
    use e2ee_rustcrypto::RustCryptoProvider;
    let suites = RustCryptoProvider.supported_cipher_suites();
    suites.iter().any(|s| u64::from(s.0) == suite)
}

/// Runs one case: skips suites the provider was built without, turns
/// errors and panics into failures.
pub fn run_case(runner: Runner, case: &Value) -> Outcome {
    if let Some(suite) = case.get("cipher_suite").and_then(Value::as_u64)
        && !supported(suite)
    {
        return Outcome::Skipped(format!(
            "cipher suite {suite} not in this build (see e2ee-rustcrypto's features)"
        ));
    }
    match catch_unwind(AssertUnwindSafe(|| runner(case))) {
        Ok(Ok(())) => Outcome::Passed,
        Ok(Err(why)) => Outcome::Failed(why),
        Err(_) => Outcome::Failed("panicked".into()),
    }
}

/// The hex-decoded bytes of string field `key`.
pub fn hex_field(case: &Value, key: &str) -> Result<Vec<u8>, String> {
    let s = case
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing field {key}"))?;
    hex::decode(s).map_err(|e| format!("field {key}: bad hex: {e}"))
}

/// The integer field `key`.
pub fn u64_field(case: &Value, key: &str) -> Result<u64, String> {
    case.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("missing integer field {key}"))
}

/// The cipher suite of a case.
pub fn suite_of(case: &Value) -> Result<e2ee_core::crypto::CipherSuite, String> {
    Ok(e2ee_core::crypto::CipherSuite(u64_field(case, "cipher_suite")? as u16))
}

/// Fails with a readable message unless `got == want`.
pub fn check_eq(what: &str, got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {}, want {}", hex::encode(got), hex::encode(want)))
    }
}

/// The operating system's randomness, for the few vectors that encrypt.
pub fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}
