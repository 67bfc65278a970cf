//! The secret tree and its hash ratchets (RFC 9420 §9, §9.1), the deletion
//! schedule (§9.2), and the sender data key and nonce (§6.3.2).
//!
//! The tree is derived lazily: a node's secret is only expanded into its
//! children when a leaf below it is first needed, and is deleted as soon as
//! both children exist. A leaf's secret is deleted once its handshake and
//! application ratchets are initialised. Every key/nonce pair is handed out
//! once; keys for skipped generations are kept, up to a bound, for
//! out-of-order messages.

use alloc::collections::BTreeMap;
use alloc::collections::btree_map::Entry;

use alloc::vec::Vec;

use crate::codec::{self, Decode, Encode, Size};
use crate::crypto::Labelled;
use crate::crypto::{CipherSuiteProvider, CryptoError, Secret};
use crate::error::Error;
use crate::tree_math::{self, LeafIndex, NodeIndex};
use crate::vec_map::VecMap;

crate::error::error_enum! {
    /// Why a key could not be produced.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum SecretTreeError {
        /// The leaf count is zero, not a power of two, or above
        /// [`tree_math::MAX_LEAVES`].
        InvalidLeafCount => "secret_tree_invalid_leaf_count", "leaf count is not a power of two in range";
        /// The leaf is not in the tree.
        LeafOutOfRange => "secret_tree_leaf_out_of_range", "leaf index outside the tree";
        /// The generation is further ahead of the ratchet than
        /// [`SecretTreeConfig::max_forward_distance`] allows.
        TooFarAhead => "secret_tree_too_far_ahead", "generation too far ahead of the ratchet";
        /// The key for this generation was already used, or was deleted because
        /// it fell out of the retention window.
        KeyConsumed => "secret_tree_key_consumed", "key for this generation already used or deleted";
        /// All 2^32 generations of the ratchet have been used.
        RatchetExhausted => "secret_tree_ratchet_exhausted", "ratchet has no generations left";
    }
}

/// How far receivers follow out-of-order and skipped generations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretTreeConfig {
    /// The largest gap allowed between the next expected generation and a
    /// requested one. Bounds the work one message can force on a receiver.
    pub max_forward_distance: u32,
    /// How many keys of skipped generations each ratchet keeps for late
    /// messages; the oldest are deleted first.
    pub max_retained_keys: u32,
}

impl SecretTreeConfig {
    /// The default [`Self::max_forward_distance`].
    pub const DEFAULT_MAX_FORWARD_DISTANCE: u32 = 1000;
    /// The default [`Self::max_retained_keys`].
    pub const DEFAULT_MAX_RETAINED_KEYS: u32 = 32;
}

impl Default for SecretTreeConfig {
    fn default() -> Self {
        Self {
            max_forward_distance: Self::DEFAULT_MAX_FORWARD_DISTANCE,
            max_retained_keys: Self::DEFAULT_MAX_RETAINED_KEYS,
        }
    }
}

/// Which of a leaf's two ratchets (§9): handshake for proposals and commits,
/// application for application data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RatchetKind {
    /// Keys for PrivateMessages carrying proposals or commits.
    Handshake,
    /// Keys for PrivateMessages carrying application data.
    Application,
}

/// The AEAD key and nonce of one ratchet generation. Both are [`Secret`]s,
/// so they are zeroized when dropped.
#[derive(Clone, Debug)]
pub struct RatchetKey {
    /// The generation the key belongs to (sent in the SenderData).
    pub generation: u32,
    /// `ratchet_key_[N]_[generation]`, `AEAD.Nk` bytes.
    pub key: Secret,
    /// `ratchet_nonce_[N]_[generation]`, `AEAD.Nn` bytes.
    pub nonce: Secret,
}

/// The output lengths (Nh, Nk, Nn) as the `u16` ExpandWithLabel takes.
fn lengths(cs: &dyn CipherSuiteProvider) -> Result<(u16, u16, u16), CryptoError> {
    let len = |n: usize| u16::try_from(n).map_err(|_| CryptoError::InvalidLength);
    Ok((len(cs.hash_len())?, len(cs.aead_key_len())?, len(cs.aead_nonce_len())?))
}

