//! Validating a received ratchet tree (RFC 9420 §12.4.3.1) and checking a
//! new leaf node against the members already in the tree (§7.3).

use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use super::leaf::{self, LeafNodeError, LeafNodeOrigin, LeafValidationContext};
use super::{RatchetTree, TreeError, leaf_range};
use crate::crypto::{CipherSuiteProvider, SignatureCheck};
use crate::error::Error;
use crate::messages::{CredentialType, LeafNode, Node};
use crate::tree_math::{self, LeafIndex, NodeIndex};

/// What a received tree is validated against.
#[derive(Clone, Copy)]
pub struct TreeValidationParams<'a> {
    /// The group's parameters, for validating every leaf node.
    pub leaf: LeafValidationContext<'a>,
    /// The tree hash the tree must have: the GroupInfo's (or
    /// GroupContext's) `tree_hash`. `None` skips the check, e.g. when the
    /// caller compares it itself.
    pub expected_tree_hash: Option<&'a [u8]>,
}

impl RatchetTree {
    /// Validates a received tree as a joiner must (§12.4.3.1): the tree hash,
    /// unmerged leaves, usable and unique keys, credential type support,
    /// that every non-blank parent is parent-hash valid, and every leaf node
    /// (§7.3).
    /// Cheap structural checks run before hashing and signature checks.
    ///
    /// With the `parallel` feature the leaf signatures are verified on other
    /// threads while this one hashes and checks the tree; the result,
    /// including which error is reported, is the same.
    pub fn validate(&mut self, params: &TreeValidationParams<'_>) -> Result<(), Error> {
        // Below this many leaves a thread costs more than it saves.
        #[cfg(feature = "parallel")]
        const MIN_LEAVES_FOR_THREADS: u32 = 256;
        #[cfg(feature = "parallel")]
        if self.n_leaves() >= MIN_LEAVES_FOR_THREADS {
            return self.validate_concurrently(params);
        }
        self.check_structure(params)?;
        let messages = self.leaf_signed_messages(&params.leaf);
        let signatures_verify = messages.is_some_and(|m| self.leaf_signatures_verify(params.leaf.cs, &m));
        Ok(self.validate_leaves(&params.leaf, signatures_verify)?)
    }

    /// [`Self::validate`], with the leaf signatures verified on other
    /// threads while this one hashes and checks the tree. The hashes are
    /// computed in a copy (which shares the nodes), as the threads read the
    /// tree meanwhile; the copy, with its filled hash cache, then replaces
    /// the tree.
    #[cfg(feature = "parallel")]
    fn validate_concurrently(&mut self, params: &TreeValidationParams<'_>) -> Result<(), Error> {
        let mut copy = self.clone();
        let messages = self.leaf_signed_messages(&params.leaf);
        let (this, cs) = (&*self, params.leaf.cs);
        let verify = || messages.as_ref().is_some_and(|m| this.leaf_signatures_verify(cs, m));
        let (structure, signatures_verify) = std::thread::scope(|scope| {
            // A thread that cannot start leaves the batch to this one.
            let batch = std::thread::Builder::new().spawn_scoped(scope, verify).ok();
            let structure = copy.check_structure(params);
            let signatures = match batch {
                Some(batch) => batch.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                None => verify(),
            };
            (structure, signatures)
        });
        *self = copy;
        structure?;
        Ok(self.validate_leaves(&params.leaf, signatures_verify)?)
    }

    /// Everything [`Self::validate`] checks but the leaf nodes themselves.
    fn check_structure(&mut self, params: &TreeValidationParams<'_>) -> Result<(), Error> {
        let cs = params.leaf.cs;
        if let Some(expected) = params.expected_tree_hash
            && self.tree_hash(cs)? != expected
        {
            return Err(TreeError::TreeHashMismatch.into());
        }
        self.check_unmerged_leaves()?;
        self.check_parent_keys(cs)?;
        self.check_unique_keys()?;
        self.check_credential_types()?;
        self.verify_parent_hashes(cs)
    }

