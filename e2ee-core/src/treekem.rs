//! TreeKEM (RFC 9420 §7.4–§7.6): the path secrets of a committer's filtered
//! direct path, creating an UpdatePath, and processing a received one.
//!
//! A member's private view of the tree is a [`TreeKemPrivate`]: its leaf's
//! HPKE private key and the private keys of the parent nodes above it that it
//! knows (§4.2, tree invariant). All of them are [`Secret`]s, zeroized when
//! dropped.
//!
//! * A committer calls [`create_update_path`] on the tree with the Commit's
//!   proposals applied; it gets the [`UpdatePath`] to send, its new private
//!   state, the `commit_secret` and the path secrets for the Welcome.
//! * A receiver calls [`process_update_path`] on the same tree; it gets the
//!   same `commit_secret`, and its private state is updated.
//!
//! Both touch only the committer's leaf and direct path, so they cost
//! O(log n) hashes and key derivations plus one HPKE operation per node of
//! the copath resolutions (the size of the UpdatePath). Both leave the tree
//! unchanged when they fail.
//!
//! The checks of the new leaf node (§7.3: signature, capabilities, fresh
//! encryption key, ...) are the caller's, with
//! [`RatchetTree::check_commit_leaf`], and so is the O(n) check that no key of
//! the UpdatePath is already in the tree ([`check_update_path_keys`],
//! §12.4.2).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use crate::codec::{self, Decode, Encode, Size};
use crate::crypto::Labelled;
use crate::crypto::{self, CipherSuiteProvider, CryptoError, HpkeCiphertext, KeyPair, Rng, Secret};
use crate::error::{Error, UsageError};
use crate::messages::{GroupContext, LeafNode, LeafNodeSource, ParentNode, UpdatePath, UpdatePathNode};
use crate::ratchet_tree::{RatchetTree, TreeError};
use crate::tree_math::{self, LeafIndex, NodeIndex};

/// The EncryptWithLabel label of path secrets (§7.6).
const UPDATE_PATH_NODE_LABEL: &[u8] = b"UpdatePathNode";

crate::error::error_enum! {
    /// Why an UpdatePath could not be created or processed.
    #[derive(Clone, Debug, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum TreeKemError {
        /// The UpdatePath's leaf node does not have `leaf_node_source = commit`
        /// (§12.4.2).
        NotCommitSource => "treekem_not_commit_source", "the update path's leaf node source is not commit";
        /// This member's leaf is not below any node of the sender's filtered
        /// direct path.
        NotInPath => "treekem_not_in_path", "this member is not below the sender's filtered direct path";
        /// An UpdatePathNode does not have one ciphertext per node of the
        /// resolution of its copath child (§7.6).
        CiphertextCount {
            /// The filtered-direct-path node the UpdatePathNode is for.
            node: u32,
            /// The size of the copath child's resolution (without added leaves).
            expected: usize,
            /// The number of ciphertexts received.
            got: usize,
        } => "treekem_ciphertext_count", "node {node}: {got} encrypted path secrets for a resolution of {expected}";
        /// This member holds the private key of no node in the resolution it is
        /// under (its state is out of sync with the tree).
        NoPrivateKey {
            /// The copath node whose resolution was searched.
            node: u32,
        } => "treekem_no_private_key", "no private key for the resolution of node {node}";
        /// The path secret for this node did not decrypt: a tampered ciphertext,
        /// a wrong GroupContext, or a stale private key.
        DecryptionFailed {
            /// The filtered-direct-path node whose path secret failed.
            node: u32,
        } => "treekem_decryption_failed", "the path secret of node {node} did not decrypt";
        /// A decrypted path secret does not have the hash length `Nh`.
        InvalidPathSecret {
            /// The filtered-direct-path node whose path secret it is.
            node: u32,
        } => "treekem_invalid_path_secret", "the path secret of node {node} has the wrong length";
        /// The public key derived from a path secret is not the one the
        /// UpdatePath (or the tree) holds for the node (§7.5).
        PublicKeyMismatch {
            /// The node whose key differs.
            node: u32,
        } => "treekem_public_key_mismatch", "the derived public key of node {node} does not match";
        /// A path secret was given for a node that is not a parent on this
        /// member's direct path, or that is blank.
        NotOnOwnPath {
            /// The offending node.
            node: u32,
        } => "treekem_not_on_own_path", "node {node} is not a non-blank parent on this member's path";
    }
}

/// `path_secret[n+1] = DeriveSecret(path_secret[n], "path")` (§7.4). After
/// the last node of a path this is the `commit_secret` (§12.4.1).
pub fn next_path_secret(cs: &dyn CipherSuiteProvider, path_secret: &[u8]) -> Result<Secret, CryptoError> {
    cs.derive_secret(path_secret, b"path")
}

/// The key pair of the node a path secret is for:
/// `DeriveKeyPair(DeriveSecret(path_secret, "node"))` (§7.4).
pub fn node_key_pair(cs: &dyn CipherSuiteProvider, path_secret: &[u8]) -> Result<KeyPair, CryptoError> {
    let node_secret = cs.derive_secret(path_secret, b"node")?;
    cs.kem_derive_key_pair(node_secret.as_bytes())
}

/// A chain of `n` path secrets starting with `first`, and the secret
/// derived from the last one (the `commit_secret` for a whole path).
struct PathSecrets {
    secrets: Vec<Secret>,
    next: Secret,
}

impl PathSecrets {
    fn derive(cs: &dyn CipherSuiteProvider, first: Secret, n: usize) -> Result<Self, CryptoError> {
        let mut secrets = Vec::with_capacity(n);
        let mut current = first;
        for _ in 0..n {
            let next = next_path_secret(cs, current.as_bytes())?;
            secrets.push(core::mem::replace(&mut current, next));
        }
        Ok(Self { secrets, next: current })
    }
}

/// A member's private keys for the ratchet tree (§4.2): its leaf's HPKE
/// private key and those of the parent nodes on its direct path it knows.
/// Every key is zeroized when dropped.
#[derive(Clone, Debug)]
pub struct TreeKemPrivate {
    own_leaf: LeafIndex,
    leaf_key: Secret,
    /// Private keys of parent nodes on the direct path of `own_leaf`.
    path_keys: BTreeMap<NodeIndex, Secret>,
}

