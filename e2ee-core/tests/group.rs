//! The group state machine end to end (RFC 9420 §11, §12): creating a
//! group, adding members by Commit and Welcome, application messages,
//! updates, proposals by reference, removal, and rejected Commits, for
//! cipher suites 1 to 7. Every message goes through its wire encoding.

mod common;

use common::{Client, SUITES, adding, apply, assert_agree, commit, exchange, suite, wire, with_path};
use e2ee_core::crypto::os_rng;
use e2ee_core::error::{Error, UsageError};
use e2ee_core::framing::FramingError;
use e2ee_core::group::{CommitParams, Environment, Group, ProcessedMessage};
use e2ee_core::messages::{
    Extension, MlsMessage, MlsMessageBody, Node, PreSharedKey, PreSharedKeyId, Proposal, ProposalRef, ProtocolVersion,
    Psk, PublicMessage, ReInit, ResumptionPskUsage, Sender, WireFormat,
};
use e2ee_core::tree_math::LeafIndex;

/// Flips a byte of a PublicMessage Commit's confirmation tag.
fn tamper(message: &MlsMessage) -> MlsMessage {
    let mut message = message.clone();
    let MlsMessageBody::PublicMessage(PublicMessage { auth, .. }) = &mut message.body else {
        panic!("not a PublicMessage");
    };
    let mut tag = auth.confirmation_tag.clone().unwrap().to_vec();
    tag[0] ^= 1;
    auth.confirmation_tag = Some(tag.into());
    message
}

fn public() -> CommitParams {
    CommitParams {
        wire_format: WireFormat::PUBLIC_MESSAGE,
        ..CommitParams::default()
    }
}