    /// Checks that every parent's encryption key is one HPKE can encrypt to
    /// (the leaves' are checked with the leaf nodes): a received tree must
    /// not make Commits fail.
    fn check_parent_keys(&self, cs: &dyn CipherSuiteProvider) -> Result<(), TreeError> {
        for (x, parent) in self.parents() {
            cs.kem_public_key_check(parent.encryption_key.as_slice())
                .map_err(|_| TreeError::InvalidEncryptionKey { node: x.0 })?;
        }
        Ok(())
    }

    /// Validates every leaf node (§7.3), in order, the first invalid one
    /// giving the error. `signatures_verify` says whether the signatures,
    /// verified all together ([`Self::leaf_signatures_verify`]), all
    /// verify; if not, the leaves are validated one by one as usual, so the
    /// error is the first invalid leaf's.
    fn validate_leaves(&self, ctx: &LeafValidationContext<'_>, signatures_verify: bool) -> Result<(), TreeError> {
        if !signatures_verify {
            for (i, leaf_node) in self.leaves() {
                leaf::validate_leaf_node(ctx, leaf_node, LeafNodeOrigin::Tree(i))
                    .map_err(|error| TreeError::InvalidLeafNode { leaf: i.0, error })?;
            }
            // Not reached: some signature is invalid.
        }
        for (i, leaf_node) in self.leaves() {
            leaf::validate_all_but_signature(ctx, leaf_node, LeafNodeOrigin::Tree(i))
                .map_err(|error| TreeError::InvalidLeafNode { leaf: i.0, error })?;
        }
        Ok(())
    }

    /// Whether the signatures of all leaf nodes verify, checked all together
    /// ([`crate::crypto::CipherSuiteProvider::verify_many`], on all cores
    /// with the `parallel` feature).
    /// `messages` are the leaves' signed messages, in order
    /// ([`Self::leaf_signed_messages`]).
    fn leaf_signatures_verify(&self, cs: &dyn CipherSuiteProvider, messages: &[Vec<u8>]) -> bool {
        let checks: Vec<SignatureCheck<'_>> = (self.leaves().zip(messages))
            .map(|((_, l), message)| SignatureCheck {
                public_key: l.signature_key.as_slice(),
                message,
                signature: l.signature.as_slice(),
            })
            .collect();
        cs.verify_many(&checks).is_ok()
    }

    /// What each leaf node's signature signs, in order; `None` if one
    /// cannot be encoded.
    fn leaf_signed_messages(&self, ctx: &LeafValidationContext<'_>) -> Option<Vec<Vec<u8>>> {
        self.leaves()
            .map(|(i, l)| leaf::signed_message(ctx, l, LeafNodeOrigin::Tree(i)).ok())
            .collect()
    }

    /// Checks every parent's `unmerged_leaves` (§7.1, §12.4.3.1): strictly
    /// increasing, each a non-blank leaf below the parent, and listed by
    /// every non-blank node between the leaf and the parent.
    pub fn check_unmerged_leaves(&self) -> Result<(), TreeError> {
        // Sortedness first, so the second pass can binary-search any list.
        self.check_unmerged_sorted()?;
        for (p, parent) in self.parents() {
            for &leaf in &parent.unmerged_leaves {
                self.check_unmerged_leaf(p, leaf)?;
            }
        }
        Ok(())
    }

    /// Checks that every parent's `unmerged_leaves` are strictly increasing.
    pub(super) fn check_unmerged_sorted(&self) -> Result<(), TreeError> {
        for (p, parent) in self.parents() {
            if parent.unmerged_leaves.windows(2).any(|w| w[0] >= w[1]) {
                return Err(TreeError::UnmergedLeavesUnsorted { node: p.0 });
            }
        }
        Ok(())
    }

    /// Checks one entry `leaf` of the unmerged leaves of parent `p`.
    fn check_unmerged_leaf(&self, p: NodeIndex, leaf: u32) -> Result<(), TreeError> {
        let invalid = TreeError::InvalidUnmergedLeaf { node: p.0, leaf };
        if !leaf_range(p).contains(&u64::from(leaf)) || self.leaf(LeafIndex(leaf)).is_none() {
            return Err(invalid);
        }
        let x = LeafIndex(leaf).to_node().ok_or(invalid)?;
        let n = self.n_leaves();
        let mut y = tree_math::parent(x, n);
        while let Some(between) = y.filter(|&y| y != p) {
            if !self.is_blank(between) && self.unmerged_leaves(between).binary_search(&leaf).is_err() {
                return Err(TreeError::UnmergedLeafNotPropagated { node: between.0, leaf });
            }
            y = tree_math::parent(between, n);
        }
        Ok(())
    }

