//! The logs: a group's messages, with the epoch, roster, pending proposals
//! and GroupInfo that its Commits change atomically, and each client's
//! mailbox.

use std::sync::Arc;

use async_trait::async_trait;

use super::StoreError;
use crate::inspect::{Leaf, ProposalEffect, Roster};

/// A log: a group's messages or a client's mailbox.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// A group, by MLS group id.
    Group(Vec<u8>),
    /// A client's mailbox, by identity.
    Mailbox(String),
}

/// What kind of entry: Commits are marked so pushers can re-check
/// membership after them without parsing every message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    /// Application message, proposal, or mailbox item.
    Plain = 0,
    /// A Commit.
    Commit = 1,
}

impl EntryKind {
    /// From its stored number.
    pub fn from_u8(n: u8) -> Self {
        if n == 1 { Self::Commit } else { Self::Plain }
    }
}

/// One entry of a log.
#[derive(Debug)]
pub struct Entry {
    /// Whose log.
    pub topic: Topic,
    /// Its position (from 1).
    pub position: u64,
    /// Commit or not.
    pub kind: EntryKind,
    /// The bytes stored: an MLSMessage, or an encoded mailbox item.
    pub payload: Vec<u8>,
}

impl Entry {
    /// A new entry.
    pub fn new(topic: Topic, position: u64, kind: EntryKind, payload: Vec<u8>) -> Arc<Self> {
        Arc::new(Self {
            topic,
            position,
            kind,
            payload,
        })
    }
}

/// What is fixed when a group is created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupOptions {
    /// Whether non-members may fetch the GroupInfo and join externally.
    pub external_join: bool,
    /// The cipher suite (the creator's).
    pub cipher_suite: u16,
}

/// A group as the store keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupState {
    /// The epoch the next Commit must be for.
    pub epoch: u64,
    /// Identity per leaf.
    pub roster: Roster,
    /// Whether non-members may fetch the GroupInfo and join externally.
    pub external_join: bool,
    /// The cipher suite (its hash makes ProposalRefs).
    pub cipher_suite: u16,
    /// The public proposals of the current epoch, by ProposalRef.
    pub proposals: Vec<(Vec<u8>, ProposalEffect)>,
}

/// Most public proposals taken per epoch: the service must remember each
/// one until the next Commit, which may name it by reference, so one more
/// is refused ([`AppendOutcome::TooManyProposals`]) until a Commit.
pub const MAX_PROPOSALS: usize = 256;

/// What a Commit changes, written atomically with it.
#[derive(Clone, Debug)]
pub struct CommitEffects {
    /// The roster after the Commit.
    pub roster: Roster,
    /// The GroupInfo of the new epoch, if sent along.
    pub group_info: Option<Vec<u8>>,
}

/// A message to append to a group.
#[derive(Clone, Debug)]
pub struct Append {
    /// The poster's identity.
    pub sender: String,
    /// The epoch of the message.
    pub epoch: u64,
    /// The MLSMessage.
    pub message: Vec<u8>,
    /// Its [`digest`]: the same bytes posted again within
    /// [`DEDUP_WINDOW_SECS`] get the first post's position, so clients may
    /// always resend what they have no answer for.
    pub digest: [u8; 32],
    /// What the message is, as the service checked it: what the store
    /// checks and writes along with it.
    pub kind: AppendKind,
}

/// What a message appended to a group is. Every kind but
/// [`AppendKind::ExternalCommit`] is refused unless its sender is a member.
#[derive(Clone, Debug)]
pub enum AppendKind {
    /// An application message, or a proposal that is not kept: refused
    /// for an epoch the group has not reached.
    Message,
    /// A public proposal of the epoch the service read: a message, also
    /// kept by its ProposalRef until the next Commit if the group is still
    /// at its epoch (and then refused while [`MAX_PROPOSALS`] are kept).
    Proposal {
        /// Its ProposalRef.
        reference: Vec<u8>,
        /// What it changes in the roster.
        effect: ProposalEffect,
    },
    /// A member's Commit of the epoch the service read, with what it
    /// changes: appended only while the group is still at that epoch.
    Commit(CommitEffects),
    /// As [`AppendKind::Commit`], by a joiner who is not a member yet.
    ExternalCommit(CommitEffects),
    /// A Commit of another epoch than the one the service read: never
    /// appended. A resend gets its first position; otherwise the group
    /// has left its epoch, or reached it since the service read ([`AppendOutcome::Stale`]).
    OtherEpochCommit,
}

