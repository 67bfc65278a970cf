//! Deterministic members and nodes for the unit tests of this module.

use alloc::format;
use alloc::vec::Vec;

use super::RatchetTree;
use crate::codec::{VLBytes, encode};
use crate::crypto::Labelled;
use crate::crypto::{CipherSuite, CipherSuiteProvider, CryptoProvider, RustCryptoProvider};
use crate::messages::{
    Capabilities, Credential, CredentialType, LeafNode, LeafNodeSource, LeafNodeTbs, Lifetime, ParentNode,
    ProtocolVersion, UpdatePath, UpdatePathNode,
};
use crate::tree_math::{LeafIndex, NodeIndex};

static PROVIDER: RustCryptoProvider = RustCryptoProvider;

/// Suite 1 (X25519, AES-128-GCM, SHA-256, Ed25519).
pub(crate) fn suite() -> &'static dyn CipherSuiteProvider {
    PROVIDER.cipher_suite(CipherSuite(1)).unwrap()
}

/// The group id the test leaves sign.
pub(crate) fn group_id() -> VLBytes {
    VLBytes::from(b"test group")
}

/// A 32-byte value derived from a label and a seed.
fn derive(label: &[u8], seed: u32) -> Vec<u8> {
    suite().hash(&[label, &seed.to_be_bytes()].concat())
}

/// The Ed25519 signing key of member `seed`.
pub(crate) fn signing_key(seed: u32) -> Vec<u8> {
    derive(b"signature", seed)
}

/// An unsigned leaf node for member `seed`.
fn unsigned_leaf(seed: u32, source: LeafNodeSource) -> LeafNode {
    let cs = suite();
    LeafNode {
        encryption_key: derive(b"encryption", seed).into(),
        signature_key: cs.signature_public_key(&signing_key(seed)).unwrap().into(),
        credential: Credential::Basic(format!("member {seed}").into_bytes().into()),
        capabilities: Capabilities {
            versions: vec![ProtocolVersion::MLS10],
            cipher_suites: vec![CipherSuite(1)],
            extensions: Vec::new(),
            proposals: Vec::new(),
            credentials: vec![CredentialType::BASIC],
        },
        leaf_node_source: source,
        extensions: Vec::new(),
        signature: VLBytes::default(),
    }
}

/// Re-signs `leaf` with member `seed`'s key, bound to the test group at
/// `leaf_index` for update/commit sources.
pub(crate) fn sign(leaf: &mut LeafNode, seed: u32, leaf_index: u32) {
    let gid = group_id();
    let tbs = encode(&LeafNodeTbs {
        leaf_node: leaf,
        group: Some((&gid, leaf_index)),
    })
    .unwrap();
    leaf.signature = suite()
        .sign_with_label(&signing_key(seed), b"LeafNodeTBS", &tbs)
        .unwrap()
        .into();
}

/// A signed key-package leaf node for member `seed`, valid at any time.
pub(crate) fn kp_leaf(seed: u32) -> LeafNode {
    let lifetime = Lifetime {
        not_before: 0,
        not_after: u64::MAX,
    };
    let mut leaf = unsigned_leaf(seed, LeafNodeSource::KeyPackage(lifetime));
    sign(&mut leaf, seed, 0);
    leaf
}

/// A signed update leaf node for member `seed` at `leaf_index`, with a
/// fresh encryption key per `epoch`.
pub(crate) fn update_leaf(seed: u32, leaf_index: u32, epoch: u32) -> LeafNode {
    let mut leaf = unsigned_leaf(seed, LeafNodeSource::Update);
    leaf.encryption_key = derive(b"update", seed ^ (epoch << 16)).into();
    sign(&mut leaf, seed, leaf_index);
    leaf
}

/// A parent node with a key derived from `seed`.
pub(crate) fn parent(seed: u32, unmerged_leaves: Vec<u32>) -> ParentNode {
    ParentNode {
        encryption_key: derive(b"parent", seed).into(),
        parent_hash: VLBytes::default(),
        unmerged_leaves,
    }
}

/// A path key derived from `seed`.
pub(crate) fn path_key(seed: u32) -> Vec<u8> {
    derive(b"path", seed)
}

/// Member `leaf` (seed `seed`) commits with keys derived from `round`.
pub(crate) fn commit(tree: &mut RatchetTree, leaf: u32, seed: u32, round: u32) {
    let path = update_path(tree, leaf, seed, round);
    tree.apply_update_path(suite(), LeafIndex(leaf), &path).unwrap();
}

/// The UpdatePath member `leaf` would send, with its parent hash signed.
pub(crate) fn update_path(tree: &mut RatchetTree, leaf: u32, seed: u32, round: u32) -> UpdatePath {
    let fdp = tree.filtered_direct_path(LeafIndex(leaf)).unwrap();
    let keys: Vec<Vec<u8>> = (0..fdp.len() as u32).map(|i| path_key(round * 100 + i)).collect();
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let hashes = tree.path_parent_hashes(suite(), LeafIndex(leaf), &refs).unwrap();
    let mut leaf_node = update_leaf(seed, leaf, round + 1000);
    leaf_node.leaf_node_source = LeafNodeSource::Commit(hashes.leaf.into());
    sign(&mut leaf_node, seed, leaf);
    let nodes = keys.into_iter().map(|k| UpdatePathNode {
        encryption_key: k.into(),
        encrypted_path_secret: vec![],
    });
    UpdatePath {
        leaf_node,
        nodes: nodes.collect(),
    }
}

/// Seven members of eight, member 0 commits, an eighth is added
/// (unmerged at the root), member 5 commits.
pub(crate) fn committed_tree() -> RatchetTree {
    let mut tree = RatchetTree::new();
    for i in 0..7 {
        tree.add_leaf(kp_leaf(i)).unwrap();
    }
    commit(&mut tree, 0, 0, 1);
    tree.verify_parent_hashes(suite()).unwrap();
    assert_eq!(tree.add_leaf(kp_leaf(7)).unwrap(), LeafIndex(7));
    assert_eq!(tree.unmerged_leaves(NodeIndex(7)), &[7]);
    // The root's link needs its original sibling hash, without leaf 7.
    tree.verify_parent_hashes(suite()).unwrap();
    commit(&mut tree, 5, 5, 2);
    tree
}
