//! The ratchet tree (RFC 9420 §4, §7): the public state of a group's members
//! and of the keys of the subgroups above them.
//!
//! [`RatchetTree`] keeps the nodes in array order (Appendix C) with a cached
//! tree hash per node, so every operation touches only the direct path it
//! changes: adding, updating or removing a member and then recomputing the
//! root hash costs O(log n) hashes, also in groups of many thousands.
//!
//! | file | RFC 9420 |
//! |---|---|
//! | this one | §4.1 resolution and filtered direct path, §7.7 adding and removing leaves, §12.1.1–§12.1.3 applying Add/Update/Remove, §12.4.3.3 the `ratchet_tree` encoding |
//! | [`hashes`] | §7.8 tree hashes, §7.9 parent hashes, merging an UpdatePath (§7.5) |
//! | [`leaf`] | §7.3 leaf node validation, §5.3.1 credential validation hook |
//! | [`validation`] | §12.4.3.1 validating a received tree |
//!
//! A received tree is first decoded with [`RatchetTree::decode`] (or
//! [`RatchetTree::from_nodes`]), which checks its shape, then validated with
//! [`RatchetTree::validate`], which checks everything a joiner must.

mod chunks;
mod error;
pub mod hashes;
mod index;
pub mod leaf;
pub mod validation;

#[cfg(test)]
pub(crate) mod test_utils;

use crate::error::Error;
use alloc::collections::BTreeSet;
use alloc::sync::Arc;
use alloc::vec::Vec;

use chunks::ChunkedVec;

pub use error::TreeError;
pub use hashes::PathParentHashes;
pub use leaf::{
    BasicCredentialValidator, CredentialError, CredentialValidator, LeafNodeError, LeafNodeOrigin,
    LeafValidationContext,
};
pub use validation::TreeValidationParams;

use crate::codec::{self, CodecError, Encode, Size};
use crate::messages::{LeafNode, Node, ParentNode};
use crate::tree_math::{self, LeafIndex, NodeIndex};

/// A ratchet tree: a perfect binary tree of optional nodes in array order,
/// leaves at even indices, parents at odd ones.
///
/// Invariants kept by every method: the node count is `2n - 1` for a
/// power-of-two leaf count `n` (or 0 for the empty tree); even positions hold
/// only [`Node::Leaf`], odd ones only [`Node::Parent`]; a cached tree hash is
/// present only if the hashes of all nodes below are present and current.
#[derive(Clone, Debug, Default)]
pub struct RatchetTree {
    /// The nodes, `None` for blank ones. Shared copy-on-write (see
    /// [`chunks`]): cloning the tree is cheap, and a changed node is copied
    /// alone.
    nodes: ChunkedVec<Option<Arc<Node>>>,
    /// Per-node tree-hash cache (see [`hashes`]).
    cache: hashes::HashCache,
    /// The nodes using each key (see [`index`]).
    keys: index::KeyIndex,
    /// The members' credential types (see [`index`]).
    credentials: index::CredentialCounts,
}

impl PartialEq for RatchetTree {
    /// Trees are equal when their nodes are; the hash cache is derived data.
    fn eq(&self, other: &Self) -> bool {
        self.nodes == other.nodes
    }
}

impl Eq for RatchetTree {}

impl RatchetTree {
    /// The empty tree (no leaves).
    pub fn new() -> Self {
        Self::default()
    }

    /// A one-leaf tree holding `leaf`: a group's creator alone (§11).
    pub fn with_creator(leaf: LeafNode) -> Self {
        Self::with_nodes(vec![Some(Arc::new(Node::Leaf(leaf)))])
    }

    /// A tree of `nodes` (whose count must be `2n - 1` for a power of two
    /// `n`, or 0), with its indexes and an empty hash cache.
    fn with_nodes(nodes: Vec<Option<Arc<Node>>>) -> Self {
        let mut tree = Self::new();
        let mut keys = Vec::new();
        for (x, node) in nodes.iter().enumerate() {
            let Some(node) = node else { continue };
            keys.extend(index::node_fingerprints(node).map(|f| (f, x as u32)));
            if let Node::Leaf(leaf) = &**node {
                tree.credentials.count(leaf, true);
            }
        }
        tree.keys = index::KeyIndex::new(keys);
        tree.cache.resize(nodes.len());
        tree.nodes = ChunkedVec::from(nodes);
        tree
    }

    /// Builds a tree from the array of a received `ratchet_tree` (§12.4.3.3):
    /// checks that the last node is non-blank and that every node has the
    /// type of its position, then pads with blanks to the next `2^(d+1) - 1`.
    /// This checks the shape only; see [`RatchetTree::validate`].
    pub fn from_nodes(nodes: Vec<Option<Node>>) -> Result<Self, TreeError> {
        Self::from_shared_nodes(nodes.into_iter().map(|n| n.map(Arc::new)).collect())
    }