    /// Checks that no encryption key appears in two nodes and no signature
    /// key in two leaves (§7.3, §12.4.3.1). The error names the first node,
    /// in tree order, whose key an earlier node has (its encryption key
    /// checked before its signature key). Only nodes whose keys share a
    /// fingerprint in the index are compared.
    pub fn check_unique_keys(&self) -> Result<(), TreeError> {
        let (mut encryption, mut signature) = (None::<u32>, None::<u32>);
        for nodes in self.keys.shared_fingerprints() {
            let of = |key: fn(&Node) -> Option<&[u8]>| {
                first_repeat(nodes.iter().filter_map(|&x| Some((key(self.node(NodeIndex(x))?)?, x))))
            };
            let min = |a: Option<u32>, b: Option<u32>| a.into_iter().chain(b).min();
            encryption = min(encryption, of(|n| Some(n.encryption_key().as_slice())));
            signature = min(
                signature,
                of(|n| match n {
                    Node::Leaf(leaf) => Some(leaf.signature_key.as_slice()),
                    Node::Parent(_) => None,
                }),
            );
        }
        match (encryption, signature) {
            (Some(e), s) if s.is_none_or(|s| e <= s) => Err(TreeError::DuplicateEncryptionKey { node: e }),
            (_, Some(s)) => Err(TreeError::DuplicateSignatureKey { leaf: s / 2 }),
            _ => Ok(()),
        }
    }

    /// The credential types of the members (§7.3).
    fn credential_types(&self) -> BTreeSet<u32> {
        // Filled by `extend` (inserts), not `collect` (a sort), and of plain
        // integers (as the Commit checks' sets): less WebAssembly.
        let mut types = BTreeSet::new();
        types.extend(self.leaves().map(|(_, l)| u32::from(l.credential.credential_type().0)));
        types
    }

    /// Checks that every member supports every credential type in use (§7.3).
    pub fn check_credential_types(&self) -> Result<(), TreeError> {
        let in_use = self.credential_types();
        for (i, leaf) in self.leaves() {
            let mut types = in_use.iter().map(|&t| CredentialType(t as u16));
            if let Some(t) = types.find(|t| !leaf.capabilities.credentials.contains(t)) {
                let error = LeafNodeError::CredentialTypeNotSupportedByGroup { credential_type: t };
                return Err(TreeError::InvalidLeafNode { leaf: i.0, error });
            }
        }
        Ok(())
    }

    /// Checks a leaf node about to enter the tree against the members (§7.3):
    /// its encryption and signature keys are unused by every node other than
    /// the leaf it replaces (`replacing`, for Update and Commit), it supports
    /// every credential type in use and every member supports its type.
    /// Errors name the conflicting node or member. O(log n) per call, with
    /// the tree's key and credential indexes.
    pub fn check_new_leaf(&self, leaf_node: &LeafNode, replacing: Option<LeafIndex>) -> Result<(), TreeError> {
        // The first node in tree order with either key; a node with both
        // reports its encryption key.
        let skip = replacing.and_then(LeafIndex::to_node);
        let others = |found: Vec<NodeIndex>| found.into_iter().find(|x| Some(*x) != skip);
        let encryption = others(self.nodes_with_encryption_key(leaf_node.encryption_key.as_slice()));
        let signature = self.members_with_signature_key(leaf_node.signature_key.as_slice());
        let signature = others(signature.into_iter().filter_map(LeafIndex::to_node).collect());
        match (encryption, signature) {
            (Some(e), s) if s.is_none_or(|s| e <= s) => return Err(TreeError::DuplicateEncryptionKey { node: e.0 }),
            (_, Some(s)) => return Err(TreeError::DuplicateSignatureKey { leaf: s.0 / 2 }),
            _ => {}
        }
        let replaced = replacing.and_then(|r| self.leaf(r));
        if self.credentials.compatible(leaf_node, replaced) {
            return Ok(());
        }
        // Some member is incompatible: find the first, for the error.
        self.check_credential_compat(leaf_node, replacing)
    }

