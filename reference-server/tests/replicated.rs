//! Against the real thing: redis-server, three replicas (the binary) and
//! nginx in front, all started here on free loopback ports. Skipped with a
//! loud message if redis-server or nginx is missing, unless `CI` is set.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use e2ee_core::Event;
use e2ee_testkit::client::LiveEvent;
use e2ee_testkit::testbed::{Redis, TempDir, Testbed, require_binary};
use reference_server::store::redis::{RedisConfig, RedisStore};
use reference_server::wire::Post;

/// Replicas' flags: generous rates, the test sends in bursts.
const REPLICA_ARGS: &[&str] = &["--rate-per-second", "100000", "--rate-burst", "100000"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_store_passes_the_store_suite() {
    let Some(binary) = require_binary("redis-server") else {
        return;
    };
    let dir = TempDir::new("redis-suite").unwrap();
    let redis = Redis::start(&binary, dir.path()).unwrap();
    let config = RedisConfig {
        url: redis.url(),
        cluster: false,
        prefix: unique("suite"),
    };
    let store = RedisStore::connect(config).await.unwrap();
    reference_server::store::conformance::run(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_commit_wins_each_epoch_through_three_replicas() {
    let Some(bed) = Testbed::start(SERVER_BIN.as_ref(), 3, REPLICA_ARGS).unwrap() else {
        return;
    };
    let urls: Vec<String> = (0..3).map(|i| bed.replica_url(i)).collect();
    concurrent_commits(&urls).await;
}

/// What one member saw: (position, plaintext) in the order received.
type Seen = Vec<(u64, Vec<u8>)>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_groups_keep_every_message_when_a_replica_dies() {
    const GROUPS: usize = 2;
    const MEMBERS: usize = 5;
    const PER_MEMBER: usize = 100; // 2 × 5 × 100 = 1,000 messages
    let Some(mut bed) = Testbed::start(SERVER_BIN.as_ref(), 3, REPLICA_ARGS).unwrap() else {
        return;
    };
    let url = bed.url();
    let sent = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for g in 0..GROUPS {
        let names: Vec<String> = (0..MEMBERS).map(|i| unique(&format!("g{g}m{i}"))).collect();
        let (peers, groups, position) = form_group(std::slice::from_ref(&url), &names).await;
        for (m, (peer, mut group)) in peers.into_iter().zip(groups).enumerate() {
            let sent = sent.clone();
            tasks.push(tokio::spawn(async move {
                let id = group.id().to_vec();
                // Half the members take binary pushes: both framings
                // deliver everything once, in the same order.
                let mut live = peer.ds.live_with(m % 2 == 1);
                live.subscribe(&id, position).await;
                // Sealed in advance: the epoch does not change during the run.
                let mut own = HashMap::new();
                let mut outgoing = Vec::new();
                for k in 0..PER_MEMBER {
                    let text = format!("{} #{k}", peer.ds.identity()).into_bytes();
                    let sealed = group.seal(&text, b"").unwrap();
                    own.insert(sealed.clone(), text);
                    outgoing.push(sealed);
                }
                let sender = live.sender();
                let sending = tokio::spawn(async move {
                    for message in outgoing {
                        let post = Post {
                            message,
                            ..Post::default()
                        };
                        sender.send(&id, post).await.expect("every post is accepted in the end");
                        sent.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(3)).await;
                    }
                });
                let mut seen: Seen = Vec::new();
                let mut reconnects = 0;
                while seen.len() < MEMBERS * PER_MEMBER {
                    match live.next().await.expect("live") {
                        LiveEvent::Message { position, message, .. } => {
                            let plain = match own.get(&message) {
                                Some(text) => text.clone(),
                                None => match &group.open(&message).unwrap()[..] {
                                    [Event::Message { data, .. }] => data.clone(),
                                    other => panic!("unexpected events {other:?}"),
                                },
                            };
                            seen.push((position, plain));
                        }
                        LiveEvent::Reconnecting => reconnects += 1,
                        LiveEvent::Unsubscribed { error, .. } | LiveEvent::Refused(error) => {
                            panic!("refused: {error:?}")
                        }
                        _ => {}
                    }
                }
                sending.await.unwrap();
                (g, seen, reconnects)
            }));
        }
    }
    // Kill one replica (SIGKILL) halfway through.
    while sent.load(Ordering::Relaxed) < GROUPS * MEMBERS * PER_MEMBER / 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bed.kill_replica(1);
    let mut by_group: HashMap<usize, Vec<Seen>> = HashMap::new();
    let mut reconnected = 0;
    for t in tasks {
        let (g, seen, reconnects) = tokio::time::timeout(Duration::from_secs(90), t)
            .await
            .expect("every member gets everything in time")
            .unwrap();
        reconnected += usize::from(reconnects > 0);
        by_group.entry(g).or_default().push(seen);
    }
    assert!(
        reconnected > 0,
        "some clients were on the killed replica and reconnected"
    );
    for (g, views) in by_group {
        let first = &views[0];
        assert_eq!(first.len(), MEMBERS * PER_MEMBER);
        let distinct: HashSet<&Vec<u8>> = first.iter().map(|(_, p)| p).collect();
        assert_eq!(
            distinct.len(),
            MEMBERS * PER_MEMBER,
            "group {g}: every message exactly once"
        );
        for w in first.windows(2) {
            assert!(w[0].0 < w[1].0, "group {g}: in log order");
        }
        for other in &views[1..] {
            assert_eq!(
                other, first,
                "group {g}: every member saw the same messages in the same order"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_and_readiness() {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::Message;
    let Some(mut bed) = Testbed::start(SERVER_BIN.as_ref(), 2, REPLICA_ARGS).unwrap() else {
        return;
    };
    let (first, second) = (bed.replica_url(0), bed.replica_url(1));
    assert_eq!(reqwest::get(format!("{first}/readyz")).await.unwrap().status(), 200);
    let peer = e2ee_testkit::client::Peer::register(&first, &unique("sd"), 0)
        .await
        .unwrap();
    let (mut socket, _) = tokio_tungstenite::connect_async(peer.ds.ws_request("").unwrap())
        .await
        .unwrap();

    // SIGTERM: the socket is closed with 1001 "going away", the process
    // exits by itself well within its grace period.
    let pid = bed.replicas[0].process.pid().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let close = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match socket.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    });
    assert_eq!(close.await.expect("closed in time"), Some(1001));
    let exited = eventually(Duration::from_secs(5), async || !bed.replicas[0].process.is_running()).await;
    assert!(exited, "the replica exits after a graceful shutdown");

    // Without Redis a replica is alive but not ready, and says why.
    bed.redis.process.kill();
    let not_ready = eventually(Duration::from_secs(10), async || {
        reqwest::get(format!("{second}/readyz"))
            .await
            .is_ok_and(|r| r.status().as_u16() == 503)
    });
    assert!(not_ready.await);
    assert_eq!(reqwest::get(format!("{second}/healthz")).await.unwrap().status(), 200);
    let mailbox = reqwest::Client::new()
        .get(format!("{second}/v1/mailbox"))
        .bearer_auth(peer.ds.token())
        .send()
        .await
        .unwrap();
    assert_eq!(mailbox.status(), 503);
    let body: reference_server::wire::ErrorBody = mailbox.json().await.unwrap();
    assert_eq!(body.error.code, "store_unavailable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_passes_the_store_suite_and_orders_commits() {
    let Some(binary) = require_binary("redis-server") else {
        return;
    };
    let dir = TempDir::new("redis-cluster").unwrap();
    let Some(cluster) = e2ee_testkit::testbed::RedisCluster::start(&binary, dir.path()).unwrap() else {
        return;
    };
    let config = RedisConfig {
        url: cluster.urls(),
        cluster: true,
        prefix: unique("cluster"),
    };
    let store = Arc::new(RedisStore::connect(config.clone()).await.unwrap());
    reference_server::store::conformance::run(store.clone()).await;
    // The service on the cluster: the Commit race.
    let mut server_config = reference_server::Config::with_listen("127.0.0.1:0".parse().unwrap());
    server_config.static_dir = Some("/nonexistent".into());
    let server = reference_server::start(server_config, store).await.unwrap();
    concurrent_commits(&[format!("http://{}", server.addr)]).await;
    server.shutdown().await;
}