    /// [`Self::from_nodes`] of nodes decoded into their shared form.
    fn from_shared_nodes(mut nodes: Vec<Option<Arc<Node>>>) -> Result<Self, TreeError> {
        match nodes.last() {
            None => return Err(TreeError::EmptyTree),
            Some(None) => return Err(TreeError::TrailingBlankNode),
            Some(Some(_)) => {}
        }
        check_node_types(&nodes)?;
        let len = u32::try_from(nodes.len()).map_err(|_| TreeError::TooLarge)?;
        // The smallest power-of-two leaf count n with 2n - 1 >= len, i.e.
        // n >= (len + 1) / 2, i.e. n >= floor(len / 2) + 1.
        let n_leaves = (len / 2 + 1).checked_next_power_of_two().ok_or(TreeError::TooLarge)?;
        let width = tree_math::node_width(n_leaves).filter(|_| tree_math::is_valid_leaf_count(n_leaves));
        let width = width.ok_or(TreeError::TooLarge)? as usize;
        nodes.resize(width, None);
        Ok(Self::with_nodes(nodes))
    }

    /// Decodes a `ratchet_tree` (`optional<Node> ratchet_tree<V>`, §12.4.3.3),
    /// e.g. the body of the `ratchet_tree` extension, with [`Self::from_nodes`].
    /// Each node is decoded straight into its shared form: a blank node,
    /// one byte on the wire, takes a pointer's worth of memory, not a
    /// whole node's, so the memory stays a small multiple of the input.
    pub fn decode(bytes: &[u8]) -> Result<Self, Error> {
        Ok(Self::from_shared_nodes(codec::decode_exact::<Vec<Option<Arc<Node>>>>(
            bytes,
        )?)?)
    }

    /// The nodes as sent on the wire: array order, without trailing blanks
    /// (§12.4.3.3).
    pub fn to_nodes(&self) -> Vec<Option<Node>> {
        self.wire_nodes().map(|n| n.cloned()).collect()
    }

    /// The most bytes per node that [`Self::encode`] counts when it guesses
    /// the encoding's size; a basic credential's leaf is about 180. Larger
    /// nodes grow the buffer.
    const MAX_GUESSED_NODE: usize = 512;

    /// How many nodes [`Self::encode`] measures to guess the encoding's size.
    const SIZE_SAMPLES: usize = 64;

    /// The `ratchet_tree` encoding of the tree (§12.4.3.3): the same bytes
    /// as encoding [`Self::to_nodes`], without copying the nodes.
    pub fn encode(&self) -> Result<Vec<u8>, CodecError> {
        // The nodes are written after room for the longest varint length,
        // filled in at the end: measuring every node first costs a pass
        // over the tree.
        let mut out = Vec::new();
        // A guess too large to reserve is no reason to fail: the buffer grows.
        let _ = out.try_reserve(self.guessed_encoding_len().saturating_add(4));
        let mut out = codec::Writer::from_vec(out);
        // The minimal varint is 4 bytes long for anything over 16 KiB;
        // only a small tree moves.
        let start = out.begin_vector();
        self.wire_nodes().for_each(|node| node.encode_to(&mut out));
        out.end_vector(start);
        out.finish()
    }

    /// A guess of the encoded nodes' length that a large tree rarely
    /// exceeds (exceeding it copies the buffer): evenly spaced nodes,
    /// leaves and parents alike, measured, and 1/16 to spare. Each counts
    /// up to a bound, so a few members' large leaves cannot make every
    /// encoding reserve their size per node.
    fn guessed_encoding_len(&self) -> usize {
        let nodes = self.wire_len();
        // An odd step, so the samples alternate between leaves (even
        // indices) and parents.
        let step = (nodes / Self::SIZE_SAMPLES) | 1;
        let (count, bytes) = self.wire_nodes().step_by(step).fold((0, 0), |(count, bytes), node| {
            let size = node.map_or(0, |n| n.encoded_len().min(Self::MAX_GUESSED_NODE));
            (count + 1, bytes + 1 + size)
        });
        let guess = nodes.saturating_mul(bytes / count.max(1));
        guess.saturating_add(guess / 16)
    }

    /// The nodes up to the last non-blank one.
    fn wire_nodes(&self) -> impl Iterator<Item = Option<&Node>> {
        self.nodes.iter().take(self.wire_len()).map(Option::as_deref)
    }

    /// How many nodes [`Self::wire_nodes`] gives.
    fn wire_len(&self) -> usize {
        self.nodes.rposition(|_, n| n.is_some()).map_or(0, |i| i + 1)
    }

    /// The number of leaves (a power of two, or 0 for the empty tree).
    pub fn n_leaves(&self) -> u32 {
        // The node count is 2n - 1 < 2^32, so this fits.
        self.nodes.len().div_ceil(2) as u32
    }

    /// The leaves that may differ between this tree and `other` (one
    /// derived from the other): a superset of the changed leaves, found
    /// without visiting the nodes both still share.
    pub(crate) fn maybe_changed_leaves<'a>(&'a self, other: &'a RatchetTree) -> impl Iterator<Item = LeafIndex> + 'a {
        // Leaves sit at even node indices.
        (self.nodes.unshared(&other.nodes))
            .filter(|x| x % 2 == 0)
            .filter_map(|x| u32::try_from(x / 2).ok().map(LeafIndex))
    }

    /// The number of nodes, blank or not.
    pub fn node_width(&self) -> u32 {
        self.nodes.len() as u32
    }

