//! Joining by external Commit end to end (RFC 9420 §12.4.3.2, §8.3): a
//! member publishes the GroupInfo with `external_pub`, with or without the
//! ratchet tree; new clients join, members process their Commits and all
//! agree; a member resyncs by replacing its old leaf; forged GroupInfos and
//! external Commits with disallowed proposals are rejected. Cipher suites
//! 1, 2 and 3; every message goes through its wire encoding.

mod common;

use std::collections::BTreeMap;

use common::{Client, SUITES, adding, apply, assert_agree, commit, exchange, suite, wire};
use e2ee_core::crypto::{CipherSuiteProvider, Secret, os_rng};
use e2ee_core::error::{Error, ProtocolError, Refusal, UsageError};
use e2ee_core::framing::{self, FramingError};
use e2ee_core::group::proposals::ProposalError;
use e2ee_core::group::{Environment, ExternalJoinParams, ExternalJoins, Group, GroupConfig};
use e2ee_core::messages::{
    Content, Extension, ExternalPub, GroupInfo, MlsMessage, MlsMessageBody, Node, PreSharedKeyId, ProposalOrRef, Psk,
    PublicMessage, Sender, WireFormat,
};
use e2ee_core::tree_math::LeafIndex;
use e2ee_core::welcome::{self, WelcomeError};

/// The basic environment of suite `cs`, taking external joins: what these
/// tests exercise (the refusals are in tests/adversarial).
fn allowing(cs: &dyn CipherSuiteProvider) -> Environment<'_> {
    Environment {
        external_joins: ExternalJoins::Allow,
        ..Environment::basic(cs)
    }
}

/// The parameters of a plain external join of `client`.
fn params<'a>(client: &Client, env: &Environment<'_>, group_info: &'a MlsMessage) -> ExternalJoinParams<'a> {
    ExternalJoinParams {
        group_info,
        ratchet_tree: None,
        own: client.own_leaf(env.cs),
        signature_private_key: client.signer.private.clone(),
        resync: false,
        psks: Vec::new(),
    }
}

/// Joins by external Commit from the wire form of `group_info`.
fn join_external(env: &Environment<'_>, params: ExternalJoinParams<'_>) -> Result<(Group, MlsMessage), Error> {
    let group_info = wire(params.group_info);
    let params = ExternalJoinParams {
        group_info: &group_info,
        ..params
    };
    Group::join_external(env, params, GroupConfig::default(), &mut os_rng())
}

/// Alice, Bob and Carol in epoch 1 (leaves 0, 1, 2).
fn three_members(env: &Environment<'_>, ids: &[Client; 3]) -> [Group; 3] {
    let mut alice = ids[0].create_group(env);
    let kps = [ids[1].key_package(env.cs), ids[2].key_package(env.cs)];
    let out = commit(
        &mut alice,
        env,
        adding(&[&kps[0], &kps[1]], WireFormat::PRIVATE_MESSAGE),
    );
    alice.merge_pending_commit().unwrap();
    let welcome = out.welcome.unwrap();
    let bob = ids[1].join(env, &welcome, &kps[0]).unwrap();
    let carol = ids[2].join(env, &welcome, &kps[1]).unwrap();
    [alice, bob, carol]
}

fn ids(env: &Environment<'_>) -> [Client; 3] {
    ["alice", "bob", "carol"].map(|name| Client::new(env.cs, name))
}

fn group_info_of(message: &MlsMessage) -> GroupInfo {
    match &message.body {
        MlsMessageBody::GroupInfo(group_info) => group_info.clone(),
        _ => panic!("not a GroupInfo"),
    }
}

fn as_message(group_info: GroupInfo) -> MlsMessage {
    MlsMessage {
        version: e2ee_core::messages::ProtocolVersion::MLS10,
        body: MlsMessageBody::GroupInfo(group_info),
    }
}

/// Every group in `members` processes the external Commit `message`.
fn all_apply(env: &Environment<'_>, members: &mut [&mut Group], message: &MlsMessage) {
    let expected_epoch = members[0].epoch() + 1;
    for member in members.iter_mut() {
        let summary = apply(member, env, message);
        assert_eq!(
            (summary.sender, summary.epoch),
            (Sender::NewMemberCommit, expected_epoch)
        );
    }
}