impl TreeKemPrivate {
    /// The state of the member at `own_leaf` that knows only its leaf's
    /// private key (a new member, or one whose path was blanked).
    pub fn new(own_leaf: LeafIndex, leaf_key: Secret) -> Self {
        Self {
            own_leaf,
            leaf_key,
            path_keys: BTreeMap::new(),
        }
    }

    /// The member's leaf.
    pub fn own_leaf(&self) -> LeafIndex {
        self.own_leaf
    }

    /// The HPKE private key of the member's leaf.
    pub fn leaf_key(&self) -> &Secret {
        &self.leaf_key
    }

    /// The private key of node `x` if the member knows it: the leaf key for
    /// its own leaf, a path key for a parent node.
    pub fn private_key(&self, x: NodeIndex) -> Option<&Secret> {
        if Some(x) == self.own_leaf.to_node() {
            Some(&self.leaf_key)
        } else {
            self.path_keys.get(&x)
        }
    }

    /// The parent nodes whose private keys the member knows, bottom up.
    pub fn path_nodes(&self) -> impl Iterator<Item = NodeIndex> + '_ {
        self.path_keys.keys().copied()
    }

    /// Stores the key pair derived from `path_secret` as the private key of
    /// the parent node `x` on the member's direct path (§7.4), and returns
    /// the public key, for the caller to compare with the tree's.
    pub fn set_path_secret(
        &mut self,
        cs: &dyn CipherSuiteProvider,
        x: NodeIndex,
        path_secret: &[u8],
    ) -> Result<Vec<u8>, Error> {
        if !self.is_above_own_leaf(x) {
            return Err(TreeKemError::NotOnOwnPath { node: x.0 }.into());
        }
        let pair = node_key_pair(cs, path_secret)?;
        self.path_keys.insert(x, pair.private);
        Ok(pair.public)
    }

    /// Takes the path secret of node `start` (the lowest common ancestor
    /// with the committer, from a Welcome) and derives the private keys of it
    /// and of every non-blank node above it (§12.4.3.1). Blank nodes are
    /// skipped: after a Commit they are exactly the ones missing from the
    /// committer's filtered direct path. Each derived public key must be
    /// the tree's; on error nothing is stored.
    pub fn set_path_from(
        &mut self,
        cs: &dyn CipherSuiteProvider,
        tree: &RatchetTree,
        start: NodeIndex,
        path_secret: &[u8],
    ) -> Result<(), Error> {
        if !self.is_above_own_leaf(start) || tree.is_blank(start) {
            return Err(TreeKemError::NotOnOwnPath { node: start.0 }.into());
        }
        let mut nodes = tree.direct_path(start)?;
        nodes.insert(0, start);
        nodes.retain(|&x| !tree.is_blank(x));
        let chain = PathSecrets::derive(cs, Secret::from_slice(path_secret), nodes.len())?;
        let mut keys = Vec::with_capacity(nodes.len());
        for (&x, secret) in nodes.iter().zip(&chain.secrets) {
            let pair = node_key_pair(cs, secret.as_bytes())?;
            let in_tree = tree.node(x).map(|n| n.encryption_key().as_slice());
            if in_tree != Some(pair.public.as_slice()) {
                return Err(TreeKemError::PublicKeyMismatch { node: x.0 }.into());
            }
            keys.push((x, pair.private));
        }
        self.path_keys.extend(keys);
        Ok(())
    }

    /// Forgets the keys of nodes that are blank or gone from `tree` (after
    /// an Update or Remove blanked a path, §12.1.2, §12.1.3, or a truncation).
    pub fn forget_blank(&mut self, tree: &RatchetTree) {
        self.path_keys.retain(|&x, _| !tree.is_blank(x));
    }

    /// Whether `x` is a parent node on the direct path of the member's leaf.
    fn is_above_own_leaf(&self, x: NodeIndex) -> bool {
        let Some(own) = self.own_leaf.to_node() else {
            return false;
        };
        !x.is_leaf() && tree_math::common_ancestor(x, own) == x
    }

    /// Replaces the keys of the nodes in `old_path` (a committer's direct
    /// path, now blanked or rekeyed) with `keys`.
    fn replace_path_keys(&mut self, old_path: &[NodeIndex], keys: Vec<(NodeIndex, Secret)>) {
        for x in old_path {
            self.path_keys.remove(x);
        }
        self.path_keys.extend(keys);
    }
}

/// The stored form of a [`TreeKemPrivate`] (see `group/state.rs`).
#[derive(Size, Encode, Decode)]
pub(crate) struct TreeKemPrivateState {
    own_leaf: u32,
    leaf_key: Secret,
    path_keys: Vec<NodeKeyState>,
}

#[derive(Size, Encode, Decode)]
struct NodeKeyState {
    node: u32,
    key: Secret,
}

impl TreeKemPrivate {
    /// The keys, to store.
    pub(crate) fn to_state(&self) -> TreeKemPrivateState {
        TreeKemPrivateState {
            own_leaf: self.own_leaf.0,
            leaf_key: self.leaf_key.clone(),
            path_keys: self
                .path_keys
                .iter()
                .map(|(x, key)| NodeKeyState {
                    node: x.0,
                    key: key.clone(),
                })
                .collect(),
        }
    }

    /// The keys stored by [`Self::to_state`], or `None` if a path key is not
    /// for a parent above the leaf or the keys are out of order. Whether
    /// they match the tree is the caller's check.
    pub(crate) fn from_state(state: TreeKemPrivateState) -> Option<Self> {
        let path_keys = codec::strictly_sorted_map(state.path_keys.into_iter().map(|k| (NodeIndex(k.node), k.key)))?;
        let private = Self {
            own_leaf: LeafIndex(state.own_leaf),
            leaf_key: state.leaf_key,
            path_keys,
        };
        let on_path = private.path_nodes().all(|x| private.is_above_own_leaf(x));
        on_path.then_some(private)
    }
}

