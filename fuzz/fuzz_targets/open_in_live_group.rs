//! A live three-member group opens fuzzed messages: arbitrary bytes, or
//! genuine messages of the group (application data, a proposal, a Commit)
//! with fuzzer-chosen bytes flipped. `open` must never panic, and a
//! rejected message must leave the group able to open the next genuine one.
#![no_main]

use std::sync::Mutex;

use e2ee_core::client::{Client, Group};
use libfuzzer_sys::fuzz_target;

/// Alice's group with Bob and Carol, and genuine messages from Bob.
struct Live {
    alice: Group,
    bob: Group,
    genuine: Vec<Vec<u8>>,
}

fn live() -> Live {
    let mut clients = ["alice", "bob", "carol"].map(|n| Client::new(1, n.as_bytes()).unwrap());
    let kps = [clients[1].key_package().unwrap(), clients[2].key_package().unwrap()];
    let mut alice = clients[0].create_group().unwrap();
    let welcome = alice.add(&kps).unwrap().welcome.unwrap();
    alice.merge_commit().unwrap();
    let mut bob = clients[1].join(&welcome).unwrap();
    let genuine = vec![
        bob.seal(b"application data", b"ad").unwrap(),
        bob.leave().unwrap(),
        bob.update().unwrap().commit,
    ];
    bob.discard_commit();
    Live { alice, bob, genuine }
}

static LIVE: Mutex<Option<Live>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let mut guard = LIVE.lock().unwrap();
    let live = guard.get_or_insert_with(live);
    let Some((&selector, rest)) = data.split_first() else { return };
    let original = live.genuine.get(selector as usize % 4);
    let message = match original {
        // Flip the bytes `rest` names (pairs of position, mask).
        Some(original) => {
            let mut bytes = original.clone();
            for pair in rest.chunks_exact(2) {
                let at = pair[0] as usize * 7 % bytes.len();
                bytes[at] ^= pair[1];
            }
            bytes
        }
        None => rest.to_vec(),
    };
    let epoch = live.alice.epoch();
    if live.alice.open(&message).is_ok() && live.alice.epoch() != epoch {
        // Only the genuine Commit, unchanged, may move the epoch.
        assert_eq!(Some(&message), original, "a forged Commit was accepted");
        *guard = None;
        return;
    }
    // The group still works: a genuine message from Bob opens.
    let fresh = live.bob.seal(b"still works", b"").unwrap();
    assert!(live.alice.open(&fresh).is_ok(), "a rejected message broke the group");
});