/// A sender ratchet (§9.1): a chain of secrets, each yielding one key/nonce
/// pair and the next secret.
#[derive(Debug)]
pub struct HashRatchet {
    /// `ratchet_secret_[N]_[next_generation]`; `None` once the last
    /// generation (`u32::MAX`) has been derived.
    secret: Option<Secret>,
    next_generation: u32,
    /// Keys of skipped generations below `next_generation`, kept for
    /// out-of-order messages and deleted when used.
    retained: VecMap<u32, RatchetKey>,
}

impl HashRatchet {
    /// A ratchet starting at generation 0 from `secret`.
    pub fn new(secret: Secret) -> Self {
        Self {
            secret: Some(secret),
            next_generation: 0,
            retained: VecMap::default(),
        }
    }

    /// The generation [`Self::next_key`] will return.
    pub fn next_generation(&self) -> u32 {
        self.next_generation
    }

    /// The key for the next generation, for sending. The ratchet moves past
    /// it, so it is never returned again.
    pub fn next_key(&mut self, cs: &dyn CipherSuiteProvider) -> Result<RatchetKey, Error> {
        let secret = self.secret.as_ref().ok_or(SecretTreeError::RatchetExhausted)?;
        let key = derive_key(cs, secret, self.next_generation)?;
        self.advance(cs)?;
        Ok(key)
    }

    /// The key for `generation`, for receiving, without using it up: the
    /// ratchet changes only when the [`KeyUse`] is given to
    /// [`Self::consume`], once the message it opens proved authentic. So
    /// a forgery (a failed AEAD, a bad signature) neither deletes the key
    /// of the genuine message nor moves the ratchet past the keys of the
    /// messages still to come. Skipped generations are kept within
    /// `config`'s bounds.
    fn peek(
        &self,
        cs: &dyn CipherSuiteProvider,
        generation: u32,
        config: &SecretTreeConfig,
    ) -> Result<(RatchetKey, Option<Advance>), Error> {
        if generation < self.next_generation || self.secret.is_none() {
            let key = self.retained.get(&generation).ok_or(SecretTreeError::KeyConsumed)?;
            return Ok((key.clone(), None));
        }
        if generation - self.next_generation > config.max_forward_distance {
            return Err(SecretTreeError::TooFarAhead.into());
        }
        // Only the last `max_retained_keys` skipped keys would survive
        // eviction, so older skipped generations just advance the secret.
        let keep_from = generation.saturating_sub(config.max_retained_keys);
        let mut secret = self.secret.clone();
        let mut next = self.next_generation;
        let mut skipped = Vec::new();
        loop {
            let current = secret.as_ref().ok_or(SecretTreeError::RatchetExhausted)?;
            if next == generation {
                let key = derive_key(cs, current, next)?;
                let secret = step(cs, current, next)?;
                let advance = Advance {
                    from: self.next_generation,
                    next_generation: next.saturating_add(1),
                    secret,
                    skipped,
                };
                return Ok((key, Some(advance)));
            }
            if next >= keep_from {
                skipped.push(derive_key(cs, current, next)?);
            }
            secret = step(cs, current, next)?;
            next += 1;
        }
    }

    /// Uses up the key [`Self::peek`] gave for `generation`.
    fn consume(&mut self, generation: u32, advance: Option<Advance>, config: &SecretTreeConfig) {
        let Some(advance) = advance else {
            self.retained.remove(&generation);
            return;
        };
        // Nothing else moves the ratchet between the two; should anything
        // have, the key stays unused rather than the ratchet going back.
        if advance.from != self.next_generation {
            return;
        }
        for key in advance.skipped {
            self.retained.insert(key.generation, key);
        }
        self.evict(config.max_retained_keys);
        self.secret = advance.secret;
        self.next_generation = advance.next_generation;
    }

    /// Replaces the current secret by the next one (§9.1); the old secret
    /// is dropped and so zeroized (§9.2).
    fn advance(&mut self, cs: &dyn CipherSuiteProvider) -> Result<(), Error> {
        let secret = self.secret.as_ref().ok_or(SecretTreeError::RatchetExhausted)?;
        self.secret = step(cs, secret, self.next_generation)?;
        self.next_generation = self.next_generation.saturating_add(1);
        Ok(())
    }

    /// Deletes the oldest retained keys beyond `max`.
    fn evict(&mut self, max: u32) {
        self.retained.keep_last(max as usize);
    }
}