    /// The root node's index; `None` for the empty tree.
    pub fn root(&self) -> Option<NodeIndex> {
        tree_math::root(self.n_leaves())
    }

    /// The node at `x`; `None` if it is blank or outside the tree.
    pub fn node(&self, x: NodeIndex) -> Option<&Node> {
        self.nodes.get(x.0 as usize)?.as_deref()
    }

    /// The leaf node of `leaf`; `None` if it is blank or outside the tree.
    pub fn leaf(&self, leaf: LeafIndex) -> Option<&LeafNode> {
        match self.node(leaf.to_node()?)? {
            Node::Leaf(l) => Some(l),
            Node::Parent(_) => None,
        }
    }

    /// The parent node at `x`; `None` if it is blank, a leaf position or
    /// outside the tree.
    pub fn parent_node(&self, x: NodeIndex) -> Option<&ParentNode> {
        match self.node(x)? {
            Node::Parent(p) => Some(p),
            Node::Leaf(_) => None,
        }
    }

    /// Whether `x` is a node of this tree.
    pub fn contains(&self, x: NodeIndex) -> bool {
        (x.0 as usize) < self.nodes.len()
    }

    /// Whether the node at `x` is blank (also true outside the tree).
    pub fn is_blank(&self, x: NodeIndex) -> bool {
        self.node(x).is_none()
    }

    /// The non-blank leaves, left to right.
    pub fn leaves(&self) -> impl Iterator<Item = (LeafIndex, &LeafNode)> {
        self.nodes
            .iter()
            .step_by(2)
            .enumerate()
            .filter_map(|(i, n)| match n.as_deref() {
                Some(Node::Leaf(l)) => Some((LeafIndex(i as u32), l)),
                _ => None,
            })
    }

    /// The non-blank parent nodes with their indices, left to right.
    pub fn parents(&self) -> impl Iterator<Item = (NodeIndex, &ParentNode)> {
        self.nodes
            .iter()
            .enumerate()
            .skip(1)
            .step_by(2)
            .filter_map(|(i, n)| match n.as_deref() {
                Some(Node::Parent(p)) => Some((NodeIndex(i as u32), p)),
                _ => None,
            })
    }

    /// The leaf holding a leaf node equal to `leaf_node` (how a joiner finds
    /// its own leaf, §12.4.3.1).
    pub fn find_leaf(&self, leaf_node: &LeafNode) -> Option<LeafIndex> {
        self.leaves().find(|(_, l)| *l == leaf_node).map(|(i, _)| i)
    }

    /// The node holding `leaf`, checked to be inside the tree.
    pub fn leaf_node_index(&self, leaf: LeafIndex) -> Result<NodeIndex, TreeError> {
        leaf.to_node()
            .filter(|x| self.contains(*x))
            .ok_or(TreeError::LeafOutOfRange { leaf: leaf.0 })
    }

    /// `x`, checked to be inside the tree.
    fn checked(&self, x: NodeIndex) -> Result<NodeIndex, TreeError> {
        if self.contains(x) {
            Ok(x)
        } else {
            Err(TreeError::NodeOutOfRange { node: x.0 })
        }
    }

    /// The direct path of `x`, from its parent to the root (§4.1.2).
    pub fn direct_path(&self, x: NodeIndex) -> Result<Vec<NodeIndex>, TreeError> {
        tree_math::direct_path(x, self.n_leaves()).ok_or(TreeError::NodeOutOfRange { node: x.0 })
    }

    /// The copath of `x`: the siblings of `x` and of its ancestors below the
    /// root (§4.1.2).
    pub fn copath(&self, x: NodeIndex) -> Result<Vec<NodeIndex>, TreeError> {
        tree_math::copath(x, self.n_leaves()).ok_or(TreeError::NodeOutOfRange { node: x.0 })
    }

    /// Sets a node, invalidates the cached hashes its change affects and
    /// updates the indexes.
    fn put(&mut self, x: NodeIndex, node: Option<Node>) {
        let Some(slot) = self.nodes.get_mut(x.0 as usize) else {
            return;
        };
        let old = core::mem::replace(slot, node.map(Arc::new));
        self.cache.invalidate(x, self.n_leaves());
        if let Some(Node::Leaf(leaf)) = old.as_deref() {
            self.credentials.count(leaf, false);
        }
        let Some(new) = self.nodes.get(x.0 as usize).and_then(Option::as_deref) else {
            return;
        };
        if let Node::Leaf(leaf) = new {
            self.credentials.count(leaf, true);
        }
        if self.keys.insert(x.0, index::node_fingerprints(new)) {
            let nodes = &self.nodes;
            let current = |f, x: u32| {
                let node = nodes.get(x as usize).and_then(Option::as_deref);
                node.is_some_and(|n| index::node_fingerprints(n).any(|g| g == f))
            };
            self.keys.merge(current);
        }
    }

    /// The nodes whose encryption key is `key`, in order.
    pub fn nodes_with_encryption_key(&self, key: &[u8]) -> Vec<NodeIndex> {
        self.nodes_using(index::KeyUse::Encryption, key)
    }

