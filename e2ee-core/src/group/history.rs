//! Past epochs kept for late application messages (RFC 9420 §14, §15.2).
//!
//! Messages sent just before a Commit can arrive after it. For a bounded
//! number of past epochs ([`super::GroupConfig::past_epochs`]) the group
//! keeps what opening an application message of that epoch needs: its
//! GroupContext, sender-data secret and secret tree. Instead of old trees
//! it keeps, per epoch, only the signature keys that the next epoch changed,
//! so the cost stays proportional to the changes, not to the group.

use alloc::collections::{BTreeMap, VecDeque};

use crate::codec::VLBytes;
use crate::crypto::{CipherSuiteProvider, Secret};
use crate::framing::{self, FramingError, PrivateKeys};
use crate::messages::{AuthenticatedContent, GroupContext, PrivateMessage};
use crate::ratchet_tree::RatchetTree;
use crate::secret_tree::SecretTree;
use crate::tree_math::LeafIndex;

/// What is kept of one past epoch.
pub(crate) struct PastEpoch {
    pub(crate) context: GroupContext,
    pub(crate) sender_data_secret: Secret,
    pub(crate) secret_tree: SecretTree,
    /// Each leaf whose signature key the next epoch changed, with its key
    /// in this epoch (`None`: the leaf was blank).
    pub(crate) changed_keys: BTreeMap<u32, Option<VLBytes>>,
}

impl PastEpoch {
    /// The epoch ending with the move from `old` to `new`.
    pub(crate) fn new(
        context: GroupContext,
        sender_data_secret: Secret,
        secret_tree: SecretTree,
        old: &RatchetTree,
        new: &RatchetTree,
    ) -> Self {
        fn key(tree: &RatchetTree, i: u32) -> Option<&VLBytes> {
            tree.leaf(LeafIndex(i)).map(|l| &l.signature_key)
        }
        let changed_keys = (0..old.n_leaves().max(new.n_leaves()))
            .filter(|&i| key(old, i) != key(new, i))
            .map(|i| (i, key(old, i).cloned()))
            .collect();
        Self {
            context,
            sender_data_secret,
            secret_tree,
            changed_keys,
        }
    }

    /// Decrypts a PrivateMessage of this epoch.
    pub(crate) fn unprotect(
        &mut self,
        cs: &dyn CipherSuiteProvider,
        message: &PrivateMessage,
    ) -> Result<AuthenticatedContent, FramingError> {
        let keys = PrivateKeys {
            sender_data_secret: self.sender_data_secret.as_bytes(),
            secret_tree: &mut self.secret_tree,
        };
        framing::unprotect_private(cs, keys, &self.context, message)
    }
}

/// The kept past epochs, oldest first, at most `limit` of them.
#[derive(Default)]
pub(crate) struct History {
    pub(crate) epochs: VecDeque<PastEpoch>,
}

impl History {
    /// Keeps `epoch`, dropping (and so deleting the keys of) the oldest
    /// beyond `limit`.
    pub(crate) fn push(&mut self, epoch: PastEpoch, limit: usize) {
        self.epochs.push_back(epoch);
        while self.epochs.len() > limit {
            self.epochs.pop_front();
        }
    }

    /// The position of past epoch `epoch`, if kept.
    pub(crate) fn position(&self, epoch: u64) -> Option<usize> {
        self.epochs.iter().position(|e| e.context.epoch == epoch)
    }

    /// The signature key of `leaf` in the past epoch at `position`: the one
    /// recorded by the first later epoch that changed it, else the current.
    pub(crate) fn signature_key(&self, position: usize, leaf: u32, current: &RatchetTree) -> Option<VLBytes> {
        match self.epochs.range(position..).find_map(|e| e.changed_keys.get(&leaf)) {
            Some(key) => key.clone(),
            None => current.leaf(LeafIndex(leaf)).map(|l| l.signature_key.clone()),
        }
    }

    /// Forgets every past epoch, e.g. once the member left the group.
    pub(crate) fn clear(&mut self) {
        self.epochs.clear();
    }
}
