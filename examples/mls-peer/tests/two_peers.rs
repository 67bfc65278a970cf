//! Two `mls-peer` processes run a group, passing only hex wire messages
//! between them: creation, adds (with and without UpdatePath), application
//! messages in all directions, a self-update, a removal and an external
//! join, in suites 1–7 and with public, private and mixed handshakes. At
//! every epoch all members must agree on the epoch authenticator, an
//! exported secret and the member list. Malformed lines get error replies.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

/// One running `mls-peer`.
struct Process {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Process {
    fn spawn() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mls-peer"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start mls-peer");
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        Self { child, input, output }
    }

    /// Sends raw bytes (one or more lines) and reads the one reply line.
    fn send(&mut self, bytes: &[u8]) -> Value {
        self.input.write_all(bytes).unwrap();
        self.input.flush().unwrap();
        let mut line = String::new();
        self.output.read_line(&mut line).unwrap();
        assert!(line.ends_with('\n'), "no reply to {:?}", String::from_utf8_lossy(bytes));
        serde_json::from_str(&line).unwrap()
    }

    fn call(&mut self, request: &Value) -> Value {
        self.send(format!("{request}\n").as_bytes())
    }

    fn ok(&mut self, request: Value) -> Value {
        let reply = self.call(&request);
        assert_eq!(reply["ok"], true, "{request} -> {reply}");
        reply
    }

    /// The error of a line that must fail.
    fn error(&mut self, line: &[u8]) -> String {
        let reply = self.send(line);
        assert_eq!(reply["ok"], false, "{reply}");
        assert_eq!(reply.as_object().unwrap().len(), 2, "{reply}");
        reply["error"].as_str().unwrap().to_owned()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // The peer exits at the end of its input; kill only if it hangs.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hex(text: &str) -> String {
    hex::encode(text)
}