    /// The members whose signature key is `key`, in order.
    pub fn members_with_signature_key(&self, key: &[u8]) -> Vec<LeafIndex> {
        let nodes = self.nodes_using(index::KeyUse::Signature, key);
        nodes.into_iter().map(|x| LeafIndex(x.0 / 2)).collect()
    }

    /// The nodes using `key` as `what`, in order, found by the index.
    fn nodes_using(&self, what: index::KeyUse, key: &[u8]) -> Vec<NodeIndex> {
        let uses = |x: &NodeIndex| match (what, self.node(*x)) {
            (index::KeyUse::Encryption, Some(node)) => node.encryption_key().as_slice() == key,
            (index::KeyUse::Signature, Some(Node::Leaf(leaf))) => leaf.signature_key.as_slice() == key,
            _ => false,
        };
        let candidates = self.keys.candidates(index::fingerprint(what, key)).map(NodeIndex);
        // A set of node numbers, sorted and without repeats. (`extend`, not
        // `collect`: the B-tree's bulk building would add a sort to the
        // package.)
        let mut found = BTreeSet::new();
        found.extend(candidates.filter(uses).map(|x| x.0));
        found.into_iter().map(NodeIndex).collect()
    }

    /// Blanks the node at `x` (§4.1).
    pub fn blank(&mut self, x: NodeIndex) -> Result<(), TreeError> {
        self.checked(x)?;
        self.put(x, None);
        Ok(())
    }

    /// Sets the leaf node of `leaf`, replacing whatever was there.
    pub fn set_leaf(&mut self, leaf: LeafIndex, leaf_node: LeafNode) -> Result<(), TreeError> {
        let x = self.leaf_node_index(leaf)?;
        self.put(x, Some(Node::Leaf(leaf_node)));
        Ok(())
    }

    /// Sets the parent node at `x`, which must be a parent position.
    pub fn set_parent(&mut self, x: NodeIndex, parent: ParentNode) -> Result<(), TreeError> {
        if self.checked(x)?.is_leaf() {
            return Err(TreeError::WrongNodeType { node: x.0 });
        }
        self.put(x, Some(Node::Parent(parent)));
        Ok(())
    }

    /// Blanks every node of the direct path of `x` (§7.4, §12.1.2, §12.1.3).
    pub fn blank_direct_path(&mut self, x: NodeIndex) -> Result<(), TreeError> {
        for p in self.direct_path(x)? {
            self.put(p, None);
        }
        Ok(())
    }

    /// The `unmerged_leaves` of the parent at `x`; empty for blank nodes.
    pub fn unmerged_leaves(&self, x: NodeIndex) -> &[u32] {
        self.parent_node(x).map_or(&[], |p| &p.unmerged_leaves)
    }

    /// Doubles the tree: a new blank root whose left subtree is the current
    /// tree and whose right subtree is all blank (§7.7). The empty tree grows
    /// to one blank leaf.
    pub fn extend(&mut self) -> Result<(), TreeError> {
        let n = match self.n_leaves() {
            0 => 1,
            n => n
                .checked_mul(2)
                .filter(|n| tree_math::is_valid_leaf_count(*n))
                .ok_or(TreeError::TooLarge)?,
        };
        let width = tree_math::node_width(n).ok_or(TreeError::TooLarge)? as usize;
        // Leaf indices and subtrees of existing nodes do not change, so their
        // cached hashes stay valid; the new nodes start uncached.
        self.nodes.resize(width, None);
        self.cache.resize(width);
        Ok(())
    }

    /// Halves the tree while its right half holds no non-blank leaf, so the
    /// rightmost member ends up in the right half (§7.7, §12.1.3). A tree
    /// with no member at all becomes empty.
    pub fn truncate(&mut self) {
        let last_member = self.nodes.rposition(|i, n| i % 2 == 0 && n.is_some()).map(|x| x / 2);
        // The smallest power of two above the rightmost non-blank leaf index.
        let n_leaves = last_member.map_or(0, |l| (l + 1).next_power_of_two());
        let width = (2 * n_leaves).saturating_sub(1);
        if width < self.nodes.len() {
            // The dropped nodes are the right halves and the old roots; the
            // remaining subtree and its cached hashes are unchanged.
            self.nodes.truncate(width);
            self.cache.truncate(width);
        }
    }

    /// Applies an Add (§12.1.1): puts `leaf_node` at the leftmost blank leaf,
    /// extending the tree if there is none, and records the new leaf as
    /// unmerged at every non-blank parent above it. Returns the new leaf.
    pub fn add_leaf(&mut self, leaf_node: LeafNode) -> Result<LeafIndex, TreeError> {
        self.add_leaf_from(leaf_node, LeafIndex(0))
    }

    /// [`Self::add_leaf`], for a caller that knows every leaf below `from`
    /// to be occupied (the one after an Add of the same Commit): the search
    /// for the leftmost blank leaf starts there, so a Commit adding k
    /// members costs O(k) steps, not O(k × n).
    pub fn add_leaf_from(&mut self, leaf_node: LeafNode, from: LeafIndex) -> Result<LeafIndex, TreeError> {
        let start = from.0 as usize;
        let free = self
            .nodes
            .iter()
            .step_by(2)
            .skip(start)
            .position(Option::is_none)
            .map(|i| start + i);
        let leaf = match free {
            Some(i) => LeafIndex(i as u32),
            None => {
                let first_new = self.n_leaves();
                self.extend()?;
                LeafIndex(first_new)
            }
        };
        let x = self.leaf_node_index(leaf)?;
        for p in self.direct_path(x)? {
            self.add_unmerged(p, leaf.0);
        }
        self.put(x, Some(Node::Leaf(leaf_node)));
        Ok(leaf)
    }

