//! Tree hashes (RFC 9420 §7.8) and parent hashes (§7.9), and merging an
//! UpdatePath into the tree (§7.5).
//!
//! Tree hashes are cached per parent node (a leaf's is recomputed when
//! needed). A change to a node invalidates its ancestors only, so the next
//! root hash recomputes O(log n) hashes. The cache obeys one invariant: a
//! parent's hash is cached only if its parent children's are, so a stale
//! node has stale ancestors and invalidation can stop at the first stale one.

use alloc::sync::Arc;
use alloc::vec::Vec;

use super::chunks::CHUNK;
use super::{RatchetTree, TreeError, leaf_range};
use crate::codec::{Encode, Writer};
use crate::crypto::{CipherSuite, CipherSuiteProvider};
use crate::error::Error;
use crate::messages::{LeafNode, LeafNodeSource, Node, NodeType, ParentNode, UpdatePath};
use crate::tree_math::{self, LeafIndex, NodeIndex};

/// Cached tree hashes of the parent nodes, valid for one cipher suite.
///
/// Leaf hashes are not cached: a leaf's hash costs one encoding and one
/// hash, and only the few leaves next to a changed path are ever rehashed,
/// while caching them would double the cache. The parent hashes are stored
/// back to back, [`CHUNK`] parents per shared copy-on-write chunk with a bit
/// per parent telling whether its hash is current: cloning the cache (with
/// the tree, per Commit) copies only chunk pointers, and a hash costs its
/// length in memory, no allocation of its own.
#[derive(Clone, Debug, Default)]
pub(crate) struct HashCache {
    /// The suite whose hash function filled the cache.
    suite: Option<CipherSuite>,
    /// The length of every cached hash (that suite's hash length).
    hash_len: usize,
    chunks: Vec<Arc<HashChunk>>,
    /// The number of parent slots (half the node width).
    parents: usize,
}

/// The hashes of [`CHUNK`] consecutive parent nodes.
#[derive(Clone, Debug, Default)]
struct HashChunk {
    /// Bit `i` is set if the hash of the chunk's parent `i` is current.
    current: u64,
    /// `hash_len` bytes per parent, allocated when the first hash is set.
    bytes: Vec<u8>,
}

const _: () = assert!(CHUNK == u64::BITS as usize);

impl HashCache {
    /// Grows or shrinks to a tree of `width` nodes; new slots are stale.
    pub(crate) fn resize(&mut self, width: usize) {
        let parents = width / 2;
        if parents < self.parents {
            self.truncate(width);
            return;
        }
        // The slots of a partly used last chunk are stale already.
        self.chunks.resize_with(parents.div_ceil(CHUNK), Default::default);
        self.parents = parents;
    }

    /// Keeps the slots of the first `width` nodes.
    pub(crate) fn truncate(&mut self, width: usize) {
        let parents = width / 2;
        if parents >= self.parents {
            return;
        }
        self.chunks.truncate(parents.div_ceil(CHUNK));
        if let Some(last) = self.chunks.last_mut()
            && !parents.is_multiple_of(CHUNK)
        {
            // Slots beyond the new width become stale, so growing again
            // starts them uncached.
            Arc::make_mut(last).current &= (1u64 << (parents % CHUNK)) - 1;
        }
        self.parents = parents;
    }

    /// Marks `x` (if a parent) and its ancestors stale.
    pub(crate) fn invalidate(&mut self, x: NodeIndex, n_leaves: u32) {
        let mut next = if x.is_leaf() {
            tree_math::parent(x, n_leaves)
        } else {
            Some(x)
        };
        while let Some(y) = next {
            let Some((c, bit)) = self.slot(y) else { return };
            match self.chunks.get_mut(c).filter(|chunk| chunk.current & bit != 0) {
                Some(chunk) => Arc::make_mut(chunk).current &= !bit,
                // Already stale, so (by the invariant) are its ancestors.
                None => return,
            }
            next = tree_math::parent(y, n_leaves);
        }
    }

    /// Drops every hash unless the cache was filled with `suite`.
    fn use_suite(&mut self, suite: CipherSuite, hash_len: usize) {
        if self.suite != Some(suite) {
            let parents = self.parents;
            self.chunks.clear();
            self.parents = 0;
            self.resize(2 * parents + 1);
            self.suite = Some(suite);
            self.hash_len = hash_len;
        }
    }

