//! The test suite every [`Store`] must pass, each check against the trait
//! it is about; run for the in-memory store by the unit tests and for Redis
//! (one node and a cluster) by `tests/replicated.rs`. Panics (with a
//! message) on the first broken rule.

use std::sync::Arc;

use super::{
    Access, Append, AppendKind, AppendOutcome, CommitEffects, EntryKind, FeedEvent, GroupLog, GroupOptions,
    KeyDirectory, KeyPackageUpload, MAX_PROPOSALS, Quota, Read, Store, Topic, digest,
};
use crate::inspect::{Leaf, ProposalEffect, Roster};

/// Groups of the suite: cipher suite 2, no external joins.
const OPTIONS: GroupOptions = GroupOptions {
    external_join: false,
    cipher_suite: 2,
};

fn message(epoch: u64, sender: &str, body: &str) -> Append {
    Append {
        sender: sender.to_owned(),
        epoch,
        message: body.as_bytes().to_vec(),
        digest: digest(body.as_bytes()),
        kind: AppendKind::Message,
    }
}

/// A member's Commit with the roster after it, or one the service saw as
/// of another epoch (no roster).
fn commit(epoch: u64, sender: &str, body: &str, roster: Option<Roster>) -> Append {
    let kind = match roster {
        Some(roster) => AppendKind::Commit(effects(epoch, roster)),
        None => AppendKind::OtherEpochCommit,
    };
    Append {
        kind,
        ..message(epoch, sender, body)
    }
}

fn effects(epoch: u64, roster: Roster) -> CommitEffects {
    CommitEffects {
        roster,
        group_info: Some(format!("info{}", epoch + 1).into_bytes()),
    }
}

async fn entries(store: &dyn GroupLog, topic: &Topic, after: u64) -> Vec<(u64, String)> {
    match store.read(topic, after, 100).await.expect("read") {
        Read::Entries(e) => e
            .iter()
            .map(|e| (e.position, String::from_utf8_lossy(&e.payload).into_owned()))
            .collect(),
        Read::Expired { oldest } => panic!("unexpected expiry (oldest {oldest})"),
    }
}

/// Runs every check against `store`, which must be empty (or use a fresh
/// key prefix).
pub async fn run(store: Arc<dyn Store>) {
    store.ping().await.expect("the store answers");
    identities_and_key_packages(&*store).await;
    single_use_tokens_and_quotas(&*store).await;
    group_log_and_commits(&*store).await;
    concurrent_commits_one_winner(store.clone()).await;
    retention_and_mailbox(&*store).await;
    proposals_until_the_next_commit(&*store).await;
    removal_positions(&*store).await;
    external_commits(&*store).await;
    the_feed_carries_every_accepted_entry(&*store).await;
}

fn leaf(identity: &str) -> Leaf {
    Leaf {
        identity: identity.to_owned(),
        key: identity.as_bytes().to_vec(),
    }
}

fn roster(members: &[&str]) -> Roster {
    Roster {
        leaves: members.iter().map(|m| Some(leaf(m))).collect(),
        committer: 0,
    }
}

