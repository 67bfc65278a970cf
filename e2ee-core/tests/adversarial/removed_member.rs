//! A removed member holds nothing of the group any more (RFC 9420 §9.2):
//! not in memory, not in its stored state.

use e2ee_core::client::Event;
use e2ee_core::crypto::os_rng;
use e2ee_core::error::{Error, UsageError};
use e2ee_core::group::{CommitParams, Environment, Group, ProcessedMessage};
use e2ee_core::tree_math::LeafIndex;

use crate::common::{SUITES, suite, wire};
use crate::support::{Trio, chat};

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Carol sends a message, then Alice removes Bob before it reaches him.
/// Bob's group, and the state he stores afterwards, keep no secret of
/// the epoch: the message cannot be opened from them, and the stored
/// bytes hold not even the epoch authenticator (the epoch secrets used
/// to stay in memory and in every export).
#[test]
fn a_removed_member_keeps_no_epoch_secrets() {
    for s in SUITES {
        let env = Environment::basic(suite(s));
        let cs = env.cs;
        let mut trio = Trio::new(&env);
        let authenticator = trio.groups[1].epoch_authenticator().unwrap().to_vec();
        let late = trio.groups[2]
            .seal(&env, b"before the removal", b"", 0, &mut os_rng())
            .unwrap();
        let params = CommitParams {
            proposals: vec![Group::remove_proposal(LeafIndex(1))],
            ..Default::default()
        };
        let out = crate::common::commit(&mut trio.groups[0], &env, params);
        let processed = trio.groups[1].process(&env, &wire(&out.commit)).unwrap();
        assert!(matches!(processed, ProcessedMessage::Commit(ref c) if c.self_removed));
        let bob = &mut trio.groups[1];
        assert_eq!(bob.epoch_authenticator(), Err(Error::from(UsageError::NotAMember)));
        assert_eq!(
            bob.export_secret(cs, b"l", b"c", 32).unwrap_err(),
            Error::from(UsageError::NotAMember)
        );
        assert!(bob.resumption_psk(bob.epoch()).is_none());
        let stored = bob.export_state(cs).unwrap();
        assert!(
            !contains(&stored, &authenticator),
            "the epoch's secrets are in the stored state"
        );
        let mut restored = Group::restore_state(cs, &stored).unwrap();
        assert!(!restored.is_active());
        assert_eq!(
            restored.process(&env, &wire(&late)),
            Err(Error::from(UsageError::NotAMember))
        );
    }
}

/// The same through the high-level API: the removal event, then nothing.
#[test]
fn a_removed_member_can_neither_open_nor_export() {
    let (_, [mut alice, mut bob, _]) = chat(Default::default());
    let removal = alice.remove(&[bob.own_index()]).unwrap();
    alice.merge_commit().unwrap();
    let events = bob.open(&removal.commit).unwrap();
    assert!(matches!(events[..], [Event::EpochChanged { self_removed: true, .. }]));
    let next = alice.seal(b"after", b"").unwrap();
    assert_eq!(bob.open(&next).unwrap_err().code(), "not_a_member");
    assert_eq!(bob.epoch_authenticator().unwrap_err().code(), "not_a_member");
    assert_eq!(bob.export_secret(b"l", b"c", 16).unwrap_err().code(), "not_a_member");
}
