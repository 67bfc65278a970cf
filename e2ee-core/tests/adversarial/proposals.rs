//! Proposals: none from outside the group takes effect without the
//! application, and none, from anyone, can keep members from committing.

use std::collections::BTreeMap;

use e2ee_core::crypto::{Secret, os_rng};
use e2ee_core::error::{Error, ProposalError, UsageError};
use e2ee_core::group::{Admission, CommitParams, Environment, ProcessedMessage};
use e2ee_core::messages::{Add, Content, PreSharedKey, PreSharedKeyId, Proposal, Psk, ReInit, Sender, WireFormat};

use crate::common::{Client, SUITES, commit, suite, wire};
use crate::support::{Trio, chat, framed, public_message};

/// An outsider's `new_member_proposal` asking to add itself, signed with
/// its own key: its signature vouches for nothing the members know.
fn outsiders_add(env: &Environment<'_>, trio: &Trio, outsider: &Client) -> e2ee_core::messages::MlsMessage {
    let kp = outsider.key_package(env.cs);
    let context = trio.groups[0].context().clone();
    let proposal = Proposal::Add(Add {
        key_package: kp.key_package,
    });
    let content = framed(&context, Sender::NewMemberProposal, Content::Proposal(proposal));
    public_message(env.cs, outsider.signer.private.as_bytes(), content, &context, None)
}

/// An outsider asks to be added. Every member keeps the proposal, waiting
/// for the application; the next ordinary Commit leaves it out (no
/// Welcome, no new member). Only once the application accepts it does a
/// Commit add the outsider.
#[test]
fn an_outsiders_add_proposal_waits_for_the_application() {
    for s in SUITES {
        let env = Environment::basic(suite(s));
        let mut trio = Trio::new(&env);
        let dave = Client::new(env.cs, "dave");
        let asking = outsiders_add(&env, &trio, &dave);
        for g in &mut trio.groups {
            let processed = g.process(&env, &wire(&asking)).unwrap();
            assert!(matches!(
                processed,
                ProcessedMessage::Proposal {
                    sender: Sender::NewMemberProposal,
                    ..
                }
            ));
            assert_eq!(g.pending_proposals()[0].admission, Admission::Awaiting);
        }
        let out = commit(&mut trio.groups[0], &env, crate::common::with_path());
        assert!(out.welcome.is_none(), "the outsider was let in");
        trio.groups[0].clear_pending_commit();

        let reference = trio.groups[0].pending_proposals()[0].reference.clone();
        trio.groups[0].accept_proposal(&reference).unwrap();
        let out = commit(&mut trio.groups[0], &env, CommitParams::default());
        assert!(out.welcome.is_some(), "the accepted proposal was left out");
    }
}

/// Bob proposes a PSK that only he has. The others refuse it on receipt
/// rather than keep a proposal no Commit could ever include; commits go
/// on (before, every Commit of every member failed from then on).
#[test]
fn a_psk_proposal_nobody_else_knows_is_refused_and_blocks_nothing() {
    for s in SUITES {
        let env = Environment::basic(suite(s));
        let psks: BTreeMap<Vec<u8>, Secret> = [(b"bob only".to_vec(), Secret::new(vec![7; 32]))].into();
        let bobs_env = Environment { psks: &psks, ..env };
        let mut trio = Trio::new(&env);
        let psk = PreSharedKeyId {
            psk: Psk::External {
                psk_id: b"bob only".as_slice().into(),
            },
            psk_nonce: vec![1; env.cs.hash_len()].into(),
        };
        let proposal = Proposal::PreSharedKey(PreSharedKey { psk });
        let (message, _) = trio.groups[1]
            .propose(&bobs_env, proposal, WireFormat::PUBLIC_MESSAGE, &mut os_rng())
            .unwrap();
        for i in [0, 2] {
            let error = trio.groups[i].process(&env, &wire(&message)).unwrap_err();
            assert_eq!(error, Error::from(UsageError::PskNotFound));
        }
        trio.advance(&env, 0);
        trio.advance(&env, 2);
    }
}

/// The Delivery Service delivers Bob's Add proposal twice. The copy is no
/// second proposal: it is refused, and Alice's Commit adds Dave once.
#[test]
fn a_replayed_proposal_is_refused_and_blocks_nothing() {
    for s in SUITES {
        let env = Environment::basic(suite(s));
        let mut trio = Trio::new(&env);
        let dave = Client::new(env.cs, "dave");
        let kp = dave.key_package(env.cs);
        let proposal = Proposal::Add(Add {
            key_package: kp.key_package.clone(),
        });
        let (message, _) = trio.groups[1]
            .propose(&env, proposal, WireFormat::PUBLIC_MESSAGE, &mut os_rng())
            .unwrap();
        trio.groups[0].process(&env, &wire(&message)).unwrap();
        let replay = trio.groups[0].process(&env, &wire(&message)).unwrap_err();
        assert_eq!(replay, Error::from(ProposalError::DuplicateProposal));
        let out = commit(&mut trio.groups[0], &env, CommitParams::default());
        dave.join(&env, out.welcome.as_ref().unwrap(), &kp).unwrap();
    }
}

