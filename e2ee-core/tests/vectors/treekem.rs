//! Runner for `treekem.json` (RFC 9420 §7.4–§7.6): every member processes
//! each given UpdatePath and must find the expected path secret, commit
//! secret and tree hash; then every member creates its own UpdatePath and
//! all the others must agree with it on the commit secret and tree hash.

use e2ee_core::codec::{VLBytes, decode_exact, encode};
use e2ee_core::crypto::{CipherSuiteProvider, CryptoProvider, Secret};
use e2ee_core::messages::{GroupContext, LeafNode, LeafNodeTbs, ProtocolVersion, UpdatePath};
use e2ee_core::ratchet_tree::RatchetTree;
use e2ee_core::tree_math::{LeafIndex, NodeIndex};
use e2ee_core::treekem::{self, TreeKemPrivate, UpdatePathParams};
use e2ee_rustcrypto::RustCryptoProvider;
use serde_json::Value;

use super::common::{Runner, check_eq, hex_field, suite_of, u64_field};
use e2ee_core::crypto::Labelled;

/// Processes and creates the UpdatePaths of each case.
pub const RUNNER: Option<Runner> = Some(run);

fn run(case: &Value) -> Result<(), String> {
    let case_state = Case::parse(case)?;
    let update_paths = case
        .get("update_paths")
        .and_then(Value::as_array)
        .ok_or("missing update_paths")?;
    for (i, update) in update_paths.iter().enumerate() {
        case_state
            .check_received(update)
            .map_err(|e| format!("update_paths[{i}]: {e}"))?;
    }
    for member in &case_state.members {
        let leaf = member.private.own_leaf().0;
        case_state
            .check_created(member)
            .map_err(|e| format!("UpdatePath created by leaf {leaf}: {e}"))?;
    }
    Ok(())
}

/// A member with private state in the vector.
struct Member {
    private: TreeKemPrivate,
    signature_key: Vec<u8>,
}

/// The state every UpdatePath of a case starts from.
struct Case {
    cs: &'static dyn CipherSuiteProvider,
    tree: RatchetTree,
    /// The GroupContext without its tree hash, which processing sets.
    context: GroupContext,
    members: Vec<Member>,
}

impl Case {
    fn parse(case: &Value) -> Result<Self, String> {
        let suite = suite_of(case)?;
        let cs = RustCryptoProvider.cipher_suite(suite).map_err(|e| e.to_string())?;
        let mut tree = RatchetTree::decode(&hex_field(case, "ratchet_tree")?).map_err(|e| e.to_string())?;
        tree.verify_parent_hashes(cs)
            .map_err(|e| format!("initial tree: {e}"))?;
        let context = GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: suite,
            group_id: hex_field(case, "group_id")?.into(),
            epoch: u64_field(case, "epoch")?,
            tree_hash: VLBytes::default(),
            confirmed_transcript_hash: hex_field(case, "confirmed_transcript_hash")?.into(),
            extensions: Vec::new(),
        };
        let leaves = case
            .get("leaves_private")
            .and_then(Value::as_array)
            .ok_or("missing leaves_private")?;
        let members = leaves
            .iter()
            .map(|l| parse_member(cs, &tree, l))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            cs,
            tree,
            context,
            members,
        })
    }

    /// Every member other than the sender processes the vector's UpdatePath.
    fn check_received(&self, update: &Value) -> Result<(), String> {
        let sender = LeafIndex(u64_field(update, "sender")? as u32);
        let path: UpdatePath = decode_exact(&hex_field(update, "update_path")?).map_err(|e| e.to_string())?;
        verify_leaf_signature(self.cs, &path.leaf_node, &self.context.group_id, sender)?;
        treekem::check_update_path_keys(self.cs, &self.tree, sender, &path).map_err(|e| e.to_string())?;
        let expected_secrets = update
            .get("path_secrets")
            .and_then(Value::as_array)
            .ok_or("missing path_secrets")?;
        let commit_secret = hex_field(update, "commit_secret")?;
        let tree_hash_after = hex_field(update, "tree_hash_after")?;
        for member in self.members.iter().filter(|m| m.private.own_leaf() != sender) {
            let leaf = member.private.own_leaf().0;
            let (mut tree, mut private, mut context) =
                (self.tree.clone(), member.private.clone(), self.context.clone());
            let out = treekem::process_update_path(self.cs, &mut tree, &mut private, sender, &path, &mut context, &[])
                .map_err(|e| format!("leaf {leaf}: {e}"))?;
            let expected = expected_secrets
                .get(leaf as usize)
                .and_then(Value::as_str)
                .ok_or("no path secret")?;
            let expected = hex::decode(expected).map_err(|e| e.to_string())?;
            check_eq(
                &format!("leaf {leaf}: path secret"),
                out.path_secret.as_bytes(),
                &expected,
            )?;
            check_eq(
                &format!("leaf {leaf}: commit secret"),
                out.commit_secret.as_bytes(),
                &commit_secret,
            )?;
            let tree_hash = tree.tree_hash(self.cs).map_err(|e| e.to_string())?;
            check_eq(&format!("leaf {leaf}: tree hash after"), &tree_hash, &tree_hash_after)?;
            check_eq(
                &format!("leaf {leaf}: context tree hash"),
                &context.tree_hash,
                &tree_hash_after,
            )?;
        }
        Ok(())
    }

    /// `creator` makes an UpdatePath; every other member processes it and
    /// must reach the creator's commit secret and tree.
    fn check_created(&self, creator: &Member) -> Result<(), String> {
        let sender = creator.private.own_leaf();
        let (mut tree, mut context) = (self.tree.clone(), self.context.clone());
        let params = UpdatePathParams {
            sender,
            leaf_node: tree.leaf(sender).ok_or("creator's leaf is blank")?.clone(),
            signature_private_key: &creator.signature_key,
            added_leaves: &[],
        };
        let mut rng = super::common::rng();
        let created = treekem::create_update_path(self.cs, &mut tree, params, &mut context, &mut rng)
            .map_err(|e| e.to_string())?;
        tree.verify_parent_hashes(self.cs)
            .map_err(|e| format!("tree after: {e}"))?;
        verify_leaf_signature(self.cs, &created.update_path.leaf_node, &context.group_id, sender)?;
        // The UpdatePath goes over the wire: receivers get the decoded bytes.
        let bytes = encode(&created.update_path).map_err(|e| e.to_string())?;
        let path: UpdatePath = decode_exact(&bytes).map_err(|e| e.to_string())?;
        for member in self.members.iter().filter(|m| m.private.own_leaf() != sender) {
            let leaf = member.private.own_leaf().0;
            let (mut their_tree, mut private, mut their_context) =
                (self.tree.clone(), member.private.clone(), self.context.clone());
            let out = treekem::process_update_path(
                self.cs,
                &mut their_tree,
                &mut private,
                sender,
                &path,
                &mut their_context,
                &[],
            )
            .map_err(|e| format!("leaf {leaf}: {e}"))?;
            check_eq(
                &format!("leaf {leaf}: commit secret"),
                out.commit_secret.as_bytes(),
                created.commit_secret.as_bytes(),
            )?;
            let their_hash = their_tree.tree_hash(self.cs).map_err(|e| e.to_string())?;
            check_eq(&format!("leaf {leaf}: tree hash"), &their_hash, &context.tree_hash)?;
        }
        Ok(())
    }
}