    /// The new leaf supports all types in use by others, and the others
    /// support its type: the first member for which this fails.
    fn check_credential_compat(&self, leaf_node: &LeafNode, replacing: Option<LeafIndex>) -> Result<(), TreeError> {
        let own = leaf_node.credential.credential_type();
        for (i, other) in self.leaves().filter(|(i, _)| Some(*i) != replacing) {
            let theirs = other.credential.credential_type();
            let (leaf, t) = if !leaf_node.capabilities.credentials.contains(&theirs) {
                (replacing.map_or(i.0, |r| r.0), theirs)
            } else if !other.capabilities.credentials.contains(&own) {
                (i.0, own)
            } else {
                continue;
            };
            let error = LeafNodeError::CredentialTypeNotSupportedByGroup { credential_type: t };
            return Err(TreeError::InvalidLeafNode { leaf, error });
        }
        Ok(())
    }

    /// Validates the leaf node of an Update proposal from `sender` (§7.3,
    /// §12.1.2): see [`Self::check_commit_leaf`], with source `update`.
    pub fn check_update_leaf(
        &self,
        ctx: &LeafValidationContext<'_>,
        sender: LeafIndex,
        leaf_node: &LeafNode,
    ) -> Result<(), TreeError> {
        self.check_replacement(ctx, sender, LeafNodeOrigin::Update(sender), leaf_node)
    }

    /// Validates the leaf node of the UpdatePath of a Commit from `sender`
    /// (§7.3, §7.5): the leaf node itself, a changed encryption key, the
    /// credential as a successor of the sender's current one, and against
    /// the other members. Its parent hash is checked by
    /// [`Self::apply_update_path`].
    pub fn check_commit_leaf(
        &self,
        ctx: &LeafValidationContext<'_>,
        sender: LeafIndex,
        leaf_node: &LeafNode,
    ) -> Result<(), TreeError> {
        self.check_replacement(ctx, sender, LeafNodeOrigin::Commit(sender), leaf_node)
    }

    /// Validates the leaf node an external joiner brings in its Commit's
    /// UpdatePath (§12.4.3.2), already placed at `slot`: the leaf itself
    /// (source `commit`) and against the other members.
    pub fn check_joiner_leaf(
        &self,
        ctx: &LeafValidationContext<'_>,
        slot: LeafIndex,
        leaf_node: &LeafNode,
    ) -> Result<(), TreeError> {
        leaf::validate_leaf_node(ctx, leaf_node, LeafNodeOrigin::Commit(slot))
            .map_err(|error| TreeError::InvalidLeafNode { leaf: slot.0, error })?;
        self.check_new_leaf(leaf_node, Some(slot))
    }

    /// The checks of a leaf node replacing the member's at `sender`.
    fn check_replacement(
        &self,
        ctx: &LeafValidationContext<'_>,
        sender: LeafIndex,
        origin: LeafNodeOrigin,
        leaf_node: &LeafNode,
    ) -> Result<(), TreeError> {
        let current = self.leaf(sender).ok_or(TreeError::BlankLeaf { leaf: sender.0 })?;
        let invalid = |error| TreeError::InvalidLeafNode { leaf: sender.0, error };
        leaf::validate_leaf_node(ctx, leaf_node, origin).map_err(invalid)?;
        if leaf_node.encryption_key == current.encryption_key {
            return Err(invalid(LeafNodeError::EncryptionKeyNotUpdated));
        }
        ctx.credential_validator
            .validate_successor(&current.credential, &leaf_node.credential)
            .map_err(|error| invalid(LeafNodeError::Credential { error }))?;
        self.check_new_leaf(leaf_node, Some(sender))
    }