#[test]
fn create_add_talk_update_remove() {
    for s in SUITES {
        let env = Environment::basic(suite(s));
        let (alice_id, bob_id, carol_id) = (
            Client::new(env.cs, "alice"),
            Client::new(env.cs, "bob"),
            Client::new(env.cs, "carol"),
        );
        let mut alice = alice_id.create_group(&env);
        assert_eq!(
            (alice.epoch(), alice.own_leaf(), alice.tree().n_leaves()),
            (0, LeafIndex(0), 1)
        );

        // Epoch 1: Alice adds Bob and Carol in one Commit; the Welcome carries the tree.
        let (bob_kp, carol_kp) = (bob_id.key_package(env.cs), carol_id.key_package(env.cs));
        let out = commit(
            &mut alice,
            &env,
            adding(&[&bob_kp, &carol_kp], WireFormat::PUBLIC_MESSAGE),
        );
        assert_eq!(alice.epoch(), 0, "the epoch starts only on merge");
        assert_eq!(
            alice.process(&env, &wire(&out.commit)).unwrap_err(),
            Error::from(UsageError::OwnCommit)
        );
        let summary = alice.merge_pending_commit().unwrap();
        assert_eq!(
            (summary.epoch, summary.added.as_slice()),
            (1, &[LeafIndex(1), LeafIndex(2)][..])
        );
        let welcome = out.welcome.expect("a Welcome for the new members");
        let mut bob = bob_id.join(&env, &welcome, &bob_kp).unwrap();
        let mut carol = carol_id.join(&env, &welcome, &carol_kp).unwrap();
        assert_eq!((bob.own_leaf(), carol.own_leaf()), (LeafIndex(1), LeafIndex(2)));
        assert_agree(&env, &[&alice, &bob, &carol]);
        let MlsMessageBody::GroupInfo(info) = &wire(&out.group_info).body else {
            panic!("not a GroupInfo")
        };
        assert_eq!(&info.group_context, alice.context());
        assert!(
            Extension::find::<Vec<Option<Node>>>(&info.extensions)
                .unwrap()
                .is_some()
        );

        exchange(&env, &mut alice, &mut [&mut bob, &mut carol], b"hello from alice");
        exchange(&env, &mut bob, &mut [&mut alice, &mut carol], b"hello from bob");
        exchange(&env, &mut carol, &mut [&mut alice, &mut bob], b"hello from carol");

        // Epoch 2: Bob's empty Commit with a path, as a PrivateMessage.
        let old_leaf = bob.tree().leaf(LeafIndex(1)).unwrap().clone();
        let out = commit(&mut bob, &env, with_path());
        assert!(out.welcome.is_none());
        // A sender cannot decrypt its own PrivateMessage: its key is used up.
        assert!(bob.process(&env, &wire(&out.commit)).is_err());
        let seen = apply(&mut alice, &env, &out.commit);
        assert_eq!(
            (seen.sender, seen.updated.as_slice()),
            (Sender::Member(1), &[LeafIndex(1)][..])
        );
        assert_eq!(apply(&mut carol, &env, &out.commit), seen);
        assert_eq!(bob.merge_pending_commit().unwrap(), seen);
        assert_ne!(bob.tree().leaf(LeafIndex(1)).unwrap(), &old_leaf);
        assert_agree(&env, &[&alice, &bob, &carol]);
        exchange(&env, &mut carol, &mut [&mut alice, &mut bob], b"after the update");

        // A Commit of the old epoch is rejected.
        let stale = alice.process(&env, &wire(&out.commit)).unwrap_err();
        assert!(stale == Error::from(FramingError::WrongEpoch), "{stale:?}");

        // Epoch 3: Carol proposes removing Bob; Alice commits it by reference.
        let (proposal, reference) = carol
            .propose(
                &env,
                Group::remove_proposal(LeafIndex(1)),
                WireFormat::PUBLIC_MESSAGE,
                &mut os_rng(),
            )
            .unwrap();
        let expected: Result<_, Error> = Ok(ProcessedMessage::Proposal {
            sender: Sender::Member(2),
            reference,
        });
        assert_eq!(alice.process(&env, &wire(&proposal)), expected);
        assert_eq!(bob.process(&env, &wire(&proposal)), expected);
        let out = commit(&mut alice, &env, public());

        // A tampered Commit is rejected and changes nothing.
        let error = carol.process(&env, &wire(&tamper(&out.commit))).unwrap_err();
        assert!(error == Error::from(FramingError::InvalidMembershipTag), "{error:?}");
        assert_eq!(carol.epoch(), 2);

        let seen = apply(&mut carol, &env, &out.commit);
        assert_eq!(
            seen.removed.iter().map(|(leaf, _)| *leaf).collect::<Vec<_>>(),
            [LeafIndex(1)]
        );
        assert!(!seen.self_removed);
        let bob_seen = apply(&mut bob, &env, &out.commit);
        assert!(bob_seen.self_removed);
        assert!(!bob.is_active());
        assert_eq!(
            bob.seal(&env, b"x", b"", 0, &mut os_rng()).unwrap_err(),
            Error::from(UsageError::NotAMember)
        );
        assert_eq!(alice.merge_pending_commit().unwrap(), seen);
        assert_eq!(alice.epoch(), 3);
        assert!(alice.tree().leaf(LeafIndex(1)).is_none());
        assert_agree(&env, &[&alice, &carol]);
        exchange(&env, &mut alice, &mut [&mut carol], b"just us");
        exchange(&env, &mut carol, &mut [&mut alice], b"indeed");
    }
}

#[test]
fn losing_commit_is_cleared_and_the_winner_processed() {
    let env = Environment::basic(suite(SUITES[0]));
    let (alice_id, bob_id) = (Client::new(env.cs, "alice"), Client::new(env.cs, "bob"));
    let mut alice = alice_id.create_group(&env);
    let bob_kp = bob_id.key_package(env.cs);
    let out = commit(&mut alice, &env, adding(&[&bob_kp], WireFormat::PRIVATE_MESSAGE));
    alice.merge_pending_commit().unwrap();
    let mut bob = bob_id.join(&env, &out.welcome.unwrap(), &bob_kp).unwrap();

    // Both commit in epoch 1; the DS takes Bob's.
    let _lost = commit(&mut alice, &env, with_path());
    let won = commit(&mut bob, &env, with_path());
    assert!(alice.has_pending_commit());
    alice.clear_pending_commit();
    assert!(!alice.has_pending_commit());
    assert!(alice.merge_pending_commit().is_err());
    apply(&mut alice, &env, &won.commit);
    bob.merge_pending_commit().unwrap();
    assert_agree(&env, &[&alice, &bob]);
    exchange(&env, &mut alice, &mut [&mut bob], b"in sync");
}