/// The secret after `secret`, of generation `generation` (§9.1); `None`
/// after the last generation, `u32::MAX`.
fn step(cs: &dyn CipherSuiteProvider, secret: &Secret, generation: u32) -> Result<Option<Secret>, Error> {
    if generation == u32::MAX {
        return Ok(None);
    }
    let (nh, _, _) = lengths(cs)?;
    Ok(Some(cs.derive_tree_secret(
        secret.as_bytes(),
        b"secret",
        generation,
        nh,
    )?))
}

/// How a ratchet moves once a key [`HashRatchet::peek`] gave is used: past
/// that key's generation, keeping the keys of the generations it skipped.
#[derive(Debug)]
struct Advance {
    /// The ratchet's `next_generation` when the key was peeked.
    from: u32,
    next_generation: u32,
    secret: Option<Secret>,
    skipped: Vec<RatchetKey>,
}

/// A received key's use, to give to [`SecretTree::consume`] once the
/// message it opened is authentic; dropped otherwise, which changes nothing.
#[derive(Debug)]
#[must_use]
pub struct KeyUse {
    leaf: LeafIndex,
    kind: RatchetKind,
    generation: u32,
    advance: Option<Advance>,
}

/// `ratchet_key_[N]_[j]` and `ratchet_nonce_[N]_[j]` from
/// `ratchet_secret_[N]_[j]` (§9.1).
fn derive_key(cs: &dyn CipherSuiteProvider, secret: &Secret, generation: u32) -> Result<RatchetKey, CryptoError> {
    let (_, nk, nn) = lengths(cs)?;
    Ok(RatchetKey {
        generation,
        key: cs.derive_tree_secret(secret.as_bytes(), b"key", generation, nk)?,
        nonce: cs.derive_tree_secret(secret.as_bytes(), b"nonce", generation, nn)?,
    })
}

/// A leaf's two ratchets (§9).
#[derive(Debug)]
struct LeafRatchets {
    handshake: HashRatchet,
    application: HashRatchet,
}

/// The node secrets of the tree not yet expanded (§9). Initially only the
/// root's.
#[derive(Debug)]
struct NodeSecrets {
    n_leaves: u32,
    nodes: BTreeMap<NodeIndex, Secret>,
}

impl NodeSecrets {
    /// Derives the secrets from the root down to `leaf` and the leaf's two
    /// ratchet roots, deleting every node secret on the way once both its
    /// children exist, and the leaf's once its ratchets exist (§9.2).
    fn leaf_ratchets(&mut self, cs: &dyn CipherSuiteProvider, leaf: LeafIndex) -> Result<LeafRatchets, Error> {
        let node = leaf.to_node().ok_or(SecretTreeError::LeafOutOfRange)?;
        let mut path = tree_math::direct_path(node, self.n_leaves).ok_or(SecretTreeError::LeafOutOfRange)?;
        // Root first: the lowest stored ancestor is expanded, then each node
        // below it on the path in turn.
        path.reverse();
        for parent in path {
            self.expand(cs, parent)?;
        }
        // Absent only if this leaf was initialised before, which the caller
        // rules out.
        let secret = self.nodes.get(&node).ok_or(SecretTreeError::KeyConsumed)?;
        let (nh, _, _) = lengths(cs)?;
        let handshake = cs.expand_with_label(secret.as_bytes(), b"handshake", &[], nh)?;
        let application = cs.expand_with_label(secret.as_bytes(), b"application", &[], nh)?;
        self.nodes.remove(&node);
        Ok(LeafRatchets {
            handshake: HashRatchet::new(handshake),
            application: HashRatchet::new(application),
        })
    }

    /// Replaces `parent`'s secret, if stored, by its children's (§9). The
    /// parent is removed only after both children are stored, so a failed
    /// derivation loses nothing.
    fn expand(&mut self, cs: &dyn CipherSuiteProvider, parent: NodeIndex) -> Result<(), Error> {
        let Some(secret) = self.nodes.get(&parent) else {
            return Ok(());
        };
        let (Some(left), Some(right)) = (parent.left(), parent.right()) else {
            return Err(SecretTreeError::LeafOutOfRange.into());
        };
        let (nh, _, _) = lengths(cs)?;
        let left_secret = cs.expand_with_label(secret.as_bytes(), b"tree", b"left", nh)?;
        let right_secret = cs.expand_with_label(secret.as_bytes(), b"tree", b"right", nh)?;
        self.nodes.insert(left, left_secret);
        self.nodes.insert(right, right_secret);
        self.nodes.remove(&parent);
        Ok(())
    }
}