    /// Inserts `leaf` into the (sorted) unmerged leaves of the parent at `p`
    /// if that node is non-blank.
    fn add_unmerged(&mut self, p: NodeIndex, leaf: u32) {
        let at = match self
            .parent_node(p)
            .map(|parent| parent.unmerged_leaves.binary_search(&leaf))
        {
            Some(Err(at)) => at,
            // Blank, or listed already.
            _ => return,
        };
        if let Some(Some(node)) = self.nodes.get_mut(p.0 as usize)
            && let Node::Parent(parent) = Arc::make_mut(node)
        {
            parent.unmerged_leaves.insert(at, leaf);
            self.cache.invalidate(p, self.n_leaves());
        }
    }

    /// Applies an Update (§12.1.2): replaces the leaf node of `leaf` (which
    /// must be a member) and blanks its direct path. The leaf node must have
    /// been validated (see [`RatchetTree::check_update_leaf`]).
    pub fn update_leaf(&mut self, leaf: LeafIndex, leaf_node: LeafNode) -> Result<(), TreeError> {
        let x = self.member_node(leaf)?;
        self.put(x, Some(Node::Leaf(leaf_node)));
        self.blank_direct_path(x)
    }

    /// Applies a Remove (§12.1.3): blanks the leaf of `leaf` (which must be a
    /// member) and its direct path, then truncates the tree. Returns the
    /// removed leaf node.
    pub fn remove_leaf(&mut self, leaf: LeafIndex) -> Result<LeafNode, TreeError> {
        let x = self.member_node(leaf)?;
        self.blank_direct_path(x)?;
        let removed = self.nodes.get_mut(x.0 as usize).and_then(Option::take);
        self.cache.invalidate(x, self.n_leaves());
        if let Some(Node::Leaf(leaf)) = removed.as_deref() {
            self.credentials.count(leaf, false);
        }
        self.truncate();
        match removed.map(Arc::unwrap_or_clone) {
            Some(Node::Leaf(l)) => Ok(l),
            // member_node checked the leaf was a leaf node.
            _ => Err(TreeError::BlankLeaf { leaf: leaf.0 }),
        }
    }

    /// The node of `leaf`, checked to hold a member.
    fn member_node(&self, leaf: LeafIndex) -> Result<NodeIndex, TreeError> {
        let x = self.leaf_node_index(leaf)?;
        match self.leaf(leaf) {
            Some(_) => Ok(x),
            None => Err(TreeError::BlankLeaf { leaf: leaf.0 }),
        }
    }

    /// The resolution of `x` (§4.1.1): the non-blank nodes covering its
    /// subtree, left first, each non-blank parent followed by its unmerged
    /// leaves.
    pub fn resolution(&self, x: NodeIndex) -> Result<Vec<NodeIndex>, TreeError> {
        self.resolution_excluding(x, &[])
    }

    /// The resolution of `x` without the leaves in `excluded`, e.g. the
    /// members added by the Commit an UpdatePath is encrypted for (§7.6).
    pub fn resolution_excluding(&self, x: NodeIndex, excluded: &[LeafIndex]) -> Result<Vec<NodeIndex>, TreeError> {
        self.checked(x)?;
        let mut out = Vec::new();
        let mut stack = vec![x];
        while let Some(y) = stack.pop() {
            match self.node(y) {
                Some(Node::Leaf(_)) if excluded.iter().any(|l| l.to_node() == Some(y)) => {}
                Some(Node::Leaf(_)) => out.push(y),
                Some(Node::Parent(p)) => {
                    out.push(y);
                    let unmerged = p.unmerged_leaves.iter().map(|&l| LeafIndex(l));
                    let kept = unmerged.filter(|l| !excluded.contains(l));
                    out.extend(kept.filter_map(LeafIndex::to_node));
                }
                // Right pushed first so the left subtree is resolved first.
                None => stack.extend(y.right().into_iter().chain(y.left())),
            }
        }
        Ok(out)
    }

    /// Whether the resolution of `x` is non-empty, i.e. some node below `x`
    /// (or `x` itself) is non-blank. Stops at the first non-blank node.
    fn has_nonblank_below(&self, x: NodeIndex) -> bool {
        let mut stack = vec![x];
        while let Some(y) = stack.pop() {
            if !self.is_blank(y) {
                return true;
            }
            stack.extend(y.right().into_iter().chain(y.left()));
        }
        false
    }

    /// The filtered direct path of `leaf` (§4.1.2): its direct path without
    /// the nodes whose copath child has an empty resolution.
    pub fn filtered_direct_path(&self, leaf: LeafIndex) -> Result<Vec<NodeIndex>, TreeError> {
        let x = self.leaf_node_index(leaf)?;
        let path = self.direct_path(x)?;
        let copath = self.copath(x)?;
        let kept = path
            .into_iter()
            .zip(copath)
            .filter(|(_, s)| self.has_nonblank_below(*s));
        Ok(kept.map(|(p, _)| p).collect())
    }

