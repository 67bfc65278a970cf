//! The high-level API end to end, suites 1–7: events, ordering (out of
//! order, late, early), lost Commit races, leaving, external joins, and
//! errors with stable codes on bad input.

use e2ee_core::Error;
use e2ee_core::client::{
    Client, Event, ExternalJoins, Group, GroupOptions, HandshakeFormat, Intent, Member, ProposalKind,
};
use e2ee_core::crypto::Labelled;
use proptest::prelude::*;

const SUITES: [u16; 7] = [1, 2, 3, 4, 5, 6, 7];

/// Alice's group with Bob and Carol added by one Welcome.
fn chat(suite: u16, options: GroupOptions) -> [Group; 3] {
    let mut clients = ["alice", "bob", "carol"].map(|n| Client::new(suite, n.as_bytes()).unwrap());
    for c in &mut clients {
        c.set_group_options(options).unwrap();
    }
    let [alice, bob, carol] = &mut clients;
    let mut group = alice.create_group().unwrap();
    let added = group
        .add(&[bob.key_package().unwrap(), carol.key_package().unwrap()])
        .unwrap();
    let events = group.merge_commit().unwrap();
    let [
        Event::EpochChanged {
            epoch: 1, added: new, ..
        },
    ] = &events[..]
    else {
        panic!("{events:?}")
    };
    assert_eq!(names(new), ["bob", "carol"]);
    let welcome = added.welcome.unwrap();
    let (b, c) = (bob.join(&welcome).unwrap(), carol.join(&welcome).unwrap());
    assert_eq!(bob.unused_key_packages(), 0);
    [group, b, c]
}

fn names(members: &[Member]) -> Vec<String> {
    members
        .iter()
        .map(|m| String::from_utf8(m.identity.clone()).unwrap())
        .collect()
}

fn message(events: &[Event]) -> (&str, &[u8]) {
    match events {
        [Event::Message { sender, data, .. }] => (std::str::from_utf8(&sender.identity).unwrap(), data),
        other => panic!("expected one message, got {other:?}"),
    }
}

fn agree(groups: &[&Group]) {
    for g in groups {
        assert_eq!(g.epoch(), groups[0].epoch());
        assert_eq!(g.epoch_authenticator(), groups[0].epoch_authenticator());
        assert_eq!(
            g.export_secret(b"l", b"c", 16).unwrap(),
            groups[0].export_secret(b"l", b"c", 16).unwrap()
        );
        assert_eq!(g.members(), groups[0].members());
    }
}

fn code(result: Result<impl std::fmt::Debug, Error>) -> &'static str {
    result.unwrap_err().code()
}

#[test]
fn chat_with_events_leave_and_update() {
    for suite in SUITES {
        for format in [HandshakeFormat::Public, HandshakeFormat::Private] {
            let options = GroupOptions {
                handshake_wire_format: format,
                ..GroupOptions::default()
            };
            let [mut alice, mut bob, mut carol] = chat(suite, options);
            agree(&[&alice, &bob, &carol]);
            assert_eq!(names(&alice.members()), ["alice", "bob", "carol"]);

            let sealed = carol.seal(b"hello", b"meta").unwrap();
            for g in [&mut alice, &mut bob] {
                let events = g.open(&sealed).unwrap();
                assert_eq!(message(&events), ("carol", &b"hello"[..]));
                let [
                    Event::Message {
                        authenticated_data,
                        epoch: 1,
                        ..
                    },
                ] = &events[..]
                else {
                    panic!()
                };
                assert_eq!(authenticated_data, b"meta");
            }

            // Bob asks to leave; Alice commits it; Bob learns he is out.
            let leave = bob.leave().unwrap();
            for g in [&mut alice, &mut carol] {
                let events = g.open(&leave).unwrap();
                let reference = g.pending_proposals()[0].reference.clone();
                let expected = Event::Proposal {
                    sender: bob_member(g),
                    kind: ProposalKind::Remove { index: 1 },
                    reference,
                    accepted: true,
                };
                assert_eq!(events, [expected]);
            }
            let commit = alice.commit_proposals().unwrap();
            // The Delivery Service echoes the Commit back: that merges it.
            let events = alice.open(&commit.commit).unwrap();
            let [
                Event::EpochChanged {
                    removed,
                    committer: Some(by),
                    ..
                },
            ] = &events[..]
            else {
                panic!("{events:?}")
            };
            assert_eq!((names(removed), by.index), (vec!["bob".to_string()], 0));
            carol.open(&commit.commit).unwrap();
            let events = bob.open(&commit.commit).unwrap();
            assert!(matches!(events[..], [Event::EpochChanged { self_removed: true, .. }]));
            assert!(!bob.is_active());
            assert_eq!(code(bob.seal(b"still here?", b"")), "not_a_member");
            agree(&[&alice, &carol]);

            // Carol refreshes her keys.
            let before = alice.epoch_authenticator();
            let update = carol.update().unwrap();
            carol.merge_commit().unwrap();
            let events = alice.open(&update.commit).unwrap();
            let [Event::EpochChanged { updated, .. }] = &events[..] else {
                panic!()
            };
            assert_eq!(names(updated), ["carol"]);
            agree(&[&alice, &carol]);
            assert_ne!(before, alice.epoch_authenticator());
        }
    }
}