async fn single_use_tokens_and_quotas(store: &dyn KeyDirectory) {
    assert!(store.use_once(b"challenge-1", 60).await.unwrap());
    assert!(!store.use_once(b"challenge-1", 60).await.unwrap(), "used once only");
    assert!(store.use_once(b"challenge-2", 60).await.unwrap());

    let groups = Quota {
        name: "groups",
        limit: 3,
        window_secs: None,
    };
    assert!(store.take_quota("quota-alice", groups, 2).await.unwrap());
    assert!(
        !store.take_quota("quota-alice", groups, 2).await.unwrap(),
        "over the limit"
    );
    assert!(
        store.take_quota("quota-alice", groups, 1).await.unwrap(),
        "nothing counted when refused"
    );
    assert!(!store.take_quota("quota-alice", groups, 1).await.unwrap());
    assert!(store.take_quota("quota-bob", groups, 3).await.unwrap(), "per identity");
    let bytes = Quota {
        name: "bytes",
        limit: 10,
        window_secs: Some(1),
    };
    assert!(store.take_quota("quota-alice", bytes, 10).await.unwrap(), "per name");
    assert!(!store.take_quota("quota-alice", bytes, 1).await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert!(
        store.take_quota("quota-alice", bytes, 10).await.unwrap(),
        "a new window"
    );
}

fn member(joined: u64) -> Access {
    Access::Member { joined }
}

fn removed(joined: u64, removal: u64) -> Access {
    Access::RemovedAt { joined, removal }
}

async fn removal_positions(store: &dyn GroupLog) {
    let g = b"group-removal";
    let access = |who: &'static str| store.access(g, who);
    assert!(store.create_group(g, &leaf("alice"), OPTIONS).await.unwrap());
    let add = commit(0, "alice", "add", Some(roster(&["alice", "bob", "carol", "dave"])));
    assert_eq!(store.append(g, add, 100).await.unwrap(), AppendOutcome::Accepted(1));
    assert_eq!(
        access("alice").await.unwrap(),
        member(0),
        "the creator reads from the start"
    );
    assert_eq!(access("bob").await.unwrap(), member(1), "from the Commit that added it");
    assert_eq!(access("erin").await.unwrap(), Access::None, "never a member");
    assert_eq!(store.access(b"no-such-group", "bob").await.unwrap(), Access::None);
    assert_eq!(
        store.append(g, message(1, "bob", "m1"), 100).await.unwrap(),
        AppendOutcome::Accepted(2)
    );
    let remove = commit(1, "alice", "remove", Some(roster(&["alice", "dave"])));
    assert_eq!(store.append(g, remove, 100).await.unwrap(), AppendOutcome::Accepted(3));
    assert_eq!(access("bob").await.unwrap(), removed(1, 3));
    assert_eq!(access("carol").await.unwrap(), removed(1, 3));
    assert_eq!(access("dave").await.unwrap(), member(1), "kept");
    assert!(!store.is_member(g, "bob").await.unwrap());
    assert_eq!(
        store.append(g, message(2, "bob", "after"), 100).await.unwrap(),
        AppendOutcome::NotMember,
        "a removed member does not post"
    );
    // A losing Commit records nothing.
    let rival = commit(1, "alice", "remove-rival", Some(roster(&["alice"])));
    assert_eq!(
        store.append(g, rival, 100).await.unwrap(),
        AppendOutcome::EpochMovedOn { current: 2 }
    );
    assert_eq!(access("dave").await.unwrap(), member(1));

    // Added again: a member; removed again: the new removal counts. Dave
    // holds two leaves and stays a member while one is left.
    let readd = commit(2, "alice", "readd", Some(roster(&["alice", "bob", "dave", "dave"])));
    assert_eq!(store.append(g, readd, 100).await.unwrap(), AppendOutcome::Accepted(4));
    assert_eq!(access("bob").await.unwrap(), member(4), "reads from its new Commit on");
    assert_eq!(access("carol").await.unwrap(), removed(1, 3), "still out");
    let again = commit(3, "alice", "again", Some(roster(&["alice", "dave"])));
    assert_eq!(store.append(g, again, 100).await.unwrap(), AppendOutcome::Accepted(5));
    assert_eq!(access("bob").await.unwrap(), removed(4, 5));
    assert_eq!(
        access("dave").await.unwrap(),
        member(1),
        "one leaf left; a second leaf is no new join"
    );
    // A Commit that leaves nobody (the service never builds one, but the
    // store must not lose track).
    let last = commit(4, "alice", "last", Some(Roster::default()));
    assert_eq!(store.append(g, last, 100).await.unwrap(), AppendOutcome::Accepted(6));
    assert_eq!(access("alice").await.unwrap(), removed(0, 6));
    assert_eq!(access("dave").await.unwrap(), removed(1, 6));
    assert_eq!(access("bob").await.unwrap(), removed(4, 5));
    assert_eq!(
        store.group(g).await.unwrap().unwrap().roster.members(),
        Vec::<String>::new()
    );
}

async fn proposals_until_the_next_commit(store: &dyn GroupLog) {
    let g = b"group-proposals";
    assert!(store.create_group(g, &leaf("alice"), OPTIONS).await.unwrap());
    let proposal = |body: &str, epoch: u64, leaf: u32| Append {
        kind: AppendKind::Proposal {
            reference: body.as_bytes().to_vec(),
            effect: ProposalEffect::Remove(leaf),
        },
        ..message(epoch, "alice", body)
    };
    assert_eq!(
        store.append(g, proposal("p1", 0, 1), 100).await.unwrap(),
        AppendOutcome::Accepted(1)
    );
    assert_eq!(
        store.append(g, proposal("p2", 0, 2), 100).await.unwrap(),
        AppendOutcome::Accepted(2)
    );
    let mut pending = store.group(g).await.unwrap().unwrap().proposals;
    pending.sort();
    let expected = vec![
        (b"p1".to_vec(), ProposalEffect::Remove(1)),
        (b"p2".to_vec(), ProposalEffect::Remove(2)),
    ];
    assert_eq!(pending, expected, "remembered by reference");
    let c0 = commit(0, "alice", "c0", Some(roster(&["alice"])));
    assert_eq!(store.append(g, c0, 100).await.unwrap(), AppendOutcome::Accepted(3));
    assert!(
        store.group(g).await.unwrap().unwrap().proposals.is_empty(),
        "a Commit ends them"
    );
    assert_eq!(
        store.append(g, proposal("p-old", 0, 1), 100).await.unwrap(),
        AppendOutcome::Accepted(4)
    );
    assert!(
        store.group(g).await.unwrap().unwrap().proposals.is_empty(),
        "only the current epoch's"
    );
    for i in 0..MAX_PROPOSALS {
        let outcome = store
            .append(g, proposal(&format!("q{i}"), 1, 1), 100_000)
            .await
            .unwrap();
        assert!(matches!(outcome, AppendOutcome::Accepted(_)), "{outcome:?}");
    }
    assert_eq!(
        store.append(g, proposal("one-too-many", 1, 1), 100_000).await.unwrap(),
        AppendOutcome::TooManyProposals,
        "refused, not forgotten"
    );
    assert_eq!(store.group(g).await.unwrap().unwrap().proposals.len(), MAX_PROPOSALS);
    let c1 = commit(1, "alice", "c1", Some(roster(&["alice"])));
    assert!(matches!(
        store.append(g, c1, 100_000).await.unwrap(),
        AppendOutcome::Accepted(_)
    ));
    assert!(matches!(
        store.append(g, proposal("room-again", 2, 1), 100_000).await.unwrap(),
        AppendOutcome::Accepted(_)
    ));
}

async fn identities_and_key_packages(store: &dyn KeyDirectory) {
    assert_eq!(store.register("alice", b"k1").await.unwrap(), b"k1");
    assert_eq!(store.register("alice", b"k2").await.unwrap(), b"k1", "first key wins");
    assert_eq!(
        store.registered_key("alice").await.unwrap().as_deref(),
        Some(&b"k1"[..])
    );
    assert_eq!(store.registered_key("nobody").await.unwrap(), None);

    assert_eq!(store.claim_key_package("alice").await.unwrap(), None);
    let upload = |kps: &[&str], last: Option<&str>, replace: bool| KeyPackageUpload {
        key_packages: kps.iter().map(|k| k.as_bytes().to_vec()).collect(),
        last_resort: last.map(|l| l.as_bytes().to_vec()),
        replace,
    };
    let add = |u: KeyPackageUpload| store.add_key_packages("alice", u, 3);
    assert_eq!(add(upload(&["old1", "old2"], None, false)).await.unwrap(), Some(2));
    assert_eq!(
        add(upload(&["kp1", "kp2"], None, true)).await.unwrap(),
        Some(2),
        "replaced"
    );
    assert_eq!(
        add(upload(&["kp3", "kp4"], None, false)).await.unwrap(),
        None,
        "over the limit"
    );
    assert_eq!(add(upload(&[], Some("last"), false)).await.unwrap(), Some(2));
    let mut claimed = Vec::new();
    for _ in 0..4 {
        claimed.push(store.claim_key_package("alice").await.unwrap().unwrap());
    }
    let expected = [("kp1", false), ("kp2", false), ("last", true), ("last", true)];
    let expected: Vec<_> = expected.iter().map(|(k, l)| (k.as_bytes().to_vec(), *l)).collect();
    assert_eq!(claimed, expected, "each single-use package once, then the last resort");
}

async fn group_log_and_commits(store: &dyn GroupLog) {
    let g = b"group-1";
    let topic = Topic::Group(g.to_vec());
    assert!(store.create_group(g, &leaf("alice"), OPTIONS).await.unwrap());
    assert!(
        !store
            .create_group(
                g,
                &leaf("bob"),
                GroupOptions {
                    external_join: true,
                    ..OPTIONS
                }
            )
            .await
            .unwrap(),
        "exists"
    );
    let state = store.group(g).await.unwrap().unwrap();
    assert_eq!(
        (state.epoch, state.roster.members(), state.external_join),
        (0, vec!["alice".to_owned()], false)
    );
    assert_eq!((state.cipher_suite, state.proposals.len()), (2, 0));
    assert!(store.is_member(g, "alice").await.unwrap());
    assert!(!store.is_member(g, "bob").await.unwrap());
    assert_eq!(
        store.append(b"none", message(0, "alice", "x"), 100).await.unwrap(),
        AppendOutcome::NoGroup
    );
    assert_eq!(
        store.append(g, message(0, "bob", "x"), 100).await.unwrap(),
        AppendOutcome::NotMember
    );
    assert_eq!(
        store.append(g, message(0, "alice", "m1"), 100).await.unwrap(),
        AppendOutcome::Accepted(1)
    );
    assert_eq!(
        store.append(g, message(0, "alice", "m1"), 100).await.unwrap(),
        AppendOutcome::Duplicate(1)
    );
    assert_eq!(
        store.append(g, message(1, "alice", "early"), 100).await.unwrap(),
        AppendOutcome::FutureEpoch { current: 0 }
    );

    let roster = roster(&["alice", "bob"]);
    let c0 = commit(0, "alice", "c0", Some(roster.clone()));
    assert_eq!(
        store.append(g, c0.clone(), 100).await.unwrap(),
        AppendOutcome::Accepted(2)
    );
    assert_eq!(
        store.append(g, c0, 100).await.unwrap(),
        AppendOutcome::Duplicate(2),
        "a retry"
    );
    let stale = commit(1, "alice", "c1-from-a-stale-read", None);
    assert_eq!(
        store.append(g, stale, 100).await.unwrap(),
        AppendOutcome::Stale,
        "effects computed for epoch 0"
    );
    let rival = commit(0, "alice", "c0-rival", None);
    assert_eq!(
        store.append(g, rival, 100).await.unwrap(),
        AppendOutcome::EpochMovedOn { current: 1 }
    );
    let state = store.group(g).await.unwrap().unwrap();
    assert_eq!((state.epoch, &state.roster), (1, &roster));
    assert!(store.is_member(g, "bob").await.unwrap());
    assert_eq!(store.group_info(g).await.unwrap().as_deref(), Some(&b"info1"[..]));
    assert!(!store.set_group_info(g, 0, b"stale".to_vec()).await.unwrap());
    assert!(store.set_group_info(g, 1, b"fresh".to_vec()).await.unwrap());
    assert_eq!(store.group_info(g).await.unwrap().as_deref(), Some(&b"fresh"[..]));
    assert_eq!(
        store.append(g, message(0, "bob", "late"), 100).await.unwrap(),
        AppendOutcome::Accepted(3)
    );

    let expected: Vec<(u64, String)> = vec![(1, "m1".into()), (2, "c0".into()), (3, "late".into())];
    assert_eq!(entries(store, &topic, 0).await, expected);
    assert_eq!(entries(store, &topic, 2).await, expected[2..].to_vec());
    assert_eq!(entries(store, &topic, 3).await, vec![]);
    assert_eq!(entries(store, &Topic::Group(b"none".to_vec()), 0).await, vec![]);
    match store.read(&topic, 0, 2).await.unwrap() {
        Read::Entries(e) => assert_eq!((e.len(), e[1].kind), (2, EntryKind::Commit)),
        Read::Expired { .. } => panic!("expired"),
    }
}

async fn concurrent_commits_one_winner(store: Arc<dyn GroupLog>) {
    let g = b"group-race";
    assert!(store.create_group(g, &leaf("alice"), OPTIONS).await.unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let body = format!("commit-{i}");
                store
                    .append(g, commit(0, "alice", &body, Some(roster(&["alice"]))), 100)
                    .await
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap().unwrap());
    }
    let winners = outcomes
        .iter()
        .filter(|o| matches!(o, AppendOutcome::Accepted(_)))
        .count();
    let losers = outcomes
        .iter()
        .filter(|o| **o == AppendOutcome::EpochMovedOn { current: 1 })
        .count();
    assert_eq!((winners, losers), (1, 7), "exactly one Commit per epoch: {outcomes:?}");
}