fn text(reply: &Value, field: &str) -> String {
    reply[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {reply}"))
        .to_owned()
}

/// The wire format of an encoded `MLSMessage` (after its version).
fn wire_format(message: &str) -> &str {
    assert_eq!(&message[..4], "0001", "not MLS 1.0");
    match &message[4..8] {
        "0001" => "public",
        "0002" => "private",
        other => panic!("not a group message: {other}"),
    }
}

/// A client in one of the two processes.
#[derive(Clone, Copy)]
struct Who {
    peer: usize,
    name: &'static str,
    identity: &'static str,
    handshake: &'static str,
}

impl Who {
    fn identity(&self) -> String {
        hex(self.identity)
    }
}

/// A group run across two processes.
struct Run {
    peers: [Process; 2],
    group_id: String,
    /// The current members, in leaf order.
    members: Vec<Who>,
}

impl Run {
    fn ok(&mut self, who: Who, cmd: &str, mut fields: Value) -> Value {
        fields["cmd"] = cmd.into();
        fields["name"] = who.name.into();
        self.peers[who.peer].ok(fields)
    }

    /// A request about the group.
    fn in_group(&mut self, who: Who, cmd: &str, mut fields: Value) -> Value {
        fields["group_id"] = self.group_id.clone().into();
        self.ok(who, cmd, fields)
    }

    fn key_package(&mut self, who: Who) -> String {
        text(&self.ok(who, "key_package", json!({})), "key_package")
    }

    /// Joins `who` from `welcome`; it becomes a member at leaf `leaf`.
    fn join(&mut self, who: Who, welcome: &str, leaf: usize) {
        let reply = self.ok(who, "join", json!({ "welcome": welcome }));
        assert_eq!(text(&reply, "group_id"), self.group_id);
        self.members.insert(leaf, who);
    }

    /// Checks a Commit's wire format and has every member but `sender`
    /// process it; each must see the same commit reply.
    fn deliver_commit(&mut self, sender: Who, commit: &str, added: &[Who], removed: &[Who], epoch: u64) {
        // An external Commit is always a PublicMessage (RFC 9420 §12.4.3.2).
        let external = added.iter().any(|a| a.name == sender.name);
        assert_eq!(wire_format(commit), if external { "public" } else { sender.handshake });
        let ids = |list: &[Who]| list.iter().map(Who::identity).collect::<Vec<_>>();
        let expected = json!({
            "ok": true,
            "kind": "commit",
            "epoch": epoch,
            "added": ids(added),
            "removed": ids(removed),
            "self_removed": false,
            "sender_identity": sender.identity(),
        });
        for who in self.members.clone() {
            if who.name == sender.name {
                continue;
            }
            let reply = self.in_group(who, "process", json!({ "message": commit }));
            let mut expected = expected.clone();
            expected["self_removed"] = removed.iter().any(|r| r.name == who.name).into();
            assert_eq!(reply, expected, "{} processing", who.name);
        }
        self.members.retain(|m| !removed.iter().any(|r| r.name == m.name));
    }

    /// Every member seals a message; every other member opens it.
    fn chat(&mut self) {
        for from in self.members.clone() {
            let data = hex(&format!("hello from {}", from.name));
            let aad = hex(&format!("aad of {}", from.name));
            let sealed = self.in_group(from, "seal", json!({ "data": data, "aad": aad }));
            let message = text(&sealed, "message");
            assert_eq!(wire_format(&message), "private");
            for to in self.members.clone() {
                if to.name == from.name {
                    continue;
                }
                let reply = self.in_group(to, "process", json!({ "message": message }));
                let expected = json!({
                    "ok": true,
                    "kind": "application",
                    "data": data,
                    "sender_identity": from.identity(),
                    "aad": aad,
                });
                assert_eq!(reply, expected, "{} -> {}", from.name, to.name);
            }
        }
    }

    /// All members are in `epoch` with the same authenticator, exported
    /// secret and member list (the expected one).
    fn agree(&mut self, epoch: u64) {
        let leaves: Vec<_> = self.members.iter().map(Who::identity).collect();
        let mut views = Vec::new();
        for who in self.members.clone() {
            let auth = self.in_group(who, "epoch_authenticator", json!({}));
            assert_eq!(auth["epoch"], epoch, "{}", who.name);
            let export = json!({ "label": "peer test", "context": "c0ffee", "length": 32 });
            let secret = self.in_group(who, "export_secret", export);
            assert_eq!(text(&secret, "secret").len(), 64);
            let members = self.in_group(who, "members", json!({}));
            let listed: Vec<_> = members["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| text(m, "identity"))
                .collect();
            assert_eq!(listed, leaves, "{}", who.name);
            views.push((auth["authenticator"].clone(), secret["secret"].clone(), members));
        }
        assert!(views.windows(2).all(|w| w[0] == w[1]), "{views:?}");
    }
}

/// The whole scenario in `suite`, with the handshake formats of the
/// clients in process 0 and process 1.
fn scenario(suite: u16, handshakes: [&'static str; 2]) {
    let who = |peer: usize, name, identity| Who {
        peer,
        name,
        identity,
        handshake: handshakes[peer],
    };
    let alice = who(0, "alice", "alice");
    let bob = who(1, "bob", "bob");
    let carol = who(0, "carol", "carol");
    // An identity other than the name.
    let dave = who(1, "dave", "dave@example.org");
    let erin = who(1, "erin", "erin");
    let mut run = Run {
        peers: [Process::spawn(), Process::spawn()],
        group_id: hex(&format!("group in suite {suite}")),
        members: Vec::new(),
    };
    for c in [alice, bob, carol, dave, erin] {
        let request = json!({ "suite": suite, "handshake": c.handshake, "identity": c.identity() });
        assert_eq!(run.ok(c, "new_client", request), json!({ "ok": true }));
    }

    let group_id = run.group_id.clone();
    run.ok(alice, "create_group", json!({ "group_id": group_id }));
    run.members.push(alice);
    run.agree(0);

    // Alice adds Bob (the other process) and Carol, without UpdatePath.
    let key_packages = [run.key_package(bob), run.key_package(carol)];
    let added = run.in_group(alice, "add", json!({ "key_packages": key_packages }));
    assert_eq!(wire_format(&text(&added, "commit")), alice.handshake);
    let welcome = text(&added, "welcome");
    run.join(bob, &welcome, 1);
    run.join(carol, &welcome, 2);
    run.agree(1);

    // Bob adds Dave with an UpdatePath.
    let key_packages = [run.key_package(dave)];
    let added = run.in_group(bob, "add", json!({ "key_packages": key_packages, "path": true }));
    run.deliver_commit(bob, &text(&added, "commit"), &[dave], &[], 2);
    run.join(dave, &text(&added, "welcome"), 3);
    run.agree(2);
    run.chat();

    let update = run.in_group(carol, "update", json!({}));
    run.deliver_commit(carol, &text(&update, "commit"), &[], &[], 3);
    run.agree(3);

    // Alice removes Bob: he learns it and can no longer seal.
    let removed = run.in_group(alice, "remove", json!({ "identities": [bob.identity()] }));
    run.deliver_commit(alice, &text(&removed, "commit"), &[], &[bob], 4);
    let sealed = run.peers[1].call(&json!({
        "cmd": "seal", "name": "bob", "group_id": group_id, "data": "00",
    }));
    assert!(text(&sealed, "error").starts_with("not_a_member:"), "{sealed}");
    run.agree(4);

    // Erin joins by external Commit from Dave's GroupInfo, into Bob's old leaf.
    let group_info = text(&run.in_group(dave, "group_info", json!({})), "group_info");
    let joined = run.ok(erin, "external_join", json!({ "group_info": group_info }));
    assert_eq!(text(&joined, "group_id"), group_id);
    run.deliver_commit(erin, &text(&joined, "commit"), &[erin], &[], 5);
    run.members.insert(1, erin);
    run.agree(5);
    run.chat();
}

const HANDSHAKES: [[&str; 2]; 3] = [["public", "public"], ["private", "private"], ["public", "private"]];

#[test]
fn suite_1() {
    HANDSHAKES.into_iter().for_each(|h| scenario(1, h));
}

#[test]
fn suite_2() {
    HANDSHAKES.into_iter().for_each(|h| scenario(2, h));
}

#[test]
fn suite_3() {
    HANDSHAKES.into_iter().for_each(|h| scenario(3, h));
}

#[test]
fn suite_4() {
    HANDSHAKES.into_iter().for_each(|h| scenario(4, h));
}

#[test]
fn suite_5() {
    HANDSHAKES.into_iter().for_each(|h| scenario(5, h));
}

#[test]
fn suite_6() {
    HANDSHAKES.into_iter().for_each(|h| scenario(6, h));
}

#[test]
fn suite_7() {
    HANDSHAKES.into_iter().for_each(|h| scenario(7, h));
}

#[test]
fn malformed_lines_get_error_replies() {
    let mut peer = Process::spawn();
    let code = |error: String| error.split(':').next().unwrap().to_owned();
    assert_eq!(code(peer.error(b"{not json\n")), "bad_json");
    assert_eq!(code(peer.error(b"{\"cmd\":\"key_package\"\n")), "bad_json");
    assert_eq!(code(peer.error(b"[1,2]\n")), "bad_request");
    assert_eq!(code(peer.error(b"\xff\xfe\n")), "bad_request");
    assert_eq!(code(peer.error(b"{\"name\":\"a\"}\n")), "bad_request");
    assert_eq!(code(peer.error(b"{\"cmd\":\"dance\",\"name\":\"a\"}\n")), "bad_request");
    // Blank lines get no reply: the next reply answers the request after them.
    let created = peer.send(b"\n   \r\n\t\n{\"cmd\":\"new_client\",\"name\":\"a\"}\n");
    assert_eq!(created, json!({ "ok": true }));
    assert_eq!(
        code(peer.error(b"{\"cmd\":\"new_client\",\"name\":\"a\"}\n")),
        "client_exists"
    );
    assert_eq!(
        code(peer.error(b"{\"cmd\":\"new_client\",\"name\":\"b\",\"suite\":9}\n")),
        "unsupported_cipher_suite"
    );
    assert_eq!(
        code(peer.error(b"{\"cmd\":\"new_client\",\"name\":\"b\",\"handshake\":\"loud\"}\n")),
        "bad_request"
    );
    assert!(
        peer.error(b"{\"cmd\":\"create_group\",\"name\":\"a\"}\n")
            .contains("missing field `group_id`")
    );
    assert!(
        peer.error(b"{\"cmd\":\"create_group\",\"name\":\"a\",\"group_id\":\"xyz\"}\n")
            .contains("bad hex")
    );
    assert!(
        peer.error(b"{\"cmd\":\"create_group\",\"name\":\"a\",\"group_id\":7}\n")
            .starts_with("bad_request")
    );
    assert_eq!(
        code(peer.error(b"{\"cmd\":\"key_package\",\"name\":\"nobody\"}\n")),
        "unknown_client"
    );
    peer.ok(json!({ "cmd": "create_group", "name": "a", "group_id": "0a" }));
    assert_eq!(
        code(peer.error(b"{\"cmd\":\"create_group\",\"name\":\"a\",\"group_id\":\"0a\"}\n")),
        "group_exists"
    );
    let in_group = |cmd: &str, fields: Value| {
        let mut request = json!({ "cmd": cmd, "name": "a", "group_id": "0a" });
        request
            .as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        format!("{request}\n")
    };
    let seal_elsewhere = in_group("seal", json!({ "group_id": "0b", "data": "" }));
    assert_eq!(code(peer.error(seal_elsewhere.as_bytes())), "unknown_group");
    let garbage = in_group("process", json!({ "message": "ff" }));
    assert_eq!(code(peer.error(garbage.as_bytes())), "codec_truncated");
    let stranger = in_group("remove", json!({ "identities": [hex("zed")] }));
    assert_eq!(code(peer.error(stranger.as_bytes())), "unknown_member");
    let nobody = in_group("add", json!({ "key_packages": [] }));
    assert_eq!(code(peer.error(nobody.as_bytes())), "bad_request");
    let too_long = in_group("export_secret", json!({ "label": "l", "context": "", "length": 70000 }));
    assert_eq!(code(peer.error(too_long.as_bytes())), "bad_request");
    let not_a_welcome = format!("{}\n", json!({ "cmd": "join", "name": "a", "welcome": "00010001" }));
    assert!(peer.error(not_a_welcome.as_bytes()).starts_with("codec_"));
    // Still serving, state intact.
    let members = peer.ok(json!({ "cmd": "members", "name": "a", "group_id": "0a" }));
    assert_eq!(members["members"], json!([{ "index": 0, "identity": hex("a") }]));
}
