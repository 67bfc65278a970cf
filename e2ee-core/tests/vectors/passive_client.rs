//! Runner for every `passive-client-*.json` file (RFC 9420 §12.4.3.1,
//! §12.4.2): a passive member joins by Welcome (tree inline or out of band,
//! with external PSKs) and follows the epochs' proposals and Commits,
//! matching every epoch authenticator.

use std::collections::BTreeMap;

use e2ee_core::codec::decode_exact;
use e2ee_core::crypto::{CryptoProvider, Secret};
use e2ee_core::group::{Environment, ExternalJoins, Group, GroupConfig, JoinKeys, ProcessedMessage};
use e2ee_core::messages::{MlsMessage, MlsMessageBody, Node};
use e2ee_core::ratchet_tree::BasicCredentialValidator;
use e2ee_rustcrypto::RustCryptoProvider;
use serde_json::Value;

use super::common::{Runner, check_eq, hex_field, suite_of};

/// Joins and follows every epoch of a case.
pub const RUNNER: Option<Runner> = Some(run);

fn run(case: &Value) -> Result<(), String> {
    let cs = RustCryptoProvider
        .cipher_suite(suite_of(case)?)
        .map_err(|e| e.to_string())?;
    let psks = external_psks(case)?;
    let env = Environment {
        cs,
        psks: &psks,
        credential_validator: &BasicCredentialValidator,
        now: None,
        // The vectors' external Commits are the RFC's to judge, not a policy's.
        external_joins: ExternalJoins::Allow,
    };
    let MlsMessageBody::KeyPackage(key_package) = message(case, "key_package")?.body else {
        return Err("key_package is not a KeyPackage".into());
    };
    let MlsMessageBody::Welcome(welcome) = message(case, "welcome")?.body else {
        return Err("welcome is not a Welcome".into());
    };
    let tree = match case.get("ratchet_tree").and_then(Value::as_str) {
        Some(hex) => Some(
            decode_exact::<Vec<Option<Node>>>(&hex::decode(hex).map_err(|e| e.to_string())?)
                .map_err(|e| e.to_string())?,
        ),
        None => None,
    };
    let keys = JoinKeys {
        key_package: &key_package,
        init_private_key: &hex_field(case, "init_priv")?,
        encryption_private_key: Secret::new(hex_field(case, "encryption_priv")?),
        signature_private_key: Secret::new(hex_field(case, "signature_priv")?),
    };
    let mut group =
        Group::join(&env, &welcome, keys, tree, GroupConfig::default()).map_err(|e| format!("join: {e}"))?;
    check_eq(
        "initial_epoch_authenticator",
        group.epoch_authenticator().map_err(|e| e.to_string())?,
        &hex_field(case, "initial_epoch_authenticator")?,
    )?;
    let epochs = case.get("epochs").and_then(Value::as_array).ok_or("missing epochs")?;
    for (n, epoch) in epochs.iter().enumerate() {
        follow_epoch(&env, &mut group, epoch).map_err(|e| format!("epoch {n}: {e}"))?;
    }
    Ok(())
}

fn follow_epoch(env: &Environment<'_>, group: &mut Group, epoch: &Value) -> Result<(), String> {
    for proposal in epoch
        .get("proposals")
        .and_then(Value::as_array)
        .ok_or("missing proposals")?
    {
        let bytes = hex::decode(proposal.as_str().ok_or("proposal is not a string")?).map_err(|e| e.to_string())?;
        let msg: MlsMessage = decode_exact(&bytes).map_err(|e| e.to_string())?;
        match group.process(env, &msg).map_err(|e| format!("proposal: {e}"))? {
            ProcessedMessage::Proposal { .. } => {}
            other => return Err(format!("expected a proposal, got {other:?}")),
        }
    }
    match group
        .process(env, &message(epoch, "commit")?)
        .map_err(|e| format!("commit: {e}"))?
    {
        ProcessedMessage::Commit(_) => {}
        other => return Err(format!("expected a commit, got {other:?}")),
    }
    check_eq(
        "epoch_authenticator",
        group.epoch_authenticator().map_err(|e| e.to_string())?,
        &hex_field(epoch, "epoch_authenticator")?,
    )
}

fn message(v: &Value, key: &str) -> Result<MlsMessage, String> {
    decode_exact(&hex_field(v, key)?).map_err(|e| format!("{key}: {e}"))
}

fn external_psks(case: &Value) -> Result<BTreeMap<Vec<u8>, Secret>, String> {
    let list = case
        .get("external_psks")
        .and_then(Value::as_array)
        .ok_or("missing external_psks")?;
    list.iter()
        .map(|p| Ok((hex_field(p, "psk_id")?, Secret::new(hex_field(p, "psk")?))))
        .collect()
}
