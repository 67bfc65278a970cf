//! Two cli-chat processes against a real service (the memory store on a
//! free loopback port): create, add, chat both ways; then one stops, the
//! other writes meanwhile, and the restarted one is still in the group and
//! shows what it missed exactly once.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use reference_server::store::memory::MemoryStore;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

struct Chat {
    child: Child,
    out: Lines<BufReader<ChildStdout>>,
}

impl Chat {
    fn start(name: &str, url: &str, state: &std::path::Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_cli-chat"))
            .args(["--name", name, "--server", url, "--state-dir"])
            .arg(state)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap()).lines();
        Self { child, out }
    }

    async fn say(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(format!("{line}\n").as_bytes()).await.unwrap();
        stdin.flush().await.unwrap();
    }

    /// Reads lines until one contains `text`; returns the lines before it.
    async fn expect(&mut self, text: &str) -> Vec<String> {
        let wait = async {
            let mut before = Vec::new();
            while let Some(line) = self.out.next_line().await.unwrap() {
                if line.contains(text) {
                    return before;
                }
                assert!(!line.starts_with('!'), "unexpected: {line}");
                before.push(line);
            }
            panic!("output ended before {text:?}");
        };
        tokio::time::timeout(Duration::from_secs(20), wait)
            .await
            .unwrap_or_else(|_| panic!("no {text:?} in time"))
    }

    async fn quit(mut self) {
        self.say("/quit").await;
        assert!(self.child.wait().await.unwrap().success());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_people_chat_and_one_comes_back_to_what_he_missed() {
    let mut config = reference_server::Config::with_listen("127.0.0.1:0".parse().unwrap());
    config.static_dir = Some("/nonexistent".into());
    let server = reference_server::start(config, Arc::new(MemoryStore::new()))
        .await
        .unwrap();
    let url = format!("http://{}", server.addr);
    let dir = std::env::temp_dir().join(format!("cli-chat-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (alice, bob, room) = ("alice", "bob", "lobby");

    let mut b = Chat::start(bob, &url, &dir.join("bob"));
    b.expect("ready").await;
    let mut a = Chat::start(alice, &url, &dir.join("alice"));
    a.expect("ready").await;
    a.say(&format!("/create {room}")).await;
    a.expect("created").await;
    a.say(&format!("/add {bob}")).await;
    a.expect("done").await;
    b.expect("you were added to lobby").await;
    a.say("hello bob").await;
    b.expect("[lobby] alice: hello bob").await;
    b.say("hi alice").await;
    a.expect("[lobby] bob: hi alice").await;

    // Bob quits; alice writes while he is away.
    b.quit().await;
    a.say("while you were away").await;
    a.say("and once more").await;
    // Bob comes back: still in the group, he sees what he missed, once,
    // in order, and nothing he had seen before.
    let mut b = Chat::start(bob, &url, &dir.join("bob"));
    b.expect("ready").await;
    a.say("now live").await;
    let mut shown = b.expect("[lobby] alice: now live").await;
    shown.retain(|l| l.starts_with('[') || l.starts_with('*'));
    assert_eq!(
        shown,
        ["[lobby] alice: while you were away", "[lobby] alice: and once more"],
        "what bob was shown after the restart"
    );
    // His restored group still sends.
    b.say("back again").await;
    a.expect("[lobby] bob: back again").await;
    a.quit().await;
    b.quit().await;
    server.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}