#[test]
fn join_talk_and_resync() {
    for s in SUITES {
        let env = allowing(suite(s));
        let ids = ids(&env);
        let [mut alice, mut bob, mut carol] = three_members(&env, &ids);

        // Epoch 2: Dave joins from Alice's GroupInfo, which carries the tree.
        let dave_id = Client::new(env.cs, "dave");
        let info = alice.group_info(&env, true).unwrap();
        assert!(
            Extension::find::<Vec<Option<Node>>>(&group_info_of(&info).extensions)
                .unwrap()
                .is_some()
        );
        let (mut dave, message) = join_external(&env, params(&dave_id, &env, &info)).unwrap();
        assert_eq!(message.body.wire_format(), WireFormat::PUBLIC_MESSAGE);
        assert_eq!((dave.epoch(), dave.own_leaf()), (2, LeafIndex(3)));
        let summary = apply(&mut alice, &env, &message);
        assert_eq!(
            (summary.added.as_slice(), summary.removed.len()),
            (&[LeafIndex(3)][..], 0)
        );
        all_apply(&env, &mut [&mut bob, &mut carol], &message);
        assert_agree(&env, &[&dave, &alice, &bob, &carol]);
        exchange(
            &env,
            &mut dave,
            &mut [&mut alice, &mut bob, &mut carol],
            b"hi, dave here",
        );
        exchange(
            &env,
            &mut bob,
            &mut [&mut alice, &mut carol, &mut dave],
            b"welcome dave",
        );

        // Epoch 3: Erin joins from Bob's GroupInfo without the tree, which
        // she gets out of band.
        let erin_id = Client::new(env.cs, "erin");
        let info = bob.group_info(&env, false).unwrap();
        let missing = join_external(&env, params(&erin_id, &env, &info)).unwrap_err();
        assert_eq!(missing, Error::from(WelcomeError::MissingRatchetTree));
        let tree = Some(bob.tree().to_nodes());
        let (mut erin, message) = join_external(
            &env,
            ExternalJoinParams {
                ratchet_tree: tree,
                ..params(&erin_id, &env, &info)
            },
        )
        .unwrap();
        assert_eq!(erin.own_leaf(), LeafIndex(4));
        all_apply(&env, &mut [&mut alice, &mut bob, &mut carol, &mut dave], &message);
        assert_agree(&env, &[&erin, &alice, &bob, &carol, &dave]);
        exchange(&env, &mut erin, &mut [&mut alice, &mut dave], b"erin too");

        // Epoch 4: Carol lost her state and resyncs from Dave's GroupInfo:
        // her old leaf goes and her new one takes its place.
        let info = dave.group_info(&env, true).unwrap();
        let resync = ExternalJoinParams {
            resync: true,
            ..params(&ids[2], &env, &info)
        };
        let (mut carol2, message) = join_external(&env, resync).unwrap();
        assert_eq!(carol2.own_leaf(), LeafIndex(2));
        let summary = apply(&mut alice, &env, &message);
        assert_eq!(
            summary.removed.iter().map(|(i, _)| *i).collect::<Vec<_>>(),
            [LeafIndex(2)]
        );
        all_apply(&env, &mut [&mut bob, &mut dave, &mut erin], &message);
        // Her old state, had it survived, cannot check a Commit that takes
        // its leaf (it cannot derive the new epoch): refused, not taken as
        // a removal on the word of a non-member.
        let refused = carol.process(&env, &wire(&message)).unwrap_err();
        assert_eq!(refused, Error::from(Refusal::ExternalCommitRemovesSelf));
        assert!(carol.is_active());
        assert_agree(&env, &[&carol2, &alice, &bob, &dave, &erin]);
        exchange(
            &env,
            &mut carol2,
            &mut [&mut alice, &mut bob, &mut dave, &mut erin],
            b"back",
        );
        exchange(&env, &mut alice, &mut [&mut carol2, &mut erin], b"welcome back");

        // The joiners can commit like any member.
        let out = commit(&mut erin, &env, Default::default());
        erin.merge_pending_commit().unwrap();
        for member in [&mut alice, &mut bob, &mut carol2, &mut dave] {
            apply(member, &env, &out.commit);
        }
        assert_agree(&env, &[&erin, &alice, &bob, &carol2, &dave]);
    }
}