/// The secret tree of one epoch (§9): per-leaf handshake and application
/// ratchets derived from the epoch's `encryption_secret`.
#[derive(Debug)]
pub struct SecretTree {
    config: SecretTreeConfig,
    secrets: NodeSecrets,
    /// Ratchets of the leaves used so far.
    leaves: BTreeMap<LeafIndex, LeafRatchets>,
}

impl SecretTree {
    /// A tree of `n_leaves` leaves (a power of two, as the ratchet tree's)
    /// rooted at `encryption_secret`, with the default limits. Takes the
    /// secret by value so the tree holds the only copy (§9.2).
    pub fn new(encryption_secret: Secret, n_leaves: u32) -> Result<Self, SecretTreeError> {
        Self::with_config(encryption_secret, n_leaves, SecretTreeConfig::default())
    }

    /// Like [`Self::new`] with explicit receive limits.
    pub fn with_config(
        encryption_secret: Secret,
        n_leaves: u32,
        config: SecretTreeConfig,
    ) -> Result<Self, SecretTreeError> {
        let root = tree_math::root(n_leaves).ok_or(SecretTreeError::InvalidLeafCount)?;
        let mut nodes = BTreeMap::new();
        nodes.insert(root, encryption_secret);
        Ok(Self {
            config,
            secrets: NodeSecrets { n_leaves, nodes },
            leaves: BTreeMap::new(),
        })
    }

    /// The number of leaves.
    pub fn n_leaves(&self) -> u32 {
        self.secrets.n_leaves
    }

    /// Deletes every secret and ratchet: no key can be derived afterwards.
    pub fn clear(&mut self) {
        self.secrets.nodes.clear();
        self.leaves.clear();
    }

    /// The next key of `leaf`'s ratchet, for sending.
    pub fn next_key(
        &mut self,
        cs: &dyn CipherSuiteProvider,
        leaf: LeafIndex,
        kind: RatchetKind,
    ) -> Result<RatchetKey, Error> {
        self.ratchet(cs, leaf, kind)?.next_key(cs)
    }

    /// The key of `generation` in `leaf`'s ratchet, for receiving, used up
    /// at once: each key is returned once.
    pub fn key_for(
        &mut self,
        cs: &dyn CipherSuiteProvider,
        leaf: LeafIndex,
        kind: RatchetKind,
        generation: u32,
    ) -> Result<RatchetKey, Error> {
        let (key, used) = self.peek_key(cs, leaf, kind, generation)?;
        self.consume(used);
        Ok(key)
    }

    /// The key of `generation` in `leaf`'s ratchet, for receiving, and its
    /// use: the key stays available, and the ratchet unmoved, until the use
    /// is given to [`Self::consume`] (§9.2: a key is deleted once it has
    /// decrypted a message, which a forgery must not count as).
    pub fn peek_key(
        &mut self,
        cs: &dyn CipherSuiteProvider,
        leaf: LeafIndex,
        kind: RatchetKind,
        generation: u32,
    ) -> Result<(RatchetKey, KeyUse), Error> {
        let config = self.config;
        let (key, advance) = self.ratchet(cs, leaf, kind)?.peek(cs, generation, &config)?;
        let used = KeyUse {
            leaf,
            kind,
            generation,
            advance,
        };
        Ok((key, used))
    }

    /// Uses up a key from [`Self::peek_key`]: deletes it, and moves the
    /// ratchet past it.
    pub fn consume(&mut self, used: KeyUse) {
        let config = self.config;
        if let Some(ratchets) = self.leaves.get_mut(&used.leaf) {
            let ratchet = match used.kind {
                RatchetKind::Handshake => &mut ratchets.handshake,
                RatchetKind::Application => &mut ratchets.application,
            };
            ratchet.consume(used.generation, used.advance, &config);
        }
    }