fn bob_member(group: &Group) -> Option<Member> {
    group.member(1)
}

#[test]
fn out_of_order_late_and_replayed_messages() {
    for suite in SUITES {
        let [mut alice, mut bob, mut carol] = chat(suite, GroupOptions::default());
        let sealed: Vec<Vec<u8>> = (0..5u8).map(|i| bob.seal(&[i], b"").unwrap()).collect();
        for (i, m) in sealed.iter().enumerate().rev() {
            assert_eq!(message(&alice.open(m).unwrap()), ("bob", &[i as u8][..]));
        }
        assert_eq!(code(alice.open(&sealed[2])), "secret_tree_key_consumed");

        // Messages sent before a Commit open after it (past_epochs = 1).
        let late = bob.seal(b"late", b"").unwrap();
        let update = alice.update().unwrap();
        alice.merge_commit().unwrap();
        carol.open(&update.commit).unwrap();
        bob.open(&update.commit).unwrap();
        assert_eq!(message(&carol.open(&late).unwrap()), ("bob", &b"late"[..]));
        let [Event::Message { epoch: 1, .. }] = &alice.open(&late).unwrap()[..] else {
            panic!()
        };
        assert_eq!(code(alice.open(&late)), "secret_tree_key_consumed");
    }
}

#[test]
fn messages_of_the_next_epoch_wait_for_its_commit() {
    for suite in SUITES {
        let [mut alice, mut bob, mut carol] = chat(suite, GroupOptions::default());
        let update = alice.update().unwrap();
        alice.merge_commit().unwrap();
        bob.open(&update.commit).unwrap();
        let early = bob.seal(b"from epoch 2", b"").unwrap();
        let update2 = bob.update().unwrap();
        bob.merge_commit().unwrap();
        let alice_in_2 = alice.seal(b"late", b"").unwrap(); // she has not seen Bob's update yet

        // Carol gets them in the worst order: epoch-3 Commit, epoch-2 message, then the epoch-2 Commit.
        assert_eq!(carol.open(&update2.commit).unwrap(), [Event::Deferred { epoch: 2 }]);
        assert_eq!(carol.open(&early).unwrap(), [Event::Deferred { epoch: 2 }]);
        assert_eq!(carol.deferred(), 2);
        let events = carol.open(&update.commit).unwrap();
        assert!(
            matches!(
                &events[..],
                [
                    Event::EpochChanged { epoch: 2, .. },
                    Event::EpochChanged { epoch: 3, .. },
                    Event::Message { epoch: 2, .. }
                ]
            ),
            "{events:?}"
        );
        assert_eq!(carol.deferred(), 0);
        assert_eq!(message(&carol.open(&alice_in_2).unwrap()), ("alice", &b"late"[..]));
        alice.open(&update2.commit).unwrap();
        agree(&[&alice, &bob, &carol]);

        // The hold is bounded in count, and in bytes whatever the count allows.
        let one = GroupOptions {
            max_buffered: 1,
            ..GroupOptions::default()
        };
        let (a, b) = second_early_message_is_refused(suite, one);
        // Room for one such message, not two (ECDSA signatures vary by a few bytes).
        let bytes = GroupOptions {
            max_buffered_bytes: a + b / 2,
            ..GroupOptions::default()
        };
        second_early_message_is_refused(suite, bytes);
    }
}

