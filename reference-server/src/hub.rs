//! Fan-out inside one replica: the store's feed (entries accepted by any
//! replica) is split by topic onto one broadcast channel per topic that has
//! local subscribers. A subscriber that falls behind, or a feed that lost
//! entries, turns into a `Poke`: the subscriber then reads the store from
//! its own position, so nothing is lost and nothing is pushed twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::ws::Utf8Bytes;
use tokio::sync::broadcast;

use crate::store::{Entry, FeedEvent, LiveFeed, Topic};

/// Entries one topic may queue for its slowest local subscriber.
const TOPIC_CAPACITY: usize = 1024;

/// An entry on its way to sockets: one per entry and replica, shared by
/// every socket it goes to, so its JSON frame is encoded once for all.
#[derive(Debug)]
pub struct Outgoing {
    /// The entry.
    pub entry: Arc<Entry>,
    /// Its JSON text frame, once a socket asked for it.
    pub text: OnceLock<Utf8Bytes>,
}

impl Outgoing {
    /// `entry`, with no frame encoded yet.
    pub fn new(entry: Arc<Entry>) -> Arc<Self> {
        Arc::new(Self {
            entry,
            text: OnceLock::new(),
        })
    }
}

/// What a topic subscriber receives.
#[derive(Clone, Debug)]
pub enum HubEvent {
    /// A new entry of the topic.
    Entry(Arc<Outgoing>),
    /// Entries may have been missed: read the store.
    Poke,
}

/// The per-topic channels of one replica.
#[derive(Default)]
pub struct Hub {
    topics: Mutex<HashMap<Topic, broadcast::Sender<HubEvent>>>,
}

impl Hub {
    /// Receives the topic's entries from now on.
    pub fn subscribe(&self, topic: &Topic) -> broadcast::Receiver<HubEvent> {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        topics
            .entry(topic.clone())
            .or_insert_with(|| broadcast::channel(TOPIC_CAPACITY).0)
            .subscribe()
    }

    fn dispatch(&self, event: FeedEvent) {
        let mut topics = self.topics.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            FeedEvent::Entry(entry) => {
                if let Some(sender) = topics.get(&entry.topic)
                    && sender.send(HubEvent::Entry(Outgoing::new(entry.clone()))).is_err()
                {
                    // Nobody here listens to this topic any more.
                    topics.remove(&entry.topic);
                }
            }
            FeedEvent::Resync => {
                topics.retain(|_, sender| sender.send(HubEvent::Poke).is_ok());
            }
        }
    }

    /// Forwards the store's feed to the topics until the feed closes.
    pub fn spawn_dispatcher(self: &Arc<Self>, feed: &dyn LiveFeed) -> tokio::task::JoinHandle<()> {
        let mut feed = feed.feed();
        let hub = self.clone();
        tokio::spawn(async move {
            loop {
                match feed.recv().await {
                    Ok(event) => hub.dispatch(event),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(missed = n, "hub lagged behind the feed; subscribers resync");
                        hub.dispatch(FeedEvent::Resync);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        })
    }
}
