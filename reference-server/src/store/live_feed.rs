//! The broadcast of accepted entries, so each replica pushes to its own
//! sockets what any replica accepted.

use std::sync::Arc;

use tokio::sync::broadcast;

use super::Entry;

/// What the feed carries.
#[derive(Clone, Debug)]
pub enum FeedEvent {
    /// An entry accepted by some replica.
    Entry(Arc<Entry>),
    /// The feed may have missed entries (it reconnected or lagged): every
    /// pusher must check the store.
    Resync,
}

/// The broadcast of accepted entries.
pub trait LiveFeed: Send + Sync {
    /// Every entry appended from now on, by any replica.
    fn feed(&self) -> broadcast::Receiver<FeedEvent>;
}
