//! The embedded store: everything in one process's memory, for a single
//! node with nothing else installed. Lost when the process ends.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio::sync::broadcast;

use super::{
    Access, Append, AppendKind, AppendOutcome, CommitEffects, DEDUP_WINDOW_SECS, Entry, EntryKind, FeedEvent, GroupLog,
    GroupOptions, GroupState, KeyDirectory, KeyPackageUpload, LiveFeed, MAX_PROPOSALS, Quota, Read, Store, StoreError,
    Topic,
};
use crate::inspect::{Leaf, Roster};

/// How many feed events a slow reader may fall behind before it resyncs.
const FEED_CAPACITY: usize = 16 * 1024;
/// Digests remembered per group at most (the window may end earlier).
const MAX_SEEN: usize = 100_000;
/// Used tokens remembered before the expired ones are swept out.
const MAX_USED: usize = 100_000;

#[derive(Default)]
struct Log {
    /// Position of `entries[0]`.
    first: u64,
    entries: VecDeque<Arc<Entry>>,
    /// The last position given out.
    last: u64,
}

impl Log {
    fn push(&mut self, topic: Topic, kind: EntryKind, payload: Vec<u8>, retention: u64) -> Arc<Entry> {
        self.last += 1;
        if self.entries.is_empty() {
            self.first = self.last;
        }
        let entry = Entry::new(topic, self.last, kind, payload);
        self.entries.push_back(entry.clone());
        while self.entries.len() as u64 > retention.max(1) {
            self.entries.pop_front();
            self.first += 1;
        }
        entry
    }
}

struct Group {
    state: GroupState,
    /// Position of each message digest seen recently, and their order.
    seen: HashMap<[u8; 32], u64>,
    seen_order: VecDeque<(Instant, [u8; 32])>,
    group_info: Option<Vec<u8>>,
    /// Removal position per identity removed by a Commit (a later removal
    /// replaces it; while a member again it is not looked at).
    removed: HashMap<String, u64>,
    /// Position of the Commit that last added each identity (the creator
    /// has none: 0).
    joined: HashMap<String, u64>,
}

impl Group {
    fn remember(&mut self, digest: [u8; 32], position: u64) {
        let now = Instant::now();
        while let Some((at, old)) = self.seen_order.front() {
            if now.duration_since(*at).as_secs() < DEDUP_WINDOW_SECS && self.seen_order.len() < MAX_SEEN {
                break;
            }
            self.seen.remove(old);
            self.seen_order.pop_front();
        }
        self.seen.insert(digest, position);
        self.seen_order.push_back((now, digest));
    }

    /// Why `append` is refused at the group's epoch, if it is.
    fn refusal(&self, append: &Append) -> Option<AppendOutcome> {
        let current = self.state.epoch;
        let full = self.state.proposals.len() >= MAX_PROPOSALS;
        match append.kind {
            _ if append.kind.is_commit() && append.epoch != current => Some(AppendOutcome::EpochMovedOn { current }),
            AppendKind::OtherEpochCommit => Some(AppendOutcome::Stale),
            AppendKind::Commit(_) | AppendKind::ExternalCommit(_) => None,
            _ if append.epoch > current => Some(AppendOutcome::FutureEpoch { current }),
            AppendKind::Proposal { .. } if append.epoch == current && full => Some(AppendOutcome::TooManyProposals),
            AppendKind::Message | AppendKind::Proposal { .. } => None,
        }
    }

    /// Writes what an accepted message of `epoch` changes, atomically with
    /// its entry at `position`.
    fn record(&mut self, epoch: u64, kind: AppendKind, position: u64) {
        match kind {
            AppendKind::Proposal { reference, effect } if epoch == self.state.epoch => {
                self.state.proposals.push((reference, effect));
            }
            AppendKind::Commit(effects) | AppendKind::ExternalCommit(effects) => self.commit(effects, position),
            AppendKind::Message | AppendKind::Proposal { .. } | AppendKind::OtherEpochCommit => {}
        }
    }

    /// The next epoch, whose roster and GroupInfo the Commit at `position`
    /// set; whoever it removes or adds was removed or joined there.
    fn commit(&mut self, effects: CommitEffects, position: u64) {
        self.state.epoch += 1;
        self.state.proposals.clear();
        for identity in self.state.roster.left_in(&effects.roster) {
            self.removed.insert(identity, position);
        }
        for identity in effects.roster.left_in(&self.state.roster) {
            self.joined.insert(identity, position);
        }
        self.state.roster = effects.roster;
        if effects.group_info.is_some() {
            self.group_info = effects.group_info;
        }
    }
}