#[test]
fn pending_commit_of_a_left_epoch_is_not_merged() {
    let env = Environment::basic(suite(SUITES[1]));
    let (alice_id, bob_id) = (Client::new(env.cs, "alice"), Client::new(env.cs, "bob"));
    let mut alice = alice_id.create_group(&env);
    let bob_kp = bob_id.key_package(env.cs);
    let out = commit(&mut alice, &env, adding(&[&bob_kp], WireFormat::PRIVATE_MESSAGE));
    alice.merge_pending_commit().unwrap();
    let mut bob = bob_id.join(&env, &out.welcome.unwrap(), &bob_kp).unwrap();

    let _lost = commit(&mut alice, &env, with_path());
    let won = commit(&mut bob, &env, with_path());
    apply(&mut alice, &env, &won.commit);
    bob.merge_pending_commit().unwrap();
    // Alice forgot to clear hers: it is for epoch 2, which she is already in.
    assert!(alice.merge_pending_commit().is_err());
    assert_agree(&env, &[&alice, &bob]);
}

#[test]
fn committer_skips_its_own_update_and_duplicate_removes() {
    let env = Environment::basic(suite(SUITES[2]));
    let ids = [
        Client::new(env.cs, "alice"),
        Client::new(env.cs, "bob"),
        Client::new(env.cs, "carol"),
    ];
    let mut alice = ids[0].create_group(&env);
    let kps = [ids[1].key_package(env.cs), ids[2].key_package(env.cs)];
    let out = commit(
        &mut alice,
        &env,
        adding(&[&kps[0], &kps[1]], WireFormat::PRIVATE_MESSAGE),
    );
    alice.merge_pending_commit().unwrap();
    let welcome = out.welcome.unwrap();
    let mut bob = ids[1].join(&env, &welcome, &kps[0]).unwrap();
    let mut carol = ids[2].join(&env, &welcome, &kps[1]).unwrap();

    // Alice proposes an Update of herself, Bob proposes removing Carol twice:
    // Alice's Commit covers one Remove only.
    let update = alice.update_proposal(&env, &mut os_rng()).unwrap();
    let (update_msg, _) = alice
        .propose(&env, update, WireFormat::PRIVATE_MESSAGE, &mut os_rng())
        .unwrap();
    let remove = Group::remove_proposal(LeafIndex(2));
    let (r1, _) = bob
        .propose(&env, remove.clone(), WireFormat::PUBLIC_MESSAGE, &mut os_rng())
        .unwrap();
    let (r2, _) = bob
        .propose(&env, remove, WireFormat::PRIVATE_MESSAGE, &mut os_rng())
        .unwrap();
    for m in [&r1, &r2] {
        alice.process(&env, &wire(m)).unwrap();
        carol.process(&env, &wire(m)).unwrap();
    }
    bob.process(&env, &wire(&update_msg)).unwrap();
    carol.process(&env, &wire(&update_msg)).unwrap();

    let out = commit(&mut alice, &env, CommitParams::default());
    let seen = apply(&mut bob, &env, &out.commit);
    assert_eq!(seen.removed.len(), 1);
    assert!(apply(&mut carol, &env, &out.commit).self_removed);
    alice.merge_pending_commit().unwrap();
    assert_agree(&env, &[&alice, &bob]);
    exchange(&env, &mut bob, &mut [&mut alice], b"two left");
}