    /// Validates the leaf node of a KeyPackage about to be added (§7.3,
    /// §12.1.1) on its own and against the members. The rest of KeyPackage
    /// validation (§10.1) is the caller's. Errors about the new leaf itself
    /// name the leaf it would get.
    pub fn check_added_leaf(&self, ctx: &LeafValidationContext<'_>, leaf_node: &LeafNode) -> Result<(), TreeError> {
        let slot = self
            .nodes
            .iter()
            .step_by(2)
            .position(Option::is_none)
            .unwrap_or(self.nodes.len().div_ceil(2));
        leaf::validate_leaf_node(ctx, leaf_node, LeafNodeOrigin::KeyPackage).map_err(|error| {
            TreeError::InvalidLeafNode {
                leaf: slot as u32,
                error,
            }
        })?;
        self.check_new_leaf(leaf_node, None)
    }
}

/// The first node of `keyed` (in ascending node order) whose key an
/// earlier one has. A set keeps this O(n log n) however many nodes an
/// attacker gives the same key (and is the byte-string set the PSK check
/// uses: one instantiation, less WebAssembly).
fn first_repeat<'a>(keyed: impl Iterator<Item = (&'a [u8], u32)>) -> Option<u32> {
    let mut seen = BTreeSet::new();
    keyed.into_iter().find(|(key, _)| !seen.insert(*key)).map(|(_, x)| x)
}

#[cfg(test)]
mod tests {
    use super::super::leaf::BasicCredentialValidator;
    use super::super::test_utils::{committed_tree, group_id, kp_leaf, parent, suite, update_leaf};
    use super::*;
    use crate::codec::VLBytes;
    use crate::messages::ParentNode;

    fn validate(tree: &mut RatchetTree, expected_tree_hash: Option<&[u8]>) -> Result<(), Error> {
        let gid = group_id();
        let leaf = LeafValidationContext {
            cs: suite(),
            group_id: &gid,
            required_capabilities: None,
            now: Some(1_700_000_000),
            max_lifetime: None,
            credential_validator: &BasicCredentialValidator,
        };
        tree.validate(&TreeValidationParams {
            leaf,
            expected_tree_hash,
        })
    }

