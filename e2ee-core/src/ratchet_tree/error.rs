//! The errors of ratchet-tree handling.

use core::fmt;

use super::leaf::LeafNodeError;
use crate::codec::CodecError;
use crate::crypto::CryptoError;

/// Why a ratchet tree (or an operation on it) was rejected.
///
/// Every received tree goes through typed checks; no input makes this module
/// panic. Node and leaf numbers in the variants are array node indices
/// (Appendix C) and leaf indices respectively.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TreeError {
    /// The tree's bytes could not be decoded (or a hash input not encoded).
    Codec(CodecError),
    /// A cryptographic operation failed.
    Crypto(CryptoError),
    /// The tree has no nodes (no members), where one was needed.
    EmptyTree,
    /// A received `ratchet_tree` ended with a blank node, which §12.4.3.3
    /// forbids senders to include.
    TrailingBlankNode,
    /// The tree would exceed the largest size this library represents
    /// ([`MAX_LEAVES`](crate::tree_math::MAX_LEAVES) leaves).
    TooLarge,
    /// A leaf node at an odd (parent) position or a parent node at an even
    /// (leaf) position.
    WrongNodeType {
        /// The offending node.
        node: u32,
    },
    /// A node index outside the tree.
    NodeOutOfRange {
        /// The offending node.
        node: u32,
    },
    /// A leaf index outside the tree.
    LeafOutOfRange {
        /// The offending leaf.
        leaf: u32,
    },
    /// The operation needs a member at this leaf, but the leaf is blank.
    BlankLeaf {
        /// The blank leaf.
        leaf: u32,
    },
    /// A parent node's `unmerged_leaves` are not strictly increasing (§7.1).
    UnmergedLeavesUnsorted {
        /// The parent node.
        node: u32,
    },
    /// An unmerged leaf is outside the tree, blank, or not below the parent
    /// node listing it (§12.4.3.1).
    InvalidUnmergedLeaf {
        /// The parent node.
        node: u32,
        /// The listed leaf.
        leaf: u32,
    },
    /// A non-blank node between an unmerged leaf and a parent listing it does
    /// not list the leaf too (§12.4.3.1).
    UnmergedLeafNotPropagated {
        /// The intermediate node missing the entry.
        node: u32,
        /// The unmerged leaf.
        leaf: u32,
    },
    /// A non-blank parent node is not parent-hash valid: not exactly one
    /// descendant is linked to it by its parent hash (§7.9.2).
    ParentHashInvalid {
        /// The parent node.
        node: u32,
    },
    /// The parent hash of an UpdatePath's leaf node is not the one the path
    /// implies (§7.9.2, §12.4.2).
    ParentHashMismatch,
    /// The tree hash is not the expected one (§12.4.3.1).
    TreeHashMismatch,
    /// An UpdatePath does not have one node per node of the sender's
    /// filtered direct path (§7.6).
    UpdatePathLength {
        /// The length of the filtered direct path.
        expected: usize,
        /// The number of UpdatePathNodes received.
        got: usize,
    },
    /// A parent node's encryption key is not a public key HPKE can encrypt
    /// to ([`CipherSuiteProvider::kem_public_key_check`]).
    ///
    /// [`CipherSuiteProvider::kem_public_key_check`]: crate::crypto::CipherSuiteProvider::kem_public_key_check
    InvalidEncryptionKey {
        /// The node holding the key.
        node: u32,
    },
    /// An encryption key appears in more than one node (§7.3, §12.4.3.1).
    DuplicateEncryptionKey {
        /// The second node holding the key.
        node: u32,
    },
    /// A signature key appears in more than one leaf (§7.3).
    DuplicateSignatureKey {
        /// The second leaf holding the key.
        leaf: u32,
    },
    /// A leaf node failed validation (§7.3).
    InvalidLeafNode {
        /// The leaf (for a leaf not yet in the tree: the one it was meant for).
        leaf: u32,
        /// What was wrong with it.
        error: LeafNodeError,
    },
}