/// With `options`, Carol holds the first of two early messages from Bob and
/// refuses the second (`buffer_full`); the Commit then releases the held
/// one and the second opens when sent again. Returns the messages' sizes.
fn second_early_message_is_refused(suite: u16, options: GroupOptions) -> (usize, usize) {
    let [mut alice, mut bob, mut carol] = chat(suite, options);
    let update = alice.update().unwrap();
    alice.merge_commit().unwrap();
    bob.open(&update.commit).unwrap();
    let (a, b) = (bob.seal(b"1", b"").unwrap(), bob.seal(b"2", b"").unwrap());
    carol.open(&a).unwrap();
    assert_eq!(code(carol.open(&b)), "buffer_full");
    assert_eq!(carol.deferred(), 1);
    let events = carol.open(&update.commit).unwrap();
    assert!(
        matches!(&events[..], [Event::EpochChanged { .. }, Event::Message { .. }]),
        "{events:?}"
    );
    assert_eq!(message(&carol.open(&b).unwrap()), ("bob", &b"2"[..]));
    (a.len(), b.len())
}

#[test]
fn a_removed_member_holds_nothing_and_opens_nothing() {
    for suite in SUITES {
        let [mut alice, mut bob, mut carol] = chat(suite, GroupOptions::default());
        let removal = alice.remove(&[bob.own_index()]).unwrap();
        alice.merge_commit().unwrap();
        carol.open(&removal.commit).unwrap();
        let after = alice.seal(b"bob is gone", b"").unwrap();
        assert_eq!(message(&carol.open(&after).unwrap()), ("alice", &b"bob is gone"[..]));

        // Before Bob sees his removal, the next epoch's message looks early: it is held...
        assert_eq!(bob.open(&after).unwrap(), [Event::Deferred { epoch: 2 }]);
        assert_eq!(bob.deferred(), 1);
        // ...and dropped with the Commit that removes him, as that epoch never begins for him.
        let events = bob.open(&removal.commit).unwrap();
        assert!(
            matches!(events[..], [Event::EpochChanged { self_removed: true, .. }]),
            "{events:?}"
        );
        assert!(!bob.is_active());
        assert_eq!(bob.deferred(), 0);

        // Afterwards every message fails, whatever its epoch, and none is held.
        let later = alice.seal(b"still gone", b"").unwrap();
        for m in [&after, &later, &removal.commit] {
            assert_eq!(code(bob.open(m)), "not_a_member");
        }
        assert_eq!(bob.deferred(), 0);
    }
}

