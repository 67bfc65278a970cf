//! Runner for `tree-validation*.json`: per-node resolutions and tree hashes
//! (RFC 9420 §4.1.1, §7.8), parent-hash validity (§7.9.2) and every leaf's
//! signature (§7.3), and the full validation a joiner runs (§12.4.3.1).

use e2ee_core::codec::VLBytes;
use e2ee_core::crypto::CryptoProvider;
use e2ee_core::ratchet_tree::leaf::{self, BasicCredentialValidator, LeafNodeOrigin, LeafValidationContext};
use e2ee_core::ratchet_tree::{RatchetTree, TreeValidationParams};
use e2ee_core::tree_math::NodeIndex;
use e2ee_rustcrypto::RustCryptoProvider;
use serde_json::Value;

use super::common::{Runner, check_eq, hex_field, suite_of};

/// Checks every field of one case.
pub const RUNNER: Option<Runner> = Some(run);

fn run(case: &Value) -> Result<(), String> {
    let cs = RustCryptoProvider
        .cipher_suite(suite_of(case)?)
        .map_err(|e| e.to_string())?;
    let mut tree = RatchetTree::decode(&hex_field(case, "tree")?).map_err(|e| format!("decode tree: {e}"))?;
    let group_id = VLBytes::from(hex_field(case, "group_id")?);
    check_resolutions(case, &tree)?;
    check_tree_hashes(case, &mut tree, cs)?;
    tree.verify_parent_hashes(cs)
        .map_err(|e| format!("parent hashes: {e}"))?;
    let ctx = LeafValidationContext {
        cs,
        group_id: &group_id,
        required_capabilities: None,
        // The vectors' lifetimes are not tied to any clock.
        now: None,
        max_lifetime: None,
        credential_validator: &BasicCredentialValidator,
    };
    for (i, leaf_node) in tree.leaves() {
        leaf::verify_signature(&ctx, leaf_node, LeafNodeOrigin::Tree(i))
            .map_err(|e| format!("leaf {} signature: {e}", i.0))?;
    }
    let root_hash = tree.tree_hash(cs).map_err(|e| e.to_string())?;
    let params = TreeValidationParams {
        leaf: ctx,
        expected_tree_hash: Some(&root_hash),
    };
    tree.validate(&params).map_err(|e| format!("validate: {e}"))
}

/// `resolutions[i]` is the resolution of node `i`, as node indices.
fn check_resolutions(case: &Value, tree: &RatchetTree) -> Result<(), String> {
    let want = case
        .get("resolutions")
        .and_then(Value::as_array)
        .ok_or("missing resolutions")?;
    if want.len() != tree.node_width() as usize {
        return Err(format!("{} resolutions for {} nodes", want.len(), tree.node_width()));
    }
    for (x, w) in want.iter().enumerate() {
        let w: Vec<u64> = w
            .as_array()
            .ok_or("resolution is not an array")?
            .iter()
            .filter_map(Value::as_u64)
            .collect();
        let got = tree.resolution(NodeIndex(x as u32)).map_err(|e| e.to_string())?;
        let got: Vec<u64> = got.iter().map(|n| u64::from(n.0)).collect();
        if got != w {
            return Err(format!("resolution of node {x}: got {got:?}, want {w:?}"));
        }
    }
    Ok(())
}

/// `tree_hashes[i]` is the tree hash of the subtree headed by node `i`.
fn check_tree_hashes(
    case: &Value,
    tree: &mut RatchetTree,
    cs: &dyn e2ee_core::crypto::CipherSuiteProvider,
) -> Result<(), String> {
    let want = case
        .get("tree_hashes")
        .and_then(Value::as_array)
        .ok_or("missing tree_hashes")?;
    if want.len() != tree.node_width() as usize {
        return Err(format!("{} tree hashes for {} nodes", want.len(), tree.node_width()));
    }
    for (x, w) in want.iter().enumerate() {
        let w = hex::decode(w.as_str().ok_or("tree hash is not a string")?).map_err(|e| e.to_string())?;
        let got = tree
            .node_tree_hash(cs, NodeIndex(x as u32))
            .map_err(|e| e.to_string())?;
        check_eq(&format!("tree hash of node {x}"), &got, &w)?;
    }
    Ok(())
}