/// What a committer supplies for [`create_update_path`].
#[derive(Clone, Debug)]
pub struct UpdatePathParams<'a> {
    /// The committer's leaf (for an external Commit, the blank leaf it is
    /// assigned, §12.4.1).
    pub sender: LeafIndex,
    /// The committer's new leaf node: credential, signature key,
    /// capabilities and extensions are kept; `encryption_key`,
    /// `leaf_node_source` and `signature` are replaced (§7.5).
    pub leaf_node: LeafNode,
    /// The private key matching `leaf_node.signature_key`.
    pub signature_private_key: &'a [u8],
    /// The leaves added by the same Commit, which receive the path secret in
    /// the Welcome instead (§7.5, §7.6).
    pub added_leaves: &'a [LeafIndex],
}

/// The result of [`create_update_path`].
#[derive(Clone, Debug)]
pub struct CreatedUpdatePath {
    /// The UpdatePath for the Commit's `path` field.
    pub update_path: UpdatePath,
    /// The committer's new private state (replaces the old one).
    pub private: TreeKemPrivate,
    /// The `commit_secret` of the key schedule (§8).
    pub commit_secret: Secret,
    /// The path secret of each node of the filtered direct path, bottom up.
    pub path_secrets: Vec<(NodeIndex, Secret)>,
}

impl CreatedUpdatePath {
    /// The path secret a member added at `new_leaf` gets in its Welcome: the
    /// one of the lowest common ancestor with the committer (§12.4.1).
    pub fn path_secret_for(&self, new_leaf: LeafIndex) -> Option<&Secret> {
        let lca = tree_math::common_ancestor(new_leaf.to_node()?, self.private.own_leaf.to_node()?);
        self.path_secrets.iter().find(|(x, _)| *x == lca).map(|(_, s)| s)
    }
}

/// Creates the committer's UpdatePath (§7.5) in `tree`, which must already
/// have the Commit's proposals applied: rekeys the committer's filtered
/// direct path with fresh path secrets, sets the parent hashes, signs the new
/// leaf node (source `commit`), sets `group_context.tree_hash` to the new
/// tree hash and encrypts each path secret to the copath resolution, without
/// the added leaves, under that (provisional, §12.4.1) GroupContext.
///
/// On error `tree` and `group_context` are unchanged.
pub fn create_update_path(
    cs: &dyn CipherSuiteProvider,
    tree: &mut RatchetTree,
    params: UpdatePathParams<'_>,
    group_context: &mut GroupContext,
    rng: &mut Rng<'_>,
) -> Result<CreatedUpdatePath, Error> {
    let snapshot = PathSnapshot::take(tree, params.sender)?;
    let old_hash = group_context.tree_hash.clone();
    let created = create_in_place(cs, tree, params, group_context, rng);
    if created.is_err() {
        snapshot.restore(tree)?;
        group_context.tree_hash = old_hash;
    }
    created
}

/// The steps of [`create_update_path`], which restores the tree on error.
fn create_in_place(
    cs: &dyn CipherSuiteProvider,
    tree: &mut RatchetTree,
    params: UpdatePathParams<'_>,
    group_context: &mut GroupContext,
    rng: &mut Rng<'_>,
) -> Result<CreatedUpdatePath, Error> {
    let x = tree.leaf_node_index(params.sender)?;
    // §7.5 step 1; the filtered direct path depends only on the copath, so
    // blanking first does not change it.
    tree.blank_direct_path(x)?;
    let path = tree.filtered_direct_path(params.sender)?;
    let leaf_pair = cs.kem_key_generate(rng)?;
    let chain = PathSecrets::derive(cs, cs.random_secret(rng), path.len())?;
    let pairs = chain
        .secrets
        .iter()
        .map(|s| node_key_pair(cs, s.as_bytes()))
        .collect::<Result<Vec<_>, _>>()?;
    let leaf_parent_hash = set_path_nodes(cs, tree, params.sender, &path, &pairs)?;
    let leaf_node = sign_leaf_node(cs, &params, &group_context.group_id, leaf_pair.public, leaf_parent_hash)?;
    tree.set_leaf(params.sender, leaf_node.clone())?;
    group_context.tree_hash = tree.tree_hash(cs)?.into();
    let context = codec::encode(&*group_context)?;
    let recipients = Recipients {
        tree,
        sender: x,
        added_leaves: params.added_leaves,
        context: &context,
    };
    let mut nodes = Vec::with_capacity(path.len());
    for ((&p, secret), pair) in path.iter().zip(&chain.secrets).zip(&pairs) {
        nodes.push(UpdatePathNode {
            encryption_key: pair.public.clone().into(),
            encrypted_path_secret: recipients.encrypt(cs, p, secret, rng)?,
        });
    }
    // Filled by `extend` (inserts), not `collect` (a sort): less wasm code.
    let mut path_keys = BTreeMap::new();
    path_keys.extend(path.iter().copied().zip(pairs.into_iter().map(|p| p.private)));
    Ok(CreatedUpdatePath {
        update_path: UpdatePath { leaf_node, nodes },
        private: TreeKemPrivate {
            own_leaf: params.sender,
            leaf_key: leaf_pair.private,
            path_keys,
        },
        commit_secret: chain.next,
        path_secrets: path.into_iter().zip(chain.secrets).collect(),
    })
}

/// Puts the new public keys into the filtered direct path `path` of
/// `sender` with their parent hashes and no unmerged leaves (§7.5 steps 2–3);
/// returns the parent hash for the leaf node.
fn set_path_nodes(
    cs: &dyn CipherSuiteProvider,
    tree: &mut RatchetTree,
    sender: LeafIndex,
    path: &[NodeIndex],
    pairs: &[KeyPair],
) -> Result<Vec<u8>, Error> {
    let keys: Vec<&[u8]> = pairs.iter().map(|p| p.public.as_slice()).collect();
    // Parent hashes cover the copath subtrees only, which the path does not
    // touch, so they can be computed before the keys are set.
    let hashes = tree.path_parent_hashes(cs, sender, &keys)?;
    for ((&p, pair), parent_hash) in path.iter().zip(pairs).zip(hashes.nodes) {
        let node = ParentNode {
            encryption_key: pair.public.clone().into(),
            parent_hash: parent_hash.into(),
            unmerged_leaves: Vec::new(),
        };
        tree.set_parent(p, node)?;
    }
    Ok(hashes.leaf)
}