    /// The child of parent `p` that is not on the path from `p` down to `x`
    /// (`x` must be below `p`): the copath node under `p` when `x` updates
    /// its path. `None` if `p` is a leaf.
    pub fn copath_child(p: NodeIndex, x: NodeIndex) -> Option<NodeIndex> {
        // Array order puts the left subtree before its parent.
        if x < p { p.right() } else { p.left() }
    }
}

/// Checks that leaves sit at even positions and parents at odd ones.
fn check_node_types(nodes: &[Option<Arc<Node>>]) -> Result<(), TreeError> {
    for (i, node) in nodes.iter().enumerate() {
        let wrong = match node.as_deref() {
            Some(Node::Leaf(_)) => i % 2 == 1,
            Some(Node::Parent(_)) => i % 2 == 0,
            None => false,
        };
        if wrong {
            return Err(TreeError::WrongNodeType { node: i as u32 });
        }
    }
    Ok(())
}

/// The leaves below (or at) `x`, as a half-open range of leaf indices.
fn leaf_range(x: NodeIndex) -> core::ops::Range<u64> {
    // A node at level k covers the 2^k leaves starting at (x >> (k+1)) << k.
    let k = x.level();
    let start = (u64::from(x.0) >> (k + 1)) << k;
    start..start + (1u64 << k)
}

#[cfg(test)]
mod tests {
    use super::test_utils::{kp_leaf, parent, update_leaf};
    use super::*;

    /// A tree of `n_leaves` with key-package leaves at `leaves` and parents
    /// `(node, unmerged_leaves)`; built directly so any shape is possible.
    pub(super) fn tree_of(n_leaves: u32, leaves: &[u32], parents: &[(u32, &[u32])]) -> RatchetTree {
        let width = tree_math::node_width(n_leaves).unwrap() as usize;
        let mut nodes = vec![None; width];
        for &l in leaves {
            nodes[2 * l as usize] = Some(Arc::new(Node::Leaf(kp_leaf(l))));
        }
        for &(p, unmerged) in parents {
            nodes[p as usize] = Some(Arc::new(Node::Parent(parent(p, unmerged.to_vec()))));
        }
        RatchetTree::with_nodes(nodes)
    }

    fn nodes(xs: &[u32]) -> Vec<NodeIndex> {
        xs.iter().map(|&x| NodeIndex(x)).collect()
    }

    /// The tree's own encoder, which writes the nodes in place rather than
    /// through `to_nodes`, gives the same bytes: for varint prefixes of 1,
    /// 2 and 4 bytes, and parents with unmerged leaves.
    #[test]
    fn encode_matches_the_encoding_of_its_nodes() {
        let members: Vec<u32> = (0..150).collect();
        let trees = [
            RatchetTree::default(),
            tree_of(4, &[0, 2], &[]),
            tree_of(256, &members, &[(1, &[]), (255, &[7, 100])]),
        ];
        for (tree, varint_prefix) in trees.iter().zip([0, 1, 2]) {
            let derived = codec::encode(&tree.to_nodes()).unwrap();
            assert_eq!(derived[0] >> 6, varint_prefix);
            assert_eq!(tree.encode().unwrap(), derived);
        }
    }

    /// The guessed size covers a tree of like leaves (no copy on the way)
    /// without reserving much more, and a few large leaves do not make it
    /// reserve their size per member.
    #[test]
    fn encode_reserves_about_what_it_writes() {
        let members: Vec<u32> = (0..150).collect();
        let mut tree = tree_of(256, &members, &[]);
        let encoded = tree.encode().unwrap();
        let spare = encoded.capacity() - encoded.len();
        assert!(spare <= encoded.len() / 8, "{spare} spare for {}", encoded.len());

        let mut large = tree.leaf(LeafIndex(0)).unwrap().clone();
        large.credential = crate::messages::Credential::Basic(vec![7; 100_000].into());
        tree.set_leaf(LeafIndex(0), large).unwrap();
        let encoded = tree.encode().unwrap();
        assert_eq!(encoded, codec::encode(&tree.to_nodes()).unwrap());
        let capacity = encoded.capacity();
        assert!(capacity < 2 * encoded.len(), "{capacity} for {}", encoded.len());
    }

    #[test]
    fn resolution_follows_the_rfc_example() {
        // §4.1.1 figure: leaves A B _ D E F _ H, X[B] = node 3, Y = node 9.
        let tree = tree_of(8, &[0, 1, 3, 4, 5, 7], &[(3, &[1]), (9, &[])]);
        assert_eq!(tree.resolution(NodeIndex(3)).unwrap(), nodes(&[3, 2]));
        assert_eq!(tree.resolution(NodeIndex(4)).unwrap(), nodes(&[]));
        assert_eq!(tree.resolution(NodeIndex(12)).unwrap(), nodes(&[]));
        assert_eq!(tree.resolution(NodeIndex(7)).unwrap(), nodes(&[3, 2, 9, 14]));
        let without_b = tree.resolution_excluding(NodeIndex(7), &[LeafIndex(1)]).unwrap();
        assert_eq!(without_b, nodes(&[3, 9, 14]));
        let without_h = tree.resolution_excluding(NodeIndex(11), &[LeafIndex(7)]).unwrap();
        assert_eq!(without_h, nodes(&[9]));
        assert_eq!(
            tree.resolution(NodeIndex(15)),
            Err(TreeError::NodeOutOfRange { node: 15 })
        );
    }

