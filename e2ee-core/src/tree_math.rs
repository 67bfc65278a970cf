//! Array-based tree math (RFC 9420 Appendix C).
//!
//! Every tree in MLS is a perfect binary tree with a power-of-two number of
//! leaves (RFC 9420 §4.1). Its nodes live in a flat array: leaf `i` is node
//! `2*i`, parents sit at the odd indices in between. All relations are
//! computed from the indices alone.
//!
//! Node indices are `u32`, so the largest tree has [`MAX_LEAVES`] leaves
//! (2^32 - 1 nodes). No function here panics: a question without an answer
//! (the children of a leaf, the parent of the root, a node outside the tree,
//! a leaf count that is not a power of two) yields `None`.

use alloc::vec::Vec;

/// The position of a member in the tree: leaf `i` of `n` (`0 <= i < n`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LeafIndex(pub u32);

/// The position of a node in the array representation: leaves at even
/// indices, parent nodes at odd ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeIndex(pub u32);

/// The largest leaf count whose node indices all fit in a `u32`.
pub const MAX_LEAVES: u32 = 1 << 31;

/// The exponent of the largest power of two not above `x`; 0 for `x = 0`
/// (the RFC's convention).
pub fn log2(x: u32) -> u32 {
    x.checked_ilog2().unwrap_or(0)
}

/// Whether `n_leaves` is the size of an MLS tree: a power of two, at most
/// [`MAX_LEAVES`].
pub fn is_valid_leaf_count(n_leaves: u32) -> bool {
    n_leaves.is_power_of_two() && n_leaves <= MAX_LEAVES
}

/// The number of nodes of a tree with `n_leaves` leaves (`2n - 1`, and 0 for
/// 0); `None` if that does not fit in a `u32`.
pub fn node_width(n_leaves: u32) -> Option<u32> {
    match n_leaves {
        0 => Some(0),
        // 2(n - 1) + 1 rather than 2n - 1: for n = 2^31 only the latter's
        // intermediate 2n overflows.
        n => (n - 1).checked_mul(2)?.checked_add(1),
    }
}

/// The root of a tree with `n_leaves` leaves; `None` unless the leaf count
/// is valid ([`is_valid_leaf_count`]).
pub fn root(n_leaves: u32) -> Option<NodeIndex> {
    if !is_valid_leaf_count(n_leaves) {
        return None;
    }
    // For a perfect tree the root is node n - 1 (the RFC's
    // `(1 << log2(width)) - 1` reduces to this).
    Some(NodeIndex(n_leaves - 1))
}

/// Whether `node` is a node of the tree with `n_leaves` leaves (which must
/// be a valid leaf count).
pub fn contains(n_leaves: u32, node: NodeIndex) -> bool {
    is_valid_leaf_count(n_leaves) && node_width(n_leaves).is_some_and(|w| node.0 < w)
}

impl LeafIndex {
    /// The node holding this leaf (`2i`); `None` for leaves no tree can hold.
    pub fn to_node(self) -> Option<NodeIndex> {
        self.0.checked_mul(2).map(NodeIndex)
    }
}

impl NodeIndex {
    /// Whether this node is a leaf (even index).
    pub fn is_leaf(self) -> bool {
        self.0 & 1 == 0
    }

    /// The leaf this node holds; `None` for parent nodes.
    pub fn to_leaf(self) -> Option<LeafIndex> {
        self.is_leaf().then_some(LeafIndex(self.0 >> 1))
    }

    /// The level of the node: 0 for leaves, one more than its children's
    /// level for parents. It is the number of trailing one bits.
    pub fn level(self) -> u32 {
        self.0.trailing_ones()
    }

    /// The left child; `None` for leaves and for `u32::MAX` (whose children
    /// would not fit).
    pub fn left(self) -> Option<NodeIndex> {
        let k = self.child_shift()?;
        Some(NodeIndex(self.0 ^ (1 << k)))
    }

    /// The right child; `None` for leaves and for `u32::MAX`.
    pub fn right(self) -> Option<NodeIndex> {
        let k = self.child_shift()?;
        Some(NodeIndex(self.0 ^ (3 << k)))
    }