    /// The chunk and bit of parent `x`; `None` for leaves and outside.
    fn slot(&self, x: NodeIndex) -> Option<(usize, u64)> {
        let p = (x.0 / 2) as usize;
        (!x.is_leaf() && p < self.parents).then(|| (p / CHUNK, 1u64 << (p % CHUNK)))
    }

    fn get(&self, x: NodeIndex) -> Option<&[u8]> {
        let (c, bit) = self.slot(x)?;
        let chunk = self.chunks.get(c).filter(|chunk| chunk.current & bit != 0)?;
        let at = ((x.0 / 2) as usize % CHUNK) * self.hash_len;
        chunk.bytes.get(at..at + self.hash_len)
    }

    /// Caches `hash` for the parent `x`; a hash of another length than the
    /// suite's (which the suite's hash function never makes) is not cached.
    fn set(&mut self, x: NodeIndex, hash: &[u8]) {
        let len = self.hash_len;
        let Some((c, bit)) = self.slot(x).filter(|_| hash.len() == len) else {
            return;
        };
        let Some(chunk) = self.chunks.get_mut(c) else { return };
        let chunk = Arc::make_mut(chunk);
        if chunk.bytes.is_empty() {
            chunk.bytes = vec![0; CHUNK * len];
        }
        let at = ((x.0 / 2) as usize % CHUNK) * len;
        if let Some(dst) = chunk.bytes.get_mut(at..at + len) {
            dst.copy_from_slice(hash);
            chunk.current |= bit;
        }
    }

    /// How many parents hold no current hash (for tests).
    #[cfg(test)]
    fn stale_count(&self) -> usize {
        let parents = (0..self.parents).map(|p| NodeIndex(2 * p as u32 + 1));
        parents.filter(|&x| self.get(x).is_none()).count()
    }
}

/// The parent hashes of a committer's filtered direct path once its nodes
/// hold new keys (§7.9), computed from the root down.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathParentHashes {
    /// The filtered direct path of the committer's leaf.
    pub path: Vec<NodeIndex>,
    /// The `parent_hash` to put in each node of `path` (empty for the root).
    pub nodes: Vec<Vec<u8>>,
    /// The `parent_hash` of the committer's new leaf node
    /// (`leaf_node_source = commit`): the parent hash of the first node of
    /// the path (empty if the path is empty).
    pub leaf: Vec<u8>,
}

impl RatchetTree {
    /// The tree hash of the root (§7.8), the `tree_hash` of the
    /// GroupContext. Recomputes only the hashes invalidated since last time.
    pub fn tree_hash(&mut self, cs: &dyn CipherSuiteProvider) -> Result<Vec<u8>, Error> {
        let root = self.root().ok_or(TreeError::EmptyTree)?;
        self.node_tree_hash(cs, root)
    }

    /// The tree hash of the subtree headed by `x` (§7.8).
    pub fn node_tree_hash(&mut self, cs: &dyn CipherSuiteProvider, x: NodeIndex) -> Result<Vec<u8>, Error> {
        self.checked(x)?;
        self.cache.use_suite(cs.cipher_suite(), cs.hash_len());
        self.subtree_hash(cs, x)
    }

    /// The tree hash of `x`: a leaf's computed, a parent's from the cache
    /// after [`Self::fill`].
    fn subtree_hash(&mut self, cs: &dyn CipherSuiteProvider, x: NodeIndex) -> Result<Vec<u8>, Error> {
        if x.is_leaf() {
            return leaf_tree_hash(cs, x.0 / 2, self.leaf(LeafIndex(x.0 / 2)));
        }
        self.fill(cs, x)?;
        let cached = self.cache.get(x).ok_or(TreeError::NodeOutOfRange { node: x.0 })?;
        Ok(cached.to_vec())
    }

    /// Computes and caches the hashes of the parent `x` and of the stale
    /// parents below it. Recursion depth is the tree depth, at most 32.
    fn fill(&mut self, cs: &dyn CipherSuiteProvider, x: NodeIndex) -> Result<(), Error> {
        if self.cache.get(x).is_some() {
            return Ok(());
        }
        let (Some(l), Some(r)) = (x.left(), x.right()) else {
            // A leaf: its hash is not cached.
            return Ok(());
        };
        let left = self.subtree_hash(cs, l)?;
        let right = self.subtree_hash(cs, r)?;
        let hash = parent_tree_hash(cs, self.parent_node(x), &left, &right)?;
        self.cache.set(x, &hash);
        Ok(())
    }