    fn with_ctx<T>(f: impl FnOnce(&LeafValidationContext<'_>) -> T) -> T {
        let gid = group_id();
        f(&LeafValidationContext {
            cs: suite(),
            group_id: &gid,
            required_capabilities: None,
            now: None,
            max_lifetime: None,
            credential_validator: &BasicCredentialValidator,
        })
    }

    /// Replaces the parent node at `x` after editing a copy of it.
    fn edit_parent(tree: &mut RatchetTree, x: u32, f: impl FnOnce(&mut ParentNode)) {
        let mut node = tree.parent_node(NodeIndex(x)).unwrap().clone();
        f(&mut node);
        tree.set_parent(NodeIndex(x), node).unwrap();
    }

    #[test]
    fn a_tree_built_by_the_protocol_validates() {
        let mut tree = committed_tree();
        tree.add_leaf(kp_leaf(8)).unwrap();
        let hash = tree.tree_hash(suite()).unwrap();
        assert_eq!(validate(&mut tree, Some(&hash)), Ok(()));
        // And so does its wire form, as a joiner receives it.
        let mut received = RatchetTree::decode(&tree.encode().unwrap()).unwrap();
        assert_eq!(validate(&mut received, Some(&hash)), Ok(()));
        assert_eq!(
            validate(&mut received, Some(&[0; 32])),
            Err(Error::from(TreeError::TreeHashMismatch))
        );
    }

    #[test]
    fn unmerged_leaves_are_checked() {
        // Root 7 lists leaf 5, which node 11 (between them) also lists.
        let base = super::super::tests::tree_of(8, &[0, 1, 4, 5], &[(7, &[5]), (11, &[5])]);
        assert_eq!(base.check_unmerged_leaves(), Ok(()));
        let mut tree = base.clone();
        edit_parent(&mut tree, 11, |p| p.unmerged_leaves.clear());
        assert_eq!(
            tree.check_unmerged_leaves(),
            Err(TreeError::UnmergedLeafNotPropagated { node: 11, leaf: 5 })
        );
        let mut tree = base.clone();
        edit_parent(&mut tree, 7, |p| p.unmerged_leaves = vec![5, 4]);
        assert_eq!(
            tree.check_unmerged_leaves(),
            Err(TreeError::UnmergedLeavesUnsorted { node: 7 })
        );
        let mut tree = base.clone();
        edit_parent(&mut tree, 11, |p| p.unmerged_leaves = vec![1, 5]);
        assert_eq!(
            tree.check_unmerged_leaves(),
            Err(TreeError::InvalidUnmergedLeaf { node: 11, leaf: 1 })
        );
        let mut tree = base.clone();
        edit_parent(&mut tree, 11, |p| p.unmerged_leaves = vec![5, 6]);
        assert_eq!(
            tree.check_unmerged_leaves(),
            Err(TreeError::InvalidUnmergedLeaf { node: 11, leaf: 6 })
        );
        let mut tree = base;
        edit_parent(&mut tree, 7, |p| p.unmerged_leaves = vec![5, 900]);
        assert_eq!(
            tree.check_unmerged_leaves(),
            Err(TreeError::InvalidUnmergedLeaf { node: 7, leaf: 900 })
        );
    }

    #[test]
    fn keys_must_be_unique() {
        let mut tree = committed_tree();
        let leaf_key = tree.leaf(LeafIndex(1)).unwrap().encryption_key.clone();
        edit_parent(&mut tree, 11, |p| p.encryption_key = leaf_key);
        assert_eq!(
            tree.check_unique_keys(),
            Err(TreeError::DuplicateEncryptionKey { node: 11 })
        );
        assert_eq!(
            validate(&mut tree, None),
            Err(Error::from(TreeError::DuplicateEncryptionKey { node: 11 }))
        );

        let mut tree = super::super::tests::tree_of(4, &[0, 1], &[]);
        let mut twin = kp_leaf(0);
        twin.encryption_key = VLBytes::from(b"another key");
        tree.set_leaf(LeafIndex(3), twin.clone()).unwrap();
        assert_eq!(
            tree.check_unique_keys(),
            Err(TreeError::DuplicateSignatureKey { leaf: 3 })
        );
        tree.blank(NodeIndex(6)).unwrap();
        assert_eq!(
            tree.check_new_leaf(&twin, None),
            Err(TreeError::DuplicateSignatureKey { leaf: 0 })
        );
        assert_eq!(tree.check_new_leaf(&twin, Some(LeafIndex(0))), Ok(()));
        assert_eq!(
            tree.check_new_leaf(&kp_leaf(1), None),
            Err(TreeError::DuplicateEncryptionKey { node: 2 })
        );
    }

    /// `check_new_leaf` as a scan of every node (what the indexes replace).
    fn check_new_leaf_by_scan(
        tree: &RatchetTree,
        new: &LeafNode,
        replacing: Option<LeafIndex>,
    ) -> Result<(), TreeError> {
        let skip = replacing.and_then(LeafIndex::to_node);
        for x in (0..tree.node_width()).map(NodeIndex).filter(|x| Some(*x) != skip) {
            let Some(node) = tree.node(x) else { continue };
            if *node.encryption_key() == new.encryption_key {
                return Err(TreeError::DuplicateEncryptionKey { node: x.0 });
            }
            if matches!(node, Node::Leaf(l) if l.signature_key == new.signature_key) {
                return Err(TreeError::DuplicateSignatureKey { leaf: x.0 / 2 });
            }
        }
        tree.check_credential_compat(new, replacing)
    }

    #[test]
    fn indexed_checks_agree_with_a_scan_through_many_edits() {
        // Leaves with colliding keys and with various credential types.
        let mut pool: Vec<LeafNode> = (0..12).map(kp_leaf).collect();
        for s in 0..12 {
            let mut l = pool[s].clone();
            match s % 4 {
                0 => l.capabilities.credentials = vec![CredentialType::BASIC, CredentialType::X509],
                1 => {
                    l.credential = crate::messages::Credential::X509(Vec::new());
                    l.capabilities.credentials = vec![CredentialType::X509, CredentialType::BASIC];
                }
                2 => l.encryption_key = VLBytes::from(alloc::format!("other {s}").into_bytes()),
                _ => l.capabilities.credentials = vec![CredentialType::X509],
            }
            pool.push(l);
        }
        let mut tree = super::super::tests::tree_of(4, &[0, 1], &[(1, &[])]);
        let mut rng = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |n: usize| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            (rng % n as u64) as usize
        };
        // Enough edits for several merges of the key index.
        for round in 0..1500 {
            let leaf = pool[next(pool.len())].clone();
            let n = tree.n_leaves().max(1) as usize;
            match next(5) {
                0 | 1 => drop(tree.add_leaf(leaf)),
                2 => drop(tree.remove_leaf(LeafIndex(next(n) as u32))),
                3 => drop(tree.set_leaf(LeafIndex(next(n) as u32), leaf)),
                _ => {
                    let p = NodeIndex(2 * next(n) as u32 + 1);
                    let mut parent = parent(round, vec![]);
                    if next(2) == 0 {
                        parent.encryption_key = leaf.encryption_key.clone();
                    }
                    drop(tree.set_parent(p, parent));
                }
            }
            let probe = &pool[next(pool.len())];
            let replacing = [None, Some(LeafIndex(next(n + 1) as u32))][next(2)];
            assert_eq!(
                tree.check_new_leaf(probe, replacing),
                check_new_leaf_by_scan(&tree, probe, replacing),
                "round {round}"
            );
            assert_eq!(
                tree.check_unique_keys(),
                check_unique_keys_by_scan(&tree),
                "round {round}"
            );
        }
    }

