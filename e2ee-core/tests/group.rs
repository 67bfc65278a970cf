//! The group state machine end to end (RFC 9420 §11, §12): creating a
//! group, adding members by Commit and Welcome, application messages,
//! updates, proposals by reference, removal, and rejected Commits, for
//! cipher suites 1, 2 and 3. Every message goes through its wire encoding.

use e2ee_core::codec::{decode_exact, encode};
use e2ee_core::crypto::{CipherSuite, CipherSuiteProvider, CryptoProvider, KeyPair, RustCryptoProvider, os_rng};
use e2ee_core::framing::FramingError;
use e2ee_core::group::{
    CommitOutput, CommitParams, CommitSummary, Environment, Group, GroupConfig, GroupError, JoinKeys, OwnLeaf,
    ProcessedMessage,
};
use e2ee_core::key_package::{KeyPackageParams, NewKeyPackage, create_key_package, default_capabilities};
use e2ee_core::messages::{
    Credential, Extension, Lifetime, MlsMessage, MlsMessageBody, Node, ProposalRef, PublicMessage, Sender, WireFormat,
};
use e2ee_core::tree_math::LeafIndex;

const SUITES: [CipherSuite; 3] = [CipherSuite(1), CipherSuite(2), CipherSuite(3)];
const FOREVER: Lifetime = Lifetime {
    not_before: 0,
    not_after: u64::MAX,
};

fn suite(suite: CipherSuite) -> &'static dyn CipherSuiteProvider {
    RustCryptoProvider.cipher_suite(suite).unwrap()
}

/// A client's identity: name and signature key pair.
struct Client {
    name: &'static str,
    signer: KeyPair,
}

impl Client {
    fn new(cs: &dyn CipherSuiteProvider, name: &'static str) -> Self {
        Self {
            name,
            signer: cs.signature_key_generate(&mut os_rng()),
        }
    }

    fn own_leaf(&self, cs: &dyn CipherSuiteProvider) -> OwnLeaf {
        OwnLeaf {
            credential: Credential::Basic(self.name.as_bytes().into()),
            signature_public_key: self.signer.public.clone(),
            capabilities: default_capabilities(cs.cipher_suite()),
            extensions: Vec::new(),
            lifetime: FOREVER,
        }
    }

    fn create_group(&self, env: &Environment<'_>) -> Group {
        let own = self.own_leaf(env.cs);
        let key = self.signer.private.clone();
        Group::create(
            env,
            b"group".to_vec(),
            own,
            key,
            Vec::new(),
            GroupConfig::default(),
            &mut os_rng(),
        )
        .unwrap()
    }

    fn key_package(&self, cs: &dyn CipherSuiteProvider) -> NewKeyPackage {
        let own = self.own_leaf(cs);
        let params = KeyPackageParams {
            credential: own.credential,
            signature_public_key: own.signature_public_key,
            capabilities: own.capabilities,
            lifetime: FOREVER,
            leaf_extensions: Vec::new(),
            extensions: Vec::new(),
        };
        create_key_package(cs, params, self.signer.private.as_bytes(), &mut os_rng()).unwrap()
    }

    fn join(&self, env: &Environment<'_>, welcome: &MlsMessage, kp: &NewKeyPackage) -> Result<Group, GroupError> {
        let MlsMessageBody::Welcome(welcome) = &wire(welcome).body else {
            panic!("not a Welcome");
        };
        let keys = JoinKeys {
            key_package: &kp.key_package,
            init_private_key: kp.init_private_key.as_bytes(),
            encryption_private_key: kp.encryption_private_key.clone(),
            signature_private_key: self.signer.private.clone(),
        };
        Group::join(env, welcome, keys, None, GroupConfig::default())
    }
}

/// The message after a round trip through its encoding.
fn wire(message: &MlsMessage) -> MlsMessage {
    decode_exact(&encode(message).unwrap()).unwrap()
}

fn commit(group: &mut Group, env: &Environment<'_>, params: CommitParams) -> CommitOutput {
    group.commit(env, params, &mut os_rng()).unwrap()
}

/// Processes a Commit that must succeed.
fn apply(group: &mut Group, env: &Environment<'_>, message: &MlsMessage) -> CommitSummary {
    match group.process(env, &wire(message)) {
        Ok(ProcessedMessage::Commit(summary)) => summary,
        other => panic!("expected a Commit, got {other:?}"),
    }
}

/// Every member is in the same epoch with the same secrets.
fn assert_agree(env: &Environment<'_>, groups: &[&Group]) {
    let first = groups[0];
    let exported = |g: &Group| g.export_secret(env.cs, b"test", b"context", 32).unwrap();
    for g in &groups[1..] {
        assert_eq!(g.epoch(), first.epoch());
        assert_eq!(g.context(), first.context());
        assert_eq!(g.tree(), first.tree());
        assert_eq!(g.epoch_authenticator(), first.epoch_authenticator());
        assert_eq!(exported(g), exported(first));
    }
}

/// `sender` seals a message and every receiver opens it.
fn exchange(env: &Environment<'_>, sender: &mut Group, receivers: &mut [&mut Group], text: &[u8]) {
    let message = sender.seal(env, text, b"ad", 7, &mut os_rng()).unwrap();
    assert_eq!(message.body.wire_format(), WireFormat::PRIVATE_MESSAGE);
    for receiver in receivers.iter_mut() {
        let opened = receiver.process(env, &wire(&message)).unwrap();
        let expected = ProcessedMessage::Application {
            sender: sender.own_leaf(),
            data: text.to_vec(),
            authenticated_data: b"ad".to_vec(),
        };
        assert_eq!(opened, expected);
    }
}

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

fn with_path() -> CommitParams {
    CommitParams {
        force_path: true,
        ..CommitParams::default()
    }
}

/// A Commit adding the owners of `key_packages`.
fn adding(key_packages: &[&NewKeyPackage], wire_format: WireFormat) -> CommitParams {
    let proposals = key_packages
        .iter()
        .map(|kp| Group::add_proposal(kp.key_package.clone()))
        .collect();
    CommitParams {
        proposals,
        wire_format,
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
            GroupError::OwnCommit
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
        assert!(
            matches!(stale, GroupError::Framing(FramingError::WrongEpoch)),
            "{stale:?}"
        );

        // Epoch 3: Carol proposes removing Bob; Alice commits it by reference.
        let (proposal, reference) = carol
            .propose(
                &env,
                Group::remove_proposal(LeafIndex(1)),
                WireFormat::PUBLIC_MESSAGE,
                &mut os_rng(),
            )
            .unwrap();
        let expected: Result<_, GroupError> = Ok(ProcessedMessage::Proposal {
            sender: Sender::Member(2),
            reference,
        });
        assert_eq!(alice.process(&env, &wire(&proposal)), expected);
        assert_eq!(bob.process(&env, &wire(&proposal)), expected);
        let out = commit(&mut alice, &env, public());

        // A tampered Commit is rejected and changes nothing.
        let error = carol.process(&env, &wire(&tamper(&out.commit))).unwrap_err();
        assert!(
            matches!(error, GroupError::Framing(FramingError::InvalidMembershipTag)),
            "{error:?}"
        );
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
            GroupError::NotAMember
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
