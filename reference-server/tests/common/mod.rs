//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use e2ee_core::Group;
use e2ee_testkit::client::{Error, Peer};
use reference_server::store::memory::MemoryStore;
use reference_server::{Config, Server};

/// The reference-server binary cargo built for these tests.
pub const SERVER_BIN: &str = env!("CARGO_BIN_EXE_reference-server");

/// A unique suffix, so names never collide within one store.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

/// An in-process replica on the in-memory store, on a free port.
pub async fn memory_server(tweak: impl FnOnce(&mut Config)) -> (Server, String) {
    let mut config = Config::with_listen("127.0.0.1:0".parse().unwrap());
    config.static_dir = Some("/nonexistent".into());
    tweak(&mut config);
    let server = reference_server::start(config, Arc::new(MemoryStore::new()))
        .await
        .unwrap();
    let url = format!("http://{}", server.addr);
    (server, url)
}

/// A group of `names.len()` members: the first creates it and adds the
/// others, who join from their mailbox. Member `i` talks to `urls[i % n]`.
/// Returns the peers, their groups and the adding Commit's position.
pub async fn form_group(urls: &[String], names: &[String]) -> (Vec<Peer>, Vec<Group>, u64) {
    let mut peers = Vec::new();
    for (i, name) in names.iter().enumerate() {
        peers.push(Peer::register(&urls[i % urls.len()], name, 2).await.unwrap());
    }
    let mut creator = peers[0].create_group(false).await.unwrap();
    let others: Vec<&str> = names[1..].iter().map(String::as_str).collect();
    let position = peers[0].add(&mut creator, &others).await.unwrap();
    let mut groups = vec![creator];
    for peer in &mut peers[1..] {
        let items = peer.ds.mailbox(0).await.unwrap();
        assert_eq!(items.len(), 1, "one Welcome for {}", peer.ds.identity());
        assert_eq!(items[0].commit_position, position);
        groups.push(peer.join(&items[0]).unwrap());
    }
    (peers, groups, position)
}

/// The error code of a failed call.
pub fn code<T: std::fmt::Debug>(result: Result<T, Error>) -> String {
    match result {
        Err(e) => e.code().unwrap_or("transport").to_owned(),
        Ok(v) => panic!("expected an error, got {v:?}"),
    }
}

/// Polls `check` every 20 ms until it is true or `timeout` passes.
pub async fn eventually(timeout: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// The Commit race: every member of a five-member group commits an Update
/// in the same epoch at once (member `i` through `urls[i % n]`); exactly
/// one wins the epoch, the others get `epoch_moved_on`, process the winner,
/// retry; in the end all five Commits are in and everyone agrees.
pub async fn concurrent_commits(urls: &[String]) {
    let names: Vec<String> = (0..5).map(|i| unique(&format!("racer{i}"))).collect();
    let (peers, groups, position) = form_group(urls, &names).await;
    let start = groups[0].epoch();
    let barrier = Arc::new(tokio::sync::Barrier::new(peers.len()));
    let mut tasks = Vec::new();
    for (peer, mut group) in peers.into_iter().zip(groups) {
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            let mut pending = Some(group.update().unwrap());
            let (mut cursor, mut first_try, mut committed, mut attempts) = (position, None, false, 0);
            barrier.wait().await;
            for _ in 0..2000 {
                if let Some(bundle) = pending.take() {
                    attempts += 1;
                    let post = reference_server::wire::Post {
                        message: bundle.commit,
                        welcome: bundle.welcome,
                        group_info: Some(bundle.group_info),
                    };
                    // Not merged on acceptance: the Commit's echo in the log merges it.
                    match peer.ds.post(group.id(), &post).await {
                        Ok(_) => committed = true,
                        Err(e) if e.code() == Some("epoch_moved_on") => {}
                        Err(e) => panic!("unexpected refusal: {e}"),
                    }
                    first_try.get_or_insert(committed);
                }
                for m in peer.ds.messages(group.id(), cursor, 100).await.unwrap() {
                    cursor = m.position;
                    for event in group.open(&m.message).unwrap() {
                        if let e2ee_core::Event::CommitLost { intent } = event {
                            pending = group.retry(&intent).unwrap();
                        }
                    }
                }
                if committed && group.epoch() == start + 5 {
                    let status = peer.ds.group_status(group.id()).await.unwrap();
                    return (
                        first_try == Some(true),
                        attempts,
                        group.epoch(),
                        group.epoch_authenticator().unwrap(),
                        status.epoch,
                    );
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("{} did not converge", peer.ds.identity());
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(
            tokio::time::timeout(Duration::from_secs(60), t)
                .await
                .expect("in time")
                .unwrap(),
        );
    }
    let first_try_winners = results.iter().filter(|r| r.0).count();
    assert_eq!(first_try_winners, 1, "exactly one Commit wins the contested epoch");
    let attempts: usize = results.iter().map(|r| r.1).sum();
    assert!(
        attempts >= 5 + 4,
        "every loser retried at least once ({attempts} posts)"
    );
    for r in &results {
        assert_eq!(
            (r.2, r.4),
            (start + 5, start + 5),
            "every member and the service at the final epoch"
        );
        assert_eq!(r.3, results[0].3, "same epoch authenticator everywhere");
    }
}