impl TreeError {
    /// A stable machine-readable code for bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Codec(e) => e.code(),
            Self::Crypto(e) => e.code(),
            Self::EmptyTree => "tree_empty",
            Self::TrailingBlankNode => "tree_trailing_blank_node",
            Self::TooLarge => "tree_too_large",
            Self::WrongNodeType { .. } => "tree_wrong_node_type",
            Self::NodeOutOfRange { .. } => "tree_node_out_of_range",
            Self::LeafOutOfRange { .. } => "tree_leaf_out_of_range",
            Self::BlankLeaf { .. } => "tree_blank_leaf",
            Self::UnmergedLeavesUnsorted { .. } => "tree_unmerged_leaves_unsorted",
            Self::InvalidUnmergedLeaf { .. } => "tree_invalid_unmerged_leaf",
            Self::UnmergedLeafNotPropagated { .. } => "tree_unmerged_leaf_not_propagated",
            Self::ParentHashInvalid { .. } => "tree_parent_hash_invalid",
            Self::ParentHashMismatch => "tree_parent_hash_mismatch",
            Self::TreeHashMismatch => "tree_hash_mismatch",
            Self::UpdatePathLength { .. } => "tree_update_path_length",
            Self::InvalidEncryptionKey { .. } => "tree_invalid_encryption_key",
            Self::DuplicateEncryptionKey { .. } => "tree_duplicate_encryption_key",
            Self::DuplicateSignatureKey { .. } => "tree_duplicate_signature_key",
            Self::InvalidLeafNode { error, .. } => error.code(),
        }
    }
}

impl fmt::Display for TreeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Codec(e) => write!(f, "ratchet tree decoding failed: {e}"),
            Self::Crypto(e) => write!(f, "cryptographic failure: {e}"),
            Self::EmptyTree => f.write_str("the ratchet tree is empty"),
            Self::TrailingBlankNode => f.write_str("the ratchet tree ends with a blank node"),
            Self::TooLarge => f.write_str("the ratchet tree is too large"),
            Self::WrongNodeType { node } => write!(f, "node {node} has the wrong node type for its position"),
            Self::NodeOutOfRange { node } => write!(f, "node {node} is outside the tree"),
            Self::LeafOutOfRange { leaf } => write!(f, "leaf {leaf} is outside the tree"),
            Self::BlankLeaf { leaf } => write!(f, "leaf {leaf} is blank"),
            Self::UnmergedLeavesUnsorted { node } => write!(f, "unmerged leaves of node {node} are not sorted"),
            Self::InvalidUnmergedLeaf { node, leaf } => write!(f, "node {node} lists invalid unmerged leaf {leaf}"),
            Self::UnmergedLeafNotPropagated { node, leaf } => {
                write!(f, "node {node} does not list unmerged leaf {leaf}")
            }
            Self::ParentHashInvalid { node } => write!(f, "node {node} is not parent-hash valid"),
            Self::ParentHashMismatch => f.write_str("the leaf node's parent hash does not match the path"),
            Self::TreeHashMismatch => f.write_str("the tree hash does not match"),
            Self::UpdatePathLength { expected, got } => {
                write!(f, "update path has {got} nodes, the filtered direct path {expected}")
            }
            Self::InvalidEncryptionKey { node } => write!(f, "node {node} has an unusable encryption key"),
            Self::DuplicateEncryptionKey { node } => write!(f, "node {node} repeats an encryption key"),
            Self::DuplicateSignatureKey { leaf } => write!(f, "leaf {leaf} repeats a signature key"),
            Self::InvalidLeafNode { leaf, error } => write!(f, "leaf {leaf}: {error}"),
        }
    }
}

impl core::error::Error for TreeError {}

impl From<CodecError> for TreeError {
    fn from(e: CodecError) -> Self {
        Self::Codec(e)
    }
}

impl From<CryptoError> for TreeError {
    fn from(e: CryptoError) -> Self {
        Self::Crypto(e)
    }
}
