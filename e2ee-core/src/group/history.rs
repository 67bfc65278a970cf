//! Past epochs kept for late application messages (RFC 9420 §14, §15.2).
//!
//! Messages sent just before a Commit can arrive after it. For a bounded
//! number of past epochs ([`super::GroupConfig::past_epochs`]) the group
//! keeps what opening an application message of that epoch needs: its
//! GroupContext, sender-data secret and secret tree. Instead of old trees
//! it keeps, per epoch, only the leaves that the next epoch changed, so the
//! cost stays proportional to the changes, not to the group.

use alloc::collections::VecDeque;

use crate::crypto::{CipherSuiteProvider, Secret};
use crate::error::Error;
use crate::framing::{self};
use crate::messages::{AuthenticatedContent, GroupContext, LeafNode, PrivateMessage};
use crate::ratchet_tree::RatchetTree;
use crate::secret_tree::{KeyUse, SecretTree};
use crate::tree_math::LeafIndex;
use crate::vec_map::VecMap;

/// What is kept of one past epoch.
pub(crate) struct PastEpoch {
    pub(crate) context: GroupContext,
    pub(crate) sender_data_secret: Secret,
    pub(crate) secret_tree: SecretTree,
    /// Each leaf the next epoch changed, as it was in this epoch (`None`:
    /// blank).
    pub(crate) changed_leaves: VecMap<u32, Option<LeafNode>>,
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
        // In increasing leaf order, so each insert appends.
        let mut changed_leaves = VecMap::default();
        let changed = (old.maybe_changed_leaves(new))
            .map(|i| (i.0, old.leaf(i)))
            // A leaf's signature covers all of its content: compare only that.
            .filter(|&(i, before)| before.map(|l| &l.signature) != new.leaf(LeafIndex(i)).map(|l| &l.signature));
        for (i, before) in changed {
            changed_leaves.insert(i, before.cloned());
        }
        Self {
            context,
            sender_data_secret,
            secret_tree,
            changed_leaves,
        }
    }

    /// Decrypts a PrivateMessage of this epoch; the key's use is to be
    /// consumed once the signature verifies (see [`framing::open_private`]).
    pub(crate) fn unprotect(
        &mut self,
        cs: &dyn CipherSuiteProvider,
        message: &PrivateMessage,
    ) -> Result<(AuthenticatedContent, KeyUse), Error> {
        let secret = self.sender_data_secret.as_bytes();
        framing::open_private(cs, secret, &mut self.secret_tree, &self.context, message)
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

    /// `leaf` as it was in the past epoch at `position`: as recorded by the
    /// first later epoch that changed it, else as it is now.
    pub(crate) fn leaf<'a>(&'a self, position: usize, leaf: u32, current: &'a RatchetTree) -> Option<&'a LeafNode> {
        match self.epochs.range(position..).find_map(|e| e.changed_leaves.get(&leaf)) {
            Some(old) => old.as_ref(),
            None => current.leaf(LeafIndex(leaf)),
        }
    }

    /// Forgets every past epoch, e.g. once the member left the group.
    pub(crate) fn clear(&mut self) {
        self.epochs.clear();
    }
}