    /// `level - 1` for parents whose children are representable. Level 32
    /// (only `u32::MAX`) would need a 33-bit child index.
    fn child_shift(self) -> Option<u32> {
        match self.level() {
            0 | 32 => None,
            k => Some(k - 1),
        }
    }
}

/// The parent of `node` in the tree with `n_leaves` leaves; `None` for the
/// root and for nodes outside the tree.
pub fn parent(node: NodeIndex, n_leaves: u32) -> Option<NodeIndex> {
    if !contains(n_leaves, node) || Some(node) == root(n_leaves) {
        return None;
    }
    // Below the root of a tree of at most 2^31 leaves, k <= 30, so the
    // shifts stay within 32 bits.
    let k = node.level();
    let b = (node.0 >> (k + 1)) & 1;
    Some(NodeIndex((node.0 | (1 << k)) ^ (b << (k + 1))))
}

/// The other child of `node`'s parent; `None` for the root and for nodes
/// outside the tree.
pub fn sibling(node: NodeIndex, n_leaves: u32) -> Option<NodeIndex> {
    let p = parent(node, n_leaves)?;
    if node < p { p.right() } else { p.left() }
}

/// The direct path of `node`: its ancestors from its parent up to the root
/// (empty for the root). `None` for nodes outside the tree.
pub fn direct_path(node: NodeIndex, n_leaves: u32) -> Option<Vec<NodeIndex>> {
    if !contains(n_leaves, node) {
        return None;
    }
    let mut path = Vec::new();
    let mut x = node;
    while let Some(p) = parent(x, n_leaves) {
        path.push(p);
        x = p;
    }
    Some(path)
}

/// The copath of `node`: the siblings of the node and of each of its
/// ancestors below the root, ordered from the node up (empty for the root).
/// `None` for nodes outside the tree.
pub fn copath(node: NodeIndex, n_leaves: u32) -> Option<Vec<NodeIndex>> {
    if !contains(n_leaves, node) {
        return None;
    }
    let mut path = Vec::new();
    let mut x = node;
    while let Some(s) = sibling(x, n_leaves) {
        path.push(s);
        // `sibling` succeeded, so the parent exists.
        x = parent(x, n_leaves)?;
    }
    Some(path)
}