    /// `check_unique_keys` as sets filled in tree order (what the index
    /// replaces): the first node whose key is already in a set.
    fn check_unique_keys_by_scan(tree: &RatchetTree) -> Result<(), TreeError> {
        let (mut encryption, mut signature) = (BTreeSet::new(), BTreeSet::new());
        for (i, node) in tree.nodes.iter().enumerate() {
            let Some(node) = node else { continue };
            if !encryption.insert(node.encryption_key().as_slice()) {
                return Err(TreeError::DuplicateEncryptionKey { node: i as u32 });
            }
            if let Node::Leaf(leaf) = &**node
                && !signature.insert(leaf.signature_key.as_slice())
            {
                return Err(TreeError::DuplicateSignatureKey { leaf: i as u32 / 2 });
            }
        }
        Ok(())
    }

    #[test]
    fn credential_types_must_be_supported_by_everyone() {
        let mut tree = super::super::tests::tree_of(4, &[0, 1], &[]);
        let mut picky = kp_leaf(2);
        picky.capabilities.credentials = vec![CredentialType::X509];
        let error = LeafNodeError::CredentialTypeNotSupportedByGroup {
            credential_type: CredentialType::BASIC,
        };
        assert_eq!(
            tree.check_new_leaf(&picky, None),
            Err(TreeError::InvalidLeafNode { leaf: 0, error })
        );
        tree.set_leaf(LeafIndex(2), picky).unwrap();
        assert_eq!(
            tree.check_credential_types(),
            Err(TreeError::InvalidLeafNode { leaf: 2, error })
        );
    }

    #[test]
    fn leaves_and_parent_hashes_are_validated() {
        // Without parent nodes no parent hash covers the leaves.
        let mut tree = super::super::tests::tree_of(4, &[0, 1, 2, 3], &[]);
        let mut forged = tree.leaf(LeafIndex(3)).unwrap().clone();
        forged.credential = crate::messages::Credential::Basic(VLBytes::from(b"mallory"));
        tree.set_leaf(LeafIndex(3), forged).unwrap();
        let error = LeafNodeError::InvalidSignature;
        assert_eq!(
            validate(&mut tree, None),
            Err(Error::from(TreeError::InvalidLeafNode { leaf: 3, error }))
        );
        // With them, the parent hash catches the change first.
        let mut tree = committed_tree();
        let mut forged = tree.leaf(LeafIndex(3)).unwrap().clone();
        forged.credential = crate::messages::Credential::Basic(VLBytes::from(b"mallory"));
        tree.set_leaf(LeafIndex(3), forged).unwrap();
        assert_eq!(
            validate(&mut tree, None),
            Err(Error::from(TreeError::ParentHashInvalid { node: 3 }))
        );

        let mut tree = committed_tree();
        tree.update_leaf(LeafIndex(2), update_leaf(2, 2, 9)).unwrap();
        tree.set_parent(NodeIndex(5), parent(55, vec![])).unwrap();
        assert_eq!(
            validate(&mut tree, None),
            Err(Error::from(TreeError::ParentHashInvalid { node: 5 }))
        );
    }