#[test]
fn a_lost_commit_race_is_reported_and_retried() {
    for suite in SUITES {
        let [mut alice, mut bob, mut carol] = chat(suite, GroupOptions::default());
        let mut dave = Client::new(suite, b"dave").unwrap();
        let alice_add = alice.add(&[dave.key_package().unwrap()]).unwrap();
        assert_eq!(code(alice.update()), "commit_pending");
        let bob_update = bob.update().unwrap();
        // The Delivery Service takes Bob's Commit and refuses Alice's.
        bob.open(&bob_update.commit).unwrap();
        carol.open(&bob_update.commit).unwrap();
        let events = alice.open(&bob_update.commit).unwrap();
        let [Event::CommitLost { intent }, Event::EpochChanged { epoch: 2, .. }] = &events[..] else {
            panic!("{events:?}")
        };
        assert!(matches!(intent, Intent::Add(kps) if kps.len() == 1));
        assert!(code(carol.open(&alice_add.commit)).contains("epoch"));
        let retried = alice.retry(intent).unwrap().unwrap();
        alice.merge_commit().unwrap();
        bob.open(&retried.commit).unwrap();
        carol.open(&retried.commit).unwrap();
        // The same KeyPackage serves the retried Commit; the losing Welcome is
        // never delivered (the Delivery Service refused its Commit).
        let dave_group = dave.join(&retried.welcome.unwrap()).unwrap();
        agree(&[&alice, &bob, &carol, &dave_group]);

        // A refused Commit can be discarded too.
        let mine = carol.remove(&[1]).unwrap();
        assert_eq!(carol.discard_commit(), Some(Intent::Remove(vec![1])));
        assert!(!carol.has_pending_commit());
        assert_ne!(carol.remove(&[1]).unwrap().commit, mine.commit);
    }
}

#[test]
fn join_by_external_commit() {
    let options = GroupOptions {
        external_joins: ExternalJoins::Allow,
        ..GroupOptions::default()
    };
    for suite in SUITES {
        let [mut alice, mut bob, _carol] = chat(suite, options);
        let erin = Client::new(suite, b"erin").unwrap();
        let (mut erin_group, commit) = erin.join_external(&bob.group_info().unwrap()).unwrap();
        let events = alice.open(&commit).unwrap();
        let [
            Event::EpochChanged {
                added, committer: None, ..
            },
        ] = &events[..]
        else {
            panic!("{events:?}")
        };
        assert_eq!(names(added), ["erin"]);
        bob.open(&commit).unwrap();
        agree(&[&alice, &bob, &erin_group]);
        let sealed = erin_group.seal(b"hi, I'm new", b"").unwrap();
        assert_eq!(message(&alice.open(&sealed).unwrap()), ("erin", &b"hi, I'm new"[..]));
    }
}

#[test]
fn wrong_input_gives_typed_errors() {
    let mut alice = Client::new(1, b"alice").unwrap();
    assert_eq!(code(Client::new(9, b"x")), "unsupported_cipher_suite");
    let kp = alice.key_package().unwrap();
    assert_eq!(code(alice.join(&kp)), "not_a_welcome");
    assert_eq!(code(alice.join_external(&kp)), "not_a_group_info");
    let mut group = alice.create_group().unwrap();
    assert_eq!(code(group.open(&kp)), "not_a_group_message");
    assert_eq!(code(group.open(&[0xff])), "codec_truncated");
    assert_eq!(code(group.add(&[group.group_info().unwrap()])), "not_a_key_package");
    assert_eq!(code(group.remove(&[5])), "no_such_member");
    let other = alice.create_group().unwrap().seal(b"x", b"").unwrap();
    assert_eq!(code(group.open(&other)), "wrong_group");
    // Same signature key, same identity: a client can be recreated from its key.
    let again = Client::with_signature_key(1, b"alice", alice.signature_private_key()).unwrap();
    assert_eq!(again.signature_public_key(), alice.signature_public_key());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Mutated or arbitrary bytes never panic `open` and never change the epoch.
    #[test]
    fn open_never_panics(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8), junk in proptest::collection::vec(any::<u8>(), 0..300)) {
        let [mut alice, mut bob, _] = chat(1, GroupOptions::default());
        let update = bob.update().unwrap();
        let message = bob.seal(b"x", b"").unwrap();
        for original in [update.commit, message, update.group_info] {
            let mut bytes = original.clone();
            for (at, x) in &flips {
                let i = at % bytes.len();
                bytes[i] ^= x | 1;
            }
            let _ = alice.open(&bytes);
            prop_assert_eq!(alice.epoch(), 1);
        }
        let _ = alice.open(&junk);
    }
}