    /// The tree hash of `x` in the tree where the leaves in `excluded`
    /// (sorted) are blank and removed from every `unmerged_leaves`: the
    /// `original_sibling_tree_hash` of §7.9. Subtrees without excluded
    /// leaves use the cache, so this costs O(|excluded| log n) hashes.
    fn tree_hash_without(
        &mut self,
        cs: &dyn CipherSuiteProvider,
        x: NodeIndex,
        excluded: &[u32],
    ) -> Result<Vec<u8>, Error> {
        let range = leaf_range(x);
        let first = excluded.partition_point(|&l| u64::from(l) < range.start);
        if excluded.get(first).is_none_or(|&l| !range.contains(&u64::from(l))) {
            return self.subtree_hash(cs, x);
        }
        let (Some(l), Some(r)) = (x.left(), x.right()) else {
            // An excluded leaf: hashed as blank.
            return leaf_tree_hash(cs, x.0 / 2, None);
        };
        let left = self.tree_hash_without(cs, l, excluded)?;
        let right = self.tree_hash_without(cs, r, excluded)?;
        let parent = self.parent_node(x).map(|p| ParentNode {
            encryption_key: p.encryption_key.clone(),
            parent_hash: p.parent_hash.clone(),
            unmerged_leaves: p
                .unmerged_leaves
                .iter()
                .copied()
                .filter(|u| excluded.binary_search(u).is_err())
                .collect(),
        });
        parent_tree_hash(cs, parent.as_ref(), &left, &right)
    }

    /// The parent hash of the parent node `p` with copath child `s`:
    /// `Hash(ParentHashInput)` with the original sibling tree hash (§7.9).
    fn parent_hash_of(&mut self, cs: &dyn CipherSuiteProvider, p: NodeIndex, s: NodeIndex) -> Result<Vec<u8>, Error> {
        let parent = self.parent_node(p).ok_or(TreeError::ParentHashInvalid { node: p.0 })?;
        let (key, above) = (parent.encryption_key.clone(), parent.parent_hash.clone());
        // Sorted: checked by `verify_parent_hashes`.
        let unmerged = parent.unmerged_leaves.clone();
        let sibling = self.tree_hash_without(cs, s, &unmerged)?;
        parent_hash_input_hash(cs, &key, &above, &sibling)
    }

    /// Checks that every non-blank parent node is parent-hash valid (§7.9.2,
    /// "top down"): exactly one descendant's `parent_hash` links to it. The
    /// unmerged leaves must be sorted (checked first: the checks below
    /// binary-search them).
    pub fn verify_parent_hashes(&mut self, cs: &dyn CipherSuiteProvider) -> Result<(), Error> {
        self.check_unmerged_sorted()?;
        self.cache.use_suite(cs.cipher_suite(), cs.hash_len());
        let parents: Vec<NodeIndex> = self.parents().map(|(p, _)| p).collect();
        for p in parents {
            if self.parent_hash_links(cs, p)? != 1 {
                return Err(TreeError::ParentHashInvalid { node: p.0 }.into());
            }
        }
        Ok(())
    }

    /// How many descendants of the non-blank parent `p` have a parent hash
    /// valid with respect to `p` (§7.9.2). Only one node per child can
    /// qualify (the third criterion pins it down), so there are at most two.
    fn parent_hash_links(&mut self, cs: &dyn CipherSuiteProvider, p: NodeIndex) -> Result<usize, Error> {
        let (Some(l), Some(r)) = (p.left(), p.right()) else {
            return Ok(0);
        };
        let mut links = 0;
        for (c, s) in [(l, r), (r, l)] {
            let Some(d) = self.link_candidate(p, c)? else { continue };
            let expected = self.parent_hash_of(cs, p, s)?;
            if stored_parent_hash(self.node(d)) == Some(expected.as_slice()) {
                links += 1;
            }
        }
        Ok(links)
    }

