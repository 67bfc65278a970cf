//! Sender ratchets move only for authentic messages.

use e2ee_core::client::Event;
use e2ee_core::codec::encode;
use e2ee_core::crypto::os_rng;
use e2ee_core::error::Error;
use e2ee_core::framing::FramingError;
use e2ee_core::group::{Environment, Group, GroupConfig, JoinKeys, ProcessedMessage};
use e2ee_core::messages::{MlsMessageBody, WireFormat};

use crate::common::{Client, SUITES, adding, commit, suite, wire};
use crate::support::{chat, message};

/// `bytes` (a PrivateMessage) with the last byte of its ciphertext
/// flipped: the sender data still opens, the content's AEAD fails.
fn tampered(bytes: &[u8]) -> Vec<u8> {
    let mut m = message(bytes);
    let MlsMessageBody::PrivateMessage(p) = &mut m.body else {
        panic!("not a PrivateMessage")
    };
    let mut ciphertext = p.ciphertext.to_vec();
    *ciphertext.last_mut().unwrap() ^= 1;
    p.ciphertext = ciphertext.into();
    encode(&m).unwrap()
}

/// Carol sends 40 messages. Before any reaches Alice, a forgery of the
/// 40th arrives: its AEAD fails. Had Alice's copy of Carol's ratchet moved
/// to generation 39, only the last 32 skipped keys would be kept, and the
/// first messages would be lost; every one of the 40 must open.
#[test]
fn a_forged_message_does_not_move_the_senders_ratchet() {
    let (_, [mut alice, _, mut carol]) = chat(Default::default());
    let sent: Vec<Vec<u8>> = (0..40)
        .map(|i| carol.seal(format!("{i}").as_bytes(), b"").unwrap())
        .collect();
    assert_eq!(
        alice.open(&tampered(&sent[39])).unwrap_err().code(),
        "decryption_failed"
    );
    for (i, m) in sent.iter().enumerate() {
        let events = alice.open(m).unwrap();
        assert!(matches!(&events[..], [Event::Message { data, .. }] if *data == format!("{i}").as_bytes()));
    }
}

/// A message whose generation is beyond the out-of-order window is
/// refused without the work of deriving that far, and costs nothing: the
/// messages before it still open.
#[test]
fn a_message_too_far_ahead_is_refused_and_costs_nothing() {
    let (_, [mut alice, _, mut carol]) = chat(Default::default());
    let window = alice.options().group_config.secret_tree.max_forward_distance as usize;
    let sent: Vec<Vec<u8>> = (0..window + 2).map(|_| carol.seal(b"x", b"").unwrap()).collect();
    let error = alice.open(sent.last().unwrap()).unwrap_err();
    assert_eq!(error.code(), "secret_tree_too_far_ahead");
    for m in &sent[..3] {
        alice.open(m).unwrap();
    }
}

/// An insider knows the epoch's secrets, so it can make messages whose
/// AEAD opens in any member's name; only the signature shows them forged.
/// Here Bob's state is copied into a client that signs with another key
/// (the copy's messages decrypt as Bob's). A forgery of Bob's 40th
/// message reaches Alice first: refused, and Bob's 40 genuine messages
/// all open afterwards (had the AEAD's success moved the ratchet, the
/// first ones would be lost and the 40th's key used up).
#[test]
fn a_forged_signature_does_not_move_the_senders_ratchet() {
    let env = Environment::basic(suite(SUITES[0]));
    let cs = env.cs;
    let [alice_id, bob_id, mallory] = ["alice", "bob", "mallory"].map(|n| Client::new(cs, n));
    let mut alice = alice_id.create_group(&env);
    let kp = bob_id.key_package(cs);
    let out = commit(&mut alice, &env, adding(&[&kp], WireFormat::PUBLIC_MESSAGE));
    alice.merge_pending_commit().unwrap();
    let welcome = out.welcome.unwrap();
    let mut bob = bob_id.join(&env, &welcome, &kp).unwrap();
    let MlsMessageBody::Welcome(w) = &wire(&welcome).body else {
        panic!("not a Welcome")
    };
    let keys = JoinKeys {
        key_package: &kp.key_package,
        init_private_key: kp.init_private_key.as_bytes(),
        encryption_private_key: kp.encryption_private_key.clone(),
        signature_private_key: mallory.signer.private.clone(),
    };
    let mut twin = Group::join(&env, w, keys, None, GroupConfig::default()).unwrap();
    let forged: Vec<_> = (0..40)
        .map(|_| twin.seal(&env, b"forged", b"", 0, &mut os_rng()).unwrap())
        .collect();
    let error = alice.process(&env, &wire(&forged[39])).unwrap_err();
    assert_eq!(error, Error::from(FramingError::InvalidSignature));
    for i in 0..40 {
        let genuine = bob
            .seal(&env, format!("{i}").as_bytes(), b"", 0, &mut os_rng())
            .unwrap();
        let opened = alice.process(&env, &wire(&genuine));
        assert!(
            matches!(opened, Ok(ProcessedMessage::Application { .. })),
            "message {i}: {opened:?}"
        );
    }
}