    /// Keys of small order (X25519's zero) are refused in parents, before
    /// the parent hashes, and in leaves, before the signatures.
    #[test]
    fn unusable_encryption_keys_are_refused() {
        let zero = VLBytes::from(vec![0; 32]);
        let mut tree = committed_tree();
        edit_parent(&mut tree, 3, |p| p.encryption_key = zero.clone());
        assert_eq!(
            validate(&mut tree, None),
            Err(Error::from(TreeError::InvalidEncryptionKey { node: 3 }))
        );
        let mut tree = super::super::tests::tree_of(4, &[0, 1, 2, 3], &[]);
        let mut leaf = tree.leaf(LeafIndex(2)).unwrap().clone();
        leaf.encryption_key = zero;
        tree.set_leaf(LeafIndex(2), leaf).unwrap();
        let error = LeafNodeError::InvalidEncryptionKey;
        assert_eq!(
            validate(&mut tree, None),
            Err(Error::from(TreeError::InvalidLeafNode { leaf: 2, error }))
        );
    }

    #[test]
    fn a_large_tree_reports_the_same_errors() {
        // 300 members: with the `parallel` feature the signatures are then
        // verified on other threads while the tree is hashed and checked.
        let members: Vec<u32> = (0..300).collect();
        let mut tree = super::super::tests::tree_of(512, &members, &[]);
        let hash = tree.tree_hash(suite()).unwrap();
        let mut received = RatchetTree::decode(&tree.encode().unwrap()).unwrap();
        assert_eq!(validate(&mut received, Some(&hash)), Ok(()));
        assert_eq!(received.tree_hash(suite()).unwrap(), hash);

        let mut forged = tree.leaf(LeafIndex(200)).unwrap().clone();
        forged.credential = crate::messages::Credential::Basic(VLBytes::from(b"mallory"));
        tree.set_leaf(LeafIndex(200), forged).unwrap();
        let forged_hash = tree.tree_hash(suite()).unwrap();
        let error = LeafNodeError::InvalidSignature;
        assert_eq!(
            validate(&mut tree.clone(), Some(&forged_hash)),
            Err(Error::from(TreeError::InvalidLeafNode { leaf: 200, error }))
        );
        // The tree hash is checked before the leaves.
        assert_eq!(
            validate(&mut tree, Some(&hash)),
            Err(Error::from(TreeError::TreeHashMismatch))
        );
    }

    #[test]
    fn replacement_leaves_are_checked() {
        let tree = committed_tree();
        with_ctx(|ctx| {
            assert_eq!(
                tree.check_update_leaf(ctx, LeafIndex(2), &update_leaf(2, 2, 77)),
                Ok(())
            );
            let stale = update_leaf(2, 2, 0);
            let mut same_key = stale.clone();
            same_key.encryption_key = tree.leaf(LeafIndex(2)).unwrap().encryption_key.clone();
            super::super::test_utils::sign(&mut same_key, 2, 2);
            let error = LeafNodeError::EncryptionKeyNotUpdated;
            let err = tree.check_update_leaf(ctx, LeafIndex(2), &same_key);
            assert_eq!(err, Err(TreeError::InvalidLeafNode { leaf: 2, error }));
            let err = tree.check_commit_leaf(ctx, LeafIndex(2), &stale);
            let error = LeafNodeError::WrongSource;
            assert_eq!(err, Err(TreeError::InvalidLeafNode { leaf: 2, error }));
            let blank = RatchetTree::with_creator(kp_leaf(0));
            let err = blank.check_update_leaf(ctx, LeafIndex(1), &stale);
            assert_eq!(err, Err(TreeError::BlankLeaf { leaf: 1 }));
            assert_eq!(tree.check_added_leaf(ctx, &kp_leaf(20)), Ok(()));
            let err = tree.check_added_leaf(ctx, &kp_leaf(4));
            assert_eq!(err, Err(TreeError::DuplicateEncryptionKey { node: 8 }));
        });
    }
}
