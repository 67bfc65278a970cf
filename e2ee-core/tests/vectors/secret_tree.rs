//! Runner for `secret-tree*.json`: sender data key/nonce (RFC 9420 §6.3.2)
//! and the handshake/application ratchets of every leaf (§9, §9.1).

use serde_json::Value;

use e2ee_core::crypto::{CipherSuiteProvider, CryptoProvider, Secret};
use e2ee_core::secret_tree::{self, RatchetKind, SecretTree};
use e2ee_core::tree_math::LeafIndex;
use e2ee_rustcrypto::RustCryptoProvider;

use super::common::{Runner, check_eq, hex_field, suite_of, u64_field};

/// Checks the sender data and every listed leaf generation.
pub const RUNNER: Option<Runner> = Some(run);

const KINDS: [(RatchetKind, &str); 2] = [
    (RatchetKind::Handshake, "handshake"),
    (RatchetKind::Application, "application"),
];

fn run(case: &Value) -> Result<(), String> {
    let cs = RustCryptoProvider
        .cipher_suite(suite_of(case)?)
        .map_err(|e| e.to_string())?;
    check_sender_data(cs, case.get("sender_data").ok_or("missing sender_data")?)?;
    let leaves = case.get("leaves").and_then(Value::as_array).ok_or("missing leaves")?;
    let n = u32::try_from(leaves.len()).map_err(|e| e.to_string())?;
    let secret = Secret::new(hex_field(case, "encryption_secret")?);
    // One tree answers as a receiver (jumping to each generation), one as
    // the sender (stepping through every generation in order).
    let mut receiver = SecretTree::new(secret.clone(), n).map_err(|e| e.to_string())?;
    let mut sender = SecretTree::new(secret, n).map_err(|e| e.to_string())?;
    for (i, steps) in (0..n).zip(leaves) {
        for step in steps.as_array().ok_or("leaf is not an array")? {
            check_generation(cs, &mut receiver, &mut sender, LeafIndex(i), step)?;
        }
    }
    Ok(())
}

fn check_sender_data(cs: &dyn CipherSuiteProvider, sd: &Value) -> Result<(), String> {
    let secret = hex_field(sd, "sender_data_secret")?;
    let ciphertext = hex_field(sd, "ciphertext")?;
    let key = secret_tree::sender_data_key(cs, &secret, &ciphertext).map_err(|e| e.to_string())?;
    let nonce = secret_tree::sender_data_nonce(cs, &secret, &ciphertext).map_err(|e| e.to_string())?;
    check_eq("sender_data key", key.as_bytes(), &hex_field(sd, "key")?)?;
    check_eq("sender_data nonce", nonce.as_bytes(), &hex_field(sd, "nonce")?)
}

fn check_generation(
    cs: &dyn CipherSuiteProvider,
    receiver: &mut SecretTree,
    sender: &mut SecretTree,
    leaf: LeafIndex,
    step: &Value,
) -> Result<(), String> {
    let generation = u32::try_from(u64_field(step, "generation")?).map_err(|e| e.to_string())?;
    for (kind, name) in KINDS {
        let what = format!("leaf {} generation {generation} {name}", leaf.0);
        let got = receiver
            .key_for(cs, leaf, kind, generation)
            .map_err(|e| format!("{what}: {e}"))?;
        let sent = loop {
            let k = sender.next_key(cs, leaf, kind).map_err(|e| format!("{what}: {e}"))?;
            if k.generation >= generation {
                break k;
            }
        };
        for k in [&got, &sent] {
            check_eq(
                &format!("{what} key"),
                k.key.as_bytes(),
                &hex_field(step, &format!("{name}_key"))?,
            )?;
            check_eq(
                &format!("{what} nonce"),
                k.nonce.as_bytes(),
                &hex_field(step, &format!("{name}_nonce"))?,
            )?;
        }
    }
    Ok(())
}