/// Single-use KeyPackages in publication order, and the last-resort one.
type KeyPackages = (VecDeque<Vec<u8>>, Option<Vec<u8>>);

#[derive(Default)]
struct Inner {
    keys: HashMap<String, Vec<u8>>,
    /// Single-use KeyPackages and the last-resort one, per identity.
    key_packages: HashMap<String, KeyPackages>,
    groups: HashMap<Vec<u8>, Group>,
    logs: HashMap<Topic, Log>,
    /// Used single-use tokens, until when they are remembered.
    used: HashMap<Vec<u8>, Instant>,
    /// Quota counters by identity and name: the amount used, and the end
    /// of its window (if it has one).
    quotas: HashMap<(String, &'static str), (u64, Option<Instant>)>,
}

impl Inner {
    fn use_once(&mut self, token: &[u8], ttl_secs: u64) -> bool {
        let now = Instant::now();
        if self.used.len() >= MAX_USED {
            self.used.retain(|_, until| *until > now);
        }
        if self.used.get(token).is_some_and(|until| *until > now) {
            return false;
        }
        self.used.insert(token.to_vec(), now + Duration::from_secs(ttl_secs));
        true
    }

    fn take_quota(&mut self, identity: &str, quota: Quota, amount: u64) -> bool {
        let now = Instant::now();
        let window = quota.window_secs.map(|s| now + Duration::from_secs(s));
        let used = self
            .quotas
            .entry((identity.to_owned(), quota.name))
            .or_insert((0, window));
        if used.1.is_some_and(|end| end <= now) {
            *used = (0, window);
        }
        match used.0.checked_add(amount) {
            Some(total) if total <= quota.limit => {
                used.0 = total;
                true
            }
            _ => false,
        }
    }
}

/// The in-memory [`Store`].
pub struct MemoryStore {
    inner: Mutex<Inner>,
    feed: broadcast::Sender<FeedEvent>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            feed: broadcast::channel(FEED_CAPACITY).0,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-written state
        // behind (every method validates before it writes): keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, entry: &Arc<Entry>) {
        // No receiver is not an error: no replica pushes yet.
        let _ = self.feed.send(FeedEvent::Entry(entry.clone()));
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

#[async_trait]
impl KeyDirectory for MemoryStore {
    async fn use_once(&self, token: &[u8], ttl_secs: u64) -> Result<bool, StoreError> {
        Ok(self.lock().use_once(token, ttl_secs))
    }

    async fn take_quota(&self, identity: &str, quota: Quota, amount: u64) -> Result<bool, StoreError> {
        Ok(self.lock().take_quota(identity, quota, amount))
    }

    async fn register(&self, identity: &str, key: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(self
            .lock()
            .keys
            .entry(identity.to_owned())
            .or_insert_with(|| key.to_vec())
            .clone())
    }

    async fn registered_key(&self, identity: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().keys.get(identity).cloned())
    }

    async fn add_key_packages(
        &self,
        identity: &str,
        add: KeyPackageUpload,
        max: usize,
    ) -> Result<Option<usize>, StoreError> {
        let mut inner = self.lock();
        let (queue, last) = inner.key_packages.entry(identity.to_owned()).or_default();
        let kept = if add.replace { 0 } else { queue.len() };
        if kept + add.key_packages.len() > max {
            return Ok(None);
        }
        if add.replace {
            queue.clear();
        }
        queue.extend(add.key_packages);
        if add.last_resort.is_some() {
            *last = add.last_resort;
        }
        Ok(Some(queue.len()))
    }

    async fn claim_key_package(&self, identity: &str) -> Result<Option<(Vec<u8>, bool)>, StoreError> {
        let mut inner = self.lock();
        let Some((queue, last)) = inner.key_packages.get_mut(identity) else {
            return Ok(None);
        };
        Ok(match queue.pop_front() {
            Some(kp) => Some((kp, false)),
            None => last.clone().map(|kp| (kp, true)),
        })
    }
}

#[async_trait]
impl GroupLog for MemoryStore {
    async fn create_group(&self, group: &[u8], creator: &Leaf, options: GroupOptions) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        if inner.groups.contains_key(group) {
            return Ok(false);
        }
        let state = GroupState {
            epoch: 0,
            roster: Roster::new(creator.clone()),
            external_join: options.external_join,
            cipher_suite: options.cipher_suite,
            proposals: Vec::new(),
        };
        let new = Group {
            state,
            seen: HashMap::new(),
            seen_order: VecDeque::new(),
            group_info: None,
            removed: HashMap::new(),
            joined: HashMap::new(),
        };
        inner.groups.insert(group.to_vec(), new);
        Ok(true)
    }