async fn retention_and_mailbox(store: &dyn GroupLog) {
    let g = b"group-retention";
    assert!(store.create_group(g, &leaf("alice"), OPTIONS).await.unwrap());
    for i in 0..50 {
        let outcome = store.append(g, message(0, "alice", &format!("m{i}")), 5).await.unwrap();
        assert_eq!(outcome, AppendOutcome::Accepted(i + 1));
    }
    let topic = Topic::Group(g.to_vec());
    // Redis trims approximately: at least the last 5 stay, early ones go.
    let tail = entries(store, &topic, 45).await;
    assert_eq!(tail.iter().map(|e| e.0).collect::<Vec<_>>(), vec![46, 47, 48, 49, 50]);
    match store.read(&topic, 0, 10).await.unwrap() {
        Read::Expired { oldest } => assert!(oldest > 1 && oldest <= 46, "oldest {oldest}"),
        Read::Entries(e) => assert!(e.is_empty() || e[0].position == 1, "no gap may be hidden"),
    }

    let topic = Topic::Mailbox("bob".into());
    assert_eq!(store.deliver("bob", b"w1".to_vec(), 100).await.unwrap(), 1);
    assert_eq!(store.deliver("bob", b"w2".to_vec(), 100).await.unwrap(), 2);
    assert_eq!(
        entries(store, &topic, 0).await,
        vec![(1, "w1".into()), (2, "w2".into())]
    );
    assert_eq!(entries(store, &Topic::Mailbox("carol".into()), 0).await, vec![]);
}

