//! The errors of ratchet-tree handling.

use super::leaf::LeafNodeError;

crate::error::error_enum! {
    /// Why a ratchet tree (or an operation on it) was rejected.
    ///
    /// Every received tree goes through typed checks; no input makes this module
    /// panic. Node and leaf numbers in the variants are array node indices
    /// (Appendix C) and leaf indices respectively.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum TreeError {
        /// The tree has no nodes (no members), where one was needed.
        EmptyTree => "tree_empty", "the ratchet tree is empty";
        /// A received `ratchet_tree` ended with a blank node, which §12.4.3.3
        /// forbids senders to include.
        TrailingBlankNode => "tree_trailing_blank_node", "the ratchet tree ends with a blank node";
        /// The tree would exceed the largest size this library represents
        /// ([`MAX_LEAVES`](crate::tree_math::MAX_LEAVES) leaves).
        TooLarge => "tree_too_large", "the ratchet tree is too large";
        /// A leaf node at an odd (parent) position or a parent node at an even
        /// (leaf) position.
        WrongNodeType {
            /// The offending node.
            node: u32,
        } => "tree_wrong_node_type", "node {node} has the wrong node type for its position";
        /// A node index outside the tree.
        NodeOutOfRange {
            /// The offending node.
            node: u32,
        } => "tree_node_out_of_range", "node {node} is outside the tree";
        /// A leaf index outside the tree.
        LeafOutOfRange {
            /// The offending leaf.
            leaf: u32,
        } => "tree_leaf_out_of_range", "leaf {leaf} is outside the tree";
        /// The operation needs a member at this leaf, but the leaf is blank.
        BlankLeaf {
            /// The blank leaf.
            leaf: u32,
        } => "tree_blank_leaf", "leaf {leaf} is blank";
        /// A parent node's `unmerged_leaves` are not strictly increasing (§7.1).
        UnmergedLeavesUnsorted {
            /// The parent node.
            node: u32,
        } => "tree_unmerged_leaves_unsorted", "unmerged leaves of node {node} are not sorted";
        /// An unmerged leaf is outside the tree, blank, or not below the parent
        /// node listing it (§12.4.3.1).
        InvalidUnmergedLeaf {
            /// The parent node.
            node: u32,
            /// The listed leaf.
            leaf: u32,
        } => "tree_invalid_unmerged_leaf", "node {node} lists invalid unmerged leaf {leaf}";
        /// A non-blank node between an unmerged leaf and a parent listing it does
        /// not list the leaf too (§12.4.3.1).
        UnmergedLeafNotPropagated {
            /// The intermediate node missing the entry.
            node: u32,
            /// The unmerged leaf.
            leaf: u32,
        } => "tree_unmerged_leaf_not_propagated", "node {node} does not list unmerged leaf {leaf}";
        /// A non-blank parent node is not parent-hash valid: not exactly one
        /// descendant is linked to it by its parent hash (§7.9.2).
        ParentHashInvalid {
            /// The parent node.
            node: u32,
        } => "tree_parent_hash_invalid", "node {node} is not parent-hash valid";
        /// The parent hash of an UpdatePath's leaf node is not the one the path
        /// implies (§7.9.2, §12.4.2).
        ParentHashMismatch => "tree_parent_hash_mismatch", "the leaf node's parent hash does not match the path";
        /// The tree hash is not the expected one (§12.4.3.1).
        TreeHashMismatch => "tree_hash_mismatch", "the tree hash does not match";
        /// An UpdatePath does not have one node per node of the sender's
        /// filtered direct path (§7.6).
        UpdatePathLength {
            /// The length of the filtered direct path.
            expected: usize,
            /// The number of UpdatePathNodes received.
            got: usize,
        } => "tree_update_path_length", "update path has {got} nodes, the filtered direct path {expected}";
        /// A parent node's encryption key is not a public key HPKE can encrypt
        /// to ([`CipherSuiteProvider::kem_public_key_check`]).
        ///
        /// [`CipherSuiteProvider::kem_public_key_check`]: crate::crypto::CipherSuiteProvider::kem_public_key_check
        InvalidEncryptionKey {
            /// The node holding the key.
            node: u32,
        } => "tree_invalid_encryption_key", "node {node} has an unusable encryption key";
        /// An encryption key appears in more than one node (§7.3, §12.4.3.1).
        DuplicateEncryptionKey {
            /// The second node holding the key.
            node: u32,
        } => "tree_duplicate_encryption_key", "node {node} repeats an encryption key";
        /// A signature key appears in more than one leaf (§7.3).
        DuplicateSignatureKey {
            /// The second leaf holding the key.
            leaf: u32,
        } => "tree_duplicate_signature_key", "leaf {leaf} repeats a signature key";
        /// A leaf node failed validation (§7.3).
        InvalidLeafNode {
            /// The leaf (for a leaf not yet in the tree: the one it was meant for).
            leaf: u32,
            /// What was wrong with it.
            error: LeafNodeError,
        } => error.code(), "leaf {leaf}: {error}";
    }
}
