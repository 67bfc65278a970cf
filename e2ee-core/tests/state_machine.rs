//! A proptest state machine over the high-level API: random sequences of
//! adds, removes, updates, leaves, external joins, commit races,
//! application messages (delivered in a random order within the epoch),
//! restarts from stored state, and hostile deliveries (a message sent
//! earlier replayed, a genuine one with a byte flipped, one of another
//! group under the same group id, junk) across 3–8 members. After every
//! step all members must agree on the epoch authenticator, every message
//! must open for every member, and every hostile one must be refused
//! without changing its receiver.
//!
//! The normal run is short (24 cases). A long run, as `scripts/fuzz.sh`
//! does it: `STATE_MACHINE_CASES=10000 STATE_MACHINE_MAX_MEMBERS=12`.

use e2ee_core::client::{Client, Event, ExternalJoins, Group, GroupOptions};
use proptest::prelude::*;

const MIN_MEMBERS: usize = 3;

/// A number from the environment variable `name`, or `default`.
fn from_env(name: &str, default: usize) -> usize {
    std::env::var(name).map_or(default, |v| {
        v.parse().unwrap_or_else(|_| panic!("{name}={v}: not a number"))
    })
}

/// How many cases run (`STATE_MACHINE_CASES`, default 24).
fn cases() -> u32 {
    let cases = from_env("STATE_MACHINE_CASES", 24);
    eprintln!("state machine: {cases} cases, up to {} members", max_members());
    cases as u32
}

/// The most members a group reaches (`STATE_MACHINE_MAX_MEMBERS`, default 8).
fn max_members() -> usize {
    from_env("STATE_MACHINE_MAX_MEMBERS", 8).max(MIN_MEMBERS + 1)
}

#[derive(Clone, Debug)]
enum Op {
    /// Member `by` adds `count` newcomers.
    Add { by: usize, count: usize },
    /// Member `by` removes member `target`.
    Remove { by: usize, target: usize },
    /// Member `by` refreshes its keys.
    Update { by: usize },
    /// Member `who` asks to leave; member `by` commits it.
    Leave { who: usize, by: usize },
    /// A newcomer joins by external Commit from `via`'s GroupInfo.
    ExternalJoin { via: usize },
    /// `a` and `b` commit in the same epoch; the Delivery Service takes
    /// `a`'s; `b` learns it lost and retries.
    Race { a: usize, b: usize },
    /// Member `from` sends `count` messages; each receiver gets them in an
    /// order given by `shuffle`.
    Send { from: usize, count: usize, shuffle: u64 },
    /// Member `who` stores its client and group (plain or sealed) and
    /// continues from the restored copies.
    Restart { who: usize, sealed: bool },
    /// Member `to` is handed a hostile message, which it must refuse
    /// without changing.
    Hostile { to: usize, kind: Hostile },
}

#[derive(Clone, Debug)]
enum Hostile {
    /// The message sent `back` messages ago, modulo how many were sent
    /// (all were opened already).
    Replay { back: usize },
    /// Such a message with the byte at `at` (modulo its length) XORed with `mask`.
    Flip { back: usize, at: usize, mask: u8 },
    /// A message of another group with the same group id: application
    /// data, or a Commit.
    Foreign { commit: bool },
    /// Arbitrary bytes.
    Junk(Vec<u8>),
}