async fn the_feed_carries_every_accepted_entry(store: &dyn Store) {
    let g = b"group-feed";
    let mut feed = store.feed();
    assert!(store.create_group(g, &leaf("alice"), OPTIONS).await.unwrap());
    let appended = [
        store.append(g, message(0, "alice", "f1"), 100).await.unwrap(),
        store.append(g, message(0, "bob", "refused"), 100).await.unwrap(),
        store
            .append(g, commit(0, "alice", "f2", Some(roster(&["alice"]))), 100)
            .await
            .unwrap(),
    ];
    let expected = [
        AppendOutcome::Accepted(1),
        AppendOutcome::NotMember,
        AppendOutcome::Accepted(2),
    ];
    assert_eq!(appended, expected);
    assert_eq!(store.deliver("feed-bob", b"w1".to_vec(), 100).await.unwrap(), 1);

    // Possibly after a Resync; in order within each topic (a cluster may
    // forward two topics' entries in either order).
    let (group, mailbox) = (Topic::Group(g.to_vec()), Topic::Mailbox("feed-bob".into()));
    let (mut in_group, mut in_mailbox) = (Vec::new(), Vec::new());
    while in_group.len() < 2 || in_mailbox.is_empty() {
        let event = tokio::time::timeout(std::time::Duration::from_secs(5), feed.recv())
            .await
            .expect("feed event in time")
            .expect("feed open");
        let FeedEvent::Entry(e) = event else { continue };
        let seen = (e.position, e.kind, String::from_utf8_lossy(&e.payload).into_owned());
        if e.topic == group {
            in_group.push(seen);
        } else if e.topic == mailbox {
            in_mailbox.push(seen);
        }
    }
    let expected = [(1, EntryKind::Plain, "f1".into()), (2, EntryKind::Commit, "f2".into())];
    assert_eq!(in_group, expected, "accepted entries only, Commits marked");
    assert_eq!(in_mailbox, [(1, EntryKind::Plain, "w1".into())]);
}

