//! A group of 1,000 members built through real Commits (RFC 9420 §12.4),
//! cipher suite 1: the creator adds the members in a few batches, each by
//! one Commit with a Welcome; every member processes every Commit and every
//! joiner joins from its Welcome, validating the whole tree it carries.
//! Then a member in the middle of the tree adds one more newcomer with a
//! path, the newcomer talks to a sample of the members, and one member
//! removes another. After each Commit every member must be in the same
//! epoch, with the same GroupContext, epoch authenticator and exporter
//! secret.
//!
//! The members' work is spread over the machine's cores. The time of each
//! phase and the size of each message are printed (`--nocapture`), to show
//! the costs; nothing about them is asserted.

mod common;

use std::time::Instant;

use common::Client;

use e2ee_core::codec::{decode_exact, encode};
use e2ee_core::crypto::{CipherSuite, CryptoProvider, os_rng};
use e2ee_core::error::{Error, UsageError};
use e2ee_core::group::{CommitOutput, CommitParams, CommitSummary, Environment, Group, ProcessedMessage};
use e2ee_core::key_package::NewKeyPackage;
use e2ee_core::messages::{MlsMessage, Sender, WireFormat};
use e2ee_core::tree_math::LeafIndex;
use e2ee_rustcrypto::RustCryptoProvider;

const SUITE: CipherSuite = CipherSuite(1);
const MEMBERS: usize = 1000;
/// The group's size after each adding Commit of the creator. Few, large
/// batches: every member validates every KeyPackage added after it, and
/// every joiner validates the whole tree (a signature per leaf).
const SIZES: [usize; 3] = [10, 100, MEMBERS];
fn env() -> Environment<'static> {
    Environment::basic(RustCryptoProvider.cipher_suite(SUITE).unwrap())
}

/// A member: its identity and its group state.
struct Member {
    client: Client,
    group: Group,
}

/// The message after a round trip through its encoding, and its size.
fn wire(message: &MlsMessage) -> (MlsMessage, usize) {
    let bytes = encode(message).unwrap();
    (decode_exact(&bytes).unwrap(), bytes.len())
}

/// Runs `f` on every item, the items split over the machine's cores; each
/// thread has its own [`Environment`].
fn par_each<T: Send>(items: &mut [T], f: impl Fn(&Environment<'_>, &mut T) + Sync) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        for part in items.chunks_mut(chunk) {
            let f = &f;
            s.spawn(move || {
                let env = env();
                part.iter_mut().for_each(|item| f(&env, item));
            });
        }
    });
}

/// Times a phase and prints its duration.
fn phase<R>(name: &str, f: impl FnOnce() -> R) -> R {
    let start = Instant::now();
    let result = f();
    eprintln!("  {name}: {:.2?}", start.elapsed());
    result
}

/// Every active member is in epoch `epoch` with the same context (hence
/// tree hash and transcript), epoch authenticator and exporter secret.
fn assert_agree(env: &Environment<'_>, members: &[Member], epoch: u64) {
    let first = &members[0].group;
    let exported = |g: &Group| g.export_secret(env.cs, b"large", b"group", 32).unwrap();
    let expected = exported(first);
    assert_eq!(first.epoch(), epoch);
    for m in members.iter().filter(|m| m.group.is_active()) {
        let (g, name) = (&m.group, &m.client.name);
        assert_eq!(g.context(), first.context(), "{name}");
        assert_eq!(g.epoch_authenticator(), first.epoch_authenticator(), "{name}");
        assert_eq!(exported(g), expected, "{name}");
    }
}