    #[test]
    fn filtered_direct_path_follows_the_rfc_example() {
        // §4.1.2 figure: A B _ _ E F G _, T = 1, X = 9, Y = 11, W = 7.
        let tree = tree_of(8, &[0, 1, 4, 5, 6], &[(1, &[]), (9, &[]), (11, &[]), (7, &[])]);
        let fdp = |l| tree.filtered_direct_path(LeafIndex(l)).unwrap();
        assert_eq!(fdp(0), nodes(&[1, 7]));
        assert_eq!(fdp(1), nodes(&[1, 7]));
        assert_eq!(fdp(4), nodes(&[9, 11, 7]));
        assert_eq!(fdp(5), nodes(&[9, 11, 7]));
        assert_eq!(fdp(6), nodes(&[11, 7]));
        assert_eq!(
            tree.filtered_direct_path(LeafIndex(8)),
            Err(TreeError::LeafOutOfRange { leaf: 8 })
        );
    }

    #[test]
    fn add_fills_the_leftmost_blank_then_extends() {
        let mut tree = tree_of(4, &[0, 1, 3], &[(1, &[]), (3, &[3])]);
        assert_eq!(tree.add_leaf(kp_leaf(10)).unwrap(), LeafIndex(2));
        // Unmerged at the non-blank root, kept sorted; blank node 5 untouched.
        assert_eq!(tree.unmerged_leaves(NodeIndex(3)), &[2, 3]);
        assert!(tree.is_blank(NodeIndex(5)));
        assert_eq!(tree.unmerged_leaves(NodeIndex(1)), &[] as &[u32]);
        assert_eq!(tree.add_leaf(kp_leaf(11)).unwrap(), LeafIndex(4));
        assert_eq!(tree.n_leaves(), 8);
        assert!(tree.is_blank(NodeIndex(7)));
        assert_eq!(tree.leaf(LeafIndex(4)), Some(&kp_leaf(11)));
    }

    #[test]
    fn add_from_a_leaf_searches_from_there() {
        // Leaves 0, 1, 3 and 5 occupied: blanks at 2, 4, 6, 7.
        let mut tree = tree_of(8, &[0, 1, 3, 5], &[]);
        assert_eq!(tree.add_leaf_from(kp_leaf(10), LeafIndex(3)).unwrap(), LeafIndex(4));
        assert_eq!(tree.add_leaf_from(kp_leaf(11), LeafIndex(5)).unwrap(), LeafIndex(6));
        // Past the end: the tree grows.
        assert_eq!(tree.add_leaf_from(kp_leaf(12), LeafIndex(8)).unwrap(), LeafIndex(8));
        assert_eq!(tree.n_leaves(), 16);
        assert_eq!(tree.add_leaf(kp_leaf(13)).unwrap(), LeafIndex(2));
    }

    #[test]
    fn add_to_the_empty_tree() {
        let mut tree = RatchetTree::new();
        assert_eq!(tree.root(), None);
        assert_eq!(tree.add_leaf(kp_leaf(0)).unwrap(), LeafIndex(0));
        assert_eq!((tree.n_leaves(), tree.node_width()), (1, 1));
        assert_eq!(tree.add_leaf(kp_leaf(1)).unwrap(), LeafIndex(1));
        assert_eq!((tree.n_leaves(), tree.node_width()), (2, 3));
        assert_eq!(tree, {
            let mut t = RatchetTree::with_creator(kp_leaf(0));
            t.add_leaf(kp_leaf(1)).unwrap();
            t
        });
    }

    #[test]
    fn remove_blanks_the_path_and_truncates() {
        let mut tree = tree_of(8, &[0, 1, 4], &[(1, &[]), (3, &[]), (7, &[]), (9, &[])]);
        assert_eq!(tree.remove_leaf(LeafIndex(4)).unwrap(), kp_leaf(4));
        assert_eq!(tree.n_leaves(), 2);
        assert_eq!(tree.node_width(), 3);
        // The removed leaf's path (9, 11, 7) went with the right half; node 1
        // is on the path of no removed leaf.
        assert!(!tree.is_blank(NodeIndex(1)));
        assert_eq!(tree.remove_leaf(LeafIndex(1)).unwrap(), kp_leaf(1));
        assert_eq!(tree.n_leaves(), 1);
        assert_eq!(tree.remove_leaf(LeafIndex(0)).unwrap(), kp_leaf(0));
        assert_eq!(tree.n_leaves(), 0);
    }

