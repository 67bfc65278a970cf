//! Runner for `key-schedule*.json`: the key schedule over successive epochs
//! (RFC 9420 §8), GroupContext encoding, external_pub and the exporter.

use e2ee_core::codec::{VLBytes, encode};
use e2ee_core::crypto::{CipherSuite, CipherSuiteProvider, CryptoProvider};
use e2ee_core::key_schedule::EpochSchedule;
use e2ee_core::messages::{GroupContext, ProtocolVersion};
use e2ee_rustcrypto::RustCryptoProvider;
use serde_json::Value;

use super::common::{Runner, check_eq, hex_field, suite_of, u64_field};

/// Walks every epoch of a case, chaining `init_secret`.
pub const RUNNER: Option<Runner> = Some(run);

fn run(case: &Value) -> Result<(), String> {
    let suite = suite_of(case)?;
    let provider = RustCryptoProvider;
    let cs = provider.cipher_suite(suite).map_err(|e| e.to_string())?;
    let group_id = hex_field(case, "group_id")?;
    let mut init_secret = hex_field(case, "initial_init_secret")?;
    let epochs = case["epochs"].as_array().ok_or("missing array epochs")?;
    for (n, epoch) in epochs.iter().enumerate() {
        init_secret =
            run_epoch(cs, suite, &group_id, n as u64, &init_secret, epoch).map_err(|e| format!("epoch {n}: {e}"))?;
    }
    Ok(())
}

/// Checks one epoch and returns its `init_secret` for the next.
fn run_epoch(
    cs: &dyn CipherSuiteProvider,
    suite: CipherSuite,
    group_id: &[u8],
    epoch: u64,
    init_secret: &[u8],
    v: &Value,
) -> Result<Vec<u8>, String> {
    let context = GroupContext {
        version: ProtocolVersion::MLS10,
        cipher_suite: suite,
        group_id: VLBytes::from(group_id.to_vec()),
        epoch,
        tree_hash: VLBytes::from(hex_field(v, "tree_hash")?),
        confirmed_transcript_hash: VLBytes::from(hex_field(v, "confirmed_transcript_hash")?),
        extensions: Vec::new(),
    };
    let context = encode(&context).map_err(|e| e.to_string())?;
    check_eq("group_context", &context, &hex_field(v, "group_context")?)?;

    let commit_secret = hex_field(v, "commit_secret")?;
    let psk_secret = hex_field(v, "psk_secret")?;
    let ks = EpochSchedule::derive(cs, init_secret, Some(&commit_secret), Some(&psk_secret), &context)
        .map_err(|e| e.to_string())?;
    let e = &ks.epoch;
    let checks = [
        ("joiner_secret", &ks.joiner_secret),
        ("welcome_secret", &ks.welcome_secret),
        ("init_secret", &e.init_secret),
        ("sender_data_secret", &e.sender_data_secret),
        ("encryption_secret", &e.encryption_secret),
        ("exporter_secret", &e.exporter_secret),
        ("epoch_authenticator", &e.epoch_authenticator),
        ("external_secret", &e.external_secret),
        ("confirmation_key", &e.confirmation_key),
        ("membership_key", &e.membership_key),
        ("resumption_psk", &e.resumption_psk),
    ];
    for (name, got) in checks {
        check_eq(name, got.as_bytes(), &hex_field(v, name)?)?;
    }
    check_eq(
        "external_pub",
        &e.external_pub(cs).map_err(|e| e.to_string())?,
        &hex_field(v, "external_pub")?,
    )?;

    let ex = &v["exporter"];
    let len = u16::try_from(u64_field(ex, "length")?).map_err(|e| e.to_string())?;
    // The generator passes the label to MLS-Exporter as its hex *text*
    // (labels are strings there); only the context is hex-decoded.
    let label = ex["label"].as_str().ok_or("missing field exporter.label")?;
    let exported = e
        .export(cs, label.as_bytes(), &hex_field(ex, "context")?, len)
        .map_err(|e| e.to_string())?;
    check_eq("exporter.secret", exported.as_bytes(), &hex_field(ex, "secret")?)?;
    Ok(e.init_secret.as_bytes().to_vec())
}