/// `members[committer]` commits `params` and merges; every other active
/// member processes the Commit and must see what the committer did.
fn commit_all(
    env: &Environment<'_>,
    members: &mut [Member],
    committer: usize,
    params: CommitParams,
) -> (CommitOutput, CommitSummary) {
    let group = &mut members[committer].group;
    let out = phase("commit", || group.commit(env, params, &mut os_rng()).unwrap());
    let summary = group.merge_pending_commit().unwrap();
    let (commit, size) = wire(&out.commit);
    eprintln!("  Commit: {size} bytes");
    let removed: Vec<LeafIndex> = summary.removed.iter().map(|(leaf, _)| *leaf).collect();
    phase("processed by every other member", || {
        par_each(members, |env, m| {
            let own = m.group.own_leaf();
            if own == LeafIndex(committer as u32) || !m.group.is_active() {
                return;
            }
            let seen = match m.group.process(env, &commit) {
                Ok(ProcessedMessage::Commit(seen)) => seen,
                other => panic!("{}: expected a Commit, got {other:?}", m.client.name),
            };
            assert_eq!(seen.self_removed, removed.contains(&own), "{}", m.client.name);
            assert_eq!(
                (seen.sender, seen.epoch, &seen.added, &seen.removed),
                (summary.sender, summary.epoch, &summary.added, &summary.removed),
                "{}",
                m.client.name
            );
        })
    });
    (out, summary)
}

/// Every client in `clients` joins from `welcome`.
fn join_all(clients: Vec<(Client, NewKeyPackage)>, welcome: &MlsMessage) -> Vec<Member> {
    let (welcome, size) = wire(welcome);
    eprintln!("  Welcome: {size} bytes");
    let mut slots: Vec<((Client, NewKeyPackage), Option<Group>)> = clients.into_iter().map(|c| (c, None)).collect();
    phase("joined by every new member", || {
        par_each(&mut slots, |env, ((client, kp), group)| {
            let joined = client.join(env, &welcome, kp);
            *group = Some(joined.unwrap_or_else(|e| panic!("{} cannot join: {e:?}", client.name)));
        })
    });
    slots
        .into_iter()
        .map(|((client, _), group)| Member {
            client,
            group: group.unwrap(),
        })
        .collect()
}

/// `members[sender]` seals a message; the members at `receivers` open it.
fn exchange(env: &Environment<'_>, members: &mut [Member], sender: usize, receivers: &[usize]) {
    let text = format!("hello from {}", members[sender].client.name).into_bytes();
    let message = members[sender].group.seal(env, &text, b"ad", 0, &mut os_rng()).unwrap();
    let (message, _) = wire(&message);
    assert_eq!(message.body.wire_format(), WireFormat::PRIVATE_MESSAGE);
    let expected = ProcessedMessage::Application {
        sender: LeafIndex(sender as u32),
        data: text,
        authenticated_data: b"ad".to_vec(),
    };
    for &i in receivers {
        let opened = members[i].group.process(env, &message).unwrap();
        assert_eq!(opened, expected, "{}", members[i].client.name);
    }
}

/// PublicMessage Commits: in unoptimised builds the AEAD of a
/// PrivateMessage costs each of the 1,000 receivers far more than the
/// Commit's other checks.
fn params(proposals: Vec<e2ee_core::messages::Proposal>, force_path: bool) -> CommitParams {
    CommitParams {
        proposals,
        force_path,
        wire_format: WireFormat::PUBLIC_MESSAGE,
        ..CommitParams::default()
    }
}