    #[test]
    fn truncate_stops_at_the_rightmost_member() {
        let mut tree = tree_of(8, &[0, 5], &[(7, &[])]);
        tree.remove_leaf(LeafIndex(0)).unwrap();
        assert_eq!(tree.n_leaves(), 8);
        assert!(tree.is_blank(NodeIndex(7)));
        let mut tree = tree_of(16, &[0, 2], &[]);
        tree.truncate();
        assert_eq!(tree.n_leaves(), 4);
        assert_eq!(tree.remove_leaf(LeafIndex(3)), Err(TreeError::BlankLeaf { leaf: 3 }));
        assert_eq!(
            tree.remove_leaf(LeafIndex(4)),
            Err(TreeError::LeafOutOfRange { leaf: 4 })
        );
    }

    #[test]
    fn update_replaces_the_leaf_and_blanks_its_path() {
        let mut tree = tree_of(4, &[0, 1, 2, 3], &[(1, &[]), (3, &[]), (5, &[])]);
        tree.update_leaf(LeafIndex(2), update_leaf(2, 2, 1)).unwrap();
        assert!(tree.is_blank(NodeIndex(5)) && tree.is_blank(NodeIndex(3)));
        assert!(!tree.is_blank(NodeIndex(1)));
        assert_eq!(tree.leaf(LeafIndex(2)), Some(&update_leaf(2, 2, 1)));
        let mut empty = tree_of(4, &[0], &[]);
        assert_eq!(
            empty.update_leaf(LeafIndex(1), kp_leaf(1)),
            Err(TreeError::BlankLeaf { leaf: 1 })
        );
    }

    #[test]
    fn wire_form_round_trips_with_padding() {
        // Leaves 0 and 2 of 4: the wire form stops at leaf 2 (node 4).
        let tree = tree_of(4, &[0, 2], &[(1, &[])]);
        assert_eq!(tree.to_nodes().len(), 5);
        let bytes = tree.encode().unwrap();
        let back = RatchetTree::decode(&bytes).unwrap();
        assert_eq!(back, tree);
        assert_eq!(back.node_width(), 7);
        // Two nodes, a leaf and a parent, pad to a two-leaf tree.
        let two = vec![Some(Node::Leaf(kp_leaf(0))), Some(Node::Parent(parent(1, vec![])))];
        assert_eq!(RatchetTree::from_nodes(two).unwrap().n_leaves(), 2);
        for (len, n_leaves) in [(1, 1), (3, 2), (5, 4), (7, 4), (9, 8), (15, 8), (17, 16)] {
            let mut nodes = vec![None; len - 1];
            nodes.push(Some(Node::Leaf(kp_leaf(0))));
            assert_eq!(
                RatchetTree::from_nodes(nodes).unwrap().n_leaves(),
                n_leaves,
                "length {len}"
            );
        }
    }

    #[test]
    fn malformed_trees_are_rejected_with_typed_errors() {
        let leaf = || Some(Node::Leaf(kp_leaf(0)));
        let parent_node = || Some(Node::Parent(parent(1, vec![])));
        assert_eq!(RatchetTree::from_nodes(vec![]), Err(TreeError::EmptyTree));
        assert_eq!(
            RatchetTree::from_nodes(vec![leaf(), None]),
            Err(TreeError::TrailingBlankNode)
        );
        assert_eq!(
            RatchetTree::from_nodes(vec![leaf(), None, None]),
            Err(TreeError::TrailingBlankNode)
        );
        assert_eq!(
            RatchetTree::from_nodes(vec![parent_node()]),
            Err(TreeError::WrongNodeType { node: 0 })
        );
        assert_eq!(
            RatchetTree::from_nodes(vec![leaf(), leaf()]),
            Err(TreeError::WrongNodeType { node: 1 })
        );
        assert_eq!(RatchetTree::decode(&[]), Err(Error::Codec(CodecError::Truncated)));
        assert_eq!(RatchetTree::decode(&[0]), Err(Error::from(TreeError::EmptyTree)));
        assert_eq!(
            RatchetTree::decode(&[1, 0]),
            Err(Error::from(TreeError::TrailingBlankNode))
        );
        // An unknown node type, an invalid optional marker.
        assert!(matches!(RatchetTree::decode(&[2, 1, 3]), Err(Error::Codec(_))));
        assert!(matches!(RatchetTree::decode(&[1, 2]), Err(Error::Codec(_))));
        assert_eq!(TreeError::TrailingBlankNode.code(), "tree_trailing_blank_node");
    }

    #[test]
    fn truncated_and_corrupted_encodings_never_panic() {
        let tree = tree_of(4, &[0, 1, 3], &[(1, &[0]), (3, &[])]);
        let bytes = tree.encode().unwrap();
        for cut in 0..bytes.len() {
            assert!(RatchetTree::decode(&bytes[..cut]).is_err());
        }
        for i in 0..bytes.len() {
            let mut corrupted = bytes.clone();
            corrupted[i] ^= 0x41;
            if let Ok(mut t) = RatchetTree::decode(&corrupted) {
                // Whatever decodes must be usable without panicking.
                let _ = t.tree_hash(super::test_utils::suite());
                let _ = t.resolution(NodeIndex(1));
                let _ = t.verify_parent_hashes(super::test_utils::suite());
                let _ = t.check_unmerged_leaves();
            }
        }
    }
}