    async fn group(&self, group: &[u8]) -> Result<Option<GroupState>, StoreError> {
        Ok(self.lock().groups.get(group).map(|g| g.state.clone()))
    }

    async fn is_member(&self, group: &[u8], identity: &str) -> Result<bool, StoreError> {
        Ok(self
            .lock()
            .groups
            .get(group)
            .is_some_and(|g| g.state.roster.contains(identity)))
    }

    async fn access(&self, group: &[u8], identity: &str) -> Result<Access, StoreError> {
        let inner = self.lock();
        let Some(g) = inner.groups.get(group) else {
            return Ok(Access::None);
        };
        let joined = g.joined.get(identity).copied().unwrap_or(0);
        Ok(if g.state.roster.contains(identity) {
            Access::Member { joined }
        } else {
            g.removed
                .get(identity)
                .map_or(Access::None, |&removal| Access::RemovedAt { joined, removal })
        })
    }

    async fn append(&self, group: &[u8], append: Append, retention: u64) -> Result<AppendOutcome, StoreError> {
        let mut guard = self.lock();
        let inner = &mut *guard;
        let Some(g) = inner.groups.get_mut(group) else {
            return Ok(AppendOutcome::NoGroup);
        };
        if append.kind.needs_member() && !g.state.roster.contains(&append.sender) {
            return Ok(AppendOutcome::NotMember);
        }
        if let Some(position) = g.seen.get(&append.digest) {
            return Ok(AppendOutcome::Duplicate(*position));
        }
        if let Some(refused) = g.refusal(&append) {
            return Ok(refused);
        }
        let kind = if append.kind.is_commit() {
            EntryKind::Commit
        } else {
            EntryKind::Plain
        };
        let topic = Topic::Group(group.to_vec());
        let log = inner.logs.entry(topic.clone()).or_default();
        let entry = log.push(topic, kind, append.message, retention);
        g.remember(append.digest, entry.position);
        g.record(append.epoch, append.kind, entry.position);
        drop(guard);
        self.publish(&entry);
        Ok(AppendOutcome::Accepted(entry.position))
    }

    async fn deliver(&self, identity: &str, item: Vec<u8>, retention: u64) -> Result<u64, StoreError> {
        let topic = Topic::Mailbox(identity.to_owned());
        let entry = {
            let mut inner = self.lock();
            let log = inner.logs.entry(topic.clone()).or_default();
            log.push(topic, EntryKind::Plain, item, retention)
        };
        self.publish(&entry);
        Ok(entry.position)
    }

    async fn read(&self, topic: &Topic, after: u64, limit: usize) -> Result<Read, StoreError> {
        let inner = self.lock();
        let Some(log) = inner.logs.get(topic) else {
            return Ok(Read::Entries(Vec::new()));
        };
        if log.entries.is_empty() || after >= log.last {
            return Ok(Read::Entries(Vec::new()));
        }
        if after + 1 < log.first {
            return Ok(Read::Expired { oldest: log.first });
        }
        let skip = (after + 1 - log.first) as usize;
        Ok(Read::Entries(
            log.entries.iter().skip(skip).take(limit).cloned().collect(),
        ))
    }

    async fn group_info(&self, group: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().groups.get(group).and_then(|g| g.group_info.clone()))
    }

    async fn set_group_info(&self, group: &[u8], epoch: u64, group_info: Vec<u8>) -> Result<bool, StoreError> {
        let mut inner = self.lock();
        match inner.groups.get_mut(group) {
            Some(g) if g.state.epoch == epoch => {
                g.group_info = Some(group_info);
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

impl LiveFeed for MemoryStore {
    fn feed(&self) -> broadcast::Receiver<FeedEvent> {
        self.feed.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn passes_the_store_suite() {
        super::super::conformance::run(Arc::new(MemoryStore::new())).await;
    }
}
