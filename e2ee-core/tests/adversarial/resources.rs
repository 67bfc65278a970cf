//! What anyone able to inject messages, or a malicious peer, can make a
//! member hold or compute is bounded.

use e2ee_core::client::{Event, GroupOptions};
use e2ee_core::codec::encode;
use e2ee_core::crypto::os_rng;
use e2ee_core::error::{Error, Refusal, UsageError};
use e2ee_core::framing::MAX_PADDING;
use e2ee_core::group::{Environment, ExternalJoinParams, ExternalJoins, Group, GroupConfig};
use e2ee_core::messages::{MlsMessage, MlsMessageBody, Node};
use e2ee_core::ratchet_tree::RatchetTree;
use e2ee_core::welcome::SignedGroupInfo;

use crate::common::{Client, SUITES, suite, wire};
use crate::counting;
use crate::support::{Trio, chat, message, random};

/// `bytes` (a PrivateMessage) claiming epoch `epoch`, its ciphertext junk.
fn junk_of_epoch(bytes: &[u8], epoch: u64) -> Vec<u8> {
    let mut m = message(bytes);
    let MlsMessageBody::PrivateMessage(p) = &mut m.body else {
        panic!("not a PrivateMessage")
    };
    p.epoch = epoch;
    p.ciphertext = random(p.ciphertext.len()).into();
    encode(&m).unwrap()
}

/// Messages claiming an epoch far ahead (up to the last epoch number) are
/// refused at once and take no room; a genuine early message is still
/// held and opened once its epoch begins.
#[test]
fn messages_of_far_epochs_are_refused_without_taking_room() {
    let (_, [mut alice, _, mut carol]) = chat(GroupOptions::default());
    let sample = carol.seal(b"x", b"").unwrap();
    for epoch in [alice.epoch() + 5, 1 << 40, u64::MAX] {
        let error = alice.open(&junk_of_epoch(&sample, epoch)).unwrap_err();
        assert_eq!(error.code(), "future_epoch");
    }
    assert_eq!(alice.deferred(), 0);
    let update = carol.update().unwrap();
    carol.merge_commit().unwrap();
    let early = carol.seal(b"early", b"").unwrap();
    assert_eq!(alice.open(&early).unwrap(), [Event::Deferred { epoch: 2 }]);
    let events = alice.open(&update.commit).unwrap();
    assert!(matches!(&events[..], [Event::EpochChanged { .. }, Event::Message { data, .. }] if data == b"early"));
}

/// Junk claiming the next epoch fills the (bounded) room for held
/// messages; once that epoch begins it is opened, rejected and dropped,
/// and genuine messages of the epoch open as usual.
#[test]
fn junk_of_the_next_epoch_is_dropped_when_that_epoch_begins() {
    let options = GroupOptions {
        max_buffered: 16,
        ..GroupOptions::default()
    };
    let (_, [mut alice, _, mut carol]) = chat(options);
    let sample = carol.seal(b"x", b"").unwrap();
    for _ in 0..16 {
        alice.open(&junk_of_epoch(&sample, 2)).unwrap();
    }
    let full = alice.open(&junk_of_epoch(&sample, 2)).unwrap_err();
    assert_eq!(full.code(), "buffer_full");
    // Messages of the current epoch are not held and not hindered.
    assert_eq!(alice.open(&carol.seal(b"now", b"").unwrap()).unwrap().len(), 1);
    let update = carol.update().unwrap();
    carol.merge_commit().unwrap();
    let events = alice.open(&update.commit).unwrap();
    let rejected = events.iter().filter(|e| matches!(e, Event::Rejected { .. })).count();
    assert_eq!((rejected, alice.deferred()), (16, 0));
    let after = carol.seal(b"after", b"").unwrap();
    assert!(matches!(&alice.open(&after).unwrap()[..], [Event::Message { .. }]));
}

/// A `ratchet_tree` of a million blank nodes and one leaf is a megabyte on
/// the wire. Decoding it allocates a small multiple of that (a whole node's
/// memory per blank would be 288 bytes per input byte).
#[test]
fn a_tree_of_blanks_costs_a_small_multiple_of_its_bytes() {
    let cs = suite(SUITES[0]);
    let leaf = Client::new(cs, "x").key_package(cs).key_package.leaf_node;
    let mut nodes: Vec<Option<Node>> = vec![None; 1 << 20];
    nodes.push(Some(Node::Leaf(leaf)));
    let bytes = encode(&nodes).unwrap();
    drop(nodes);
    let (tree, peak) = counting::peak_during(|| RatchetTree::decode(&bytes));
    assert!(tree.is_ok());
    let ratio = peak as f64 / bytes.len() as f64;
    assert!(
        ratio < 40.0,
        "decoding took {peak} bytes for {} input bytes",
        bytes.len()
    );
}

