//! The service against hostile clients: one test per attack, each asserting
//! the secure outcome, against the real service (in memory, or Redis where
//! the store decides). Attacks forge what `e2ee-core` would never send by
//! editing real messages: the service checks framing, keys and roster, not
//! the signatures members check, so an edited message reaches the checks
//! under test.

mod common;

use std::time::Duration;

use common::*;
use e2ee_core::client::{ExternalJoins, GroupOptions, HandshakeFormat};
use e2ee_core::codec::{VLBytes, decode_exact, encode};
use e2ee_core::messages::{
    Add, Commit, Content, Credential, FramedContent, MlsMessage, MlsMessageBody, Proposal, ProposalOrRef, Remove,
};
use e2ee_core::{Event, Group};
use e2ee_testkit::client::{DsClient, Peer};
use e2ee_testkit::testbed::{NGINX_TEMPLATE, Nginx, TempDir, Testbed, free_port, nginx_main_config, require_binary};
use reference_server::auth::{Authenticator, LOGIN_LABEL, login_content};
use reference_server::wire::{self, Post};

fn message(bytes: Vec<u8>) -> Post {
    Post {
        message: bytes,
        ..Post::default()
    }
}

fn commit_post(bundle: &e2ee_core::client::CommitBundle) -> Post {
    Post {
        message: bundle.commit.clone(),
        welcome: bundle.welcome.clone(),
        group_info: Some(bundle.group_info.clone()),
    }
}

/// A PublicMessage with its content edited (its signature no longer
/// matches: only members would notice).
fn edit_public(bytes: &[u8], edit: impl FnOnce(&mut FramedContent)) -> Vec<u8> {
    let mut m: MlsMessage = decode_exact(bytes).unwrap();
    let MlsMessageBody::PublicMessage(p) = &mut m.body else {
        panic!("not a PublicMessage")
    };
    edit(&mut p.content);
    encode(&m).unwrap()
}

fn edit_commit(bytes: &[u8], edit: impl FnOnce(&mut Commit)) -> Vec<u8> {
    edit_public(bytes, |content| match &mut content.content {
        Content::Commit(commit) => edit(commit),
        _ => panic!("not a Commit"),
    })
}

fn edit_proposal(bytes: &[u8], proposal: Proposal) -> Vec<u8> {
    edit_public(bytes, |content| content.content = Content::Proposal(proposal))
}

/// A decoded KeyPackage MLSMessage.
fn key_package(bytes: &[u8]) -> e2ee_core::messages::KeyPackage {
    match decode_exact::<MlsMessage>(bytes).unwrap().body {
        MlsMessageBody::KeyPackage(kp) => kp,
        _ => panic!("not a KeyPackage"),
    }
}

/// A group of `names` (the first creates it, with `external_join`, and
/// adds the others, who join from their mailbox) on one service. A group
/// open to external joins is open in its members' clients too, or their
/// GroupInfos would offer none.
async fn form(url: &str, names: &[&str], external_join: bool) -> (Vec<Peer>, Vec<Group>) {
    let mut peers = Vec::new();
    for name in names {
        let mut peer = Peer::register(url, &unique(name), 2).await.unwrap();
        if external_join {
            let options = GroupOptions {
                external_joins: ExternalJoins::Allow,
                ..GroupOptions::default()
            };
            peer.mls.set_group_options(options).unwrap();
        }
        peers.push(peer);
    }
    let mut creator = peers[0].create_group(external_join).await.unwrap();
    let others: Vec<String> = peers[1..].iter().map(|p| p.ds.identity().to_owned()).collect();
    let others: Vec<&str> = others.iter().map(String::as_str).collect();
    if !others.is_empty() {
        peers[0].add(&mut creator, &others).await.unwrap();
    }
    let mut groups = vec![creator];
    for peer in &mut peers[1..] {
        let item = peer.ds.mailbox(0).await.unwrap().pop().expect("a Welcome");
        groups.push(peer.join(&item).unwrap());
    }
    (peers, groups)
}

/// Opens every message of the group after `after` in `group`.
async fn catch_up(peer: &Peer, group: &mut Group, after: u64) -> Vec<Event> {
    let mut events = Vec::new();
    for m in peer.ds.messages(group.id(), after, 1000).await.unwrap() {
        events.extend(group.open(&m.message).unwrap());
    }
    events
}

