//! Runner for `transcript-hashes.json` (RFC 9420 §8.2).

use e2ee_core::codec::decode_exact;
use e2ee_core::crypto::CryptoProvider;
use e2ee_core::messages::framing::AuthenticatedContent;
use e2ee_core::transcript;
use e2ee_rustcrypto::RustCryptoProvider;
use serde_json::Value;

use super::common::{Runner, check_eq, hex_field, suite_of};

/// Checks the confirmed and interim hashes and the confirmation tag.
pub const RUNNER: Option<Runner> = Some(run);

fn run(case: &Value) -> Result<(), String> {
    let cs = RustCryptoProvider
        .cipher_suite(suite_of(case)?)
        .map_err(|e| e.to_string())?;
    let content: AuthenticatedContent =
        decode_exact(&hex_field(case, "authenticated_content")?).map_err(|e| e.to_string())?;
    let input = transcript::confirmed_transcript_input(&content).map_err(|e| e.to_string())?;
    let confirmed =
        transcript::confirmed_transcript_hash(cs, &hex_field(case, "interim_transcript_hash_before")?, &input);
    check_eq(
        "confirmed_transcript_hash_after",
        &confirmed,
        &hex_field(case, "confirmed_transcript_hash_after")?,
    )?;
    let tag = content
        .auth
        .confirmation_tag
        .as_ref()
        .ok_or("content is not a commit")?;
    if !transcript::confirmation_tag_matches(cs, &hex_field(case, "confirmation_key")?, &confirmed, tag) {
        return Err("confirmation_tag does not match".into());
    }
    let interim = transcript::interim_transcript_hash(cs, &confirmed, tag).map_err(|e| e.to_string())?;
    check_eq(
        "interim_transcript_hash_after",
        &interim,
        &hex_field(case, "interim_transcript_hash_after")?,
    )
}
