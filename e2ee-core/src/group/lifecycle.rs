//! Where a member stands in its group, as values rather than flags.
//!
//! A group is [`Lifecycle::Open`] while this member may send, and only then
//! holds what it sent and awaits: its pending Commit and the keys of its
//! Update proposals. A committed ReInit leaves it
//! [`Lifecycle::Reinitialized`] (§11.2) and a Commit that removes the member
//! leaves it [`Lifecycle::Closed`]; neither has anything pending to lose
//! track of. Every Commit, this member's own or another's, becomes a
//! [`StagedCommit`] (the next epoch, fully derived) before the group enters
//! it.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::process::CommitSummary;
use crate::crypto::Secret;
use crate::error::{Error, UsageError};
use crate::key_schedule::EpochSchedule;
use crate::messages::{GroupContext, ReInit};
use crate::ratchet_tree::RatchetTree;
use crate::treekem::TreeKemPrivate;

/// Where this member stands in the group.
pub(super) enum Lifecycle {
    /// A member that may send, with what it sent in this epoch.
    Open(OwnPending),
    /// A Commit with a ReInit started this epoch: the member sends nothing
    /// more here; the group is to be recreated with the ReInit's parameters.
    Reinitialized(ReInit),
    /// A Commit removed this member, and every secret is gone (§9.2).
    Closed,
}

impl Lifecycle {
    /// The state a Commit leaves the group in, once entered.
    pub(super) fn after(summary: &CommitSummary) -> Self {
        match &summary.reinit {
            Some(reinit) => Self::Reinitialized(reinit.clone()),
            None => Self::Open(OwnPending::default()),
        }
    }

    /// Whether this member is still in the group.
    pub(super) fn is_member(&self) -> bool {
        !matches!(self, Self::Closed)
    }

    /// What this member sent and awaits, if it may send.
    pub(super) fn own(&self) -> Option<&OwnPending> {
        match self {
            Self::Open(own) => Some(own),
            _ => None,
        }
    }

    /// Fails, saying why, unless this member may send.
    pub(super) fn check_open(&self) -> Result<(), Error> {
        self.own().map(|_| ()).ok_or_else(|| self.not_open())
    }

    /// What this member sent and awaits, to add to; an error says why it
    /// may not send.
    pub(super) fn own_mut(&mut self) -> Result<&mut OwnPending, Error> {
        match self {
            Self::Open(own) => Ok(own),
            other => Err(other.not_open()),
        }
    }

    fn not_open(&self) -> Error {
        match self {
            Self::Reinitialized(_) => UsageError::Reinitialized.into(),
            _ => UsageError::NotAMember.into(),
        }
    }
}

/// What this member sent in the current epoch and has not seen the outcome
/// of yet. Void once the epoch ends.
#[derive(Default)]
pub(super) struct OwnPending {
    /// Its Commit, until merged or cleared (one at a time).
    pub(super) commit: Option<Box<StagedCommit>>,
    /// The leaf private keys of its Update proposals, with their public keys.
    pub(super) update_keys: Vec<(Vec<u8>, Secret)>,
}

impl OwnPending {
    /// The private key of the Update leaf with encryption key `public`.
    pub(super) fn update_key(&self, public: &[u8]) -> Option<&Secret> {
        self.update_keys
            .iter()
            .find(|(p, _)| p.as_slice() == public)
            .map(|(_, s)| s)
    }
}

/// The next epoch as a Commit makes it, derived and checked, not yet
/// entered. The fields are open to the group module for storing a pending
/// one (state.rs).
pub(super) struct StagedCommit {
    pub(super) context: GroupContext,
    pub(super) tree: RatchetTree,
    pub(super) private: TreeKemPrivate,
    pub(super) schedule: EpochSchedule,
    pub(super) interim_transcript_hash: Vec<u8>,
    pub(super) confirmation_tag: Vec<u8>,
    pub(super) summary: CommitSummary,
}

/// A Commit's next epoch while it is being worked out: the tree with the
/// proposals and the path applied, this member's keys in it, the next
/// GroupContext and what changed. Built on copies, so a rejected Commit
/// leaves the epoch untouched.
pub(super) struct EpochDraft {
    pub(super) tree: RatchetTree,
    pub(super) private: TreeKemPrivate,
    pub(super) context: GroupContext,
    pub(super) summary: CommitSummary,
}