#[test]
fn external_join_with_psk() {
    let cs = suite(SUITES[0]);
    let psks: BTreeMap<Vec<u8>, Secret> = [(b"psk".to_vec(), Secret::new(vec![7; 32]))].into();
    let env = Environment {
        psks: &psks,
        ..allowing(cs)
    };
    let ids = ids(&env);
    let [mut alice, mut bob, mut carol] = three_members(&env, &ids);
    let dave_id = Client::new(cs, "dave");
    let info = carol.group_info(&env, true).unwrap();
    let psk = PreSharedKeyId {
        psk: Psk::External {
            psk_id: b"psk".as_slice().into(),
        },
        psk_nonce: vec![1; cs.hash_len()].into(),
    };
    let with_psk = ExternalJoinParams {
        psks: vec![psk.clone()],
        ..params(&dave_id, &env, &info)
    };
    let (dave, message) = join_external(&env, with_psk).unwrap();
    // A member without the PSK cannot follow.
    let no_psk = allowing(cs);
    assert_eq!(
        alice.process(&no_psk, &wire(&message)).unwrap_err(),
        Error::from(UsageError::PskNotFound)
    );
    all_apply(&env, &mut [&mut alice, &mut bob, &mut carol], &message);
    assert_agree(&env, &[&dave, &alice, &bob, &carol]);

    // A PSK the joiner does not have stops the join.
    let unknown = PreSharedKeyId {
        psk: Psk::External {
            psk_id: b"other".as_slice().into(),
        },
        ..psk
    };
    let info = carol.group_info(&env, true).unwrap();
    let erin_id = Client::new(cs, "erin");
    let error = join_external(
        &env,
        ExternalJoinParams {
            psks: vec![unknown],
            ..params(&erin_id, &env, &info)
        },
    )
    .unwrap_err();
    assert_eq!(error, Error::from(UsageError::PskNotFound));
}

#[test]
fn forged_group_info_is_rejected() {
    for s in SUITES {
        let env = allowing(suite(s));
        let ids = ids(&env);
        let [alice, ..] = three_members(&env, &ids);
        let dave_id = Client::new(env.cs, "dave");
        let info = group_info_of(&alice.group_info(&env, true).unwrap());
        let try_join = |group_info: GroupInfo| {
            let message = as_message(group_info);
            join_external(&env, params(&dave_id, &env, &message)).unwrap_err()
        };
        let bad_signature = Error::from(WelcomeError::InvalidGroupInfoSignature);

        let mut forged = info.clone();
        let mut signature = forged.signature.to_vec();
        signature[0] ^= 1;
        forged.signature = signature.into();
        assert_eq!(try_join(forged), bad_signature);

        // An attacker's external_pub would let it read the new epoch.
        let attacker = env.cs.kem_key_generate(&mut os_rng()).unwrap();
        let mut forged = info.clone();
        forged.extensions[0] = Extension::from_body(&ExternalPub {
            external_pub: attacker.public.into(),
        })
        .unwrap();
        assert_eq!(try_join(forged), bad_signature);

        // Claimed by another member than the signer.
        let mut forged = info.clone();
        forged.signer = 1;
        assert_eq!(try_join(forged), bad_signature);

        // A properly signed GroupInfo without external_pub is not for joining.
        let mut no_pub = info.clone();
        // The GroupInfo's first extension is external_pub.
        no_pub.extensions.remove(0);
        welcome::sign_group_info(env.cs, &mut no_pub, ids[0].signer.private.as_bytes()).unwrap();
        assert_eq!(try_join(no_pub), Error::from(WelcomeError::MissingExternalPub));

        // A signed external_pub that is no public key of the suite.
        let mut junk_pub = info.clone();
        junk_pub.extensions[0] = Extension::from_body(&ExternalPub {
            external_pub: vec![7; 3].into(),
        })
        .unwrap();
        welcome::sign_group_info(env.cs, &mut junk_pub, ids[0].signer.private.as_bytes()).unwrap();
        assert_eq!(try_join(junk_pub), Error::from(WelcomeError::InvalidExternalPub));

        // A tree that does not match the tree hash.
        let mut other_tree = info.clone();
        other_tree.extensions.truncate(1);
        let message = as_message(other_tree);
        let wrong_tree = ExternalJoinParams {
            ratchet_tree: Some(ids[1].create_group(&env).tree().to_nodes()),
            ..params(&dave_id, &env, &message)
        };
        assert!(matches!(
            join_external(&env, wrong_tree),
            Err(Error::Protocol(ProtocolError::Tree(_)))
        ));

        // A resync needs an old leaf of this client.
        let message = as_message(info);
        let resync = ExternalJoinParams {
            resync: true,
            ..params(&dave_id, &env, &message)
        };
        assert_eq!(
            join_external(&env, resync).unwrap_err(),
            Error::from(WelcomeError::NotInTree)
        );
    }
}