    /// The only node D below child `c` of `p` that can be linked to `p`: the
    /// resolution of `c` must be D plus exactly the unmerged leaves of `p`
    /// below `c` (§7.9.2, third criterion).
    fn link_candidate(&self, p: NodeIndex, c: NodeIndex) -> Result<Option<NodeIndex>, TreeError> {
        let range = leaf_range(c);
        // Strictly increasing, as the unmerged leaves are (see
        // `verify_parent_hashes`) and leaf to node is.
        let unmerged: Vec<NodeIndex> = (self.unmerged_leaves(p).iter())
            .filter(|&&l| range.contains(&u64::from(l)))
            .filter_map(|&l| LeafIndex(l).to_node())
            .collect();
        let resolution = self.resolution(c)?;
        if resolution.len() != unmerged.len() + 1 {
            return Ok(None);
        }
        // One element longer, the resolution is D plus exactly `unmerged` if
        // all but one of its elements are elements of `unmerged`, each once.
        let mut seen = vec![false; unmerged.len()];
        let mut outside = None;
        for x in resolution {
            match unmerged.binary_search(&x) {
                Ok(i) if !seen[i] => seen[i] = true,
                Err(_) if outside.is_none() => outside = Some(x),
                _ => return Ok(None),
            }
        }
        Ok(outside)
    }

    /// The parent hashes a committer at `leaf` puts into its filtered direct
    /// path and leaf node, for the new path keys `keys` (one per node of the
    /// filtered direct path, §7.9). Does not change the tree: the copath
    /// subtrees the hashes cover are unaffected by the path.
    pub fn path_parent_hashes(
        &mut self,
        cs: &dyn CipherSuiteProvider,
        leaf: LeafIndex,
        keys: &[&[u8]],
    ) -> Result<PathParentHashes, Error> {
        let x = self.leaf_node_index(leaf)?;
        let path = self.filtered_direct_path(leaf)?;
        if keys.len() != path.len() {
            return Err(TreeError::UpdatePathLength {
                expected: path.len(),
                got: keys.len(),
            }
            .into());
        }
        self.cache.use_suite(cs.cipher_suite(), cs.hash_len());
        let mut nodes = vec![Vec::new(); path.len()];
        // The root's parent hash is empty; each node's hash feeds the one below.
        let mut above = Vec::new();
        for (i, &p) in path.iter().enumerate().rev() {
            let s = Self::copath_child(p, x).ok_or(TreeError::NodeOutOfRange { node: p.0 })?;
            let sibling = self.subtree_hash(cs, s)?;
            let hash = parent_hash_input_hash(cs, keys[i], &above, &sibling)?;
            nodes[i] = core::mem::replace(&mut above, hash);
        }
        Ok(PathParentHashes {
            path,
            nodes,
            leaf: above,
        })
    }

    /// Merges an UpdatePath from the member at `sender` into the tree
    /// (§7.5): checks it has one node per node of the sender's filtered
    /// direct path and that its leaf node's `parent_hash` is the one the path
    /// implies (§7.9.2), then blanks the direct path, sets the filtered
    /// direct path nodes to the new keys with their parent hashes and no
    /// unmerged leaves, and replaces the sender's leaf node. On error the
    /// tree is unchanged. The leaf node itself must be validated by the
    /// caller (origin [`super::LeafNodeOrigin::Commit`]).
    pub fn apply_update_path(
        &mut self,
        cs: &dyn CipherSuiteProvider,
        sender: LeafIndex,
        path: &UpdatePath,
    ) -> Result<(), Error> {
        let keys: Vec<&[u8]> = path.nodes.iter().map(|n| n.encryption_key.as_slice()).collect();
        let hashes = self.path_parent_hashes(cs, sender, &keys)?;
        match &path.leaf_node.leaf_node_source {
            LeafNodeSource::Commit(ph) if ph.as_slice() == hashes.leaf => {}
            _ => return Err(TreeError::ParentHashMismatch.into()),
        }
        let x = self.leaf_node_index(sender)?;
        self.blank_direct_path(x)?;
        for ((p, node), parent_hash) in hashes.path.into_iter().zip(&path.nodes).zip(hashes.nodes) {
            let parent = ParentNode {
                encryption_key: node.encryption_key.clone(),
                parent_hash: parent_hash.into(),
                unmerged_leaves: Vec::new(),
            };
            self.put(p, Some(Node::Parent(parent)));
        }
        self.put(x, Some(Node::Leaf(path.leaf_node.clone())));
        Ok(())
    }
}

/// The `parent_hash` a node carries: a parent node's field, or a leaf's if
/// its source is `commit`.
fn stored_parent_hash(node: Option<&Node>) -> Option<&[u8]> {
    match node? {
        Node::Parent(p) => Some(p.parent_hash.as_slice()),
        Node::Leaf(LeafNode {
            leaf_node_source: LeafNodeSource::Commit(ph),
            ..
        }) => Some(ph.as_slice()),
        Node::Leaf(_) => None,
    }
}