/// A GroupInfo (signed by its group's only member, so valid) of a group at
/// the last epoch number: joining it would take the epoch past `u64::MAX`.
/// The joiner gets an error, not a wrapped epoch or a panic.
#[test]
fn the_last_epoch_number_gives_an_error_not_a_wrap() {
    let cs = suite(SUITES[0]);
    let env = Environment {
        external_joins: ExternalJoins::Allow,
        ..Environment::basic(cs)
    };
    let mallory = Client::new(cs, "mallory");
    let group = mallory.create_group(&env);
    let info = group.group_info(&env, true).unwrap();
    let MlsMessageBody::GroupInfo(mut group_info) = info.body else {
        panic!("not a GroupInfo")
    };
    group_info.group_context.epoch = u64::MAX;
    SignedGroupInfo::sign(cs, &mut group_info, mallory.signer.private.as_bytes()).unwrap();
    let info = MlsMessage {
        version: info.version,
        body: MlsMessageBody::GroupInfo(group_info),
    };
    let erin = Client::new(cs, "erin");
    let params = ExternalJoinParams {
        group_info: &wire(&info),
        ratchet_tree: None,
        own: erin.own_leaf(cs),
        signature_private_key: erin.signer.private.clone(),
        resync: false,
        psks: Vec::new(),
    };
    let error = Group::join_external(&env, params, GroupConfig::default(), &mut os_rng()).unwrap_err();
    assert_eq!(error, Error::from(Refusal::EpochExhausted));
}

/// Limits that come from the caller (padding, windows, counts) are checked
/// with a clear error instead of overflowing or allocating without bound.
#[test]
fn caller_supplied_limits_are_checked() {
    let env = Environment::basic(suite(SUITES[0]));
    let mut trio = Trio::new(&env);
    let padded = trio.groups[0].seal(&env, b"x", b"", MAX_PADDING + 1, &mut os_rng());
    assert_eq!(padded.unwrap_err(), Error::from(UsageError::PaddingTooLarge));
    assert!(trio.groups[0].seal(&env, b"x", b"", usize::MAX, &mut os_rng()).is_err());

    let mut config = GroupConfig::default();
    config.secret_tree.max_forward_distance = u32::MAX;
    let own = trio.ids[0].own_leaf(env.cs);
    let key = trio.ids[0].signer.private.clone();
    let created = Group::create(&env, b"g".to_vec(), own, key, Vec::new(), config, &mut os_rng());
    assert_eq!(
        created.unwrap_err(),
        Error::from(UsageError::InvalidConfig {
            field: "max_forward_distance"
        })
    );

    let mut alice = e2ee_core::Client::new(1, b"alice").unwrap();
    for (options, code) in [
        (
            GroupOptions {
                padding: usize::MAX,
                ..Default::default()
            },
            "invalid_option",
        ),
        (
            GroupOptions {
                max_buffered: usize::MAX,
                ..Default::default()
            },
            "invalid_option",
        ),
        (
            GroupOptions {
                max_buffered_bytes: usize::MAX,
                ..Default::default()
            },
            "invalid_option",
        ),
        (
            GroupOptions {
                max_epochs_ahead: u64::MAX,
                ..Default::default()
            },
            "invalid_option",
        ),
    ] {
        assert_eq!(alice.set_group_options(options).unwrap_err().code(), code);
    }
    let mut options = GroupOptions::default();
    options.group_config.past_epochs = usize::MAX;
    assert_eq!(alice.set_group_options(options).unwrap_err().code(), "invalid_config");
}

/// Whoever claims all of Bob's single-use KeyPackages cannot keep him out
/// of groups: his last-resort KeyPackage serves every Welcome, also after
/// his state is stored and restored, until he replaces it.
#[test]
fn a_last_resort_key_package_serves_many_welcomes() {
    let mut bob = e2ee_core::Client::new(1, b"bob").unwrap();
    let last_resort = bob.last_resort_key_package().unwrap();
    assert_eq!(bob.unused_key_packages(), 0);
    for name in ["alice", "carol", "dave"] {
        let adder = e2ee_core::Client::new(1, name.as_bytes()).unwrap();
        let mut group = adder.create_group().unwrap();
        let added = group.add(std::slice::from_ref(&last_resort)).unwrap();
        group.merge_commit().unwrap();
        let joined = bob.join(added.welcome.as_ref().unwrap()).unwrap();
        assert_eq!(joined.epoch_authenticator(), group.epoch_authenticator());
        bob = e2ee_core::Client::restore_state(&bob.export_state().unwrap()).unwrap();
    }
    bob.last_resort_key_package().unwrap();
    let adder = e2ee_core::Client::new(1, b"erin").unwrap();
    let mut group = adder.create_group().unwrap();
    let added = group.add(&[last_resort]).unwrap();
    let replaced = bob.join(added.welcome.as_ref().unwrap()).unwrap_err();
    assert_eq!(replaced.code(), "no_matching_key_package");
}