/// The committer's new leaf node (§7.5 step 4): the template with the new
/// encryption key and parent hash, signed over LeafNodeTBS with the group id
/// and leaf index (§7.2).
fn sign_leaf_node(
    cs: &dyn CipherSuiteProvider,
    params: &UpdatePathParams<'_>,
    group_id: &codec::VLBytes,
    encryption_key: Vec<u8>,
    parent_hash: Vec<u8>,
) -> Result<LeafNode, Error> {
    let mut leaf = params.leaf_node.clone();
    leaf.encryption_key = encryption_key.into();
    leaf.leaf_node_source = LeafNodeSource::Commit(parent_hash.into());
    crate::key_package::sign_leaf_node(
        cs,
        &mut leaf,
        params.signature_private_key,
        Some((group_id, params.sender.0)),
    )?;
    Ok(leaf)
}

/// Who a committer's path secrets are encrypted to, and under what context.
struct Recipients<'a> {
    tree: &'a RatchetTree,
    /// The committer's leaf node.
    sender: NodeIndex,
    added_leaves: &'a [LeafIndex],
    /// The encoded provisional GroupContext.
    context: &'a [u8],
}

impl Recipients<'_> {
    /// Encrypts the path secret of `p` to each node of the resolution of its
    /// copath child, in resolution order (§7.6).
    fn encrypt(
        &self,
        cs: &dyn CipherSuiteProvider,
        p: NodeIndex,
        path_secret: &Secret,
        rng: &mut Rng<'_>,
    ) -> Result<Vec<HpkeCiphertext>, Error> {
        let child = copath_child(p, self.sender)?;
        let resolution = self.tree.resolution_excluding(child, self.added_leaves)?;
        let keys = resolution
            .into_iter()
            // The resolution holds only non-blank nodes.
            .map(|y| {
                let node = self.tree.node(y).ok_or(TreeError::NodeOutOfRange { node: y.0 })?;
                Ok(node.encryption_key().as_slice())
            })
            .collect::<Result<Vec<&[u8]>, TreeError>>()?;
        let sealer = PathSecretSealer {
            cs,
            context: self.context,
            path_secret,
        };
        Ok(sealer.seal_to_all(&keys, rng)?)
    }
}

/// Encrypts one path secret to many keys (EncryptWithLabel, "UpdatePathNode").
struct PathSecretSealer<'a> {
    cs: &'a dyn CipherSuiteProvider,
    /// The encoded provisional GroupContext.
    context: &'a [u8],
    path_secret: &'a Secret,
}

impl PathSecretSealer<'_> {
    /// Encrypts `path_secret` to each of `keys`, in order. With the `parallel`
    /// feature, one share of the keys per available core, each on its own
    /// thread: a Commit in a tree with many blank parents encrypts to
    /// thousands of keys, and every encryption costs two X25519 scalar
    /// multiplications. Each thread then draws from its own generator, seeded
    /// from `rng`.
    fn seal_to_all(&self, keys: &[&[u8]], rng: &mut Rng<'_>) -> Result<Vec<HpkeCiphertext>, CryptoError> {
        // Below this per thread, starting threads costs more than it saves.
        const MIN_PER_THREAD: usize = 32;
        // EncryptWithLabel, "UpdatePathNode": one EncryptContext for all the
        // keys, so each HPKE call below hashes it once for its share.
        let info = crypto::encrypt_context(UPDATE_PATH_NODE_LABEL, self.context)?;
        let secret = self.path_secret.as_bytes();
        e2ee_provider::parallel::run_with_rngs(keys, MIN_PER_THREAD, rng, |share, rng| {
            let recipients: Vec<(&[u8], &[u8])> = share.iter().map(|key| (*key, secret)).collect();
            crypto::hpke_seal_all(self.cs, &recipients, &info, rng)
        })
    }
}

/// The result of [`process_update_path`].
#[derive(Clone, Debug)]
pub struct ProcessedUpdatePath {
    /// The `commit_secret` of the key schedule (§8).
    pub commit_secret: Secret,
    /// The node whose path secret this member decrypted: its lowest common
    /// ancestor with the committer.
    pub path_secret_node: NodeIndex,
    /// That node's path secret.
    pub path_secret: Secret,
}

/// Processes the UpdatePath of a Commit from `sender` (§7.5, §12.4.2) in
/// `tree`, which must already have the Commit's proposals applied: checks
/// the path's shape, merges it (parent hashes, the sender's new leaf, whose
/// parent hash is verified), sets `group_context.tree_hash` to the new tree
/// hash, decrypts this member's path secret under that (provisional)
/// GroupContext, derives the keys above it, checks them against the path and
/// stores them in `private`. `added_leaves` are the leaves added by the same
/// Commit.
///
/// The new leaf node must have been validated by the caller
/// ([`RatchetTree::check_commit_leaf`], [`check_update_path_keys`]). On
/// error `tree`, `private` and `group_context` are unchanged.
pub fn process_update_path(
    cs: &dyn CipherSuiteProvider,
    tree: &mut RatchetTree,
    private: &mut TreeKemPrivate,
    sender: LeafIndex,
    path: &UpdatePath,
    group_context: &mut GroupContext,
    added_leaves: &[LeafIndex],
) -> Result<ProcessedUpdatePath, Error> {
    let plan = DecryptionPlan::new(tree, private, sender, path, added_leaves)?;
    let snapshot = PathSnapshot::take(tree, sender)?;
    let old_hash = group_context.tree_hash.clone();
    match merge_and_decrypt(cs, tree, private, path, group_context, &plan) {
        Ok((processed, keys)) => {
            let old_path = snapshot.parents.iter().map(|(x, _)| *x).collect::<Vec<_>>();
            private.replace_path_keys(&old_path, keys);
            Ok(processed)
        }
        Err(e) => {
            snapshot.restore(tree)?;
            group_context.tree_hash = old_hash;
            Err(e)
        }
    }
}