    /// `leaf`'s ratchet of `kind`, initialising the leaf's ratchets first.
    fn ratchet(
        &mut self,
        cs: &dyn CipherSuiteProvider,
        leaf: LeafIndex,
        kind: RatchetKind,
    ) -> Result<&mut HashRatchet, Error> {
        if leaf.0 >= self.secrets.n_leaves {
            return Err(SecretTreeError::LeafOutOfRange.into());
        }
        let ratchets = match self.leaves.entry(leaf) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(self.secrets.leaf_ratchets(cs, leaf)?),
        };
        Ok(match kind {
            RatchetKind::Handshake => &mut ratchets.handshake,
            RatchetKind::Application => &mut ratchets.application,
        })
    }
}

/// The stored form of a [`SecretTree`] (see `group/state.rs`): the node
/// secrets not yet expanded and every initialised leaf's ratchets, with
/// their positions and retained keys, so a restored tree hands out exactly
/// the keys the original would have — consumed ones stay deleted.
#[derive(Size, Encode, Decode)]
pub(crate) struct SecretTreeState {
    n_leaves: u32,
    nodes: Vec<NodeSecretState>,
    leaves: Vec<LeafRatchetsState>,
}

impl SecretTreeState {
    /// Whether no secret is stored (the tree of a closed group).
    pub(crate) fn is_empty(&self) -> bool {
        self.nodes.is_empty() && self.leaves.is_empty()
    }
}

#[derive(Size, Encode, Decode)]
struct NodeSecretState {
    node: u32,
    secret: Secret,
}

#[derive(Size, Encode, Decode)]
struct LeafRatchetsState {
    leaf: u32,
    handshake: HashRatchetState,
    application: HashRatchetState,
}

#[derive(Size, Encode, Decode)]
struct HashRatchetState {
    secret: Option<Secret>,
    next_generation: u32,
    retained: Vec<RetainedKeyState>,
}

#[derive(Size, Encode, Decode)]
struct RetainedKeyState {
    generation: u32,
    key: Secret,
    nonce: Secret,
}

impl HashRatchet {
    fn to_state(&self) -> HashRatchetState {
        HashRatchetState {
            secret: self.secret.clone(),
            next_generation: self.next_generation,
            retained: (self.retained.iter())
                .map(|(_, k)| RetainedKeyState {
                    generation: k.generation,
                    key: k.key.clone(),
                    nonce: k.nonce.clone(),
                })
                .collect(),
        }
    }

    /// `None` unless the state is one this ratchet could be in under
    /// `config` with the suite's lengths `(nh, nk, nn)`.
    fn from_state(state: HashRatchetState, config: &SecretTreeConfig, (nh, nk, nn): (u16, u16, u16)) -> Option<Self> {
        let retained = VecMap::from_sorted(state.retained.into_iter().map(|k| {
            let key = RatchetKey {
                generation: k.generation,
                key: k.key,
                nonce: k.nonce,
            };
            (k.generation, key)
        }))?;
        let lengths_ok =
            (retained.iter()).all(|(_, k)| k.key.len() == usize::from(nk) && k.nonce.len() == usize::from(nn));
        let below = (retained.iter().next_back()).is_none_or(|(g, _)| *g < state.next_generation);
        // Without a secret the ratchet is exhausted (see `advance`).
        let secret_ok = match &state.secret {
            Some(s) => s.len() == usize::from(nh),
            None => state.next_generation == u32::MAX,
        };
        let within = retained.len() <= config.max_retained_keys as usize;
        (lengths_ok && below && secret_ok && within).then_some(Self {
            secret: state.secret,
            next_generation: state.next_generation,
            retained,
        })
    }
}

impl SecretTree {
    /// The tree's state, to store (the receive limits belong to the
    /// group's configuration and are stored there).
    pub(crate) fn to_state(&self) -> SecretTreeState {
        SecretTreeState {
            n_leaves: self.secrets.n_leaves,
            nodes: self
                .secrets
                .nodes
                .iter()
                .map(|(node, secret)| NodeSecretState {
                    node: node.0,
                    secret: secret.clone(),
                })
                .collect(),
            leaves: self
                .leaves
                .iter()
                .map(|(leaf, r)| LeafRatchetsState {
                    leaf: leaf.0,
                    handshake: r.handshake.to_state(),
                    application: r.application.to_state(),
                })
                .collect(),
        }
    }

