//! A Delivery Service that replays, forks, reorders, drops or injects
//! cannot make members accept what the group did not send.

use e2ee_core::client::{Client, Event};
use e2ee_core::crypto::os_rng;
use e2ee_core::error::Error;
use e2ee_core::framing::FramingError;
use e2ee_core::group::Environment;
use e2ee_core::messages::{MlsMessage, MlsMessageBody, Sender, WireFormat};

use crate::common::{SUITES, suite, wire};
use crate::support::{Trio, chat, public, random, refuses};

/// A Commit delivered again is refused and changes nothing.
#[test]
fn a_replayed_commit_changes_nothing() {
    let (_, [mut alice, mut bob, _]) = chat(Default::default());
    let update = alice.update().unwrap();
    alice.merge_commit().unwrap();
    bob.open(&update.commit).unwrap();
    let authenticator = bob.epoch_authenticator().unwrap();
    assert!(bob.open(&update.commit).is_err());
    assert_eq!((bob.epoch(), bob.epoch_authenticator().unwrap()), (2, authenticator));
    let next = alice.seal(b"still here", b"").unwrap();
    assert_eq!(bob.open(&next).unwrap().len(), 1);
}

/// The Delivery Service forks the group: Alice's Commit goes to Carol,
/// while Bob, whose rival Commit of the same epoch it also accepted, goes
/// on in his own epoch. The epoch authenticators differ, which members
/// comparing them out of band (safety numbers) detect, and neither side
/// opens the other's messages.
#[test]
fn a_forked_group_shows_in_the_epoch_authenticator() {
    let (_, [mut alice, mut bob, mut carol]) = chat(Default::default());
    let a = alice.update().unwrap();
    bob.update().unwrap();
    alice.merge_commit().unwrap();
    bob.merge_commit().unwrap();
    carol.open(&a.commit).unwrap();
    assert_eq!(
        carol.epoch_authenticator().unwrap(),
        alice.epoch_authenticator().unwrap()
    );
    assert_ne!(bob.epoch_authenticator().unwrap(), alice.epoch_authenticator().unwrap());
    assert!(bob.open(&alice.seal(b"fork", b"").unwrap()).is_err());
    assert!(alice.open(&bob.seal(b"fork", b"").unwrap()).is_err());
}

/// Messages reordered across a Commit: the next epoch's wait for it, the
/// last epoch's still open (within the kept past epochs).
#[test]
fn reordered_messages_open_in_their_epochs() {
    let (_, [mut alice, _, mut carol]) = chat(Default::default());
    let before = carol.seal(b"before", b"").unwrap();
    let update = carol.update().unwrap();
    carol.merge_commit().unwrap();
    let after = carol.seal(b"after", b"").unwrap();
    assert_eq!(alice.open(&after).unwrap(), [Event::Deferred { epoch: 2 }]);
    assert_eq!(alice.open(&update.commit).unwrap().len(), 2);
    assert!(matches!(
        &alice.open(&before).unwrap()[..],
        [Event::Message { epoch: 1, .. }]
    ));
}

/// Messages injected by someone outside the group: a PrivateMessage of
/// the right group and epoch with junk inside, and a PublicMessage
/// claiming to be from a member without the membership key. Both are
/// refused and change nothing.
#[test]
fn injected_messages_are_refused() {
    for s in SUITES {
        let env = Environment::basic(suite(s));
        let mut trio = Trio::new(&env);
        let sealed = trio.groups[1].seal(&env, b"x", b"", 0, &mut os_rng()).unwrap();
        let mut junk = wire(&sealed);
        let MlsMessageBody::PrivateMessage(p) = &mut junk.body else {
            panic!("not a PrivateMessage")
        };
        p.encrypted_sender_data = random(p.encrypted_sender_data.len()).into();
        let error = trio.groups[0].process(&env, &junk).unwrap_err();
        assert_eq!(error.code(), "decryption_failed");

        let update = trio.groups[2].update_proposal(&env, &mut os_rng()).unwrap();
        let (proposal, _) = (trio.groups[2])
            .propose(&env, update, WireFormat::PUBLIC_MESSAGE, &mut os_rng())
            .unwrap();
        let mut forged = public(&proposal);
        forged.membership_tag = Some(random(env.cs.hash_len()).into());
        let forged = MlsMessage {
            version: proposal.version,
            body: MlsMessageBody::PublicMessage(forged),
        };
        let error = trio.groups[0].process(&env, &forged).unwrap_err();
        assert_eq!(error.code(), "invalid_membership_tag");
        trio.advance(&env, 0);
    }
}