fn hostile() -> impl Strategy<Value = Hostile> {
    prop_oneof![
        (0..64usize).prop_map(|back| Hostile::Replay { back }),
        (0..64usize, any::<usize>(), 1..=255u8).prop_map(|(back, at, mask)| Hostile::Flip { back, at, mask }),
        any::<bool>().prop_map(|commit| Hostile::Foreign { commit }),
        proptest::collection::vec(any::<u8>(), 0..128).prop_map(Hostile::Junk),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let i = || 0..64usize;
    prop_oneof![
        1 => (i(), 1..3usize).prop_map(|(by, count)| Op::Add { by, count }),
        1 => (i(), i()).prop_map(|(by, target)| Op::Remove { by, target }),
        1 => i().prop_map(|by| Op::Update { by }),
        1 => (i(), i()).prop_map(|(who, by)| Op::Leave { who, by }),
        1 => i().prop_map(|via| Op::ExternalJoin { via }),
        1 => (i(), i()).prop_map(|(a, b)| Op::Race { a, b }),
        3 => (i(), 1..6usize, any::<u64>()).prop_map(|(from, count, shuffle)| Op::Send { from, count, shuffle }),
        1 => (i(), any::<bool>()).prop_map(|(who, sealed)| Op::Restart { who, sealed }),
        2 => (i(), hostile()).prop_map(|(to, kind)| Op::Hostile { to, kind }),
    ]
}

/// The options of every member: the defaults, with external joins on (the
/// operations include them).
fn options() -> GroupOptions {
    GroupOptions {
        external_joins: ExternalJoins::Allow,
        ..GroupOptions::default()
    }
}

/// A client with [`options`].
fn client(suite: u16, name: &[u8]) -> Client {
    let mut client = Client::new(suite, name).unwrap();
    client.set_group_options(options()).unwrap();
    client
}

/// The members, in a fixed order, with their groups; messages go through a
/// Delivery Service that delivers each to everyone else.
struct World {
    suite: u16,
    members: Vec<(Client, Group)>,
    joined: usize,
    max_members: usize,
    /// Every message delivered to the group, in order.
    sent: Vec<Vec<u8>>,
    /// Another group under the same group id, made on first use.
    foreign: Option<Group>,
}

impl World {
    fn new(suite: u16) -> Self {
        let alice = client(suite, b"member-0");
        let group = alice.create_group().unwrap();
        let mut world = Self {
            suite,
            members: vec![(alice, group)],
            joined: 1,
            max_members: max_members(),
            sent: Vec::new(),
            foreign: None,
        };
        world.add(0, MIN_MEMBERS - 1);
        world
    }

    fn newcomer(&mut self) -> Client {
        let name = format!("member-{}", self.joined);
        self.joined += 1;
        client(self.suite, name.as_bytes())
    }

    /// Everyone but `except` opens `message`; returns their events.
    fn deliver(&mut self, except: usize, message: &[u8]) -> Vec<Vec<Event>> {
        self.sent.push(message.to_vec());
        (self.members.iter_mut().enumerate())
            .filter(|(i, _)| *i != except)
            .map(|(_, (_, g))| g.open(message).unwrap())
            .collect()
    }

    /// `by` commits; the Delivery Service accepts and echoes it to everyone.
    fn accept(&mut self, by: usize, commit: &[u8]) {
        self.members[by].1.open(commit).unwrap();
        self.deliver(by, commit);
        self.members.retain(|(_, g)| g.is_active());
    }

    fn add(&mut self, by: usize, count: usize) {
        let mut newcomers: Vec<Client> = (0..count).map(|_| self.newcomer()).collect();
        let kps: Vec<Vec<u8>> = newcomers.iter_mut().map(|c| c.key_package().unwrap()).collect();
        let bundle = self.members[by].1.add(&kps).unwrap();
        self.accept(by, &bundle.commit);
        let welcome = bundle.welcome.unwrap();
        for mut client in newcomers {
            let group = client.join(&welcome).unwrap();
            self.members.push((client, group));
        }
    }

    fn step(&mut self, op: Op) {
        let n = self.members.len();
        let pick = |i: usize| i % n;
        match op {
            Op::Add { by, count } if n + count <= self.max_members => self.add(pick(by), count),
            Op::Remove { by, target } if n > MIN_MEMBERS && pick(by) != pick(target) => {
                let index = self.members[pick(target)].1.own_index();
                let bundle = self.members[pick(by)].1.remove(&[index]).unwrap();
                self.accept(pick(by), &bundle.commit);
            }
            Op::Update { by } => {
                let bundle = self.members[pick(by)].1.update().unwrap();
                self.accept(pick(by), &bundle.commit);
            }
            Op::Leave { who, by } if n > MIN_MEMBERS && pick(who) != pick(by) => {
                let proposal = self.members[pick(who)].1.leave().unwrap();
                self.deliver(pick(who), &proposal);
                let bundle = self.members[pick(by)].1.commit_proposals().unwrap();
                self.accept(pick(by), &bundle.commit);
            }
            Op::ExternalJoin { via } if n < self.max_members => {
                let info = self.members[pick(via)].1.group_info().unwrap();
                let client = self.newcomer();
                let (group, commit) = client.join_external(&info).unwrap();
                self.deliver(usize::MAX, &commit);
                self.members.push((client, group));
            }
            Op::Race { a, b } if pick(a) != pick(b) => self.race(pick(a), pick(b)),
            Op::Send { from, count, shuffle } => self.send(pick(from), count, shuffle),
            Op::Restart { who, sealed } => self.restart(pick(who), sealed),
            Op::Hostile { to, kind } => self.hostile(pick(to), kind),
            _ => {}
        }
    }

    fn restart(&mut self, who: usize, sealed: bool) {
        const KEY: [u8; 32] = [3; 32];
        let (client, group) = &self.members[who];
        let restored = if sealed {
            let mut client = Client::restore_sealed(&client.export_sealed(&KEY).unwrap(), &KEY).unwrap();
            client.set_group_options(options()).unwrap();
            let group = client
                .restore_sealed_group(&group.export_sealed(&KEY).unwrap(), &KEY, group.id())
                .unwrap();
            (client, group)
        } else {
            let mut client = Client::restore_state(&client.export_state().unwrap()).unwrap();
            client.set_group_options(options()).unwrap();
            let group = client.restore_group(&group.export_state().unwrap()).unwrap();
            (client, group)
        };
        self.members[who] = restored;
    }

    /// The message sent `back` messages ago, modulo how many were sent.
    fn earlier(&self, back: usize) -> Vec<u8> {
        self.sent[self.sent.len() - 1 - back % self.sent.len()].clone()
    }

    fn hostile(&mut self, to: usize, kind: Hostile) {
        let message = match kind {
            Hostile::Replay { back } => self.earlier(back),
            Hostile::Flip { back, at, mask } => {
                let mut message = self.earlier(back);
                let at = at % message.len();
                message[at] ^= mask;
                message
            }
            Hostile::Foreign { commit } => {
                let id = self.members[0].1.id().to_vec();
                let foreign = (self.foreign)
                    .get_or_insert_with(|| client(self.suite, b"stranger").create_group_with_id(&id).unwrap());
                if commit {
                    let bundle = foreign.update().unwrap();
                    foreign.merge_commit().unwrap();
                    bundle.commit
                } else {
                    foreign.seal(b"not for this group", b"").unwrap()
                }
            }
            Hostile::Junk(bytes) => bytes,
        };
        let group = &mut self.members[to].1;
        let (epoch, authenticator, deferred) = (group.epoch(), group.epoch_authenticator(), group.deferred());
        match group.open(&message) {
            Err(_) => assert_eq!(group.deferred(), deferred, "a refused message was held"),
            // A message claiming a later epoch cannot be checked before it
            // begins: it is held, and refused then.
            Ok(events) => assert!(
                matches!(events[..], [Event::Deferred { epoch: later }] if later > epoch),
                "a hostile message was accepted: {events:?}"
            ),
        }
        assert_eq!(group.epoch(), epoch, "a hostile message changed the epoch");
        assert_eq!(
            group.epoch_authenticator(),
            authenticator,
            "a hostile message changed the keys"
        );
    }

    fn race(&mut self, a: usize, b: usize) {
        let winner = self.members[a].1.update().unwrap();
        let loser = self.members[b].1.update().unwrap();
        self.sent.extend([winner.commit.clone(), loser.commit.clone()]);
        self.members[a].1.open(&winner.commit).unwrap();
        for (i, (_, g)) in self.members.iter_mut().enumerate().filter(|(i, _)| *i != a) {
            let events = g.open(&winner.commit).unwrap();
            let lost = matches!(events.first(), Some(Event::CommitLost { .. }));
            assert_eq!(lost, i == b, "only the loser is told: {events:?}");
        }
        assert!(
            self.members[a].1.open(&loser.commit).is_err(),
            "a losing Commit is stale"
        );
        let retried = self.members[b]
            .1
            .retry(&e2ee_core::client::Intent::Update)
            .unwrap()
            .unwrap();
        self.accept(b, &retried.commit);
    }

    fn send(&mut self, from: usize, count: usize, shuffle: u64) {
        let sealed: Vec<(Vec<u8>, Vec<u8>)> = (0..count)
            .map(|k| {
                let text = format!("{from}:{k}:{shuffle}").into_bytes();
                let message = self.members[from].1.seal(&text, b"").unwrap();
                (text, message)
            })
            .collect();
        self.sent.extend(sealed.iter().map(|(_, message)| message.clone()));
        let sender = self.members[from].1.own_index();
        for (i, (_, g)) in self.members.iter_mut().enumerate().filter(|(i, _)| *i != from) {
            let mut order: Vec<usize> = (0..count).collect();
            // A deterministic shuffle per receiver: rotation and reversal.
            order.rotate_left((shuffle as usize + i) % count);
            if (shuffle >> i) & 1 == 1 {
                order.reverse();
            }
            for k in order {
                let events = g.open(&sealed[k].1).unwrap();
                let [Event::Message { sender: s, data, .. }] = &events[..] else {
                    panic!("{events:?}")
                };
                assert_eq!((s.index, data), (sender, &sealed[k].0));
            }
        }
    }

    fn check(&self) {
        let first = &self.members[0].1;
        for (_, g) in &self.members {
            assert_eq!(g.epoch(), first.epoch());
            assert_eq!(g.epoch_authenticator(), first.epoch_authenticator());
            assert_eq!(g.members().len(), self.members.len());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), max_shrink_iters: 64, ..ProptestConfig::default() })]
    #[test]
    fn members_agree_and_every_message_opens(suite in 1..=7u16, ops in proptest::collection::vec(op(), 1..16)) {
        let mut world = World::new(suite);
        world.check();
        for op in ops {
            world.step(op);
            world.check();
        }
    }
}

#[test]
fn default_options_keep_a_window() {
    // The state machine relies on the defaults: reordering within an epoch
    // and one past epoch.
    let options = GroupOptions::default();
    assert!(options.group_config.secret_tree.max_forward_distance >= 5);
    assert!(options.group_config.past_epochs >= 1);
}