    /// The tree stored by [`Self::to_state`], or `None` if the state is not
    /// one a tree of suite `cs` under `config` can be in: entries out of
    /// order or range, secrets of the wrong length, too many retained keys.
    pub(crate) fn from_state(
        cs: &dyn CipherSuiteProvider,
        state: SecretTreeState,
        config: SecretTreeConfig,
    ) -> Option<Self> {
        let n_leaves = state.n_leaves;
        let width = tree_math::root(n_leaves).and_then(|_| tree_math::node_width(n_leaves))?;
        let lens = lengths(cs).ok()?;
        let nodes = codec::strictly_sorted_map(state.nodes.into_iter().map(|n| (NodeIndex(n.node), n.secret)))?;
        let nodes_ok = nodes.iter().all(|(x, s)| x.0 < width && s.len() == usize::from(lens.0));
        let leaves = state
            .leaves
            .into_iter()
            .map(|l| {
                let ratchets = LeafRatchets {
                    handshake: HashRatchet::from_state(l.handshake, &config, lens)?,
                    application: HashRatchet::from_state(l.application, &config, lens)?,
                };
                Some((LeafIndex(l.leaf), ratchets))
            })
            .collect::<Option<Vec<_>>>()?;
        let leaves = codec::strictly_sorted_map(leaves)?;
        let leaves_ok = leaves.last_key_value().is_none_or(|(leaf, _)| leaf.0 < n_leaves);
        (nodes_ok && leaves_ok).then_some(Self {
            config,
            secrets: NodeSecrets { n_leaves, nodes },
            leaves,
        })
    }
}

/// The first `KDF.Nh` bytes of the ciphertext, or all of it if shorter
/// (§6.3.2).
fn ciphertext_sample<'a>(cs: &dyn CipherSuiteProvider, ciphertext: &'a [u8]) -> &'a [u8] {
    &ciphertext[..ciphertext.len().min(cs.hash_len())]
}

/// `sender_data_key = ExpandWithLabel(sender_data_secret, "key",
/// ciphertext_sample, AEAD.Nk)` (§6.3.2).
pub fn sender_data_key(
    cs: &dyn CipherSuiteProvider,
    sender_data_secret: &[u8],
    ciphertext: &[u8],
) -> Result<Secret, CryptoError> {
    let (_, nk, _) = lengths(cs)?;
    cs.expand_with_label(sender_data_secret, b"key", ciphertext_sample(cs, ciphertext), nk)
}

