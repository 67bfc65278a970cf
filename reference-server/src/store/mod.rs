//! Storage, one trait per concern: [`KeyDirectory`] (identities, keys,
//! KeyPackages, quotas, sign-in challenges), [`GroupLog`] (groups and
//! mailboxes) and [`LiveFeed`] (accepted entries as they come), gathered
//! with a health check in [`Store`]. Two implementations share one test
//! suite ([`conformance`]): [`memory::MemoryStore`] (embedded, the default,
//! one node) and [`redis::RedisStore`] (any number of replicas).
//!
//! Every group and every client mailbox is a *topic*: an append-only log
//! whose entries are numbered 1, 2, 3, ... (their *position*). Appending a
//! Commit is atomic with the check that the group is still at the Commit's
//! epoch, so at most one Commit per epoch is ever accepted, whichever
//! replica received it. Every accepted entry also goes out on the store's
//! [`LiveFeed::feed`], so each replica can push it to its own WebSocket clients.

pub mod conformance;
mod group_log;
mod key_directory;
mod live_feed;
pub mod memory;
pub mod redis;

use async_trait::async_trait;

pub use group_log::{
    Access, Append, AppendKind, AppendOutcome, CommitEffects, DEDUP_WINDOW_SECS, Entry, EntryKind, GroupLog,
    GroupOptions, GroupState, MAX_PROPOSALS, Read, Topic, digest,
};
pub use key_directory::{KeyDirectory, KeyPackageUpload, Quota};
pub use live_feed::{FeedEvent, LiveFeed};

/// A whole backend: what the service runs on.
#[async_trait]
pub trait Store: KeyDirectory + GroupLog + LiveFeed + 'static {
    /// Whether the backend answers (the readiness check).
    async fn ping(&self) -> Result<(), StoreError>;
}

/// A failure of the store itself (not a refusal): the backend is out of
/// reach, or answered what this server cannot read. Each backend turns its
/// own errors into it; the cause is for the log, not for clients.
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(String);

impl StoreError {
    /// A failure, described by its cause.
    pub fn new(cause: impl std::fmt::Display) -> Self {
        Self(cause.to_string())
    }
}