#[test]
fn update_proposal_committed_by_another_member() {
    for s in SUITES {
        let env = Environment::basic(suite(s));
        let (alice_id, bob_id) = (Client::new(env.cs, "alice"), Client::new(env.cs, "bob"));
        let mut alice = alice_id.create_group(&env);
        let bob_kp = bob_id.key_package(env.cs);
        let out = commit(&mut alice, &env, adding(&[&bob_kp], WireFormat::PRIVATE_MESSAGE));
        alice.merge_pending_commit().unwrap();
        let mut bob = bob_id.join(&env, &out.welcome.unwrap(), &bob_kp).unwrap();

        let update = bob.update_proposal(&env, &mut os_rng()).unwrap();
        let (message, _): (MlsMessage, ProposalRef) = bob
            .propose(&env, update, WireFormat::PUBLIC_MESSAGE, &mut os_rng())
            .unwrap();
        alice.process(&env, &wire(&message)).unwrap();
        let out = commit(&mut alice, &env, CommitParams::default());
        let seen = apply(&mut bob, &env, &out.commit);
        assert!(seen.updated.contains(&LeafIndex(1)));
        alice.merge_pending_commit().unwrap();
        assert_agree(&env, &[&alice, &bob]);
        exchange(&env, &mut bob, &mut [&mut alice], b"updated");
    }
}

#[test]
fn update_proposal_without_kept_key_is_refused() {
    let env = Environment::basic(suite(SUITES[0]));
    let alice_id = Client::new(env.cs, "alice");
    let mut alice = alice_id.create_group(&env);
    let mut other = alice_id.create_group(&env);
    let foreign = other.update_proposal(&env, &mut os_rng()).unwrap();
    assert!(
        alice
            .propose(&env, foreign, WireFormat::PUBLIC_MESSAGE, &mut os_rng())
            .is_err()
    );
}

#[test]
fn resumption_psk_and_reinit_are_committed() {
    let env = Environment::basic(suite(SUITES[2]));
    let (alice_id, bob_id) = (Client::new(env.cs, "alice"), Client::new(env.cs, "bob"));
    let mut alice = alice_id.create_group(&env);
    let bob_kp = bob_id.key_package(env.cs);
    let out = commit(&mut alice, &env, adding(&[&bob_kp], WireFormat::PUBLIC_MESSAGE));
    alice.merge_pending_commit().unwrap();
    let mut bob = bob_id.join(&env, &out.welcome.unwrap(), &bob_kp).unwrap();

    // A resumption PSK of the current epoch (usage application) mixed in by value.
    let psk = |epoch: u64, group: &Group| {
        Proposal::PreSharedKey(PreSharedKey {
            psk: PreSharedKeyId {
                psk: Psk::Resumption {
                    usage: ResumptionPskUsage::Application,
                    psk_group_id: group.context().group_id.clone(),
                    psk_epoch: epoch,
                },
                psk_nonce: vec![7; env.cs.hash_len()].into(),
            },
        })
    };
    let params = CommitParams {
        proposals: vec![psk(1, &alice)],
        ..CommitParams::default()
    };
    let out = commit(&mut alice, &env, params);
    alice.merge_pending_commit().unwrap();
    apply(&mut bob, &env, &out.commit);
    assert_agree(&env, &[&alice, &bob]);
    assert!(alice.resumption_psk(1).is_some());

    // A PSK of an epoch nobody kept cannot be committed.
    let params = CommitParams {
        proposals: vec![psk(40, &alice)],
        ..CommitParams::default()
    };
    assert_eq!(
        alice.commit(&env, params, &mut os_rng()).unwrap_err(),
        Error::from(UsageError::PskNotFound)
    );

    // ReInit closes the group for both sides.
    let reinit = ReInit {
        group_id: b"next group".into(),
        version: ProtocolVersion::MLS10,
        cipher_suite: SUITES[2],
        extensions: vec![],
    };
    let params = CommitParams {
        proposals: vec![Proposal::ReInit(reinit.clone())],
        ..CommitParams::default()
    };
    let out = commit(&mut alice, &env, params);
    assert_eq!(alice.merge_pending_commit().unwrap().reinit, Some(reinit.clone()));
    assert_eq!(apply(&mut bob, &env, &out.commit).reinit, Some(reinit.clone()));
    assert_agree(&env, &[&alice, &bob]);
    assert_eq!(bob.reinit(), Some(&reinit));
    assert_eq!(
        alice.seal(&env, b"late", b"", 0, &mut os_rng()).unwrap_err(),
        Error::from(UsageError::Reinitialized)
    );
    assert_eq!(
        bob.commit(&env, CommitParams::default(), &mut os_rng()).unwrap_err(),
        Error::from(UsageError::Reinitialized)
    );
}

