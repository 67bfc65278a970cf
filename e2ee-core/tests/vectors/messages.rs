//! Runner for `messages.json`: every field decodes with `decode_exact` and
//! re-encodes to identical bytes, of the length its `Size` says (RFC 9420
//! wire structures).

use e2ee_core::codec::{Decode, Encode, Size, decode_exact, encode};
use e2ee_core::messages::{
    Add, Commit, ContentType, ExternalInit, GroupContextExtensions, GroupSecrets, MlsMessage, MlsMessageBody,
    PreSharedKey, RatchetTree, ReInit, Remove, Update, WireFormat,
};
use serde_json::Value;

use super::common::{Runner, check_eq, hex_field};

/// The messages.json runner.
pub const RUNNER: Option<Runner> = Some(run);

/// Decodes `case[key]` as `T` and requires re-encoding to give the same bytes.
fn round_trip<T: Decode + Encode + Size>(case: &Value, key: &str) -> Result<T, String> {
    let bytes = hex_field(case, key)?;
    let value = decode_exact::<T>(&bytes).map_err(|e| format!("{key}: decode: {e}"))?;
    let again = encode(&value).map_err(|e| format!("{key}: encode: {e}"))?;
    check_eq(key, &again, &bytes)?;
    if value.encoded_len() != bytes.len() {
        return Err(format!("{key}: size {} for {} bytes", value.encoded_len(), bytes.len()));
    }
    Ok(value)
}

/// An MLSMessage field that must carry `wire_format`.
fn mls_message(case: &Value, key: &str, wire_format: WireFormat) -> Result<MlsMessage, String> {
    let message: MlsMessage = round_trip(case, key)?;
    let got = message.body.wire_format();
    if got != wire_format {
        return Err(format!("{key}: wire format {got:?}, want {wire_format:?}"));
    }
    Ok(message)
}

/// A PublicMessage field whose content must be of `content_type`.
fn public_message(case: &Value, key: &str, content_type: ContentType) -> Result<(), String> {
    match mls_message(case, key, WireFormat::PUBLIC_MESSAGE)?.body {
        MlsMessageBody::PublicMessage(m) if m.content.content_type() == content_type => Ok(()),
        _ => Err(format!("{key}: not a public message of content type {content_type:?}")),
    }
}

fn run(case: &Value) -> Result<(), String> {
    mls_message(case, "mls_welcome", WireFormat::WELCOME)?;
    mls_message(case, "mls_group_info", WireFormat::GROUP_INFO)?;
    mls_message(case, "mls_key_package", WireFormat::KEY_PACKAGE)?;
    round_trip::<RatchetTree>(case, "ratchet_tree")?;
    round_trip::<GroupSecrets>(case, "group_secrets")?;
    round_trip::<Add>(case, "add_proposal")?;
    round_trip::<Update>(case, "update_proposal")?;
    round_trip::<Remove>(case, "remove_proposal")?;
    round_trip::<PreSharedKey>(case, "pre_shared_key_proposal")?;
    round_trip::<ReInit>(case, "re_init_proposal")?;
    round_trip::<ExternalInit>(case, "external_init_proposal")?;
    round_trip::<GroupContextExtensions>(case, "group_context_extensions_proposal")?;
    round_trip::<Commit>(case, "commit")?;
    public_message(case, "public_message_application", ContentType::Application)?;
    public_message(case, "public_message_proposal", ContentType::Proposal)?;
    public_message(case, "public_message_commit", ContentType::Commit)?;
    mls_message(case, "private_message", WireFormat::PRIVATE_MESSAGE)?;
    Ok(())
}