impl AppendKind {
    /// Whether the sender must be a member.
    pub fn needs_member(&self) -> bool {
        !matches!(self, Self::ExternalCommit(_))
    }

    /// Whether it is a Commit, accepted only at the group's epoch.
    pub fn is_commit(&self) -> bool {
        matches!(self, Self::Commit(_) | Self::ExternalCommit(_) | Self::OtherEpochCommit)
    }

    /// What an accepted Commit changes.
    pub fn effects(&self) -> Option<&CommitEffects> {
        match self {
            Self::Commit(effects) | Self::ExternalCommit(effects) => Some(effects),
            Self::Message | Self::Proposal { .. } | Self::OtherEpochCommit => None,
        }
    }
}

/// How long a message's digest is remembered, in seconds.
pub const DEDUP_WINDOW_SECS: u64 = 600;

/// The store's answer to an append.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendOutcome {
    /// Appended at this position.
    Accepted(u64),
    /// These very bytes were accepted before, at this position.
    Duplicate(u64),
    /// No such group.
    NoGroup,
    /// The sender is not a member.
    NotMember,
    /// A Commit for an epoch the group has left.
    EpochMovedOn {
        /// The group's epoch.
        current: u64,
    },
    /// A message for an epoch the group has not reached.
    FutureEpoch {
        /// The group's epoch.
        current: u64,
    },
    /// A Commit of the group's epoch that the service read as of another
    /// ([`AppendKind::OtherEpochCommit`]): the group moved on between the
    /// read and the append. Read again and retry.
    Stale,
    /// A proposal of the current epoch while [`MAX_PROPOSALS`] are pending.
    TooManyProposals,
}

/// The answer to a read.
#[derive(Clone, Debug)]
pub enum Read {
    /// Entries after the position asked for (possibly none), in order.
    Entries(Vec<Arc<Entry>>),
    /// Entries right after the position are no longer kept.
    Expired {
        /// The oldest position kept.
        oldest: u64,
    },
}

/// How far an identity may read a group's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// A member: the log from position `joined` on, the Commit that added
    /// it (0 for the group's creator). What was posted before it joined is
    /// not its business, and it has no keys for it anyway.
    Member {
        /// The position of the Commit that added it, or 0.
        joined: u64,
    },
    /// Not a member since the Commit at position `removal` removed it: the
    /// log from `joined` up to and including that Commit, so it learns of
    /// its removal and loses nothing sent before it.
    RemovedAt {
        /// The position of the Commit that last added it, or 0.
        joined: u64,
        /// The position of the Commit that removed it.
        removal: u64,
    },
    /// Never a member (or no such group).
    None,
}

/// Groups and mailboxes, each an append-only log.
#[async_trait]
pub trait GroupLog: Send + Sync {
    /// Creates a group at epoch 0 with `creator` at leaf 0; `false` if it exists.
    async fn create_group(&self, group: &[u8], creator: &Leaf, options: GroupOptions) -> Result<bool, StoreError>;

    /// The group's state.
    async fn group(&self, group: &[u8]) -> Result<Option<GroupState>, StoreError>;

    /// Whether `identity` is a member.
    async fn is_member(&self, group: &[u8], identity: &str) -> Result<bool, StoreError>;

    /// How far `identity` may read the group's log.
    async fn access(&self, group: &[u8], identity: &str) -> Result<Access, StoreError>;

    /// Appends to a group in one atomic step: checks what the message's
    /// [`AppendKind`] calls for (membership, the epoch, room for a kept
    /// proposal), then writes the message and what it changes: a kept
    /// proposal, or a Commit's new epoch, roster and GroupInfo, with its
    /// position as the removal position of every identity it removes and
    /// the join position of every identity it adds.
    async fn append(&self, group: &[u8], append: Append, retention: u64) -> Result<AppendOutcome, StoreError>;

    /// Appends an item to a client's mailbox; returns its position.
    async fn deliver(&self, identity: &str, item: Vec<u8>, retention: u64) -> Result<u64, StoreError>;

    /// Up to `limit` entries after position `after`.
    async fn read(&self, topic: &Topic, after: u64, limit: usize) -> Result<Read, StoreError>;

    /// The group's latest GroupInfo.
    async fn group_info(&self, group: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Replaces the GroupInfo if the group is at `epoch`; `false` if not.
    async fn set_group_info(&self, group: &[u8], epoch: u64, group_info: Vec<u8>) -> Result<bool, StoreError>;
}

/// SHA-256 of a message, to recognise its retries.
pub fn digest(message: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(message).into()
}