/// Application messages sent just before a Commit still open after it for
/// `past_epochs` epochs, even from a member the Commit removed; each opens
/// once, and older epochs' keys are gone.
#[test]
fn late_messages_of_the_previous_epoch_open() {
    for s in SUITES {
        let env = Environment::basic(suite(s));
        let ids = ["alice", "bob", "carol"].map(|n| Client::new(env.cs, n));
        let mut alice = ids[0].create_group(&env);
        let kps = [ids[1].key_package(env.cs), ids[2].key_package(env.cs)];
        let out = commit(
            &mut alice,
            &env,
            adding(&[&kps[0], &kps[1]], WireFormat::PUBLIC_MESSAGE),
        );
        alice.merge_pending_commit().unwrap();
        let welcome = out.welcome.unwrap();
        let mut bob = ids[1].join(&env, &welcome, &kps[0]).unwrap();
        let mut carol = ids[2].join(&env, &welcome, &kps[1]).unwrap();

        // Bob and Carol each send in epoch 1; Alice then removes Bob (epoch 2).
        let from_bob = bob.seal(&env, b"late bob", b"", 0, &mut os_rng()).unwrap();
        let from_carol = carol.seal(&env, b"late carol", b"", 0, &mut os_rng()).unwrap();
        let params = CommitParams {
            proposals: vec![Group::remove_proposal(LeafIndex(1))],
            ..CommitParams::default()
        };
        let out = commit(&mut alice, &env, params);
        alice.merge_pending_commit().unwrap();
        apply(&mut carol, &env, &out.commit);

        let opened = carol.process(&env, &wire(&from_bob)).unwrap();
        assert!(
            matches!(opened, ProcessedMessage::Application { sender: LeafIndex(1), ref data, .. } if data == b"late bob")
        );
        assert!(carol.process(&env, &wire(&from_bob)).is_err(), "a replay is refused");
        // A tampered copy is refused and does not use up the genuine message's key.
        let mut forged = wire(&from_carol);
        let MlsMessageBody::PrivateMessage(m) = &mut forged.body else {
            panic!()
        };
        m.authenticated_data = b"x".to_vec().into();
        assert!(alice.process(&env, &forged).is_err());
        assert!(alice.process(&env, &wire(&from_bob)).is_ok());

        // Epoch 3: the epoch-1 keys are deleted (past_epochs = 1).
        let out = commit(&mut alice, &env, with_path());
        alice.merge_pending_commit().unwrap();
        apply(&mut carol, &env, &out.commit);
        assert_eq!(
            alice.process(&env, &wire(&from_carol)).unwrap_err(),
            Error::from(FramingError::WrongEpoch)
        );
        // A handshake message of a past epoch is refused even while kept.
        let remove = Group::remove_proposal(LeafIndex(0));
        let (proposal, _) = carol
            .propose(&env, remove, WireFormat::PRIVATE_MESSAGE, &mut os_rng())
            .unwrap();
        commit(&mut alice, &env, with_path());
        alice.merge_pending_commit().unwrap();
        assert!(alice.process(&env, &wire(&proposal)).is_err());
    }
}