/// Room for a typical leaf's TreeHashInput without reallocating.
const LEAF_INPUT_CAPACITY: usize = 320;

/// `Hash(TreeHashInput)` of a leaf: `node_type = leaf`, `leaf_index`,
/// `optional<LeafNode>` (§7.8).
fn leaf_tree_hash(cs: &dyn CipherSuiteProvider, leaf_index: u32, leaf: Option<&LeafNode>) -> Result<Vec<u8>, Error> {
    let mut input = Writer::with_capacity(LEAF_INPUT_CAPACITY);
    input.put(&[NodeType::Leaf as u8]);
    leaf_index.encode_to(&mut input);
    leaf.encode_to(&mut input);
    Ok(cs.hash(&input.finish()?))
}

/// `Hash(TreeHashInput)` of a parent: `node_type = parent`,
/// `optional<ParentNode>`, `left_hash<V>`, `right_hash<V>` (§7.8).
fn parent_tree_hash(
    cs: &dyn CipherSuiteProvider,
    parent: Option<&ParentNode>,
    left: &[u8],
    right: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut input = Writer::new();
    input.put(&[NodeType::Parent as u8]);
    parent.encode_to(&mut input);
    input.opaque(left);
    input.opaque(right);
    Ok(cs.hash(&input.finish()?))
}

/// `Hash(ParentHashInput)`: `encryption_key<V>`, `parent_hash<V>`,
/// `original_sibling_tree_hash<V>` (§7.9).
fn parent_hash_input_hash(
    cs: &dyn CipherSuiteProvider,
    encryption_key: &[u8],
    parent_hash: &[u8],
    sibling_hash: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut input = Writer::with_capacity(encryption_key.len() + parent_hash.len() + sibling_hash.len() + 6);
    input.opaque(encryption_key);
    input.opaque(parent_hash);
    input.opaque(sibling_hash);
    Ok(cs.hash(&input.finish()?))
}

#[cfg(test)]
mod tests {
    use super::super::test_utils::{committed_tree, kp_leaf, parent, path_key, suite, update_leaf, update_path};
    use super::*;

    /// The tree hash of `x` computed without the cache (§7.8).
    fn from_scratch(tree: &RatchetTree, x: NodeIndex) -> Vec<u8> {
        match (x.left(), x.right()) {
            (Some(l), Some(r)) => {
                let (lh, rh) = (from_scratch(tree, l), from_scratch(tree, r));
                parent_tree_hash(suite(), tree.parent_node(x), &lh, &rh).unwrap()
            }
            _ => leaf_tree_hash(suite(), x.0 / 2, tree.leaf(LeafIndex(x.0 / 2))).unwrap(),
        }
    }

    fn stale_count(tree: &RatchetTree) -> usize {
        tree.cache.stale_count()
    }