/// Bob relabels his own proposal as Alice's: the membership tag and the
/// signature are over the sender, so Carol refuses it.
#[test]
fn a_member_cannot_send_in_another_members_name() {
    let env = Environment::basic(suite(SUITES[0]));
    let mut trio = Trio::new(&env);
    let update = trio.groups[1].update_proposal(&env, &mut os_rng()).unwrap();
    let (proposal, _) = (trio.groups[1])
        .propose(&env, update, WireFormat::PUBLIC_MESSAGE, &mut os_rng())
        .unwrap();
    let mut forged = public(&proposal);
    forged.content.sender = Sender::Member(0);
    let forged = MlsMessage {
        version: proposal.version,
        body: MlsMessageBody::PublicMessage(forged),
    };
    refuses(
        &env,
        &mut trio.groups[2],
        &forged,
        Error::from(FramingError::InvalidMembershipTag),
    );
    assert!(trio.groups[2].pending_proposals().is_empty());
}

/// The Delivery Service changes the protocol version of the MLSMessage
/// around a KeyPackage or a Welcome, a field neither the signature nor the
/// encryption covers. Both are refused, as a group message of a version
/// the member does not speak is, and the genuine ones still work.
#[test]
fn a_key_package_or_welcome_relabelled_with_another_version_is_refused() {
    let relabel = |bytes: &[u8]| [&0x0101u16.to_be_bytes(), &bytes[2..]].concat();
    let mut bob = Client::new(1, b"bob").unwrap();
    let mut group = Client::new(1, b"alice").unwrap().create_group().unwrap();
    let key_package = bob.key_package().unwrap();
    let error = group.add(&[relabel(&key_package)]).unwrap_err();
    assert_eq!(error, Error::from(FramingError::UnsupportedVersion));
    assert!(!group.has_pending_commit());
    let welcome = group.add(&[key_package]).unwrap().welcome.unwrap();
    group.merge_commit().unwrap();
    let error = bob.join(&relabel(&welcome)).unwrap_err();
    assert_eq!(error, Error::from(FramingError::UnsupportedVersion));
    let mut joined = bob.join(&welcome).unwrap();
    assert_eq!(
        joined.epoch_authenticator().unwrap(),
        group.epoch_authenticator().unwrap()
    );
    let hello = group.seal(b"hello", b"").unwrap();
    assert_eq!(joined.open(&hello).unwrap().len(), 1);
}

/// A group message of a later epoch, relabelled with another protocol
/// version, is refused at once rather than held for its epoch.
#[test]
fn a_relabelled_message_of_a_later_epoch_is_not_held() {
    let relabel = |bytes: &[u8]| [&0x0101u16.to_be_bytes(), &bytes[2..]].concat();
    let mut bob = Client::new(1, b"bob").unwrap();
    let mut alice = Client::new(1, b"alice").unwrap().create_group().unwrap();
    let welcome = alice.add(&[bob.key_package().unwrap()]).unwrap().welcome.unwrap();
    alice.merge_commit().unwrap();
    let mut joined = bob.join(&welcome).unwrap();
    alice.update().unwrap();
    alice.merge_commit().unwrap();
    let later = alice.seal(b"later", b"").unwrap();
    let error = joined.open(&relabel(&later)).unwrap_err();
    assert_eq!(error, Error::from(FramingError::UnsupportedVersion));
    assert_eq!(joined.deferred(), 0);
}