async fn members(peer: &Peer, group: &[u8]) -> Vec<String> {
    peer.ds.group_status(group).await.unwrap().members
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_external_commit_removing_a_member_is_refused_and_the_group_goes_on() {
    let (server, url) = memory_server(|_| {}).await;
    let (peers, mut groups) = form(&url, &["alice", "bob"], true).await;
    let (alice, bob) = (&peers[0], &peers[1]);
    let id = groups[0].id().to_vec();
    let before = alice.ds.group_status(&id).await.unwrap();
    let mallory = Peer::register(&url, &unique("mallory"), 0).await.unwrap();
    let (_, join) = mallory
        .mls
        .join_external(&mallory.ds.group_info(&id).await.unwrap())
        .unwrap();
    let bob_leaf = groups[1].own_index();
    let forged = edit_commit(&join, |c| {
        c.proposals
            .push(ProposalOrRef::Proposal(Proposal::Remove(Remove { removed: bob_leaf })))
    });
    assert_eq!(code(mallory.ds.post(&id, &message(forged)).await), "forbidden");
    assert_eq!(alice.ds.group_status(&id).await.unwrap().epoch, before.epoch);
    assert_eq!(members(alice, &id).await, before.members);
    // The next legitimate Commit is accepted, and Bob follows it.
    let bundle = groups[0].update().unwrap();
    let at = alice.commit(&mut groups[0], bundle).await.unwrap();
    let events = catch_up(bob, &mut groups[1], at - 1).await;
    assert!(matches!(&events[..], [Event::EpochChanged { .. }]), "{events:?}");
    assert_eq!(groups[1].epoch_authenticator(), groups[0].epoch_authenticator());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_commit_adding_a_member_is_refused() {
    let (server, url) = memory_server(|_| {}).await;
    let (peers, groups) = form(&url, &["alice", "carl"], true).await;
    let id = groups[0].id().to_vec();
    let before = members(&peers[0], &id).await;
    let bob = Peer::register(&url, &unique("bob"), 1).await.unwrap();
    let mallory = Peer::register(&url, &unique("mallory"), 0).await.unwrap();
    let (_, join) = mallory
        .mls
        .join_external(&mallory.ds.group_info(&id).await.unwrap())
        .unwrap();
    // Bob's own KeyPackage, signed by Bob: only the rules of an external
    // Commit keep Mallory from bringing him in.
    let bobs = key_package(&mallory.ds.claim(bob.ds.identity()).await.unwrap());
    let forged = edit_commit(&join, |c| {
        c.proposals
            .push(ProposalOrRef::Proposal(Proposal::Add(Add { key_package: bobs })))
    });
    assert_eq!(code(mallory.ds.post(&id, &message(forged)).await), "invalid_commit");
    assert_eq!(members(&peers[0], &id).await, before);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_commit_must_name_the_poster_with_its_bound_key() {
    let (server, url) = memory_server(|_| {}).await;
    let (peers, groups) = form(&url, &["carl"], true).await;
    let id = groups[0].id().to_vec();
    peers[0]
        .ds
        .put_group_info(&id, groups[0].group_info().unwrap())
        .await
        .unwrap();
    let mallory = Peer::register(&url, &unique("mallory"), 0).await.unwrap();
    let group_info = mallory.ds.group_info(&id).await.unwrap();
    // Her name, another key than the one she logged in with.
    let other_key = e2ee_core::Client::new(1, mallory.ds.identity().as_bytes()).unwrap();
    let (_, join) = other_key.join_external(&group_info).unwrap();
    assert_eq!(code(mallory.ds.post(&id, &message(join)).await), "key_mismatch");
    // Someone else's name.
    let posing = e2ee_core::Client::new(1, peers[0].ds.identity().as_bytes()).unwrap();
    let (_, join) = posing.join_external(&group_info).unwrap();
    assert_eq!(code(mallory.ds.post(&id, &message(join)).await), "sender_mismatch");
    assert_eq!(members(&peers[0], &id).await, [peers[0].ds.identity()]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_member_cannot_post_public_or_private() {
    let (server, url) = memory_server(|_| {}).await;
    let (peers, mut groups) = form(&url, &["ann", "cat"], false).await;
    let id = groups[0].id().to_vec();
    let cat_leaf = groups[1].own_index();
    let bundle = groups[0].remove(&[cat_leaf]).unwrap();
    peers[0].commit(&mut groups[0], bundle).await.unwrap();
    let private = groups[1].seal(b"still here?", b"").unwrap();
    assert_eq!(code(peers[1].ds.post(&id, &message(private)).await), "not_member");
    let public = groups[1].leave().unwrap();
    assert_eq!(code(peers[1].ds.post(&id, &message(public)).await), "not_member");
    server.shutdown().await;
}

/// A client whose groups send proposals and Commits as PrivateMessages.
async fn private_peer(url: &str, name: &str) -> Peer {
    let mut mls = e2ee_core::Client::new(1, unique(name).as_bytes()).unwrap();
    mls.set_group_options(GroupOptions {
        handshake_wire_format: HandshakeFormat::Private,
        ..GroupOptions::default()
    })
    .unwrap();
    Peer::login(url, mls, 2).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_commit_is_refused_and_the_roster_stays() {
    let (server, url) = memory_server(|_| {}).await;
    let dora = Peer::register(&url, &unique("dora"), 2).await.unwrap();
    let hidden = private_peer(&url, "hidden").await;
    let mut group = hidden.create_group(false).await.unwrap();
    let id = group.id().to_vec();
    let bundle = group
        .add(&[hidden.ds.claim(dora.ds.identity()).await.unwrap()])
        .unwrap();
    assert_eq!(
        code(hidden.ds.post(&id, &commit_post(&bundle)).await),
        "private_handshake"
    );
    assert_eq!(members(&hidden, &id).await, [hidden.ds.identity()]);
    assert_eq!(hidden.ds.group_status(&id).await.unwrap().epoch, 0);
    assert!(dora.ds.mailbox(0).await.unwrap().is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_proposal_is_refused_and_private_application_messages_pass() {
    let (server, url) = memory_server(|_| {}).await;
    let fred = Peer::register(&url, &unique("fred"), 0).await.unwrap();
    let mut hidden = private_peer(&url, "hidden").await;
    let mut group = fred.create_group(false).await.unwrap();
    fred.add(&mut group, &[hidden.ds.identity()]).await.unwrap();
    let item = hidden.ds.mailbox(0).await.unwrap().pop().unwrap();
    let mut joined = hidden.join(&item).unwrap();
    let id = joined.id().to_vec();
    let leave = joined.leave().unwrap();
    assert_eq!(code(hidden.ds.post(&id, &message(leave)).await), "private_handshake");
    assert!(members(&fred, &id).await.contains(&hidden.ds.identity().to_owned()));
    let hello = joined.seal(b"hello", b"").unwrap();
    hidden.ds.post(&id, &message(hello)).await.unwrap();
    server.shutdown().await;
}

/// The GroupInfo MLSMessage with its signature's first byte flipped.
fn bad_signature(group_info: &[u8]) -> Vec<u8> {
    let mut m: MlsMessage = decode_exact(group_info).unwrap();
    let MlsMessageBody::GroupInfo(gi) = &mut m.body else {
        panic!("not a GroupInfo")
    };
    let mut signature = gi.signature.to_vec();
    signature[0] ^= 1;
    gi.signature = VLBytes::new(signature);
    encode(&m).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_committer_stores_the_group_info() {
    let (server, url) = memory_server(|_| {}).await;
    let (peers, mut groups) = form(&url, &["gina", "hugo"], false).await;
    let id = groups[0].id().to_vec();
    let stored = peers[0].ds.group_info(&id).await.unwrap();
    // Hugo's own GroupInfo of the epoch Gina's Commit started.
    let hugos = groups[1].group_info().unwrap();
    assert_eq!(code(peers[1].ds.put_group_info(&id, hugos).await), "invalid_group_info");
    // Gina's genuine one, stored again by Hugo.
    assert_eq!(code(peers[1].ds.put_group_info(&id, stored.clone()).await), "forbidden");
    peers[0].ds.put_group_info(&id, stored.clone()).await.unwrap();
    // After Hugo's Commit only Hugo may.
    let bundle = groups[1].update().unwrap();
    let at = peers[1].commit(&mut groups[1], bundle).await.unwrap();
    catch_up(&peers[0], &mut groups[0], at - 1).await;
    let ginas = groups[0].group_info().unwrap();
    assert_eq!(code(peers[0].ds.put_group_info(&id, ginas).await), "invalid_group_info");
    assert_eq!(
        peers[0].ds.group_info(&id).await.unwrap(),
        groups[1].group_info().unwrap(),
        "the one Hugo's Commit carried"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_info_with_a_bad_signature_is_refused_alone_or_with_its_commit() {
    let (server, url) = memory_server(|_| {}).await;
    let (peers, mut groups) = form(&url, &["ivy", "jon"], false).await;
    let id = groups[0].id().to_vec();
    let stored = peers[0].ds.group_info(&id).await.unwrap();
    assert_eq!(
        code(peers[0].ds.put_group_info(&id, bad_signature(&stored)).await),
        "invalid_group_info"
    );
    let bundle = groups[0].update().unwrap();
    let mut post = commit_post(&bundle);
    post.group_info = Some(bad_signature(&bundle.group_info));
    assert_eq!(code(peers[0].ds.post(&id, &post).await), "invalid_group_info");
    groups[0].discard_commit();
    assert_eq!(peers[0].ds.group_info(&id).await.unwrap(), stored);
    assert_eq!(peers[0].ds.group_status(&id).await.unwrap().epoch, groups[0].epoch());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_bytes_do_not_replace_the_group_info() {
    let (server, url) = memory_server(|_| {}).await;
    let (peers, groups) = form(&url, &["kai", "lea"], false).await;
    let id = groups[0].id().to_vec();
    let stored = peers[0].ds.group_info(&id).await.unwrap();
    assert_eq!(
        code(peers[0].ds.put_group_info(&id, vec![0, 1, 0, 4, 1, 2, 3]).await),
        "malformed_message"
    );
    // Decodes as a GroupInfo of the right group and epoch, but its content
    // is not what the committer signed.
    let mut m: MlsMessage = decode_exact(&stored).unwrap();
    let MlsMessageBody::GroupInfo(gi) = &mut m.body else {
        panic!("not a GroupInfo")
    };
    gi.extensions.clear();
    let junk = encode(&m).unwrap();
    assert_eq!(code(peers[0].ds.put_group_info(&id, junk).await), "invalid_group_info");
    assert_eq!(peers[1].ds.group_info(&id).await.unwrap(), stored);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_adding_a_key_package_in_someone_elses_name_is_refused() {
    let (server, url) = memory_server(|_| {}).await;
    let (peers, mut groups) = form(&url, &["mallory"], false).await;
    let id = groups[0].id().to_vec();
    let bob = Peer::register(&url, &unique("bob"), 1).await.unwrap();
    // A KeyPackage naming Bob, signed with a key Mallory made.
    let mut fake_bob = e2ee_core::Client::new(1, bob.ds.identity().as_bytes()).unwrap();
    let bundle = groups[0].add(&[fake_bob.key_package().unwrap()]).unwrap();
    assert_eq!(code(peers[0].ds.post(&id, &commit_post(&bundle)).await), "key_mismatch");
    groups[0].discard_commit();
    assert!(bob.ds.mailbox(0).await.unwrap().is_empty(), "the real Bob gets nothing");
    assert_eq!(code(bob.ds.messages(&id, 0, 10).await), "not_member");
    assert_eq!(members(&peers[0], &id).await, [peers[0].ds.identity()]);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_adding_an_unsigned_key_package_with_the_owners_key_is_refused() {
    let (server, url) = memory_server(|_| {}).await;
    let (peers, mut groups) = form(&url, &["mallory"], false).await;
    let id = groups[0].id().to_vec();
    let bob = Peer::register(&url, &unique("bob"), 1).await.unwrap();
    let mut own = e2ee_core::Client::new(1, unique("decoy").as_bytes()).unwrap();
    let bundle = groups[0].add(&[own.key_package().unwrap()]).unwrap();
    groups[0].discard_commit();
    // Bob's published KeyPackage with Mallory's init key: Bob's name and
    // key, but not signed by Bob.
    let mut forged = key_package(&peers[0].ds.claim(bob.ds.identity()).await.unwrap());
    forged.init_key = key_package(&own.key_package().unwrap()).init_key;
    let commit = edit_commit(&bundle.commit, |c| {
        c.proposals = vec![ProposalOrRef::Proposal(Proposal::Add(Add { key_package: forged }))];
    });
    assert_eq!(code(peers[0].ds.post(&id, &message(commit)).await), "invalid_commit");
    assert!(bob.ds.mailbox(0).await.unwrap().is_empty());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_add_proposal_in_someone_elses_name_is_refused() {
    let (server, url) = memory_server(|_| {}).await;
    let (peers, mut groups) = form(&url, &["nina", "mallory"], false).await;
    let id = groups[0].id().to_vec();
    let bob = Peer::register(&url, &unique("bob"), 1).await.unwrap();
    let mut fake_bob = e2ee_core::Client::new(1, bob.ds.identity().as_bytes()).unwrap();
    let add = Proposal::Add(Add {
        key_package: key_package(&fake_bob.key_package().unwrap()),
    });
    let proposal = edit_proposal(&groups[1].leave().unwrap(), add);
    assert_eq!(code(peers[1].ds.post(&id, &message(proposal)).await), "key_mismatch");
    assert!(
        peers[0].ds.messages(&id, 1, 10).await.unwrap().is_empty(),
        "nothing logged"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reposting_a_commit_delivers_no_welcome_again() {
    let (server, url) = memory_server(|_| {}).await;
    let (peers, mut groups) = form(&url, &["olga", "pete"], false).await;
    let (olga, pete) = (&peers[0], &peers[1]);
    let id = groups[0].id().to_vec();
    let quinn = Peer::register(&url, &unique("quinn"), 1).await.unwrap();
    let bundle = groups[0]
        .add(&[olga.ds.claim(quinn.ds.identity()).await.unwrap()])
        .unwrap();
    let post = commit_post(&bundle);
    let at = olga.ds.post(&id, &post).await.unwrap();
    groups[0].merge_commit().unwrap();
    assert_eq!(quinn.ds.mailbox(0).await.unwrap().len(), 1);
    // The committer's resend and another member's repost, again and again.
    for poster in [olga, pete, olga, pete, pete] {
        assert_eq!(poster.ds.post(&id, &post).await.unwrap(), at, "the same position");
    }
    assert_eq!(quinn.ds.mailbox(0).await.unwrap().len(), 1, "one Welcome only");
    assert_eq!(
        pete.ds.messages(&id, at, 10).await.unwrap().len(),
        0,
        "nothing new in the log"
    );
    server.shutdown().await;
}

/// `identity`'s KeyPackage as a claim returns it, with its last-resort flag.
async fn claim(ds: &DsClient, identity: &str) -> Result<wire::Claimed, e2ee_testkit::client::Error> {
    let body = wire::Claim {
        identity: identity.to_owned(),
    };
    ds.call(reqwest::Method::POST, "/v1/key-packages/claim", Some(&body))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_package_claims_are_bounded_per_claimer() {
    let (server, url) = memory_server(|c| c.max_claims_per_hour = 3).await;
    let bob = Peer::register(&url, &unique("bob"), 10).await.unwrap();
    let mallory = Peer::register(&url, &unique("mallory"), 0).await.unwrap();
    for _ in 0..3 {
        claim(&mallory.ds, bob.ds.identity()).await.unwrap();
    }
    assert_eq!(code(claim(&mallory.ds, bob.ds.identity()).await), "quota_exceeded");
    let alice = Peer::register(&url, &unique("alice"), 0).await.unwrap();
    assert!(
        !claim(&alice.ds, bob.ds.identity()).await.unwrap().last_resort,
        "others still claim"
    );
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_identity_can_still_be_added_with_its_last_resort_key_package() {
    let (server, url) = memory_server(|_| {}).await;
    let mut bob = Peer::register(&url, &unique("bob"), 1).await.unwrap();
    let last_resort = bob.mls.last_resort_key_package().unwrap();
    bob.ds
        .publish_key_packages(vec![], Some(last_resort.clone()))
        .await
        .unwrap();
    let mallory = Peer::register(&url, &unique("mallory"), 0).await.unwrap();
    for _ in 0..5 {
        claim(&mallory.ds, bob.ds.identity()).await.unwrap();
    }
    // Two groups add Bob with it, and he joins both.
    for name in ["alice", "carol"] {
        let member = Peer::register(&url, &unique(name), 0).await.unwrap();
        let claimed = claim(&member.ds, bob.ds.identity()).await.unwrap();
        assert!(claimed.last_resort);
        assert_eq!(claimed.key_package, last_resort);
        let mut group = member.create_group(false).await.unwrap();
        let bundle = group.add(&[claimed.key_package]).unwrap();
        member.commit(&mut group, bundle).await.unwrap();
        // The newest item of his mailbox: this group's Welcome.
        let item = bob.ds.mailbox(0).await.unwrap().pop().expect("Bob's Welcome");
        let joined = bob.join(&item).unwrap();
        assert_eq!(
            joined.epoch_authenticator().unwrap(),
            group.epoch_authenticator().unwrap()
        );
    }
    server.shutdown().await;
}

/// A signed login for `mls` at `url` (a fresh challenge).
async fn signed_login(url: &str, mls: &e2ee_core::Client) -> Vec<u8> {
    let challenge: wire::Challenge = reqwest::Client::new()
        .post(format!("{url}/v1/auth/challenge"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let identity = String::from_utf8(mls.identity().to_vec()).unwrap();
    let signature = mls
        .sign_with_label(LOGIN_LABEL, &login_content(&challenge.challenge, &identity))
        .unwrap();
    let login = wire::Login {
        identity,
        cipher_suite: mls.cipher_suite(),
        signature_key: mls.signature_public_key().to_vec(),
        challenge: challenge.challenge,
        signature,
    };
    serde_json::to_vec(&login).unwrap()
}

async fn post_login(url: &str, body: Vec<u8>) -> u16 {
    reqwest::Client::new()
        .post(format!("{url}/v1/auth/login"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_challenge_is_answered_once() {
    let (server, url) = memory_server(|_| {}).await;
    let mls = e2ee_core::Client::new(1, unique("rita").as_bytes()).unwrap();
    let login = signed_login(&url, &mls).await;
    assert_eq!(post_login(&url, login.clone()).await, 200);
    assert_eq!(post_login(&url, login).await, 401, "a replayed login");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_challenge_is_answered_once_across_replicas() {
    let Some(bed) = Testbed::start(SERVER_BIN.as_ref(), 2, &[]).unwrap() else {
        return;
    };
    let mls = e2ee_core::Client::new(1, unique("sam").as_bytes()).unwrap();
    let login = signed_login(&bed.replica_url(0), &mls).await;
    assert_eq!(post_login(&bed.replica_url(0), login.clone()).await, 200);
    assert_eq!(
        post_login(&bed.replica_url(1), login).await,
        401,
        "replayed at another replica"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_per_identity_are_bounded() {
    let (server, url) = memory_server(|c| c.max_groups_per_client = 2).await;
    let tess = Peer::register(&url, &unique("tess"), 0).await.unwrap();
    for _ in 0..2 {
        tess.create_group(false).await.unwrap();
    }
    assert_eq!(code(tess.create_group(false).await), "quota_exceeded");
    let uma = Peer::register(&url, &unique("uma"), 0).await.unwrap();
    uma.create_group(false).await.unwrap();
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_posted_per_identity_are_bounded() {
    let (server, url) = memory_server(|c| c.max_bytes_per_hour = 64 * 1024).await;
    let (peers, mut groups) = form(&url, &["vic", "wes"], false).await;
    let id = groups[0].id().to_vec();
    let mut refused = None;
    for i in 0..20 {
        let big = groups[0].seal(&[0; 8 * 1024], b"").unwrap();
        if let Err(e) = peers[0].ds.post(&id, &message(big)).await {
            refused = Some((i, e.code().unwrap().to_owned()));
            break;
        }
    }
    let (at, why) = refused.expect("refused before 160 KiB");
    assert!((6..=8).contains(&at), "after about 64 KiB, not at message {at}");
    assert_eq!(why, "quota_exceeded");
    let small = groups[1].seal(b"others still post", b"").unwrap();
    peers[1].ds.post(&id, &message(small)).await.unwrap();
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websockets_per_identity_are_bounded() {
    let (server, url) = memory_server(|c| c.max_connections_per_client = 2).await;
    let xia = Peer::register(&url, &unique("xia"), 0).await.unwrap();
    let mut open = Vec::new();
    for _ in 0..2 {
        open.push(
            tokio_tungstenite::connect_async(xia.ds.ws_request("").unwrap())
                .await
                .unwrap(),
        );
    }
    match tokio_tungstenite::connect_async(xia.ds.ws_request("").unwrap()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("a third connection must be refused: {other:?}"),
    }
    drop(open.pop());
    let again = eventually(Duration::from_secs(5), async || {
        tokio_tungstenite::connect_async(xia.ds.ws_request("").unwrap())
            .await
            .is_ok()
    });
    assert!(again.await, "a closed connection gives its place back");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_token_in_the_url_is_not_accepted() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let (server, url) = memory_server(|_| {}).await;
    let yan = Peer::register(&url, &unique("yan"), 0).await.unwrap();
    let token = yan.ds.token();
    let mailbox = reqwest::get(format!("{url}/v1/mailbox?token={token}")).await.unwrap();
    assert_eq!(mailbox.status(), 401);
    let in_url = format!("{}?token={token}", yan.ds.ws_url());
    match tokio_tungstenite::connect_async(in_url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 401),
        other => panic!("a token in the URL must not open a socket: {other:?}"),
    }
    // What a browser does instead: the token as a subprotocol, which the
    // service never echoes.
    let mut request = yan.ds.ws_url().into_client_request().unwrap();
    let offer = format!("e2ee.v1, e2ee.bearer.{token}").parse().unwrap();
    request.headers_mut().insert("sec-websocket-protocol", offer);
    let (_, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(response.headers()["sec-websocket-protocol"], "e2ee.v1");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_not_served_on_the_public_listener() {
    let (server, url) = memory_server(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    assert_eq!(reqwest::get(format!("{url}/metrics")).await.unwrap().status(), 404);
    let internal = format!("http://{}/metrics", server.metrics_addr.unwrap());
    let text = reqwest::get(internal).await.unwrap().text().await.unwrap();
    assert!(text.contains("e2ee_messages_accepted_total"));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_not_served_through_the_proxy() {
    let Some(bed) = Testbed::start(SERVER_BIN.as_ref(), 1, &[]).unwrap() else {
        return;
    };
    assert_eq!(
        reqwest::get(format!("{}/metrics", bed.url())).await.unwrap().status(),
        404
    );
    assert_eq!(reqwest::get(bed.metrics_url(0)).await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_neither_holds_nor_mints_the_token_key() {
    let Some(bed) = Testbed::start(SERVER_BIN.as_ref(), 1, &[]).unwrap() else {
        return;
    };
    let zoe = Peer::register(&bed.url(), &unique("zoe"), 1).await.unwrap();
    zoe.create_group(false).await.unwrap();
    // Without the password, Redis answers nothing.
    let anonymous = redis::Client::open(bed.redis.url_without_password()).unwrap();
    let mut conn = anonymous.get_multiplexed_async_connection().await.unwrap();
    let keys: redis::RedisResult<Vec<String>> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await;
    assert!(keys.unwrap_err().to_string().contains("NOAUTH"));
    // With it: no value stored there signs a token the service takes.
    let admin = redis::Client::open(bed.redis.url()).unwrap();
    let mut conn = admin.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.unwrap();
    assert!(!keys.is_empty());
    for key in keys {
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(&mut conn).await.unwrap();
        if kind != "string" {
            continue;
        }
        let value: Vec<u8> = redis::cmd("GET").arg(&key).query_async(&mut conn).await.unwrap();
        let minted = Authenticator::new(value, 3600).token(zoe.ds.identity());
        assert_eq!(
            code(zoe.ds.with_token(&minted).mailbox(0).await),
            "unauthenticated",
            "a token signed with the value of {key}"
        );
    }
}

#[test]
fn a_redis_replica_without_a_token_key_does_not_start() {
    let mut config = reference_server::Config::with_listen("127.0.0.1:0".parse().unwrap());
    config.redis_url = Some("redis://127.0.0.1:1/".into());
    assert!(config.token_key().is_err());
    config.token_key = Some("short".parse().unwrap());
    assert!(config.token_key().is_err(), "too short");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_naming_an_unseen_proposal_is_refused() {
    let (server, url) = memory_server(|_| {}).await;
    let (peers, mut groups) = form(&url, &["abe", "bea"], false).await;
    let id = groups[0].id().to_vec();
    let bundle = groups[0].update().unwrap();
    groups[0].discard_commit();
    let commit = edit_commit(&bundle.commit, |c| {
        c.proposals.push(ProposalOrRef::Reference(VLBytes::new(vec![7; 32])))
    });
    assert_eq!(code(peers[0].ds.post(&id, &message(commit)).await), "invalid_commit");
    assert_eq!(peers[0].ds.group_status(&id).await.unwrap().epoch, groups[0].epoch());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_path_cannot_take_another_identity() {
    let (server, url) = memory_server(|_| {}).await;
    let (peers, mut groups) = form(&url, &["cid", "mallory"], false).await;
    let id = groups[0].id().to_vec();
    // A second identity bound to the very same key as Mallory's first.
    let alias = unique("alias");
    let same_key =
        e2ee_core::Client::with_signature_key(1, alias.as_bytes(), peers[1].mls.signature_private_key()).unwrap();
    DsClient::login(&url, &same_key).await.unwrap();
    let bundle = groups[1].update().unwrap();
    groups[1].discard_commit();
    let commit = edit_commit(&bundle.commit, |c| {
        let path = c.path.as_mut().expect("an Update has a path");
        path.leaf_node.credential = Credential::Basic(VLBytes::new(alias.clone().into_bytes()));
    });
    assert_eq!(code(peers[1].ds.post(&id, &message(commit)).await), "invalid_commit");
    let mut expected = vec![peers[0].ds.identity().to_owned(), peers[1].ds.identity().to_owned()];
    expected.sort();
    assert_eq!(members(&peers[0], &id).await, expected);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_beyond_the_bound_are_refused_not_forgotten() {
    let (server, url) = memory_server(|c| {
        c.rate_per_second = 10_000.0;
        c.rate_burst = 10_000.0;
    })
    .await;
    let (peers, mut groups) = form(&url, &["dee", "mallory"], false).await;
    let id = groups[0].id().to_vec();
    let leave = groups[1].leave().unwrap();
    let bound = reference_server::store::MAX_PROPOSALS;
    for i in 0..=bound {
        // Each a distinct proposal (its own ProposalRef).
        let proposal = edit_public(&leave, |c| {
            c.authenticated_data = VLBytes::new(i.to_be_bytes().to_vec())
        });
        let posted = peers[1].ds.post(&id, &message(proposal)).await;
        if i < bound {
            posted.unwrap();
        } else {
            assert_eq!(code(posted), "too_many_proposals");
        }
    }
    // A Commit empties the epoch's proposals: there is room again.
    let bundle = groups[0].update().unwrap();
    let at = peers[0].commit(&mut groups[0], bundle).await.unwrap();
    catch_up(&peers[1], &mut groups[1], at - 1).await;
    peers[1]
        .ds
        .post(&id, &message(groups[1].leave().unwrap()))
        .await
        .unwrap();
    server.shutdown().await;
}

/// `curl` at `url` (certificates not checked: the test's own is
/// self-signed); its output, or `None` if it failed.
async fn curl(curl: &std::path::Path, url: &str) -> Option<String> {
    let out = tokio::process::Command::new(curl)
        .args(["-sSfk", "--max-time", "5", url])
        .output()
        .await
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deployment_proxy_speaks_tls_and_logs_no_query_strings() {
    let (Some(nginx), Some(openssl), Some(curl_bin)) = (
        require_binary("nginx"),
        require_binary("openssl"),
        require_binary("curl"),
    ) else {
        return;
    };
    let (server, _) = memory_server(|_| {}).await;
    let dir = TempDir::new("tls").unwrap();
    let (cert, key, log) = (
        dir.path().join("cert.pem"),
        dir.path().join("key.pem"),
        dir.path().join("access.log"),
    );
    let made = std::process::Command::new(openssl)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-days", "1", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    // The template as the deployment renders it, but for the paths.
    let port = free_port().unwrap();
    let block = NGINX_TEMPLATE
        .replace("${E2EE_LISTEN}", &format!("127.0.0.1:{port}"))
        .replace("${E2EE_UPSTREAMS}", &format!("server {};", server.addr))
        .replace("${E2EE_TLS_CERT}", &cert.display().to_string())
        .replace("${E2EE_TLS_KEY}", &key.display().to_string())
        .replace("/var/log/nginx/access.log", &log.display().to_string());
    let config = nginx_main_config(dir.path(), &block, 64);
    let _proxy = Nginx::start_with_config(&nginx, dir.path(), port, &config).unwrap();
    let https = format!("https://127.0.0.1:{port}");
    assert_eq!(
        curl(&curl_bin, &format!("{https}/healthz")).await.as_deref(),
        Some("ok\n")
    );
    assert_eq!(
        curl(&curl_bin, &format!("http://127.0.0.1:{port}/healthz")).await,
        None,
        "no plain HTTP"
    );
    let _ = curl(&curl_bin, &format!("{https}/v1/mailbox?token=leaked-bearer-token")).await;
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("GET /v1/mailbox "), "{logged}");
    assert!(!logged.contains("leaked-bearer-token"), "{logged}");
    server.shutdown().await;
}