/// Where a receiver finds its path secret in an UpdatePath, worked out (and
/// the path's shape checked) before the tree is changed.
struct DecryptionPlan {
    sender: LeafIndex,
    /// The sender's filtered direct path.
    path: Vec<NodeIndex>,
    /// The position in `path` of the receiver's common ancestor with the sender.
    index: usize,
    /// The resolution node whose private key the receiver holds.
    key_node: NodeIndex,
    /// The position of that node's ciphertext.
    ciphertext: usize,
}

impl DecryptionPlan {
    fn new(
        tree: &RatchetTree,
        private: &TreeKemPrivate,
        sender: LeafIndex,
        update: &UpdatePath,
        added_leaves: &[LeafIndex],
    ) -> Result<Self, Error> {
        if sender == private.own_leaf {
            return Err(UsageError::OwnCommit.into());
        }
        if !matches!(update.leaf_node.leaf_node_source, LeafNodeSource::Commit(_)) {
            return Err(TreeKemError::NotCommitSource.into());
        }
        let x = tree.leaf_node_index(sender)?;
        let path = update_path_nodes(tree, sender, update)?;
        let own = private.own_leaf.to_node().ok_or(TreeKemError::NotInPath)?;
        // Our path meets the sender's at the common ancestor; only that
        // node's copath child has us below it.
        let lca = tree_math::common_ancestor(own, x);
        let index = path.iter().position(|&p| p == lca).ok_or(TreeKemError::NotInPath)?;
        let mut found = None;
        for (i, (&p, node)) in path.iter().zip(&update.nodes).enumerate() {
            let child = copath_child(p, x)?;
            let resolution = tree.resolution_excluding(child, added_leaves)?;
            let got = node.encrypted_path_secret.len();
            if got != resolution.len() {
                return Err(TreeKemError::CiphertextCount {
                    node: p.0,
                    expected: resolution.len(),
                    got,
                }
                .into());
            }
            if i == index {
                let at = resolution.iter().position(|&y| private.private_key(y).is_some());
                let at = at.ok_or(TreeKemError::NoPrivateKey { node: child.0 })?;
                found = Some((resolution[at], at));
            }
        }
        let (key_node, ciphertext) = found.ok_or(TreeKemError::NotInPath)?;
        Ok(Self {
            sender,
            path,
            index,
            key_node,
            ciphertext,
        })
    }
}

/// The steps of [`process_update_path`] that change the tree (restored by
/// the caller on error): merge, decrypt, derive and check. Returns the
/// result and the new private keys.
fn merge_and_decrypt(
    cs: &dyn CipherSuiteProvider,
    tree: &mut RatchetTree,
    private: &TreeKemPrivate,
    update: &UpdatePath,
    group_context: &mut GroupContext,
    plan: &DecryptionPlan,
) -> Result<(ProcessedUpdatePath, Vec<(NodeIndex, Secret)>), Error> {
    // Checks the leaf's parent hash before changing anything.
    tree.apply_update_path(cs, plan.sender, update)?;
    group_context.tree_hash = tree.tree_hash(cs)?.into();
    let context = codec::encode(&*group_context)?;
    let node = plan.path[plan.index];
    let key = private
        .private_key(plan.key_node)
        .ok_or(TreeKemError::NoPrivateKey { node: plan.key_node.0 })?;
    let ciphertext = &update.nodes[plan.index].encrypted_path_secret[plan.ciphertext];
    let plaintext = cs.decrypt_with_label(key.as_bytes(), UPDATE_PATH_NODE_LABEL, &context, ciphertext);
    let path_secret = Secret::new(plaintext.map_err(|_| TreeKemError::DecryptionFailed { node: node.0 })?);
    if path_secret.len() != cs.hash_len() {
        return Err(TreeKemError::InvalidPathSecret { node: node.0 }.into());
    }
    let chain = PathSecrets::derive(cs, path_secret, plan.path.len() - plan.index)?;
    let mut keys = Vec::with_capacity(chain.secrets.len());
    for ((&p, sent), secret) in plan.path[plan.index..]
        .iter()
        .zip(&update.nodes[plan.index..])
        .zip(&chain.secrets)
    {
        let pair = node_key_pair(cs, secret.as_bytes())?;
        if pair.public.as_slice() != sent.encryption_key.as_slice() {
            return Err(TreeKemError::PublicKeyMismatch { node: p.0 }.into());
        }
        keys.push((p, pair.private));
    }
    let processed = ProcessedUpdatePath {
        commit_secret: chain.next,
        path_secret_node: node,
        path_secret: chain.secrets.into_iter().next().ok_or(TreeKemError::NotInPath)?,
    };
    Ok((processed, keys))
}

/// The nodes of `sender`'s filtered direct path, one per node of `update`.
fn update_path_nodes(tree: &RatchetTree, sender: LeafIndex, update: &UpdatePath) -> Result<Vec<NodeIndex>, TreeError> {
    let path = tree.filtered_direct_path(sender)?;
    if path.len() != update.nodes.len() {
        return Err(TreeError::UpdatePathLength {
            expected: path.len(),
            got: update.nodes.len(),
        });
    }
    Ok(path)
}

