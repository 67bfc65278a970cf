//! Storing and restoring a member's group state (`Group::export_state`,
//! `Group::export_sealed`) and a KeyPackage's private keys, end to end for
//! cipher suites 1 to 7: members restored in the middle of an epoch —
//! with skipped messages, a pending proposal, a pending own Update and a
//! pending own Commit — carry on as if never stopped.

mod common;

use common::{Client, SUITES, adding, apply, assert_agree, commit, exchange, suite, wire};
use e2ee_core::crypto::{CipherSuiteProvider, os_rng};
use e2ee_core::error::{Error, StateError};
use e2ee_core::group::{CommitParams, Environment, Group, ProcessedMessage};
use e2ee_core::key_package::NewKeyPackage;
use e2ee_core::messages::{MlsMessage, WireFormat};
use e2ee_core::secret_tree::SecretTreeError;
use e2ee_core::tree_math::LeafIndex;
use proptest::prelude::*;

const KEY: [u8; 32] = [0x5c; 32];

/// `group` after a round trip through its plain export.
fn reload(cs: &dyn CipherSuiteProvider, group: Group) -> Group {
    let bytes = group.export_state(cs).unwrap();
    drop(group);
    Group::restore_state(cs, &bytes).unwrap()
}

/// `group` after a round trip through its sealed export.
fn reload_sealed(cs: &dyn CipherSuiteProvider, group: Group) -> Group {
    let bytes = group.export_sealed(cs, &KEY, &mut os_rng()).unwrap();
    let id = group.context().group_id.to_vec();
    drop(group);
    Group::restore_sealed(cs, &bytes, &KEY, &id).unwrap()
}

fn opened(env: &Environment<'_>, group: &mut Group, message: &MlsMessage) -> Vec<u8> {
    match group.process(env, &wire(message)) {
        Ok(ProcessedMessage::Application { data, .. }) => data,
        other => panic!("expected application data, got {other:?}"),
    }
}

fn assert_consumed(env: &Environment<'_>, group: &mut Group, message: &MlsMessage) {
    let error = group.process(env, &wire(message)).unwrap_err();
    assert_eq!(error, Error::from(SecretTreeError::KeyConsumed));
}

/// Alice, Bob and Carol in epoch 1, each restored once already.
fn three_members(env: &Environment<'_>) -> (Group, Group, Group) {
    let cs = env.cs;
    let ids = [
        Client::new(cs, "alice"),
        Client::new(cs, "bob"),
        Client::new(cs, "carol"),
    ];
    let mut alice = ids[0].create_group(env);
    // The KeyPackages' private keys survive a restart before the Welcome.
    let kps: Vec<NewKeyPackage> = ids[1..]
        .iter()
        .map(|c| {
            let kp = c.key_package(cs);
            NewKeyPackage::restore_state(cs, &kp.export_state(cs).unwrap()).unwrap()
        })
        .collect();
    let out = commit(
        &mut alice,
        env,
        adding(&[&kps[0], &kps[1]], WireFormat::PRIVATE_MESSAGE),
    );
    let mut alice = reload(cs, alice);
    alice.merge_pending_commit().unwrap();
    let welcome = out.welcome.unwrap();
    let bob = ids[1].join(env, &welcome, &kps[0]).unwrap();
    let carol = ids[2].join(env, &welcome, &kps[1]).unwrap();
    let (alice, bob, carol) = (reload(cs, alice), reload_sealed(cs, bob), reload(cs, carol));
    assert_agree(env, &[&alice, &bob, &carol]);
    (alice, bob, carol)
}

#[test]
fn restored_members_continue_mid_conversation() {
    for s in SUITES {
        let env = Environment::basic(suite(s));
        let cs = env.cs;
        let (mut alice, mut bob, mut carol) = three_members(&env);
        exchange(&env, &mut alice, &mut [&mut bob, &mut carol], b"before");

        // Alice sends two messages; Bob opens only the second, Carol both.
        let first = alice.seal(&env, b"first", b"", 0, &mut os_rng()).unwrap();
        let second = alice.seal(&env, b"second", b"", 0, &mut os_rng()).unwrap();
        assert_eq!(opened(&env, &mut bob, &second), b"second");
        assert_eq!(opened(&env, &mut carol, &first), b"first");
        assert_eq!(opened(&env, &mut carol, &second), b"second");

        // Carol proposes an Update of her leaf (its key stays with her
        // until committed); Alice commits it, and has not merged yet.
        let update = carol.update_proposal(&env, &mut os_rng()).unwrap();
        let (proposal, _) = carol
            .propose(&env, update, WireFormat::PRIVATE_MESSAGE, &mut os_rng())
            .unwrap();
        for g in [&mut alice, &mut bob] {
            assert!(matches!(
                g.process(&env, &wire(&proposal)),
                Ok(ProcessedMessage::Proposal { .. })
            ));
        }
        let params = CommitParams {
            force_path: true,
            ..CommitParams::default()
        };
        let out = commit(&mut alice, &env, params);

        let mut alice = reload(cs, alice);
        let mut bob = reload_sealed(cs, bob);
        let mut carol = reload(cs, carol);
        assert!(alice.has_pending_commit());

        // Consumed keys stay deleted; the skipped one still opens, once.
        assert_consumed(&env, &mut bob, &second);
        assert_consumed(&env, &mut carol, &first);
        assert_eq!(opened(&env, &mut bob, &first), b"first");
        assert_consumed(&env, &mut bob, &first);

        // The pending Commit, with Carol's Update, goes through.
        let merged = alice.merge_pending_commit().unwrap();
        assert_eq!(apply(&mut bob, &env, &out.commit), merged);
        assert_eq!(apply(&mut carol, &env, &out.commit), merged);
        assert!(merged.updated.contains(&LeafIndex(2)));
        assert_agree(&env, &[&alice, &bob, &carol]);
        exchange(&env, &mut carol, &mut [&mut alice, &mut bob], b"after the update");

        // Bob removes Carol and adds Dave, whose KeyPackage was stored sealed.
        let (mut alice, mut bob) = (reload(cs, alice), reload(cs, bob));
        let dave = Client::new(cs, "dave");
        let kp = dave.key_package(cs);
        let kp = NewKeyPackage::restore_sealed(cs, &kp.export_sealed(cs, &KEY, &mut os_rng()).unwrap(), &KEY).unwrap();
        let mut params = adding(&[&kp], WireFormat::PUBLIC_MESSAGE);
        params.proposals.push(Group::remove_proposal(carol.own_leaf()));
        let out = commit(&mut bob, &env, params);
        let mut bob = reload_sealed(cs, bob);
        let merged = bob.merge_pending_commit().unwrap();
        assert_eq!(apply(&mut alice, &env, &out.commit), merged);
        assert!(apply(&mut carol, &env, &out.commit).self_removed);
        let carol = reload(cs, carol);
        assert!(!carol.is_active());
        let dave = dave.join(&env, out.welcome.as_ref().unwrap(), &kp).unwrap();
        let (mut alice, mut bob, mut dave) = (reload(cs, alice), reload(cs, bob), reload(cs, dave));
        assert_agree(&env, &[&alice, &bob, &dave]);
        exchange(&env, &mut dave, &mut [&mut alice, &mut bob], b"hello from dave");
        exchange(&env, &mut alice, &mut [&mut bob, &mut dave], b"hello from alice");
    }
}