/// A `leaves_private` entry, checked against the tree: the leaf's keys and
/// the public key of every node it has a path secret for.
fn parse_member(cs: &dyn CipherSuiteProvider, tree: &RatchetTree, entry: &Value) -> Result<Member, String> {
    let leaf = LeafIndex(u64_field(entry, "index")? as u32);
    let leaf_node = tree.leaf(leaf).ok_or_else(|| format!("leaf {} is blank", leaf.0))?;
    let encryption_key = hex_field(entry, "encryption_priv")?;
    let public = cs.kem_public_key(&encryption_key).map_err(|e| e.to_string())?;
    check_eq(
        &format!("leaf {}: encryption key", leaf.0),
        &public,
        &leaf_node.encryption_key,
    )?;
    let signature_key = hex_field(entry, "signature_priv")?;
    let public = cs.signature_public_key(&signature_key).map_err(|e| e.to_string())?;
    check_eq(
        &format!("leaf {}: signature key", leaf.0),
        &public,
        &leaf_node.signature_key,
    )?;
    let mut private = TreeKemPrivate::new(leaf, Secret::new(encryption_key));
    let path_secrets = entry
        .get("path_secrets")
        .and_then(Value::as_array)
        .ok_or("missing path_secrets")?;
    for item in path_secrets {
        let node = NodeIndex(u64_field(item, "node")? as u32);
        let public = private
            .set_path_secret(cs, node, &hex_field(item, "path_secret")?)
            .map_err(|e| e.to_string())?;
        let in_tree = tree.node(node).ok_or_else(|| format!("node {} is blank", node.0))?;
        check_eq(
            &format!("leaf {}: key of node {}", leaf.0, node.0),
            &public,
            in_tree.encryption_key(),
        )?;
    }
    Ok(Member { private, signature_key })
}

/// Verifies the LeafNodeTBS signature of a commit leaf node (§7.2).
fn verify_leaf_signature(
    cs: &dyn CipherSuiteProvider,
    leaf_node: &LeafNode,
    group_id: &VLBytes,
    leaf: LeafIndex,
) -> Result<(), String> {
    let tbs = encode(&LeafNodeTbs {
        leaf_node,
        group: Some((group_id, leaf.0)),
    })
    .map_err(|e| e.to_string())?;
    cs.verify_with_label(&leaf_node.signature_key, b"LeafNodeTBS", &tbs, &leaf_node.signature)
        .map_err(|e| format!("leaf node signature: {e}"))
}