/// Checks that every parent key of `update` is one HPKE can encrypt to
/// ([`CipherSuiteProvider::kem_public_key_check`]; the leaf's is checked
/// with the leaf node) and that no public key of `update` (leaf or path) is
/// already in the tree, other than at the sender's leaf, which it replaces
/// (§12.4.2). Run it on the tree before the path is merged. The error names
/// the first unusable key, else the first conflicting leaf, else the first
/// conflicting parent. O(log n) per key, with the tree's key index.
pub fn check_update_path_keys(
    cs: &dyn CipherSuiteProvider,
    tree: &RatchetTree,
    sender: LeafIndex,
    update: &UpdatePath,
) -> Result<(), Error> {
    for (x, node) in update_path_nodes(tree, sender, update)?.into_iter().zip(&update.nodes) {
        cs.kem_public_key_check(node.encryption_key.as_slice())
            .map_err(|_| TreeError::InvalidEncryptionKey { node: x.0 })?;
    }
    let keys = update.nodes.iter().map(|n| &n.encryption_key);
    let keys = keys.chain(core::iter::once(&update.leaf_node.encryption_key));
    let own = sender.to_node();
    let conflicts = keys.flat_map(|key| tree.nodes_with_encryption_key(key.as_slice()));
    // Leaves first (a leaf's index is even), then by position.
    let first = conflicts.filter(|x| Some(*x) != own).min_by_key(|x| (!x.is_leaf(), *x));
    match first {
        Some(x) => Err(TreeError::DuplicateEncryptionKey { node: x.0 }.into()),
        None => Ok(()),
    }
}

/// The child of `p` off the path down to `x`, as an error if `p` is a leaf.
fn copath_child(p: NodeIndex, x: NodeIndex) -> Result<NodeIndex, TreeError> {
    RatchetTree::copath_child(p, x).ok_or(TreeError::NodeOutOfRange { node: p.0 })
}

/// A copy of a leaf and its direct path, so a failed operation can put the
/// tree back without cloning the whole tree.
struct PathSnapshot {
    sender: LeafIndex,
    leaf: Option<LeafNode>,
    /// The direct path, bottom up, with the parent nodes it held.
    parents: Vec<(NodeIndex, Option<ParentNode>)>,
}

impl PathSnapshot {
    fn take(tree: &RatchetTree, sender: LeafIndex) -> Result<Self, TreeError> {
        let x = tree.leaf_node_index(sender)?;
        let parents = tree
            .direct_path(x)?
            .into_iter()
            .map(|p| (p, tree.parent_node(p).cloned()))
            .collect();
        Ok(Self {
            sender,
            leaf: tree.leaf(sender).cloned(),
            parents,
        })
    }

