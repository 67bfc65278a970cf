//! Any input line — mutations of genuine requests, random bytes — gets
//! exactly one JSON reply from the peer (none for a blank line), never a
//! panic, and the peer keeps serving afterwards.

use mls_peer::Peer;
use serde_json::{Value, json};

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Sends `request` and returns the reply, which must succeed.
fn ok(peer: &mut Peer, request: Value) -> (Vec<u8>, Value) {
    let line = request.to_string().into_bytes();
    let reply: Value = serde_json::from_str(&peer.handle_line(&line).unwrap()).unwrap();
    assert_eq!(reply["ok"], true, "{request} -> {reply}");
    (line, reply)
}

/// A short genuine exchange (two members, a message, a Commit), returning
/// its request lines.
fn genuine_exchange(peer: &mut Peer) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    let mut send = |peer: &mut Peer, request: Value| {
        let (line, reply) = ok(peer, request);
        lines.push(line);
        reply
    };
    send(
        peer,
        json!({ "cmd": "new_client", "name": "a", "handshake": "private" }),
    );
    send(peer, json!({ "cmd": "new_client", "name": "b", "suite": 1 }));
    let kp = send(peer, json!({ "cmd": "key_package", "name": "b" }))["key_package"].clone();
    send(peer, json!({ "cmd": "create_group", "name": "a", "group_id": "0a" }));
    let added = send(
        peer,
        json!({ "cmd": "add", "name": "a", "group_id": "0a", "key_packages": [kp] }),
    );
    send(peer, json!({ "cmd": "join", "name": "b", "welcome": added["welcome"] }));
    let sealed = send(
        peer,
        json!({ "cmd": "seal", "name": "a", "group_id": "0a", "data": "01", "aad": "02" }),
    );
    send(
        peer,
        json!({ "cmd": "process", "name": "b", "group_id": "0a", "message": sealed["message"] }),
    );
    let update = send(peer, json!({ "cmd": "update", "name": "b", "group_id": "0a" }));
    send(
        peer,
        json!({ "cmd": "process", "name": "a", "group_id": "0a", "message": update["commit"] }),
    );
    send(
        peer,
        json!({ "cmd": "export_secret", "name": "a", "group_id": "0a", "label": "x", "context": "", "length": 4 }),
    );
    lines
}

fn reply_to(peer: &mut Peer, line: &[u8]) {
    match peer.handle_line(line) {
        None => assert!(
            line.trim_ascii().is_empty(),
            "no reply to {:?}",
            String::from_utf8_lossy(line)
        ),
        Some(reply) => {
            assert!(!reply.contains('\n'));
            let reply: Value = serde_json::from_str(&reply).unwrap();
            assert!(reply["ok"].is_boolean(), "{reply}");
        }
    }
}

#[test]
fn mutated_and_random_lines_get_one_reply_each() {
    let mut peer = Peer::new();
    let lines = genuine_exchange(&mut peer);
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    for line in &lines {
        for _ in 0..200 {
            let mut mutated = line.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(mutated.len());
                match rng.below(3) {
                    0 => mutated[at] = rng.next() as u8,
                    1 => mutated[at] = b"0123456789abcdef{}[]\":,"[rng.below(23)],
                    _ => mutated.truncate(at),
                }
                if mutated.is_empty() {
                    break;
                }
            }
            reply_to(&mut peer, &mutated);
        }
    }
    for _ in 0..200 {
        let random: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
        reply_to(&mut peer, &random);
    }
    // Still serving. (Mutations that stay valid requests may have moved
    // the members' epochs apart, so only liveness is checked.)
    ok(&mut peer, json!({ "cmd": "new_client", "name": "after" }));
    ok(&mut peer, json!({ "cmd": "members", "name": "a", "group_id": "0a" }));
}
