//! Runner for `tree-operations*.json`: applying an Add, Update or Remove
//! proposal to a ratchet tree (RFC 9420 §12.1.1–§12.1.3, §7.7) and the tree
//! hashes before and after (§7.8).

use e2ee_core::codec::decode_exact;
use e2ee_core::crypto::{CipherSuiteProvider, CryptoProvider};
use e2ee_core::messages::Proposal;
use e2ee_core::ratchet_tree::RatchetTree;
use e2ee_core::tree_math::LeafIndex;
use e2ee_rustcrypto::RustCryptoProvider;
use serde_json::Value;

use super::common::{Runner, check_eq, hex_field, suite_of, u64_field};

/// Checks every field of one case.
pub const RUNNER: Option<Runner> = Some(run);

fn run(case: &Value) -> Result<(), String> {
    let cs = RustCryptoProvider
        .cipher_suite(suite_of(case)?)
        .map_err(|e| e.to_string())?;
    let mut tree = RatchetTree::decode(&hex_field(case, "tree_before")?).map_err(|e| format!("tree_before: {e}"))?;
    check_hash(&mut tree, cs, "tree_hash_before", case)?;
    let proposal: Proposal = decode_exact(&hex_field(case, "proposal")?).map_err(|e| format!("proposal: {e}"))?;
    let sender = u32::try_from(u64_field(case, "proposal_sender")?).map_err(|e| e.to_string())?;
    let applied = match proposal {
        Proposal::Add(add) => tree.add_leaf(add.key_package.leaf_node).map(drop),
        Proposal::Update(update) => tree.update_leaf(LeafIndex(sender), update.leaf_node),
        Proposal::Remove(remove) => tree.remove_leaf(LeafIndex(remove.removed)).map(drop),
        other => return Err(format!("unexpected proposal type {}", other.proposal_type().0)),
    };
    applied.map_err(|e| format!("apply: {e}"))?;
    let encoded = tree.encode().map_err(|e| e.to_string())?;
    check_eq("tree_after", &encoded, &hex_field(case, "tree_after")?)?;
    check_hash(&mut tree, cs, "tree_hash_after", case)
}

fn check_hash(tree: &mut RatchetTree, cs: &dyn CipherSuiteProvider, key: &str, case: &Value) -> Result<(), String> {
    let got = tree.tree_hash(cs).map_err(|e| format!("{key}: {e}"))?;
    check_eq(key, &got, &hex_field(case, key)?)
}