    fn restore(self, tree: &mut RatchetTree) -> Result<(), TreeError> {
        match self.leaf {
            Some(leaf) => tree.set_leaf(self.sender, leaf)?,
            None => tree.blank(tree.leaf_node_index(self.sender)?)?,
        }
        for (p, node) in self.parents {
            match node {
                Some(parent) => tree.set_parent(p, parent)?,
                None => tree.blank(p)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::messages::LeafNodeTbs;

    const LEAF_NODE_TBS_LABEL: &[u8] = b"LeafNodeTBS";
    use super::*;
    use crate::codec::VLBytes;
    use crate::crypto::{CipherSuite, CryptoProvider, RustCryptoProvider, os_rng};
    use crate::messages::{Capabilities, Credential, CredentialType, Lifetime, ProtocolVersion};

    fn suite() -> &'static dyn CipherSuiteProvider {
        RustCryptoProvider.cipher_suite(CipherSuite(1)).unwrap()
    }

    fn context() -> GroupContext {
        GroupContext {
            version: ProtocolVersion::MLS10,
            cipher_suite: CipherSuite(1),
            group_id: VLBytes::from(b"treekem test"),
            epoch: 7,
            tree_hash: VLBytes::default(),
            confirmed_transcript_hash: VLBytes::from(b"cth"),
            extensions: Vec::new(),
        }
    }

    /// One member's view: its signature key, private keys and tree.
    #[derive(Clone)]
    struct Member {
        signature_key: Vec<u8>,
        private: TreeKemPrivate,
        tree: RatchetTree,
    }

    /// A fresh key-package leaf node with its signature and encryption keys.
    /// Its signature is left empty: TreeKEM does not check it.
    fn new_leaf(name: &str) -> (LeafNode, Vec<u8>, Secret) {
        let cs = suite();
        let signature = cs.signature_key_generate(&mut os_rng());
        let encryption = cs.kem_key_generate(&mut os_rng()).unwrap();
        let leaf = LeafNode {
            encryption_key: encryption.public.into(),
            signature_key: signature.public.into(),
            credential: Credential::Basic(name.as_bytes().into()),
            capabilities: Capabilities {
                versions: vec![ProtocolVersion::MLS10],
                cipher_suites: vec![CipherSuite(1)],
                credentials: vec![CredentialType::BASIC],
                ..Capabilities::default()
            },
            leaf_node_source: LeafNodeSource::KeyPackage(Lifetime {
                not_before: 0,
                not_after: u64::MAX,
            }),
            extensions: Vec::new(),
            signature: VLBytes::default(),
        };
        (leaf, signature.private.as_bytes().to_vec(), encryption.private)
    }

    /// `n` members at leaves 0..n, all with the same tree.
    fn group(n: u32) -> Vec<Member> {
        let mut tree = RatchetTree::new();
        let mut keys = Vec::new();
        for i in 0..n {
            let (leaf, signature_key, encryption_key) = new_leaf(&format!("member {i}"));
            assert_eq!(tree.add_leaf(leaf).unwrap(), LeafIndex(i));
            keys.push((signature_key, TreeKemPrivate::new(LeafIndex(i), encryption_key)));
        }
        let member = |(signature_key, private)| Member {
            signature_key,
            private,
            tree: tree.clone(),
        };
        keys.into_iter().map(member).collect()
    }

    /// Adds a member to every tree (an applied Add proposal); returns its
    /// leaf, signature key and leaf private key.
    fn add(members: &mut [Member]) -> (LeafIndex, Vec<u8>, Secret) {
        let (leaf, signature_key, encryption_key) = new_leaf("joiner");
        let mut at = None;
        for m in members.iter_mut() {
            at = Some(m.tree.add_leaf(leaf.clone()).unwrap());
        }
        (at.unwrap(), signature_key, encryption_key)
    }

    /// Member `sender` creates an UpdatePath, every other member processes
    /// it; all must agree on the commit secret, GroupContext and tree.
    fn commit(members: &mut [Member], sender: usize, added: &[LeafIndex]) -> CreatedUpdatePath {
        let cs = suite();
        let (created, gc) = create(&mut members[sender], added);
        let sender_leaf = members[sender].private.own_leaf();
        members[sender].private = created.private.clone();
        let committed = members[sender].tree.clone();
        committed.clone().verify_parent_hashes(cs).unwrap();
        for (i, m) in members.iter_mut().enumerate().filter(|(i, _)| *i != sender) {
            let mut receiver_gc = context();
            let out = process_update_path(
                cs,
                &mut m.tree,
                &mut m.private,
                sender_leaf,
                &created.update_path,
                &mut receiver_gc,
                added,
            )
            .unwrap_or_else(|e| panic!("member {i}: {e}"));
            assert_eq!(out.commit_secret, created.commit_secret);
            let lca =
                tree_math::common_ancestor(m.private.own_leaf().to_node().unwrap(), sender_leaf.to_node().unwrap());
            assert_eq!(out.path_secret_node, lca);
            assert_eq!(Some(&out.path_secret), created.path_secret_for(m.private.own_leaf()));
            assert_eq!(receiver_gc, gc);
            assert!(m.tree == committed);
        }
        created
    }

    /// `member` creates an UpdatePath in its tree; checks the new leaf's
    /// signature.
    fn create(member: &mut Member, added: &[LeafIndex]) -> (CreatedUpdatePath, GroupContext) {
        let cs = suite();
        let sender = member.private.own_leaf();
        let params = UpdatePathParams {
            sender,
            leaf_node: member.tree.leaf(sender).unwrap().clone(),
            signature_private_key: &member.signature_key,
            added_leaves: added,
        };
        let mut gc = context();
        let created = create_update_path(cs, &mut member.tree, params, &mut gc, &mut os_rng()).unwrap();
        let leaf = &created.update_path.leaf_node;
        let tbs = codec::encode(&LeafNodeTbs {
            leaf_node: leaf,
            group: Some((&gc.group_id, sender.0)),
        })
        .unwrap();
        cs.verify_with_label(&leaf.signature_key, LEAF_NODE_TBS_LABEL, &tbs, &leaf.signature)
            .unwrap();
        assert_eq!(gc.tree_hash.as_slice(), member.tree.tree_hash(cs).unwrap());
        (created, gc)
    }

    #[test]
    fn round_trip_with_blanks_and_parent_keys() {
        // 5 members of 8 leaves: leaves 5..7 are blank.
        let mut members = group(5);
        commit(&mut members, 0, &[]);
        // Member 0 now decrypts with the key of node 1 from its own commit.
        commit(&mut members, 3, &[]);
        assert!(members[0].private.path_nodes().any(|x| x == NodeIndex(7)));
        commit(&mut members, 4, &[]);
        commit(&mut members, 1, &[]);
    }

    #[test]
    fn added_member_is_excluded_and_joins_with_its_path_secret() {
        let mut members = group(5);
        commit(&mut members, 0, &[]);
        let (joiner_leaf, signature_key, leaf_key) = add(&mut members);
        assert_eq!(joiner_leaf, LeafIndex(5));
        let created = commit(&mut members, 1, &[joiner_leaf]);
        // The root's copath child resolves to leaves 4 and 5; 5 is excluded.
        assert_eq!(created.update_path.nodes.last().unwrap().encrypted_path_secret.len(), 1);
        // The joiner derives the keys from the Welcome's path secret.
        let mut joiner = Member {
            signature_key,
            private: TreeKemPrivate::new(joiner_leaf, leaf_key),
            tree: members[1].tree.clone(),
        };
        let secret = created.path_secret_for(joiner_leaf).unwrap();
        let cs = suite();
        joiner
            .private
            .set_path_from(cs, &joiner.tree, NodeIndex(7), secret.as_bytes())
            .unwrap();
        assert_eq!(joiner.private.path_nodes().collect::<Vec<_>>(), [NodeIndex(7)]);
        // A wrong secret is rejected with nothing stored.
        let mut other = TreeKemPrivate::new(joiner_leaf, Secret::zero(32));
        let err = other
            .set_path_from(cs, &joiner.tree, NodeIndex(7), &[1; 32])
            .unwrap_err();
        assert_eq!(err, Error::from(TreeKemError::PublicKeyMismatch { node: 7 }));
        assert_eq!(other.path_nodes().count(), 0);
        // The joiner takes part in the next commit, from either side.
        members.push(joiner);
        commit(&mut members, 2, &[]);
        commit(&mut members, 5, &[]);
    }

    /// A member (0) commits in a 4-member group; member 3's view before
    /// processing, and the created path.
    fn fixture() -> (Member, CreatedUpdatePath) {
        let mut members = group(4);
        let (created, _) = create(&mut members[0], &[]);
        (members.swap_remove(3), created)
    }

    /// Processes `path` from leaf 0 as `member` and checks that a failure
    /// leaves the member's state as it was.
    fn process_as(member: &mut Member, path: &UpdatePath) -> Result<ProcessedUpdatePath, Error> {
        let before = member.clone();
        let mut gc = context();
        let out = process_update_path(
            suite(),
            &mut member.tree,
            &mut member.private,
            LeafIndex(0),
            path,
            &mut gc,
            &[],
        );
        if out.is_err() {
            assert!(member.tree == before.tree);
            assert_eq!(member.tree.tree_hash(suite()), before.tree.clone().tree_hash(suite()));
            assert!(member.private.path_nodes().eq(before.private.path_nodes()));
            assert_eq!(gc, context());
        }
        out
    }

    #[test]
    fn tampered_ciphertext_is_rejected() {
        let (mut member, mut created) = fixture();
        // Member 3 decrypts the root's path secret, one of two ciphertexts.
        for ct in &mut created.update_path.nodes[1].encrypted_path_secret {
            let mut bytes = ct.ciphertext.to_vec();
            bytes[0] ^= 1;
            ct.ciphertext = bytes;
        }
        let err = process_as(&mut member, &created.update_path).unwrap_err();
        assert_eq!(err, Error::from(TreeKemError::DecryptionFailed { node: 3 }));
        assert_eq!(err.code(), "treekem_decryption_failed");
    }

    #[test]
    fn tampered_public_key_is_rejected() {
        let (mut member, created) = fixture();
        // Changing a key breaks the leaf's parent hash.
        let mut path = created.update_path.clone();
        path.nodes[1].encryption_key = suite().kem_key_generate(&mut os_rng()).unwrap().public.into();
        let err = process_as(&mut member, &path).unwrap_err();
        assert_eq!(err, Error::from(TreeError::ParentHashMismatch));
        // A committer who also fixes the parent hash and encrypts under the
        // resulting GroupContext is caught by the derived key check.
        let path = consistent_path(&member.tree, path, &created);
        let err = process_as(&mut member, &path).unwrap_err();
        assert_eq!(err, Error::from(TreeKemError::PublicKeyMismatch { node: 3 }));
        assert_eq!(err.code(), "treekem_public_key_mismatch");
    }

    /// `path` (from leaf 0) with the leaf's parent hash recomputed and the
    /// path secrets of `created` encrypted under the GroupContext it yields.
    fn consistent_path(tree: &RatchetTree, mut path: UpdatePath, created: &CreatedUpdatePath) -> UpdatePath {
        let cs = suite();
        let mut tree = tree.clone();
        let keys: Vec<&[u8]> = path.nodes.iter().map(|n| n.encryption_key.as_slice()).collect();
        let hashes = tree.path_parent_hashes(cs, LeafIndex(0), &keys).unwrap();
        path.leaf_node.leaf_node_source = LeafNodeSource::Commit(hashes.leaf.into());
        let original = tree.clone();
        tree.apply_update_path(cs, LeafIndex(0), &path).unwrap();
        let mut gc = context();
        gc.tree_hash = tree.tree_hash(cs).unwrap().into();
        let context = codec::encode(&gc).unwrap();
        let recipients = Recipients {
            tree: &original,
            sender: NodeIndex(0),
            added_leaves: &[],
            context: &context,
        };
        for (node, (x, secret)) in path.nodes.iter_mut().zip(&created.path_secrets) {
            node.encrypted_path_secret = recipients.encrypt(cs, *x, secret, &mut os_rng()).unwrap();
        }
        path
    }

    #[test]
    fn wrong_shapes_are_rejected() {
        let (mut member, created) = fixture();
        let mut short = created.update_path.clone();
        short.nodes.pop();
        let err = process_as(&mut member, &short).unwrap_err();
        assert_eq!(err, Error::from(TreeError::UpdatePathLength { expected: 2, got: 1 }));
        assert_eq!(err.code(), "tree_update_path_length");

        let mut extra = created.update_path.clone();
        let ct = extra.nodes[0].encrypted_path_secret[0].clone();
        extra.nodes[0].encrypted_path_secret.push(ct);
        let err = process_as(&mut member, &extra).unwrap_err();
        assert_eq!(
            err,
            Error::from(TreeKemError::CiphertextCount {
                node: 1,
                expected: 1,
                got: 2
            })
        );

        let mut update_source = created.update_path.clone();
        update_source.leaf_node.leaf_node_source = LeafNodeSource::Update;
        assert_eq!(
            process_as(&mut member, &update_source).unwrap_err(),
            Error::from(TreeKemError::NotCommitSource)
        );

        // The unchanged path still works after all the rejections.
        process_as(&mut member, &created.update_path).unwrap();
    }

    #[test]
    fn own_path_and_stale_keys_are_rejected() {
        let mut members = group(4);
        let (created, _) = create(&mut members[0], &[]);
        let mut committer = members[0].clone();
        committer.private = TreeKemPrivate::new(LeafIndex(0), Secret::zero(32));
        assert_eq!(
            process_as(&mut committer, &created.update_path).unwrap_err(),
            Error::from(UsageError::OwnCommit)
        );
        // Member 1 with a wrong leaf key cannot decrypt.
        let mut stale = members[1].clone();
        stale.private = TreeKemPrivate::new(LeafIndex(1), Secret::zero(32));
        let err = process_as(&mut stale, &created.update_path).unwrap_err();
        assert_eq!(err, Error::from(TreeKemError::DecryptionFailed { node: 1 }));
    }

    #[test]
    fn reused_keys_are_found() {
        let mut members = group(4);
        let (created, _) = create(&mut members[0], &[]);
        let tree = &members[1].tree;
        check_update_path_keys(suite(), tree, LeafIndex(0), &created.update_path).unwrap();
        let mut reused = created.update_path.clone();
        reused.nodes[0].encryption_key = tree.leaf(LeafIndex(2)).unwrap().encryption_key.clone();
        let err = check_update_path_keys(suite(), tree, LeafIndex(0), &reused).unwrap_err();
        assert_eq!(err, Error::from(TreeError::DuplicateEncryptionKey { node: 4 }));
        // A key of small order would make every later encryption to the
        // node fail: refused, ahead of the duplicate.
        let mut one = [0u8; 32];
        one[0] = 1;
        reused.nodes[1].encryption_key = VLBytes::from(one.to_vec());
        let err = check_update_path_keys(suite(), tree, LeafIndex(0), &reused).unwrap_err();
        assert_eq!(err, Error::from(TreeError::InvalidEncryptionKey { node: 3 }));
    }

    #[test]
    fn path_secret_chain_matches_the_rfc_derivation() {
        let cs = suite();
        let first = Secret::from_slice(&[7; 32]);
        let chain = PathSecrets::derive(cs, first.clone(), 2).unwrap();
        let second = cs.derive_secret(first.as_bytes(), b"path").unwrap();
        assert_eq!(chain.secrets, [first, second.clone()]);
        assert_eq!(chain.next, cs.derive_secret(second.as_bytes(), b"path").unwrap());
        let node_secret = cs.derive_secret(second.as_bytes(), b"node").unwrap();
        let pair = node_key_pair(cs, second.as_bytes()).unwrap();
        assert_eq!(
            pair.public,
            cs.kem_derive_key_pair(node_secret.as_bytes()).unwrap().public
        );
    }
}