    /// A tiny deterministic generator for the random edits.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: u32) -> u32 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % u64::from(n.max(1))) as u32
        }
    }

    #[test]
    fn cached_hash_equals_recomputation_after_random_edits() {
        let cs = suite();
        let mut tree = RatchetTree::with_creator(kp_leaf(0));
        let mut rng = Lcg(7);
        for step in 1..300u32 {
            let n = tree.n_leaves();
            match rng.below(5) {
                0 | 1 => drop(tree.add_leaf(kp_leaf(step))),
                2 => drop(tree.remove_leaf(LeafIndex(rng.below(n)))),
                3 => drop(tree.update_leaf(LeafIndex(rng.below(n)), update_leaf(step, 0, step))),
                _ => drop(tree.set_parent(NodeIndex(2 * rng.below(n) + 1), parent(step, vec![]))),
            }
            if tree.root().is_none() {
                tree.add_leaf(kp_leaf(step + 1000)).unwrap();
            }
            let root = tree.root().unwrap();
            assert_eq!(tree.tree_hash(cs).unwrap(), from_scratch(&tree, root), "step {step}");
        }
        for x in 0..tree.node_width() {
            assert_eq!(
                tree.node_tree_hash(cs, NodeIndex(x)).unwrap(),
                from_scratch(&tree, NodeIndex(x))
            );
        }
    }

    #[test]
    fn changing_one_leaf_recomputes_only_its_path() {
        let cs = suite();
        let mut tree = RatchetTree::new();
        for i in 0..64 {
            tree.add_leaf(kp_leaf(i)).unwrap();
        }
        tree.tree_hash(cs).unwrap();
        assert_eq!(stale_count(&tree), 0);
        tree.update_leaf(LeafIndex(5), update_leaf(5, 5, 1)).unwrap();
        // The leaf's 6 ancestors (leaf hashes are not cached).
        assert_eq!(stale_count(&tree), 6);
        tree.tree_hash(cs).unwrap();
        assert_eq!(stale_count(&tree), 0);
        // Extending keeps the old hashes: only the new half and root are stale.
        tree.add_leaf(kp_leaf(64)).unwrap();
        assert_eq!(stale_count(&tree), 64);
    }

    #[test]
    fn empty_tree_has_no_hash() {
        assert_eq!(
            RatchetTree::new().tree_hash(suite()),
            Err(Error::from(TreeError::EmptyTree))
        );
    }

    #[test]
    fn update_paths_form_parent_hash_chains() {
        let mut tree = committed_tree();
        tree.verify_parent_hashes(suite()).unwrap();
        assert_eq!(tree.unmerged_leaves(NodeIndex(7)), &[] as &[u32]);
        for p in [1, 3, 7, 9, 11] {
            assert!(!tree.is_blank(NodeIndex(p)), "node {p}");
        }
    }

    #[test]
    fn tampered_parent_nodes_are_not_parent_hash_valid() {
        let mut tree = committed_tree();
        let mut node = tree.parent_node(NodeIndex(3)).unwrap().clone();
        node.encryption_key = path_key(999).into();
        tree.set_parent(NodeIndex(3), node).unwrap();
        // Node 1 carries the parent hash of node 3, which covers node 3's
        // key: that link breaks, and node 3 is the first invalid node.
        assert_eq!(
            tree.verify_parent_hashes(suite()),
            Err(Error::from(TreeError::ParentHashInvalid { node: 3 }))
        );
        // A parent node planted over a blank one links to nothing.
        let mut tree = committed_tree();
        tree.update_leaf(LeafIndex(2), update_leaf(2, 2, 9)).unwrap();
        tree.set_parent(NodeIndex(5), parent(55, vec![])).unwrap();
        assert_eq!(
            tree.verify_parent_hashes(suite()),
            Err(Error::from(TreeError::ParentHashInvalid { node: 5 }))
        );
        // Unsorted unmerged leaves are refused before any hash is computed
        // (the hashes binary-search them).
        let mut tree = committed_tree();
        let mut node = tree.parent_node(NodeIndex(7)).unwrap().clone();
        node.unmerged_leaves = vec![3, 1];
        tree.set_parent(NodeIndex(7), node).unwrap();
        assert_eq!(
            tree.verify_parent_hashes(suite()),
            Err(Error::from(TreeError::UnmergedLeavesUnsorted { node: 7 }))
        );
    }

    #[test]
    fn bad_update_paths_leave_the_tree_unchanged() {
        let mut tree = committed_tree();
        let before = tree.clone();
        let mut path = update_path(&mut tree, 2, 2, 3);
        path.leaf_node.leaf_node_source = LeafNodeSource::Commit(vec![0; 32].into());
        assert_eq!(
            tree.apply_update_path(suite(), LeafIndex(2), &path),
            Err(Error::from(TreeError::ParentHashMismatch))
        );
        path.nodes.pop();
        let err = tree.apply_update_path(suite(), LeafIndex(2), &path);
        assert_eq!(
            err,
            Err(Error::from(TreeError::UpdatePathLength { expected: 3, got: 2 }))
        );
        assert_eq!(tree, before);
    }

    #[test]
    fn original_sibling_hash_blanks_unmerged_leaves() {
        let cs = suite();
        let mut tree = committed_tree();
        tree.add_leaf(kp_leaf(8)).unwrap();
        let mut plain = tree.clone();
        plain.blank(NodeIndex(16)).unwrap();
        let got = tree.tree_hash_without(cs, NodeIndex(15), &[8]).unwrap();
        assert_eq!(got, plain.node_tree_hash(cs, NodeIndex(15)).unwrap());
        let untouched = tree.tree_hash_without(cs, NodeIndex(3), &[8]).unwrap();
        assert_eq!(untouched, tree.node_tree_hash(cs, NodeIndex(3)).unwrap());
    }
}