#[test]
fn external_commit_with_add_is_rejected() {
    for s in SUITES {
        let env = allowing(suite(s));
        let ids = ids(&env);
        let [mut alice, mut bob, _] = three_members(&env, &ids);
        let dave_id = Client::new(env.cs, "dave");
        let info = alice.group_info(&env, true).unwrap();
        let (dave, message) = join_external(&env, params(&dave_id, &env, &info)).unwrap();

        // Dave slips an Add of Erin into his Commit and signs it again.
        let erin_kp = Client::new(env.cs, "erin").key_package(env.cs);
        let mut forged = message.clone();
        let MlsMessageBody::PublicMessage(PublicMessage { content, auth, .. }) = &mut forged.body else {
            panic!("not a PublicMessage");
        };
        let Content::Commit(commit) = &mut content.content else {
            panic!("not a Commit");
        };
        let add = Group::add_proposal(erin_kp.key_package);
        commit.proposals.push(ProposalOrRef::Proposal(add));
        let signer = env.cs.signer(dave_id.signer.private.as_bytes()).unwrap();
        auth.signature = framing::sign_content(&*signer, WireFormat::PUBLIC_MESSAGE, content, alice.context()).unwrap();
        let error = alice.process(&env, &wire(&forged)).unwrap_err();
        assert!(
            matches!(
                error,
                Error::Protocol(ProtocolError::Proposal(
                    ProposalError::ExternalCommitDisallowedProposal { .. }
                ))
            ),
            "{error:?}"
        );
        assert_eq!(alice.epoch(), 1, "a rejected Commit changes nothing");

        // Without re-signing, the signature fails first.
        let MlsMessageBody::PublicMessage(PublicMessage { content, .. }) = &mut forged.body else {
            unreachable!()
        };
        content.authenticated_data = b"x".as_slice().into();
        let error = bob.process(&env, &wire(&forged)).unwrap_err();
        assert_eq!(error, Error::from(FramingError::InvalidSignature));

        // The genuine Commit still goes through.
        all_apply(&env, &mut [&mut alice, &mut bob], &message);
        assert_agree(&env, &[&dave, &alice, &bob]);
    }
}

#[test]
fn stale_group_info_gives_a_stale_commit() {
    let env = allowing(suite(SUITES[1]));
    let ids = ids(&env);
    let [mut alice, mut bob, _] = three_members(&env, &ids);
    let info = bob.group_info(&env, true).unwrap();
    // The group moves on before Dave's Commit arrives.
    let out = commit(&mut alice, &env, Default::default());
    alice.merge_pending_commit().unwrap();
    apply(&mut bob, &env, &out.commit);
    let dave_id = Client::new(env.cs, "dave");
    let (_, message) = join_external(&env, params(&dave_id, &env, &info)).unwrap();
    let error = alice.process(&env, &wire(&message)).unwrap_err();
    assert_eq!(error, Error::from(FramingError::WrongEpoch));
}
