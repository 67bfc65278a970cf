//! Ratchet-tree node wire types (RFC 9420 §7.1, §7.6, §12.4.3.3).

use alloc::vec::Vec;

use super::{HpkePublicKey, LeafNode};
use crate::codec::{Decode, Encode, Size, VLBytes};
use crate::crypto::HpkeCiphertext;

/// ParentNode (RFC 9420 §7.1).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct ParentNode {
    /// The node's HPKE public key.
    pub encryption_key: HpkePublicKey,
    /// The hash of this node's parent (§7.9).
    pub parent_hash: VLBytes,
    /// Leaf indices of unmerged leaves below this node, in increasing order.
    pub unmerged_leaves: Vec<u32>,
}

/// NodeType (RFC 9420 §7.8, §12.4.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Size, Encode, Decode)]
#[repr(u8)]
pub enum NodeType {
    /// `leaf`.
    Leaf = 1,
    /// `parent`.
    Parent = 2,
}

/// Node (RFC 9420 §12.4.3.3): `node_type` followed by the node it selects.
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
#[repr(u8)]
// Unboxed so the variants read like the RFC's `select`; leaf nodes are most
// of a tree anyway, and a commit's proposal list is short.
#[allow(clippy::large_enum_variant)]
pub enum Node {
    /// `leaf`: `LeafNode leaf_node`.
    #[codec(discriminant = 1)]
    Leaf(LeafNode),
    /// `parent`: `ParentNode parent_node`.
    #[codec(discriminant = 2)]
    Parent(ParentNode),
}

impl Node {
    /// The node's `node_type`.
    pub fn node_type(&self) -> NodeType {
        match self {
            Self::Leaf(_) => NodeType::Leaf,
            Self::Parent(_) => NodeType::Parent,
        }
    }

    /// The node's `encryption_key`, whichever kind it is.
    pub fn encryption_key(&self) -> &HpkePublicKey {
        match self {
            Self::Leaf(leaf) => &leaf.encryption_key,
            Self::Parent(parent) => &parent.encryption_key,
        }
    }
}

/// `optional<Node> ratchet_tree<V>` (RFC 9420 §12.4.3.3): the tree in array
/// order (Appendix C), `None` for blank nodes. Also the body of the
/// `ratchet_tree` extension.
pub type RatchetTree = Vec<Option<Node>>;

/// UpdatePathNode (RFC 9420 §7.6).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct UpdatePathNode {
    /// The new public key of this direct-path node.
    pub encryption_key: HpkePublicKey,
    /// The path secret encrypted to each node of the copath node's resolution.
    pub encrypted_path_secret: Vec<HpkeCiphertext>,
}

/// UpdatePath (RFC 9420 §7.6).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct UpdatePath {
    /// The committer's new leaf node.
    pub leaf_node: LeafNode,
    /// One entry per node of the committer's filtered direct path.
    pub nodes: Vec<UpdatePathNode>,
}