/// An outsider's Add proposal with a broken KeyPackage signature is
/// refused on receipt, so it can never spoil a Commit.
#[test]
fn an_outsiders_proposal_with_a_broken_key_package_is_refused() {
    for s in SUITES {
        let env = Environment::basic(suite(s));
        let mut trio = Trio::new(&env);
        let dave = Client::new(env.cs, "dave");
        let mut kp = dave.key_package(env.cs).key_package;
        let mut signature = kp.signature.to_vec();
        signature[0] ^= 1;
        kp.signature = signature.into();
        let context = trio.groups[0].context().clone();
        let proposal = Proposal::Add(Add { key_package: kp });
        let content = framed(&context, Sender::NewMemberProposal, Content::Proposal(proposal));
        let message = public_message(env.cs, dave.signer.private.as_bytes(), content, &context, None);
        for g in &mut trio.groups {
            let error = g.process(&env, &wire(&message)).unwrap_err();
            assert_eq!(error.code(), "key_package_invalid_signature", "{error}");
        }
        trio.advance(&env, 1);
    }
}

/// Two members propose adding the same client (two of its KeyPackages,
/// one signature key): together they are invalid (§12.2), so a Commit
/// takes the first and leaves out the second instead of failing.
#[test]
fn proposals_that_conflict_are_left_out_of_a_commit() {
    for s in SUITES {
        let env = Environment::basic(suite(s));
        let mut trio = Trio::new(&env);
        let dave = Client::new(env.cs, "dave");
        let kps = [dave.key_package(env.cs), dave.key_package(env.cs)];
        let mut proposals = Vec::new();
        for (by, kp) in [(1, &kps[0]), (2, &kps[1])] {
            let add = Proposal::Add(Add {
                key_package: kp.key_package.clone(),
            });
            let (message, _) = trio.groups[by]
                .propose(&env, add, WireFormat::PUBLIC_MESSAGE, &mut os_rng())
                .unwrap();
            proposals.push(message);
        }
        for message in &proposals {
            trio.groups[0].process(&env, &wire(message)).unwrap();
        }
        let out = commit(&mut trio.groups[0], &env, CommitParams::default());
        let summary = trio.groups[0].merge_pending_commit().unwrap();
        assert_eq!(summary.added.len(), 1);
        dave.join(&env, out.welcome.as_ref().unwrap(), &kps[0]).unwrap();
    }
}

/// A member's ReInit ends the group, so it waits for the application like
/// an outsider's proposal: ordinary Commits leave it out.
#[test]
fn a_reinit_proposal_waits_for_the_application() {
    let env = Environment::basic(suite(SUITES[0]));
    let mut trio = Trio::new(&env);
    let context = trio.groups[1].context().clone();
    let reinit = Proposal::ReInit(ReInit {
        group_id: b"elsewhere".as_slice().into(),
        version: context.version,
        cipher_suite: context.cipher_suite,
        extensions: Vec::new(),
    });
    let (message, _) = trio.groups[1]
        .propose(&env, reinit, WireFormat::PUBLIC_MESSAGE, &mut os_rng())
        .unwrap();
    trio.groups[0].process(&env, &wire(&message)).unwrap();
    assert_eq!(trio.groups[0].pending_proposals()[0].admission, Admission::Awaiting);
    trio.advance(&env, 0);
    assert!(trio.groups[0].reinit().is_none());
}

/// Bob asks to leave, and Alice removes him herself: her Remove and his
/// are one removal, not an invalid pair (which made the removal fail).
#[test]
fn a_removal_after_a_request_to_leave_goes_through() {
    let (_, [mut alice, mut bob, mut carol]) = chat(Default::default());
    let leave = bob.leave().unwrap();
    alice.open(&leave).unwrap();
    carol.open(&leave).unwrap();
    let removal = alice.remove(&[bob.own_index()]).unwrap();
    alice.merge_commit().unwrap();
    carol.open(&removal.commit).unwrap();
    bob.open(&removal.commit).unwrap();
    assert!(!bob.is_active());
    assert_eq!(
        alice.epoch_authenticator().unwrap(),
        carol.epoch_authenticator().unwrap()
    );
}
