//! A live group of two to four members, driven through the high-level API
//! by a script the fuzz input spells out: application messages, adds,
//! removes, updates, leaves, Commits of proposals, Commits merged or
//! discarded (the Delivery Service accepted or refused them), joins from
//! Welcomes, and deliveries of any message ever sent, to any member, in
//! any order, any number of times. Hostile messages are mixed in: genuine
//! ones with bytes flipped, cut or spliced, KeyPackages and Welcomes
//! likewise, messages of a twin group that has the same group id, and
//! junk.
//!
//! Whatever happens:
//! - nothing panics;
//! - a message that is not one the group's members sent (byte for byte)
//!   is rejected with an error, or held as of a future epoch and then
//!   dropped as rejected: it never yields a message, a proposal or an
//!   epoch change, and a KeyPackage changed in transit is not added;
//! - a rejected message leaves the member as it was (epoch, epoch
//!   authenticator, held messages, proposals, pending Commit);
//! - a Commit moves a member only from the state it was made in, and the
//!   members that went through the same Commits (a joiner counts the ones
//!   before its Welcome) agree on epoch, epoch authenticator and members;
//!   members that agree on the epoch authenticator went through the same
//!   Commits;
//! - an application message opens at most once for each member, from its
//!   true sender, and a member opens a fresh message from another member
//!   in the same state after any hostile input.
//!
//! The input also seeds the generator that the fuzz build of e2ee-core
//! draws its randomness from, and the clock is fixed there: a run replays.

