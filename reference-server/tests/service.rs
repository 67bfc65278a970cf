//! The service in-process on the in-memory store: the Commit race, bad
//! input of every kind, limits, live push with resume and removal.

mod common;

use std::time::Duration;

use common::*;
use e2ee_core::Event;
use e2ee_core::client::{ExternalJoins, GroupOptions};
use e2ee_testkit::client::{DsClient, LiveEvent, Peer};
use futures_util::{SinkExt, StreamExt};
use reference_server::wire::{self, ErrorBody, Post};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_commit_wins_each_epoch_in_memory() {
    let (server, url) = memory_server(|_| {}).await;
    concurrent_commits(&[url]).await;
    server.shutdown().await;
}

/// A raw request, for bodies the typed client would never send.
async fn raw(method: reqwest::Method, url: &str, token: Option<&str>, body: Vec<u8>) -> (u16, String) {
    let mut request = reqwest::Client::new().request(method, url).body(body);
    request = request.header("content-type", "application/json");
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let code = serde_json::from_str::<ErrorBody>(&body)
        .map(|b| b.error.code)
        .unwrap_or(body);
    (status, code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_its_error_and_the_service_keeps_serving() {
    let (server, url) = memory_server(|c| {
        c.max_message_bytes = 8 * 1024;
        c.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let names: Vec<String> = ["alice", "bob"].iter().map(|n| unique(n)).collect();
    let (peers, mut groups, _) = form_group(std::slice::from_ref(&url), &names).await;
    let (alice, bob) = (&peers[0], &peers[1]);
    let group_id = groups[0].id().to_vec();
    let path = format!("{url}/v1/groups/{}/messages", wire::b64::encode(&group_id));
    let mut carol = Peer::register(&url, &unique("carol"), 1).await.unwrap();

    // Unauthenticated.
    let no_token = alice.ds.with_token("");
    assert_eq!(code(no_token.messages(&group_id, 0, 10).await), "unauthenticated");
    assert_eq!(
        code(alice.ds.with_token("garbage!").create_group(b"g", false).await),
        "unauthenticated"
    );
    let (status, c) = raw(reqwest::Method::GET, &format!("{url}/v1/ws"), None, vec![]).await;
    assert_eq!((status, c.as_str()), (401, "unauthenticated"));
    // A login with a bad signature, or with another key for a taken identity.
    let login: wire::Login = wire::Login {
        identity: "mallory".into(),
        cipher_suite: 1,
        signature_key: vec![1; 32],
        challenge: vec![0; 40],
        signature: vec![0; 64],
    };
    let body = serde_json::to_vec(&login).unwrap();
    let (status, c) = raw(reqwest::Method::POST, &format!("{url}/v1/auth/login"), None, body).await;
    assert_eq!((status, c.as_str()), (401, "unauthenticated"));
    let impostor = e2ee_core::Client::new(1, names[0].as_bytes()).unwrap();
    assert_eq!(code(DsClient::login(&url, &impostor).await), "key_mismatch");

    // Malformed bodies, paths and MLS bytes.
    let token = Some(alice.ds.token());
    let (status, c) = raw(reqwest::Method::POST, &path, token, b"{not json".to_vec()).await;
    assert_eq!((status, c.as_str()), (400, "bad_request"));
    let garbage = Post {
        message: vec![0, 1, 0, 2, 0xff, 0xff],
        ..Post::default()
    };
    assert_eq!(code(alice.ds.post(&group_id, &garbage).await), "malformed_message");
    let (status, c) = raw(
        reqwest::Method::GET,
        &format!("{url}/v1/groups/!!!/messages"),
        token,
        vec![],
    )
    .await;
    assert_eq!((status, c.as_str()), (400, "bad_request"));
    assert_eq!(
        code(alice.ds.publish_key_packages(vec![vec![7; 40]], None).await),
        "malformed_message"
    );
    let bobs_kp = carol.mls.key_package().unwrap();
    assert_eq!(
        code(bob.ds.publish_key_packages(vec![bobs_kp], None).await),
        "forbidden",
        "another identity's KeyPackage"
    );

    // Oversized.
    let big = groups[0].seal(&vec![0; 9 * 1024], b"").unwrap();
    let big_post = Post {
        message: big,
        ..Post::default()
    };
    assert_eq!(code(alice.ds.post(&group_id, &big_post).await), "too_large");
    let (status, c) = raw(reqwest::Method::POST, &path, token, vec![b' '; 200 * 1024]).await;
    assert_eq!((status, c.as_str()), (413, "too_large"));

    // Wrong-epoch Commit: two Commits for one epoch; the second loses.
    let first = groups[0].update().unwrap();
    let second = groups[1].update().unwrap();
    let commit = |b: &e2ee_core::client::CommitBundle| Post {
        message: b.commit.clone(),
        welcome: None,
        group_info: Some(b.group_info.clone()),
    };
    let won = alice.ds.post(&group_id, &commit(&first)).await.unwrap();
    groups[0].merge_commit().unwrap();
    assert_eq!(
        alice.ds.post(&group_id, &commit(&first)).await.unwrap(),
        won,
        "a resent Commit keeps its position"
    );
    match bob.ds.post(&group_id, &commit(&second)).await {
        Err(e2ee_testkit::client::Error::Api { status, detail }) => {
            assert_eq!(
                (status, detail.code.as_str(), detail.current_epoch),
                (409, "epoch_moved_on", Some(2))
            );
        }
        other => panic!("expected epoch_moved_on, got {other:?}"),
    }
    // Bob posting Alice's (public) Commit as his own: not his leaf.
    let third = groups[0].update().unwrap();
    assert_eq!(code(bob.ds.post(&group_id, &commit(&third)).await), "sender_mismatch");
    groups[0].discard_commit();

    // Cross-group access by a non-member.
    assert_eq!(code(carol.ds.messages(&group_id, 0, 10).await), "not_member");
    assert_eq!(code(carol.ds.group_info(&group_id).await), "not_member");
    assert_eq!(code(carol.ds.group_status(&group_id).await), "not_member");
    let bobs = Post {
        message: groups[1].seal(b"hi", b"").unwrap(),
        ..Post::default()
    };
    assert_eq!(
        code(carol.ds.post(&group_id, &bobs).await),
        "not_member",
        "a member's message reposted"
    );
    let carols_group = carol.create_group(false).await.unwrap();
    assert_eq!(code(carol.ds.post(carols_group.id(), &bobs).await), "wrong_group");
    assert_eq!(code(carol.ds.messages(b"no such group", 0, 10).await), "no_such_group");

    // The WebSocket: junk frames, then a refused and an allowed subscription.
    let (mut ws, _) = tokio_tungstenite::connect_async(carol.ds.ws_request("").unwrap())
        .await
        .unwrap();
    ws.send(Message::Text("not json".into())).await.unwrap();
    ws.send(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    let subscribe = wire::ClientFrame::Subscribe {
        group: group_id.clone(),
        after: 0,
    };
    ws.send(Message::Text(serde_json::to_string(&subscribe).unwrap().into()))
        .await
        .unwrap();
    let mut codes = Vec::new();
    while codes.len() < 3 {
        let Some(Ok(Message::Text(t))) = ws.next().await else {
            panic!("socket closed")
        };
        if let wire::ServerFrame::Error { error, .. } = serde_json::from_str(&t).unwrap() {
            codes.push(error.code);
        }
    }
    assert_eq!(codes, ["bad_request", "bad_request", "not_member"]);
    drop(ws);

    // Still serving: Bob catches up live and posts.
    let mut live = bob.ds.live();
    live.subscribe(&group_id, 0).await;
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let event = tokio::time::timeout(Duration::from_secs(5), live.next()).await;
        if let Some(LiveEvent::Message { position, .. }) = event.expect("pushed within 5 s") {
            seen.push(position);
        }
    }
    assert_eq!(seen, [1, 2], "the adding Commit and the one that won");
    let hello = groups[1].seal(b"still here", b"").unwrap();
    let at = live
        .send(
            &group_id,
            Post {
                message: hello,
                ..Post::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(at, 3);
    let (status, _) = raw(reqwest::Method::GET, &format!("{url}/healthz"), None, vec![]).await;
    assert_eq!(status, 200);
    let text = reqwest::get(format!("http://{}/metrics", server.metrics_addr.unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("e2ee_commit_conflicts_total 1"), "{text}");
    assert!(text.contains("e2ee_requests_refused_total"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_welcome_for_someone_the_commit_does_not_add_is_refused() {
    let (server, url) = memory_server(|_| {}).await;
    let rosa = Peer::register(&url, &unique("rosa"), 0).await.unwrap();
    let sam = Peer::register(&url, &unique("sam"), 1).await.unwrap();
    let tina = Peer::register(&url, &unique("tina"), 1).await.unwrap();
    let mut group = rosa.create_group(false).await.unwrap();
    let for_sam = group.add(&[rosa.ds.claim(sam.ds.identity()).await.unwrap()]).unwrap();
    group.discard_commit();
    // The Commit adding Tina, with the Welcome for Sam.
    let adding_tina = group.add(&[rosa.ds.claim(tina.ds.identity()).await.unwrap()]).unwrap();
    let post = Post {
        message: adding_tina.commit,
        welcome: for_sam.welcome,
        group_info: Some(adding_tina.group_info),
    };
    assert_eq!(code(rosa.ds.post(group.id(), &post).await), "unroutable_welcome");
    assert!(sam.ds.mailbox(0).await.unwrap().is_empty());
    assert!(tina.ds.mailbox(0).await.unwrap().is_empty());
    let members = rosa.ds.group_status(group.id()).await.unwrap().members;
    assert_eq!(members, [rosa.ds.identity()], "nobody added");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn excess_requests_and_connections_are_refused() {
    let (server, url) = memory_server(|c| {
        c.rate_per_second = 0.01;
        c.rate_burst = 4.0;
        c.max_connections_per_client = 1;
    })
    .await;
    let peer = Peer::register(&url, &unique("flood"), 0).await.unwrap();
    let mut refused = None;
    for i in 0..10 {
        if let Err(e) = peer.ds.mailbox(0).await {
            refused = Some((i, e.code().unwrap().to_owned()));
            break;
        }
    }
    assert_eq!(refused, Some((4, "rate_limited".to_owned())));
    let (_first, _) = tokio_tungstenite::connect_async(peer.ds.ws_request("").unwrap())
        .await
        .unwrap();
    match tokio_tungstenite::connect_async(peer.ds.ws_request("").unwrap()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("a second connection must be refused: {other:?}"),
    }
    let (status, _) = raw(reqwest::Method::GET, &format!("{url}/readyz"), None, vec![]).await;
    assert_eq!(status, 200);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_push_resumes_and_removed_members_stop_receiving() {
    let (server, url) = memory_server(|_| {}).await;
    let names: Vec<String> = ["ann", "ben", "cat"].iter().map(|n| unique(n)).collect();
    let (peers, mut groups, position) = form_group(std::slice::from_ref(&url), &names).await;
    let group_id = groups[0].id().to_vec();
    let mut ben_live = peers[1].ds.live();
    ben_live.subscribe(&group_id, position).await;
    ben_live.subscribe_mailbox(1).await;
    for i in 0..3 {
        let m = groups[0].seal(format!("m{i}").as_bytes(), b"").unwrap();
        peers[0]
            .ds
            .post(
                &group_id,
                &Post {
                    message: m,
                    ..Post::default()
                },
            )
            .await
            .unwrap();
    }
    let mut got = Vec::new();
    while got.len() < 3 {
        if let Some(LiveEvent::Message { position, message, .. }) = ben_live.next().await {
            match &groups[1].open(&message).unwrap()[..] {
                [Event::Message { data, .. }] => got.push((position, String::from_utf8(data.clone()).unwrap())),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        [position + 1, position + 2, position + 3]
    );
    // Resume by position over a second connection: only what is after it.
    let mut again = peers[1].ds.live();
    again.subscribe(&group_id, position + 2).await;
    let next = loop {
        if let Some(LiveEvent::Message { position, .. }) = again.next().await {
            break position;
        }
    };
    assert_eq!(next, position + 3);
    drop(again);
    // Ann removes Cat; Cat's subscription gets that Commit, then ends.
    let mut cat_live = peers[2].ds.live();
    cat_live.subscribe(&group_id, position + 3).await;
    while !matches!(cat_live.next().await, Some(LiveEvent::Subscribed(Some(_)))) {}
    let cat_index = groups[2].own_index();
    let bundle = groups[0].remove(&[cat_index]).unwrap();
    let removed_at = peers[0].commit(&mut groups[0], bundle).await.unwrap();
    let mut cat_saw = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), cat_live.next())
            .await
            .unwrap()
        {
            Some(LiveEvent::Message { position, .. }) => cat_saw.push(position),
            Some(LiveEvent::Unsubscribed { error, .. }) => {
                assert_eq!(error.code, "not_member");
                break;
            }
            _ => {}
        }
    }
    assert_eq!(cat_saw, [removed_at]);
    assert_eq!(
        code(peers[2].ds.messages(&group_id, removed_at, 10).await),
        "not_member"
    );
    let status = peers[0].ds.group_status(&group_id).await.unwrap();
    assert_eq!(status.members, {
        let mut m = vec![names[0].clone(), names[1].clone()];
        m.sort();
        m
    });
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_leaves_by_proposal_loses_access() {
    let (server, url) = memory_server(|_| {}).await;
    let names: Vec<String> = ["dan", "eve", "fay"].iter().map(|n| unique(n)).collect();
    let (peers, mut groups, position) = form_group(std::slice::from_ref(&url), &names).await;
    let group_id = groups[0].id().to_vec();
    // Fay proposes her own removal; Dan commits it by reference.
    let leave = groups[2].leave().unwrap();
    peers[2]
        .ds
        .post(
            &group_id,
            &Post {
                message: leave,
                ..Post::default()
            },
        )
        .await
        .unwrap();
    for m in peers[0].ds.messages(&group_id, position, 10).await.unwrap() {
        groups[0].open(&m.message).unwrap();
    }
    let bundle = groups[0].commit_proposals().unwrap();
    let removed_at = peers[0].commit(&mut groups[0], bundle).await.unwrap();
    let mut expected = vec![names[0].clone(), names[1].clone()];
    expected.sort();
    assert_eq!(peers[0].ds.group_status(&group_id).await.unwrap().members, expected);
    // Fay still reads up to the Commit that removed her, then no more.
    let seen = peers[2].ds.messages(&group_id, position, 10).await.unwrap();
    assert_eq!(seen.last().map(|m| m.position), Some(removed_at));
    assert_eq!(
        code(peers[2].ds.messages(&group_id, removed_at, 10).await),
        "not_member"
    );
    server.shutdown().await;
}

fn text(message: Vec<u8>) -> Post {
    Post {
        message,
        ..Post::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_reads_up_to_its_removal_and_nothing_after() {
    let (server, url) = memory_server(|_| {}).await;
    let names: Vec<String> = ["gus", "hal", "ida"].iter().map(|n| unique(n)).collect();
    let (mut peers, mut groups, position) = form_group(std::slice::from_ref(&url), &names).await;
    let group_id = groups[0].id().to_vec();
    let [gus, _, ida] = peers.as_mut_slice() else {
        unreachable!("three peers")
    };
    // Gus sends, commits an Update, removes Ida, then sends again; Ida
    // polls over HTTP only afterwards.
    let before = gus
        .ds
        .post(&group_id, &text(groups[0].seal(b"before", b"").unwrap()))
        .await
        .unwrap();
    let bundle = groups[0].update().unwrap();
    let updated = gus.commit(&mut groups[0], bundle).await.unwrap();
    let ida_leaf = groups[2].own_index();
    let bundle = groups[0].remove(&[ida_leaf]).unwrap();
    let removed_at = gus.commit(&mut groups[0], bundle).await.unwrap();
    let after = gus
        .ds
        .post(&group_id, &text(groups[0].seal(b"after", b"").unwrap()))
        .await
        .unwrap();
    assert!(before < updated && updated < removed_at && removed_at < after);

    let page = ida.ds.messages(&group_id, position, 100).await.unwrap();
    let readable = [before, updated, removed_at];
    assert_eq!(page.iter().map(|m| m.position).collect::<Vec<_>>(), readable);
    match &groups[2].open(&page[0].message).unwrap()[..] {
        [Event::Message { data, .. }] => assert_eq!(data, b"before"),
        other => panic!("unexpected {other:?}"),
    }
    let late = groups[2].seal(b"too late", b"").unwrap();
    for (entry, removal) in page[1..].iter().zip([false, true]) {
        match &groups[2].open(&entry.message).unwrap()[..] {
            [Event::EpochChanged { self_removed, .. }] => assert_eq!(*self_removed, removal),
            other => panic!("unexpected {other:?}"),
        }
    }
    // Page by page, the removal Commit is still the end.
    let one = ida.ds.messages(&group_id, updated, 1).await.unwrap();
    assert_eq!(one.iter().map(|m| m.position).collect::<Vec<_>>(), [removed_at]);
    assert_eq!(code(ida.ds.messages(&group_id, removed_at, 100).await), "not_member");
    assert_eq!(code(ida.ds.messages(&group_id, after, 100).await), "not_member");
    assert_eq!(code(ida.ds.post(&group_id, &text(late)).await), "not_member");
    assert_eq!(code(ida.ds.group_status(&group_id).await), "not_member");
    assert_eq!(code(ida.ds.group_info(&group_id).await), "not_member");

    // The WebSocket resumes the same way: up to the removal, then ends;
    // subscribing past it is refused.
    let mut live = ida.ds.live();
    live.subscribe(&group_id, position).await;
    let mut pushed = Vec::new();
    loop {
        match tokio::time::timeout(Duration::from_secs(5), live.next()).await.unwrap() {
            Some(LiveEvent::Message { position, .. }) => pushed.push(position),
            Some(LiveEvent::Unsubscribed { error, .. }) => {
                assert_eq!(error.code, "not_member");
                break;
            }
            _ => {}
        }
    }
    assert_eq!(pushed, readable, "not cut short at the Update");
    live.subscribe(&group_id, removed_at).await;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), live.next()).await.unwrap() {
            Some(LiveEvent::Refused(error)) => break assert_eq!(error.code, "not_member"),
            Some(LiveEvent::Message { position, .. }) => panic!("pushed {position} past the removal"),
            _ => {}
        }
    }

    // Added again, Ida is a member like any other: she reads what comes
    // after her new Welcome (her second KeyPackage).
    let readded = gus.add(&mut groups[0], &[&names[2]]).await.unwrap();
    let welcome = ida.ds.mailbox(1).await.unwrap().pop().unwrap();
    assert_eq!(welcome.commit_position, readded);
    let mut rejoined = ida.join(&welcome).unwrap();
    let news = gus
        .ds
        .post(&group_id, &text(groups[0].seal(b"back", b"").unwrap()))
        .await
        .unwrap();
    let page = ida.ds.messages(&group_id, readded, 100).await.unwrap();
    assert_eq!(page.iter().map(|m| m.position).collect::<Vec<_>>(), [news]);
    match &rejoined.open(&page[0].message).unwrap()[..] {
        [Event::Message { data, .. }] => assert_eq!(data, b"back"),
        other => panic!("unexpected {other:?}"),
    }
    // From the Commit that added her again on: neither her first
    // membership's log nor what was sent while she was out.
    let from_start = ida.ds.messages(&group_id, 0, 100).await.unwrap();
    assert_eq!(
        from_start.iter().map(|m| m.position).collect::<Vec<_>>(),
        [readded, news]
    );
    live.subscribe(&group_id, 0).await;
    loop {
        match tokio::time::timeout(Duration::from_secs(5), live.next()).await.unwrap() {
            Some(LiveEvent::Message { position, .. }) => break assert_eq!(position, readded),
            Some(LiveEvent::Refused(error)) => panic!("refused: {error:?}"),
            _ => {}
        }
    }
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_joins_only_where_the_group_allows_them() {
    let (server, url) = memory_server(|_| {}).await;
    let mut owner = Peer::register(&url, &unique("owner"), 0).await.unwrap();
    let mut joiner = Peer::register(&url, &unique("joiner"), 0).await.unwrap();
    // The members' clients admit external joins too (the library's default
    // refuses them), or their GroupInfos would offer none.
    let open_to_joins = GroupOptions {
        external_joins: ExternalJoins::Allow,
        ..GroupOptions::default()
    };
    for peer in [&mut owner, &mut joiner] {
        peer.mls.set_group_options(open_to_joins).unwrap();
    }

    let mut open = owner.create_group(true).await.unwrap();
    owner
        .ds
        .put_group_info(open.id(), open.group_info().unwrap())
        .await
        .unwrap();
    let group_info = joiner.ds.group_info(open.id()).await.unwrap();
    let (mut joined, commit) = joiner.mls.join_external(&group_info).unwrap();
    let post = Post {
        message: commit,
        group_info: Some(joined.group_info().unwrap()),
        ..Post::default()
    };
    let position = joiner.ds.post(open.id(), &post).await.unwrap();
    for m in owner.ds.messages(open.id(), 0, 10).await.unwrap() {
        assert!(matches!(&open.open(&m.message).unwrap()[..], [Event::EpochChanged { added, .. }] if added.len() == 1));
    }
    let mut members = vec![owner.ds.identity().to_owned(), joiner.ds.identity().to_owned()];
    members.sort();
    assert_eq!(joiner.ds.group_status(open.id()).await.unwrap().members, members);
    let hello = joined.seal(b"hello", b"").unwrap();
    assert_eq!(
        joiner
            .ds
            .post(
                open.id(),
                &Post {
                    message: hello,
                    ..Post::default()
                }
            )
            .await
            .unwrap(),
        position + 1
    );

    // A closed group: no GroupInfo for outsiders, and no external Commit
    // even with a GroupInfo obtained elsewhere.
    let closed = owner.create_group(false).await.unwrap();
    owner
        .ds
        .put_group_info(closed.id(), closed.group_info().unwrap())
        .await
        .unwrap();
    assert_eq!(code(joiner.ds.group_info(closed.id()).await), "not_member");
    let (_, commit) = joiner.mls.join_external(&closed.group_info().unwrap()).unwrap();
    let post = Post {
        message: commit,
        ..Post::default()
    };
    assert_eq!(code(joiner.ds.post(closed.id(), &post).await), "forbidden");
    // A GroupInfo of another group is refused.
    assert_eq!(
        code(owner.ds.put_group_info(open.id(), closed.group_info().unwrap()).await),
        "invalid_group_info"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_a_static_directory_beside_the_api() {
    let dir = e2ee_testkit::testbed::TempDir::new("static").unwrap();
    std::fs::write(dir.path().join("index.html"), "<h1>chat</h1>").unwrap();
    let root = dir.path().to_owned();
    let (server, url) = memory_server(|c| c.static_dir = Some(root)).await;
    assert_eq!(
        reqwest::get(format!("{url}/")).await.unwrap().text().await.unwrap(),
        "<h1>chat</h1>"
    );
    assert_eq!(
        reqwest::get(format!("{url}/healthz"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ok\n"
    );
    assert_eq!(reqwest::get(format!("{url}/missing.js")).await.unwrap().status(), 404);
    server.shutdown().await;
}