/// The lowest node that is `x` or `y` or an ancestor of both.
///
/// This is defined on the infinite array tree, so it needs no leaf count:
/// in any tree containing both nodes, it is their common ancestor there.
pub fn common_ancestor(x: NodeIndex, y: NodeIndex) -> NodeIndex {
    // A node at level k covers all indices sharing its bits above bit k
    // (except the one with all k+1 low bits set, which sits higher). So the
    // ancestor's level is the smallest k at least both levels at which x and
    // y agree above bit k.
    let differing = (x.0 ^ y.0).checked_ilog2().unwrap_or(0);
    let k = x.level().max(y.level()).max(differing);
    // Computed in u64 because k + 1 may be 33. The result keeps x's bits
    // above k and sets bits 0..k, so it is at most max(x, 2^32 - 1).
    let high = (u64::from(x.0) >> (k + 1)) << (k + 1);
    let low = (1u64 << k) - 1;
    NodeIndex((high | low) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log2_matches_rfc() {
        assert_eq!(log2(0), 0);
        assert_eq!(log2(1), 0);
        assert_eq!(log2(2), 1);
        assert_eq!(log2(3), 1);
        assert_eq!(log2(8), 3);
        assert_eq!(log2(u32::MAX), 31);
    }

    #[test]
    fn eight_leaf_tree_of_appendix_c() {
        let n = 8;
        assert_eq!(node_width(n), Some(15));
        assert_eq!(root(n), Some(NodeIndex(7)));
        assert_eq!(NodeIndex(7).left(), Some(NodeIndex(3)));
        assert_eq!(NodeIndex(7).right(), Some(NodeIndex(11)));
        assert_eq!(NodeIndex(5).level(), 1);
        assert_eq!(parent(NodeIndex(4), n), Some(NodeIndex(5)));
        assert_eq!(parent(NodeIndex(11), n), Some(NodeIndex(7)));
        assert_eq!(sibling(NodeIndex(9), n), Some(NodeIndex(13)));
        let dp = direct_path(NodeIndex(4), n).unwrap();
        assert_eq!(dp, [NodeIndex(5), NodeIndex(3), NodeIndex(7)]);
        let cp = copath(NodeIndex(4), n).unwrap();
        assert_eq!(cp, [NodeIndex(6), NodeIndex(1), NodeIndex(11)]);
        assert_eq!(common_ancestor(NodeIndex(0), NodeIndex(6)), NodeIndex(3));
        assert_eq!(common_ancestor(NodeIndex(2), NodeIndex(8)), NodeIndex(7));
    }

    #[test]
    fn questions_without_answers_are_none() {
        assert_eq!(root(0), None);
        assert_eq!(root(3), None);
        assert_eq!(root(MAX_LEAVES + 1), None);
        assert_eq!(node_width(u32::MAX), None);
        assert_eq!(NodeIndex(4).left(), None);
        assert_eq!(NodeIndex(4).right(), None);
        assert_eq!(NodeIndex(u32::MAX).left(), None);
        assert_eq!(parent(NodeIndex(7), 8), None);
        assert_eq!(parent(NodeIndex(15), 8), None);
        assert_eq!(sibling(NodeIndex(7), 8), None);
        assert_eq!(direct_path(NodeIndex(16), 8), None);
        assert_eq!(copath(NodeIndex(0), 3), None);
        assert_eq!(LeafIndex(MAX_LEAVES).to_node(), None);
        assert_eq!(NodeIndex(3).to_leaf(), None);
        assert_eq!(direct_path(NodeIndex(0), 1), Some(Vec::new()));
    }

    #[test]
    fn extremes_do_not_overflow() {
        let n = MAX_LEAVES;
        assert_eq!(node_width(n), Some(u32::MAX));
        let r = root(n).unwrap();
        assert_eq!(r, NodeIndex(0x7fff_ffff));
        assert_eq!(r.right(), Some(NodeIndex(0xbfff_ffff)));
        let last = LeafIndex(n - 1).to_node().unwrap();
        assert_eq!(last, NodeIndex(u32::MAX - 1));
        assert_eq!(direct_path(last, n).unwrap().len(), 31);
        assert_eq!(direct_path(last, n).unwrap().last(), Some(&r));
        assert_eq!(common_ancestor(NodeIndex(0), last), r);
        assert_eq!(common_ancestor(NodeIndex(u32::MAX), NodeIndex(0)), NodeIndex(u32::MAX));
    }

    /// The RFC's `common_ancestor_semantic`: the lowest common member of the
    /// two nodes' paths to the root.
    fn common_ancestor_semantic(x: NodeIndex, y: NodeIndex, n: u32) -> NodeIndex {
        let mut px = direct_path(x, n).unwrap();
        px.insert(0, x);
        let mut py = direct_path(y, n).unwrap();
        py.insert(0, y);
        *px.iter().filter(|a| py.contains(a)).min_by_key(|a| a.level()).unwrap()
    }

    #[test]
    fn relations_are_consistent_on_small_trees() {
        for n in [1u32, 2, 4, 8, 16, 32] {
            let w = node_width(n).unwrap();
            for x in (0..w).map(NodeIndex) {
                if let Some(p) = parent(x, n) {
                    assert!(p.left() == Some(x) || p.right() == Some(x));
                    assert_eq!(p.level(), x.level() + 1);
                    assert_eq!(sibling(sibling(x, n).unwrap(), n), Some(x));
                }
                for y in (0..w).map(NodeIndex) {
                    assert_eq!(common_ancestor(x, y), common_ancestor_semantic(x, y, n));
                }
            }
            for i in 0..n {
                let node = LeafIndex(i).to_node().unwrap();
                assert!(node.is_leaf());
                assert_eq!(node.to_leaf(), Some(LeafIndex(i)));
                assert_eq!(direct_path(node, n).unwrap().len(), log2(n) as usize);
                assert_eq!(copath(node, n).unwrap().len(), log2(n) as usize);
            }
        }
    }
}