#[test]
fn clients_and_groups_are_stored_separately_and_continue() {
    const KEY: [u8; 32] = [7; 32];
    for suite in SUITES {
        let alice = Client::new(suite, b"alice").unwrap();
        let mut bob = Client::new(suite, b"bob").unwrap();
        let bob_kp = bob.key_package().unwrap();
        // Bob restarts between publishing his KeyPackage and being added.
        let mut bob = Client::restore_sealed(&bob.export_sealed(&KEY).unwrap(), &KEY).unwrap();
        assert_eq!(
            code(Client::restore_sealed(&bob.export_sealed(&KEY).unwrap(), &[8; 32])),
            "state_key"
        );
        let mut alice_group = alice.create_group().unwrap();
        let added = alice_group.add(&[bob_kp]).unwrap();
        alice_group.merge_commit().unwrap();
        let mut bob_group = bob.join(&added.welcome.unwrap()).unwrap();
        let bob = Client::restore_state(&bob.export_state().unwrap()).unwrap();
        assert_eq!(bob.unused_key_packages(), 0);

        // Alice's state holds a pending Commit, Bob's a message of a future epoch.
        let seen = bob_group.seal(b"seen", b"").unwrap();
        let skipped = bob_group.seal(b"skipped", b"").unwrap();
        alice_group.open(&seen).unwrap();
        let update = alice_group.update().unwrap();
        let alice_group_bytes = alice_group.export_state().unwrap();
        drop(alice_group);
        let mut alice_group = alice.restore_group(&alice_group_bytes).unwrap();
        assert!(alice_group.has_pending_commit());
        alice_group.open(&update.commit).unwrap(); // the echo merges it
        let early = alice_group.seal(b"early", b"").unwrap();
        assert_eq!(bob_group.open(&early).unwrap(), [Event::Deferred { epoch: 2 }]);
        // Restored under lower limits than it was held under, the message
        // is kept (not lost, not a corrupt state).
        let mut bob = bob;
        bob.set_group_options(GroupOptions {
            max_buffered_bytes: 1,
            ..GroupOptions::default()
        })
        .unwrap();
        let mut bob_group = bob
            .restore_sealed_group(&bob_group.export_sealed(&KEY).unwrap(), &KEY, bob_group.id())
            .unwrap();
        assert_eq!(bob_group.deferred(), 1);
        let events = bob_group.open(&update.commit).unwrap();
        assert!(
            matches!(&events[..], [Event::EpochChanged { .. }, Event::Message { .. }]),
            "{events:?}"
        );
        agree(&[&alice_group, &bob_group]);

        // Consumed keys stay deleted; a message skipped before storing opens.
        let mut restored = alice.restore_group(&alice_group.export_state().unwrap()).unwrap();
        assert_eq!(code(restored.open(&seen)), "secret_tree_key_consumed");
        assert_eq!(message(&restored.open(&skipped).unwrap()), ("bob", &b"skipped"[..]));
        // Another client's group, a client state as a group, garbage: typed errors.
        assert!(bob.restore_group(&alice.export_state().unwrap()).is_err());
        assert_eq!(
            code(bob.restore_group(&restored.export_state().unwrap())),
            "state_corrupt"
        );
        assert_eq!(code(alice.restore_group(&[1, 2, 3])), "state_corrupt");
    }
}

#[test]
fn sign_with_label_verifies_under_the_signature_key() {
    use e2ee_core::crypto::{CipherSuite, CryptoProvider};
    use e2ee_rustcrypto::RustCryptoProvider;
    for suite in SUITES {
        let client = Client::new(suite, b"alice").unwrap();
        let signature = client.sign_with_label(b"e2ee-ds login", b"challenge").unwrap();
        let cs = RustCryptoProvider.cipher_suite(CipherSuite(suite)).unwrap();
        let key = client.signature_public_key();
        cs.verify_with_label(key, b"e2ee-ds login", b"challenge", &signature)
            .unwrap();
        assert!(
            cs.verify_with_label(key, b"other label", b"challenge", &signature)
                .is_err()
        );
    }
}