use std::collections::{HashMap, HashSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use arbitrary::{Result, Unstructured};
use e2ee_core::Error;
use e2ee_core::client::{Client, CommitBundle, Event, Group, GroupOptions, HandshakeFormat};

const SLOTS: usize = 4;
const MAX_STEPS: usize = 64;
const GROUP_ID: &[u8] = b"live group";

/// One client and its group, with what the harness knows of it.
struct Slot {
    client: Client,
    group: Option<Group>,
    /// Fingerprint of the Commits the group went through, from its start.
    history: u64,
    /// The messages the group holds for future epochs, as the harness
    /// expects them: epoch and bytes, in arrival order.
    held: Vec<(u64, Vec<u8>)>,
    /// The own Commit sent and not merged.
    pending: Option<Vec<u8>>,
    /// The application messages opened (their tags).
    received: HashSet<u64>,
    /// How much of the wire [`World::sync`] delivered.
    cursor: usize,
}

impl Slot {
    fn active(&mut self) -> Option<&mut Group> {
        self.group.as_mut().filter(|g| g.is_active())
    }
}

/// What must not change when a message is rejected.
#[derive(Debug, PartialEq)]
struct Snapshot {
    epoch: u64,
    authenticator: Vec<u8>,
    deferred: usize,
    proposals: usize,
    pending_commit: bool,
    active: bool,
}

fn snapshot(group: &Group) -> Snapshot {
    Snapshot {
        epoch: group.epoch(),
        authenticator: group.epoch_authenticator().unwrap_or_default(),
        deferred: group.deferred(),
        proposals: group.pending_proposals().len(),
        pending_commit: group.has_pending_commit(),
        active: group.is_active(),
    }
}

fn fingerprint(before: u64, commit: &[u8]) -> u64 {
    let mut hasher = DefaultHasher::new();
    (before, commit).hash(&mut hasher);
    hasher.finish()
}

struct World {
    slots: Vec<Slot>,
    /// Every group message the members sent, in sending order.
    wire: Vec<Vec<u8>>,
    /// Every genuine message, KeyPackage and Welcome, byte for byte.
    genuine: HashSet<Vec<u8>>,
    /// Each Commit made: the history it was made in, and the one it leads to.
    commits: HashMap<Vec<u8>, (u64, u64)>,
    /// Welcomes, with the history their joiners start from.
    welcomes: Vec<(Vec<u8>, u64)>,
    /// Application messages sent: tag to sender identity.
    sent: HashMap<u64, Vec<u8>>,
    next_tag: u64,
    /// A group of someone else under the same group id, and its messages.
    twin: Group,
    twin_messages: Vec<Vec<u8>>,
}

impl World {
    fn new(u: &mut Unstructured) -> Result<Self> {
        let seed: u64 = u.arbitrary()?;
        // Fuzz builds of e2ee-core draw from this seed; elsewhere (the
        // smoke run) the seed is read all the same, so inputs mean the
        // same steps, and the randomness is the system's.
        #[cfg(fuzzing)]
        e2ee_core::crypto::seed_fuzz_rng(seed);
        #[cfg(not(fuzzing))]
        let _ = seed;
        let suite = u.int_in_range(1..=3u16)?;
        let options = GroupOptions {
            handshake_wire_format: if u.arbitrary()? {
                HandshakeFormat::Private
            } else {
                HandshakeFormat::Public
            },
            max_buffered: u.int_in_range(0..=8)?,
            max_epochs_ahead: u.int_in_range(0..=3)?,
            ..GroupOptions::default()
        };
        let client = |name: &str| {
            let mut client = Client::new(suite, name.as_bytes()).unwrap();
            client.set_group_options(options).unwrap();
            client
        };
        let slots = (0..SLOTS)
            .map(|i| Slot {
                client: client(&format!("member-{i}")),
                group: None,
                history: 0,
                held: Vec::new(),
                pending: None,
                received: HashSet::new(),
                cursor: 0,
            })
            .collect();
        let twin = client("twin").create_group_with_id(GROUP_ID).unwrap();
        let mut world = Self {
            slots,
            wire: Vec::new(),
            genuine: HashSet::new(),
            commits: HashMap::new(),
            welcomes: Vec::new(),
            sent: HashMap::new(),
            next_tag: 0,
            twin,
            twin_messages: Vec::new(),
        };
        // Member 0 creates the group and adds member 1.
        world.slots[0].group = Some(world.slots[0].client.create_group_with_id(GROUP_ID).unwrap());
        world.add(0, 1, None);
        world.merge(0);
        let (welcome, history) = world.welcomes[0].clone();
        world.join(1, &welcome, history);
        Ok(world)
    }

    /// `bytes` came from the group's members.
    fn record(&mut self, bytes: &[u8], wire: bool) {
        self.genuine.insert(bytes.to_vec());
        if wire {
            self.wire.push(bytes.to_vec());
        }
    }

    /// A Commit of `by` was made: note where it leads.
    fn committed(&mut self, by: usize, bundle: CommitBundle) {
        let before = self.slots[by].history;
        let after = fingerprint(before, &bundle.commit);
        self.commits.insert(bundle.commit.clone(), (before, after));
        self.record(&bundle.commit, true);
        if let Some(welcome) = bundle.welcome {
            self.record(&welcome, false);
            self.welcomes.push((welcome, after));
        }
        self.slots[by].pending = Some(bundle.commit);
    }

    /// Member `by` adds the client of `slot`, with its KeyPackage changed
    /// by `mutation` if any.
    fn add(&mut self, by: usize, slot: usize, mutation: Option<&mut Unstructured>) {
        let Ok(kp) = self.slots[slot].client.key_package() else {
            return;
        };
        self.record(&kp, false);
        let sent = match mutation {
            Some(u) => mutate(&kp, &self.wire, u).unwrap_or_else(|_| kp.clone()),
            None => kp.clone(),
        };
        let Some(group) = self.slots[by].active() else { return };
        let before = snapshot(group);
        match group.add(std::slice::from_ref(&sent)) {
            Ok(bundle) => {
                assert!(
                    self.genuine.contains(&sent),
                    "a KeyPackage changed in transit was added"
                );
                self.committed(by, bundle);
            }
            Err(_) => assert_eq!(snapshot(group), before, "a refused add changed the group"),
        }
    }

    /// A Commit of `by` other than an add.
    fn commit(&mut self, by: usize, op: impl FnOnce(&mut Group) -> std::result::Result<CommitBundle, Error>) {
        let Some(group) = self.slots[by].active() else { return };
        let before = snapshot(group);
        match op(group) {
            Ok(bundle) => self.committed(by, bundle),
            Err(_) => assert_eq!(snapshot(group), before, "a refused Commit changed the group"),
        }
    }

    /// The Delivery Service accepted the pending Commit of `by`.
    fn merge(&mut self, by: usize) {
        let pending = self.slots[by].pending.clone();
        let Some(group) = self.slots[by].group.as_mut() else {
            return;
        };
        let before = snapshot(group);
        match group.merge_commit() {
            Ok(events) => {
                let mut events = events.into_iter();
                let Some(Event::EpochChanged {
                    epoch, self_removed, ..
                }) = events.next()
                else {
                    panic!("a merge without an epoch change")
                };
                let commit = pending.expect("a merge without a pending Commit");
                self.apply(by, &commit);
                self.release(by, epoch, before.active && !self_removed, events);
            }
            Err(_) => {
                assert!(pending.is_none(), "a pending Commit did not merge");
                assert_eq!(snapshot(group), before, "a failed merge changed the group");
            }
        }
    }

    /// Member `slot` went through `commit`.
    fn apply(&mut self, slot: usize, commit: &[u8]) {
        let Some(&(before, after)) = self.commits.get(commit) else {
            panic!("a Commit no member made was applied")
        };
        let slot = &mut self.slots[slot];
        assert_eq!(
            slot.history, before,
            "a Commit was applied in a state other than its own"
        );
        slot.history = after;
        slot.pending = None;
    }

    /// `slot` opens `bytes`.
    fn open(&mut self, slot: usize, bytes: &[u8]) {
        let own = self.slots[slot].pending.as_deref() == Some(bytes);
        let Some(group) = self.slots[slot].group.as_mut() else {
            return;
        };
        let before = snapshot(group);
        let events = match group.open(bytes) {
            Ok(events) => events,
            Err(_) => {
                assert_eq!(snapshot(group), before, "a rejected message changed the group");
                return;
            }
        };
        if let [Event::Deferred { epoch }] = events[..] {
            assert!(epoch > before.epoch, "a message of this epoch was held");
            let deferred = group.deferred();
            self.slots[slot].held.push((epoch, bytes.to_vec()));
            assert_eq!(deferred, self.slots[slot].held.len(), "held messages");
            return;
        }
        let mut events = events.into_iter().peekable();
        let (mut epoch, mut active) = (before.epoch, before.active);
        if own {
            let Some(Event::EpochChanged {
                epoch: e, self_removed, ..
            }) = events.next()
            else {
                panic!("the echo of an own Commit did not merge it")
            };
            self.apply(slot, bytes);
            (epoch, active) = (e, active && !self_removed);
        } else {
            self.consume(slot, bytes, &mut events, &mut epoch, &mut active);
        }
        self.release(slot, epoch, active, events);
    }

    /// Takes the events of one message `bytes` opened by `slot`.
    fn consume(
        &mut self,
        slot: usize,
        bytes: &[u8],
        events: &mut std::iter::Peekable<std::vec::IntoIter<Event>>,
        epoch: &mut u64,
        active: &mut bool,
    ) {
        let event = events.next().expect("a message opened with no event");
        if !matches!(event, Event::Rejected { .. }) {
            assert!(
                self.genuine.contains(bytes),
                "a message no member sent was accepted: {event:?}"
            );
        }
        match event {
            Event::Rejected { .. } | Event::Proposal { .. } => {}
            Event::Message { sender, data, .. } => {
                let tag = u64::from_le_bytes(data[..8].try_into().unwrap());
                assert_eq!(
                    self.sent.get(&tag),
                    Some(&sender.identity),
                    "a message from the wrong sender"
                );
                assert!(self.slots[slot].received.insert(tag), "a message opened twice");
            }
            Event::CommitLost { .. } => {
                let Some(Event::EpochChanged {
                    epoch: e, self_removed, ..
                }) = events.next()
                else {
                    panic!("a lost Commit without the epoch change")
                };
                self.apply(slot, bytes);
                (*epoch, *active) = (e, *active && !self_removed);
            }
            Event::EpochChanged {
                epoch: e, self_removed, ..
            } => {
                self.apply(slot, bytes);
                (*epoch, *active) = (e, *active && !self_removed);
            }
            Event::Deferred { .. } => panic!("a deferral among other events"),
        }
    }

    /// The held messages of `slot` whose epoch began, as the group opens
    /// them after an epoch change: their events follow in `events`.
    fn release(&mut self, slot: usize, mut epoch: u64, mut active: bool, events: impl Iterator<Item = Event>) {
        let mut events = events.collect::<Vec<_>>().into_iter().peekable();
        loop {
            if !active {
                self.slots[slot].held.clear();
                break;
            }
            let held = std::mem::take(&mut self.slots[slot].held);
            let (ready, later): (Vec<_>, Vec<_>) = held.into_iter().partition(|(e, _)| *e <= epoch);
            self.slots[slot].held = later;
            if ready.is_empty() {
                break;
            }
            for (_, bytes) in ready {
                self.consume(slot, &bytes, &mut events, &mut epoch, &mut active);
            }
        }
        assert!(events.next().is_none(), "events of no message");
        let group = self.slots[slot].group.as_ref().unwrap();
        assert_eq!(group.deferred(), self.slots[slot].held.len(), "held messages");
    }

    /// The client of `slot` joins from `welcome`, meant to start it at `history`.
    fn join(&mut self, slot: usize, welcome: &[u8], history: u64) {
        if self.slots[slot].active().is_some() {
            return;
        }
        if let Ok(group) = self.slots[slot].client.join(welcome) {
            let slot = &mut self.slots[slot];
            slot.group = Some(group);
            slot.history = history;
            slot.held.clear();
            slot.pending = None;
            slot.cursor = 0;
        }
    }

    fn send(&mut self, from: usize) {
        let tag = self.next_tag;
        self.next_tag += 1;
        let slot = &mut self.slots[from];
        let identity = slot.client.identity().to_vec();
        let Some(group) = slot.active() else { return };
        let message = group.seal(&tag.to_le_bytes(), b"ad").unwrap();
        self.sent.insert(tag, identity);
        self.record(&message, true);
    }

    /// `from` seals a fresh message and `to`, in the same state, opens it.
    fn probe(&mut self, to: usize, from: usize) {
        let (a, b) = (&self.slots[to], &self.slots[from]);
        let same = to != from && a.history == b.history;
        let both = a.group.as_ref().is_some_and(Group::is_active) && b.group.as_ref().is_some_and(Group::is_active);
        if !same || !both {
            return;
        }
        let tag = self.next_tag;
        self.send(from);
        let message = self.wire.last().unwrap().clone();
        self.open(to, &message);
        assert!(
            self.slots[to].received.contains(&tag),
            "a member in the same state cannot open a fresh message"
        );
    }

    /// A message of the twin group: application data or a Commit.
    fn twin_message(&mut self, commit: bool) -> Vec<u8> {
        let message = if commit {
            let bundle = self.twin.update().unwrap();
            self.twin.merge_commit().unwrap();
            bundle.commit
        } else {
            self.twin.seal(b"twin", b"").unwrap()
        };
        self.twin_messages.push(message.clone());
        message
    }

    /// Members in the same history agree; members that agree have the same history.
    fn check(&self) {
        let active: Vec<(&Slot, &Group)> = (self.slots.iter())
            .filter_map(|s| s.group.as_ref().filter(|g| g.is_active()).map(|g| (s, g)))
            .collect();
        for (i, (a, ga)) in active.iter().enumerate() {
            for (b, gb) in &active[i + 1..] {
                let same_authenticator = ga.epoch_authenticator().unwrap() == gb.epoch_authenticator().unwrap();
                if a.history == b.history {
                    assert_eq!(ga.epoch(), gb.epoch(), "same Commits, different epochs");
                    assert!(same_authenticator, "same Commits, different epoch authenticators");
                    assert_eq!(ga.members(), gb.members(), "same Commits, different members");
                } else {
                    assert!(!same_authenticator, "different Commits, same epoch authenticator");
                }
            }
        }
    }

    fn step(&mut self, u: &mut Unstructured) -> Result<()> {
        let member = |u: &mut Unstructured| u.int_in_range(0..=SLOTS - 1);
        match u.int_in_range(0..=19u8)? {
            0..=2 => self.send(member(u)?),
            3 => {
                let (by, slot) = (member(u)?, member(u)?);
                if self.slots[slot].active().is_none() && self.slots[by].pending.is_none() {
                    let mutated = u.ratio(1, 4)?;
                    self.add(by, slot, if mutated { Some(&mut *u) } else { None });
                }
            }
            4 => {
                let (by, target) = (member(u)?, u.int_in_range(0..=SLOTS as u32)?);
                self.commit(by, |g| g.remove(&[target]));
            }
            5 => self.commit(member(u)?, Group::update),
            6 => self.commit(member(u)?, Group::commit_proposals),
            7 => {
                let who = member(u)?;
                if let Some(group) = self.slots[who].active()
                    && let Ok(proposal) = group.leave()
                {
                    self.record(&proposal, true);
                }
            }
            8 => self.merge(member(u)?),
            9 => {
                let by = member(u)?;
                if let Some(group) = self.slots[by].group.as_mut() {
                    group.discard_commit();
                    self.slots[by].pending = None;
                }
            }
            10..=12 => {
                let to = member(u)?;
                if !self.wire.is_empty() {
                    // Recent messages more often than old ones.
                    let back = u.int_in_range(0..=self.wire.len() - 1)? >> u.int_in_range(0..=3u8)?;
                    let message = self.wire[self.wire.len() - 1 - back].clone();
                    self.open(to, &message);
                }
            }
            13 | 14 => {
                let to = member(u)?;
                if !self.wire.is_empty() {
                    let at = u.choose_index(self.wire.len())?;
                    let message = mutate(&self.wire[at], &self.wire, u)?;
                    self.open(to, &message);
                }
            }
            15 => {
                let slot = member(u)?;
                if !self.welcomes.is_empty() {
                    let (welcome, history) = self.welcomes[u.choose_index(self.welcomes.len())?].clone();
                    let welcome = if u.ratio(1, 3)? {
                        mutate(&welcome, &self.wire, u)?
                    } else {
                        welcome
                    };
                    self.join(slot, &welcome, history);
                }
            }
            16 => {
                let to = member(u)?;
                let len = u.int_in_range(0..=64)?;
                let junk = u.bytes(len)?.to_vec();
                self.open(to, &junk);
            }
            17 => {
                let (to, commit) = (member(u)?, u.ratio(1, 3)?);
                let message = self.twin_message(commit);
                self.open(to, &message);
            }
            18 => self.probe(member(u)?, member(u)?),
            _ => {
                let to = member(u)?;
                let from = self.slots[to].cursor.min(self.wire.len());
                self.slots[to].cursor = self.wire.len();
                let pending: Vec<Vec<u8>> = self.wire.iter().skip(from).cloned().collect();
                for message in pending {
                    self.open(to, &message);
                }
            }
        }
        Ok(())
    }
}

/// `original` with bytes flipped, cut, spliced from another message, or
/// with bytes added, as `u` says.
fn mutate(original: &[u8], wire: &[Vec<u8>], u: &mut Unstructured) -> Result<Vec<u8>> {
    let mut bytes = original.to_vec();
    let len = bytes.len().max(1);
    match u.int_in_range(0..=3u8)? {
        0 => {
            for _ in 0..u.int_in_range(1..=4)? {
                let at = u.int_in_range(0..=len - 1)?;
                let mask: u8 = u.arbitrary()?;
                if let Some(byte) = bytes.get_mut(at) {
                    *byte ^= mask.max(1);
                }
            }
        }
        1 => bytes.truncate(u.int_in_range(0..=len - 1)?),
        2 => {
            let other = match wire.len() {
                0 => original,
                n => &wire[u.choose_index(n)?],
            };
            let start = u.int_in_range(0..=len)?.min(bytes.len());
            let end = u.int_in_range(start..=len)?.min(bytes.len());
            let from = u.int_in_range(0..=other.len())?;
            let to = u.int_in_range(from..=other.len())?;
            bytes.splice(start..end, other[from..to].iter().copied());
        }
        _ => {
            let at = u.int_in_range(0..=bytes.len())?;
            let len = u.int_in_range(1..=16)?;
            let extra = u.bytes(len)?.to_vec();
            bytes.splice(at..at, extra);
        }
    }
    Ok(bytes)
}

fn run(data: &[u8]) -> Result<()> {
    let mut u = Unstructured::new(data);
    let mut world = World::new(&mut u)?;
    world.check();
    for _ in 0..MAX_STEPS {
        if u.is_empty() {
            break;
        }
        world.step(&mut u)?;
        world.check();
    }
    Ok(())
}

/// Runs the script `data` spells out, checking the properties above after
/// every step.
pub fn open_in_live_group(data: &[u8]) {
    // The input running out ends the script early; that is no finding.
    let _ = run(data);
}