/// `sender_data_nonce = ExpandWithLabel(sender_data_secret, "nonce",
/// ciphertext_sample, AEAD.Nn)` (§6.3.2).
pub fn sender_data_nonce(
    cs: &dyn CipherSuiteProvider,
    sender_data_secret: &[u8],
    ciphertext: &[u8],
) -> Result<Secret, CryptoError> {
    let (_, _, nn) = lengths(cs)?;
    cs.expand_with_label(sender_data_secret, b"nonce", ciphertext_sample(cs, ciphertext), nn)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{CipherSuite, CryptoProvider, RustCryptoProvider};
    use alloc::vec::Vec;

    fn cs() -> &'static dyn CipherSuiteProvider {
        RustCryptoProvider.cipher_suite(CipherSuite(1)).unwrap()
    }

    fn tree(n: u32, config: SecretTreeConfig) -> SecretTree {
        SecretTree::with_config(Secret::new(vec![7; 32]), n, config).unwrap()
    }

    const APP: RatchetKind = RatchetKind::Application;

    #[test]
    fn node_secrets_are_deleted_once_expanded() {
        let mut t = tree(4, SecretTreeConfig::default());
        t.next_key(cs(), LeafIndex(0), APP).unwrap();
        // Root 3 and node 1 were expanded, leaf 0 turned into ratchets:
        // only the unexpanded siblings 2 and 5 remain.
        let stored: Vec<u32> = t.secrets.nodes.keys().map(|n| n.0).collect();
        assert_eq!(stored, [2, 5]);
        t.next_key(cs(), LeafIndex(3), APP).unwrap();
        let stored: Vec<u32> = t.secrets.nodes.keys().map(|n| n.0).collect();
        assert_eq!(stored, [2, 4]);
    }

    #[test]
    fn sender_and_receiver_agree_and_keys_are_single_use() {
        let (mut s, mut r) = (
            tree(8, SecretTreeConfig::default()),
            tree(8, SecretTreeConfig::default()),
        );
        for g in 0..3 {
            let sent = s.next_key(cs(), LeafIndex(5), APP).unwrap();
            assert_eq!(sent.generation, g);
            let got = r.key_for(cs(), LeafIndex(5), APP, g).unwrap();
            assert_eq!((sent.key, sent.nonce), (got.key, got.nonce));
            assert_eq!(
                r.key_for(cs(), LeafIndex(5), APP, g).unwrap_err(),
                Error::from(SecretTreeError::KeyConsumed)
            );
        }
        // The handshake ratchet is independent of the application one.
        let hs = r.key_for(cs(), LeafIndex(5), RatchetKind::Handshake, 0).unwrap();
        assert_eq!(hs.generation, 0);
    }

    #[test]
    fn out_of_order_keys_are_retained_within_bounds() {
        let config = SecretTreeConfig {
            max_forward_distance: 10,
            max_retained_keys: 2,
        };
        let mut r = tree(2, config);
        let leaf = LeafIndex(1);
        assert_eq!(
            r.key_for(cs(), leaf, APP, 11).unwrap_err(),
            Error::from(SecretTreeError::TooFarAhead)
        );
        r.key_for(cs(), leaf, APP, 10).unwrap();
        // Only generations 8 and 9 were kept.
        assert_eq!(
            r.key_for(cs(), leaf, APP, 7).unwrap_err(),
            Error::from(SecretTreeError::KeyConsumed)
        );
        r.key_for(cs(), leaf, APP, 9).unwrap();
        r.key_for(cs(), leaf, APP, 8).unwrap();
        assert_eq!(
            r.key_for(cs(), leaf, APP, 8).unwrap_err(),
            Error::from(SecretTreeError::KeyConsumed)
        );
        r.key_for(cs(), leaf, APP, 11).unwrap();
    }

    #[test]
    fn retained_and_direct_keys_match_in_order_keys() {
        let mut s = tree(1, SecretTreeConfig::default());
        let mut r = tree(1, SecretTreeConfig::default());
        let sent: Vec<RatchetKey> = (0..6).map(|_| s.next_key(cs(), LeafIndex(0), APP).unwrap()).collect();
        for g in [5, 2, 4, 0] {
            let got = r.key_for(cs(), LeafIndex(0), APP, g).unwrap();
            assert_eq!(got.key, sent[g as usize].key);
            assert_eq!(got.nonce, sent[g as usize].nonce);
        }
    }

    #[test]
    fn ratchet_exhaustion_is_an_error() {
        let mut ratchet = HashRatchet::new(Secret::new(vec![1; 32]));
        ratchet.next_generation = u32::MAX - 1;
        assert_eq!(ratchet.next_key(cs()).unwrap().generation, u32::MAX - 1);
        assert_eq!(ratchet.next_key(cs()).unwrap().generation, u32::MAX);
        assert_eq!(
            ratchet.next_key(cs()).unwrap_err(),
            Error::from(SecretTreeError::RatchetExhausted)
        );
        let config = SecretTreeConfig::default();
        assert_eq!(
            ratchet.peek(cs(), u32::MAX, &config).unwrap_err(),
            Error::from(SecretTreeError::KeyConsumed)
        );
    }

    #[test]
    fn bad_sizes_and_leaves_are_rejected() {
        for n in [0, 3, 6, u32::MAX] {
            assert_eq!(
                SecretTree::new(Secret::zero(32), n).unwrap_err(),
                SecretTreeError::InvalidLeafCount
            );
        }
        let mut t = tree(4, SecretTreeConfig::default());
        let err = t.next_key(cs(), LeafIndex(4), APP).unwrap_err();
        assert_eq!(err, Error::from(SecretTreeError::LeafOutOfRange));
        assert_eq!(err.code(), "secret_tree_leaf_out_of_range");
    }

    #[test]
    fn sender_data_sample_is_at_most_nh_bytes() {
        let secret = [3u8; 32];
        let long = [9u8; 80];
        let k1 = sender_data_key(cs(), &secret, &long).unwrap();
        let k2 = sender_data_key(cs(), &secret, &long[..32]).unwrap();
        assert_eq!(k1, k2);
        assert_eq!(k1.len(), 16);
        let short = sender_data_nonce(cs(), &secret, &long[..5]).unwrap();
        assert_eq!(short.len(), 12);
        assert_ne!(short, sender_data_nonce(cs(), &secret, &long[..6]).unwrap());
    }
}