async fn external_commits(store: &dyn GroupLog) {
    let g = b"group-external";
    assert!(store.create_group(g, &leaf("alice"), OPTIONS).await.unwrap());
    let external = |epoch: u64, joiner: &str, members: &[&str]| Append {
        kind: AppendKind::ExternalCommit(effects(epoch, roster(members))),
        ..message(epoch, joiner, &format!("join-{joiner}-{epoch}"))
    };
    let by_outsider = commit(0, "erin", "outsider", Some(roster(&["alice", "erin"])));
    assert_eq!(
        store.append(g, by_outsider, 100).await.unwrap(),
        AppendOutcome::NotMember,
        "only a joiner's Commit comes from a non-member"
    );
    let join = external(0, "erin", &["alice", "erin"]);
    assert_eq!(store.append(g, join, 100).await.unwrap(), AppendOutcome::Accepted(1));
    assert_eq!(store.access(g, "erin").await.unwrap(), member(1));
    assert_eq!(store.group_info(g).await.unwrap().as_deref(), Some(&b"info1"[..]));
    let late = external(0, "frank", &["alice", "frank"]);
    assert_eq!(
        store.append(g, late, 100).await.unwrap(),
        AppendOutcome::EpochMovedOn { current: 1 },
        "one Commit per epoch, external or not"
    );
    assert!(!store.is_member(g, "frank").await.unwrap());
}