#[test]
fn sealed_state_needs_its_key() {
    let env = Environment::basic(suite(SUITES[0]));
    let (alice, ..) = three_members(&env);
    let sealed = alice.export_sealed(env.cs, &KEY, &mut os_rng()).unwrap();
    let error = Group::restore_sealed(env.cs, &sealed, &[0; 32], b"group").unwrap_err();
    assert_eq!(
        (error.clone(), error.code()),
        (Error::from(StateError::Key), "state_key")
    );
    assert_eq!(
        Group::restore_state(env.cs, &sealed).unwrap_err(),
        Error::from(StateError::Sealing)
    );
    // Two sealings of one state differ (fresh nonce) and both open.
    let again = alice.export_sealed(env.cs, &KEY, &mut os_rng()).unwrap();
    assert_ne!(sealed, again);
    let plain = alice.export_state(env.cs).unwrap();
    for bytes in [&sealed, &again] {
        let restored = Group::restore_sealed(env.cs, bytes, &KEY, b"group").unwrap();
        assert_eq!(restored.export_state(env.cs).unwrap(), plain);
    }
}

/// A three-member group's plain and sealed exports, made once.
fn exports() -> &'static (Vec<u8>, Vec<u8>) {
    static EXPORTS: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    EXPORTS.get_or_init(|| {
        let env = Environment::basic(suite(SUITES[0]));
        let (mut alice, mut bob, _) = three_members(&env);
        exchange(&env, &mut alice, &mut [&mut bob], b"hello");
        (
            bob.export_state(env.cs).unwrap(),
            bob.export_sealed(env.cs, &KEY, &mut os_rng()).unwrap(),
        )
    })
}

#[test]
fn every_truncation_fails() {
    let cs = suite(SUITES[0]);
    let (plain, sealed) = exports();
    for len in 0..plain.len() {
        assert!(Group::restore_state(cs, &plain[..len]).is_err(), "plain, length {len}");
    }
    for len in 0..sealed.len() {
        assert!(
            Group::restore_sealed(cs, &sealed[..len], &KEY, b"group").is_err(),
            "sealed, length {len}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn mutations_fail(edits in proptest::collection::vec((any::<proptest::sample::Index>(), 1u8..), 1..5)) {
        let cs = suite(SUITES[0]);
        let (original, original_sealed) = exports();
        let (mut plain, mut sealed) = (original.clone(), original_sealed.clone());
        for (at, xor) in edits {
            let i = at.index(plain.len());
            plain[i] ^= xor;
            let i = at.index(sealed.len());
            sealed[i] ^= xor;
        }
        // Two edits of one byte may cancel out.
        prop_assume!(plain != *original && sealed != *original_sealed);
        prop_assert!(Group::restore_state(cs, &plain).is_err());
        prop_assert!(Group::restore_sealed(cs, &sealed, &KEY, b"group").is_err());
    }
}

/// The kept past epoch is part of the state: a message sent before a Commit
/// opens after the Commit and a restore, once.
#[test]
fn late_messages_open_after_a_restore() {
    for s in SUITES {
        let env = Environment::basic(suite(s));
        let (mut alice, mut bob, mut carol) = three_members(&env);
        let (late, opened_before) = (
            bob.seal(&env, b"late", b"", 0, &mut os_rng()).unwrap(),
            bob.seal(&env, b"early", b"", 0, &mut os_rng()).unwrap(),
        );
        assert_eq!(opened(&env, &mut alice, &opened_before), b"early");
        let out = commit(
            &mut carol,
            &env,
            CommitParams {
                force_path: true,
                ..CommitParams::default()
            },
        );
        carol.merge_pending_commit().unwrap();
        apply(&mut alice, &env, &out.commit);
        let mut alice = reload(env.cs, alice);
        assert_eq!(opened(&env, &mut alice, &late), b"late");
        assert_consumed(&env, &mut alice, &late);
        assert_consumed(&env, &mut alice, &opened_before);
    }
}