#[test]
fn thousand_members_agree_and_admit_a_newcomer() {
    let total = Instant::now();
    let env = env();

    eprintln!("identities and KeyPackages of {MEMBERS} + 1 clients");
    let mut clients: Vec<(Client, NewKeyPackage)> = phase("made", || {
        let mut slots: Vec<(usize, Option<(Client, NewKeyPackage)>)> = (0..=MEMBERS).map(|i| (i, None)).collect();
        par_each(&mut slots, |env, (i, slot)| {
            let client = Client::new(env.cs, format!("member {i}"));
            let kp = client.key_package(env.cs);
            *slot = Some((client, kp));
        });
        slots.into_iter().map(|(_, c)| c.unwrap()).collect()
    });
    let (newcomer, newcomer_kp) = clients.pop().unwrap();
    let mut waiting = clients.into_iter();

    // The creator adds everyone else, batch by batch.
    let (creator, _) = waiting.next().unwrap();
    let group = creator.create_group(&env);
    let mut members = vec![Member { client: creator, group }];
    for size in SIZES {
        let batch: Vec<(Client, NewKeyPackage)> = waiting.by_ref().take(size - members.len()).collect();
        eprintln!("the creator adds {} members to {}", batch.len(), members.len());
        let start = Instant::now();
        let adds = batch
            .iter()
            .map(|(_, kp)| Group::add_proposal(kp.key_package.clone()))
            .collect();
        let (out, summary) = commit_all(&env, &mut members, 0, params(adds, false));
        let expected: Vec<LeafIndex> = (members.len()..size).map(|i| LeafIndex(i as u32)).collect();
        assert_eq!(summary.added, expected);
        let welcome = out.welcome.expect("a Welcome for the new members");
        members.extend(join_all(batch, &welcome));
        phase("agreement checked", || assert_agree(&env, &members, summary.epoch));
        eprintln!("  batch: {:.2?}", start.elapsed());
    }
    assert_eq!(members.len(), MEMBERS);
    for (i, m) in members.iter().enumerate() {
        assert_eq!(m.group.own_leaf(), LeafIndex(i as u32));
        assert_eq!(m.group.tree().n_leaves(), 1024);
    }
    eprintln!("group of {MEMBERS} built: {:.2?}", total.elapsed());

    // A member in the middle of the tree adds one more newcomer, with a path;
    // the newcomer gets the tree in the Welcome.
    let middle = MEMBERS / 2;
    eprintln!("member {middle} adds a newcomer, with a path");
    let start = Instant::now();
    let add = vec![Group::add_proposal(newcomer_kp.key_package.clone())];
    let (out, summary) = commit_all(&env, &mut members, middle, params(add, true));
    assert_eq!(summary.sender, Sender::Member(middle as u32));
    assert_eq!(summary.added, [LeafIndex(MEMBERS as u32)]);
    assert_eq!(summary.updated, [LeafIndex(middle as u32)]);
    let welcome = out.welcome.expect("a Welcome for the newcomer");
    members.extend(join_all(vec![(newcomer, newcomer_kp)], &welcome));
    assert_eq!(members[MEMBERS].group.own_leaf(), LeafIndex(MEMBERS as u32));
    phase("agreement checked", || assert_agree(&env, &members, summary.epoch));
    eprintln!("  step: {:.2?}", start.elapsed());

    // The newcomer talks to members spread across the tree.
    let sample: Vec<usize> = (0..MEMBERS).step_by(MEMBERS / 20).chain([MEMBERS - 1]).collect();
    phase("the newcomer's message opened by 21 members", || {
        exchange(&env, &mut members, MEMBERS, &sample)
    });

    // A member removes another; everyone else agrees, and the removed one
    // is out.
    let (remover, removed) = (MEMBERS / 4, 3 * MEMBERS / 4);
    eprintln!("member {remover} removes member {removed}");
    let start = Instant::now();
    let remove = vec![Group::remove_proposal(LeafIndex(removed as u32))];
    let (_, summary) = commit_all(&env, &mut members, remover, params(remove, false));
    let removed_leaves: Vec<LeafIndex> = summary.removed.iter().map(|(leaf, _)| *leaf).collect();
    assert_eq!(removed_leaves, [LeafIndex(removed as u32)]);
    assert_eq!(summary.updated, [LeafIndex(remover as u32)], "a Remove requires a path");
    assert!(!members[removed].group.is_active());
    assert_eq!(members.iter().filter(|m| m.group.is_active()).count(), MEMBERS);
    assert!(members[0].group.tree().leaf(LeafIndex(removed as u32)).is_none());
    phase("agreement checked", || assert_agree(&env, &members, summary.epoch));
    eprintln!("  step: {:.2?}", start.elapsed());
    let sample: Vec<usize> = sample.into_iter().filter(|&i| i != remover && i != removed).collect();
    exchange(&env, &mut members, remover, &sample);
    let error = members[removed]
        .group
        .seal(&env, b"x", b"", 0, &mut os_rng())
        .unwrap_err();
    assert_eq!(error, Error::from(UsageError::NotAMember));

    eprintln!("whole test: {:.2?}", total.elapsed());
}
