//! e2ee-core and [mls-rs](https://crates.io/crates/mls-rs) in the same
//! groups. Members of both implementations add and remove each other, join
//! from each other's Welcomes, commit updates and exchange application
//! messages over several epochs; after every Commit all members must agree
//! on the epoch, the epoch authenticator and an exported secret.
//!
//! Every message crosses between the implementations as its wire encoding,
//! as it would over a network. Each scenario runs for cipher suites 1 to 7
//! (mls-rs on its RustCrypto provider for 1 to 3, on its OpenSSL provider,
//! the one with the others, for 4 to 7), with handshake messages sent as
//! PublicMessage and as PrivateMessage.

use e2ee_core::codec::{decode_exact, encode};
use e2ee_core::crypto::{CipherSuite, CryptoProvider, KeyPair, RustCryptoProvider, os_rng};
use e2ee_core::group::{CommitParams, Environment, Group, GroupConfig, JoinKeys, OwnLeaf, ProcessedMessage};
use e2ee_core::key_package::{KeyPackageParams, NewKeyPackage, create_key_package, default_capabilities};
use e2ee_core::messages::{Credential, Lifetime, MlsMessage, MlsMessageBody, ProtocolVersion, WireFormat};
use e2ee_core::tree_math::LeafIndex;
use mls_rs::client_builder::MlsConfig;
use mls_rs::group::{CommitEffect, ReceivedMessage};

const SUITES: [u16; 7] = [1, 2, 3, 4, 5, 6, 7];
const FOREVER: Lifetime = Lifetime {
    not_before: 0,
    not_after: u64::MAX,
};
const LABEL: &[u8] = b"interop";

#[path = "../common/mls_rs_client.rs"]
mod mls_rs_client;
use mls_rs_client::{rs_client, rs_openssl_client};

/// An e2ee-core member: its identity and, once joined, its group state.
struct EMember {
    name: String,
    signer: KeyPair,
    key_package: Option<NewKeyPackage>,
    group: Option<Group>,
}

/// An mls-rs member.
struct RMember<C: MlsConfig> {
    name: String,
    client: mls_rs::Client<C>,
    group: Option<mls_rs::Group<C>>,
}

/// A member of either implementation, by index into its list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    E(usize),
    R(usize),
}

use Who::{E, R};

/// A change one member commits.
enum Change {
    /// Add a fresh member.
    Add(Who),
    /// Remove a member.
    Remove(Who),
    /// An empty Commit with an UpdatePath.
    Update,
    /// The proposals sent (by reference) in this epoch.
    Pending,
}

/// A proposal one member sends, for another to commit by reference.
enum Propose {
    /// Its own leaf, with a fresh encryption key.
    Update,
    /// Remove a member.
    Remove(Who),
}

/// All members of one test: e2ee-core's and mls-rs's.
struct World<'a, C: MlsConfig> {
    env: Environment<'a>,
    wire_format: WireFormat,
    e: Vec<EMember>,
    r: Vec<RMember<C>>,
    /// Epochs checked so far.
    epochs: u64,
    /// Members removed by proposals of this epoch.
    proposed_removals: Vec<Who>,
}

impl<'a, C: MlsConfig> World<'a, C> {
    fn e_group(&mut self, i: usize) -> &mut Group {
        self.e[i]
            .group
            .as_mut()
            .unwrap_or_else(|| panic!("e{i} is not a member"))
    }

    fn r_group(&mut self, i: usize) -> &mut mls_rs::Group<C> {
        self.r[i]
            .group
            .as_mut()
            .unwrap_or_else(|| panic!("r{i} is not a member"))
    }

    fn members(&self) -> Vec<Who> {
        let e = (0..self.e.len()).filter(|&i| self.e[i].group.is_some()).map(E);
        let r = (0..self.r.len()).filter(|&i| self.r[i].group.is_some()).map(R);
        e.chain(r).collect()
    }

    fn name(&self, who: Who) -> &str {
        match who {
            E(i) => &self.e[i].name,
            R(i) => &self.r[i].name,
        }
    }

    fn leaf(&self, who: Who) -> u32 {
        match who {
            E(i) => self.e[i].group.as_ref().unwrap().own_leaf().0,
            R(i) => self.r[i].group.as_ref().unwrap().current_member_index(),
        }
    }

    /// `who`'s own-leaf for creating a group or KeyPackage.
    fn own_leaf(&self, i: usize) -> OwnLeaf {
        OwnLeaf {
            credential: Credential::Basic(self.e[i].name.as_bytes().into()),
            signature_public_key: self.e[i].signer.public.clone(),
            capabilities: default_capabilities(self.env.cs.cipher_suite()),
            extensions: Vec::new(),
            lifetime: FOREVER,
        }
    }

    /// A fresh KeyPackage of a non-member, as an MLSMessage's bytes.
    fn key_package(&mut self, who: Who) -> Vec<u8> {
        match who {
            E(i) => {
                let own = self.own_leaf(i);
                let params = KeyPackageParams {
                    credential: own.credential,
                    signature_public_key: own.signature_public_key,
                    capabilities: own.capabilities,
                    lifetime: FOREVER,
                    leaf_extensions: Vec::new(),
                    extensions: Vec::new(),
                };
                let kp = create_key_package(self.env.cs, params, self.e[i].signer.private.as_bytes(), &mut os_rng())
                    .unwrap();
                let message = MlsMessage {
                    version: ProtocolVersion::MLS10,
                    body: MlsMessageBody::KeyPackage(kp.key_package.clone()),
                };
                self.e[i].key_package = Some(kp);
                encode(&message).unwrap()
            }
            R(i) => self.r[i]
                .client
                .generate_key_package_message(Default::default(), Default::default(), None)
                .unwrap()
                .to_bytes()
                .unwrap(),
        }
    }

    /// `who` joins from the Welcome's bytes.
    fn join(&mut self, who: Who, welcome: &[u8]) {
        match who {
            E(i) => {
                let message: MlsMessage = decode_exact(welcome).unwrap();
                let MlsMessageBody::Welcome(welcome) = &message.body else {
                    panic!("not a Welcome");
                };
                let kp = self.e[i].key_package.take().unwrap();
                let keys = JoinKeys {
                    key_package: &kp.key_package,
                    init_private_key: kp.init_private_key.as_bytes(),
                    encryption_private_key: kp.encryption_private_key.clone(),
                    signature_private_key: self.e[i].signer.private.clone(),
                };
                let group = Group::join(&self.env, welcome, keys, None, GroupConfig::default())
                    .unwrap_or_else(|e| panic!("{} cannot join from the Welcome: {e:?}", self.e[i].name));
                self.e[i].group = Some(group);
            }
            R(i) => {
                let welcome = mls_rs::MlsMessage::from_bytes(welcome).unwrap();
                let (group, _) = self.r[i]
                    .client
                    .join_group(None, &welcome, None)
                    .unwrap_or_else(|e| panic!("{} cannot join from the Welcome: {e:?}", self.r[i].name));
                self.r[i].group = Some(group);
            }
        }
    }

    /// `who` creates the group alone.
    fn create(&mut self, who: Who) {
        match who {
            E(i) => {
                let own = self.own_leaf(i);
                let key = self.e[i].signer.private.clone();
                let group = Group::create(
                    &self.env,
                    b"interop group".to_vec(),
                    own,
                    key,
                    Vec::new(),
                    GroupConfig::default(),
                    &mut os_rng(),
                )
                .unwrap();
                self.e[i].group = Some(group);
            }
            R(i) => {
                let group = self.r[i]
                    .client
                    .create_group(Default::default(), Default::default(), None)
                    .unwrap();
                self.r[i].group = Some(group);
            }
        }
        self.check();
    }

    /// `committer` commits `change`; every other member processes the
    /// Commit, the committer merges it, and an added member joins from the
    /// Welcome. Then all members must agree.
    fn commit(&mut self, committer: Who, change: Change) {
        let step = format!("{} commits {}", self.name(committer), self.describe(&change));
        let others: Vec<Who> = self.members().into_iter().filter(|&w| w != committer).collect();
        let kp = match change {
            Change::Add(who) => Some(self.key_package(who)),
            _ => None,
        };
        let (commit, welcome) = match committer {
            E(i) => {
                let mut params = CommitParams {
                    wire_format: self.wire_format,
                    ..CommitParams::default()
                };
                match change {
                    Change::Add(_) => {
                        let message: MlsMessage = decode_exact(kp.as_ref().unwrap()).unwrap();
                        let MlsMessageBody::KeyPackage(kp) = message.body else {
                            panic!("not a KeyPackage");
                        };
                        params.proposals.push(Group::add_proposal(kp));
                    }
                    Change::Remove(who) => {
                        params.proposals.push(Group::remove_proposal(LeafIndex(self.leaf(who))));
                    }
                    Change::Update => params.force_path = true,
                    Change::Pending => {}
                }
                let env = self.env;
                let group = self.e_group(i);
                let out = group.commit(&env, params, &mut os_rng()).unwrap();
                assert_eq!(out.commit.body.wire_format(), self.wire_format, "{step}");
                (encode(&out.commit).unwrap(), out.welcome.map(|w| encode(&w).unwrap()))
            }
            R(i) => {
                let removed = match change {
                    Change::Remove(who) => Some(self.leaf(who)),
                    _ => None,
                };
                let group = self.r_group(i);
                let mut builder = group.commit_builder();
                if let Some(kp) = &kp {
                    builder = builder.add_member(mls_rs::MlsMessage::from_bytes(kp).unwrap()).unwrap();
                }
                if let Some(leaf) = removed {
                    builder = builder.remove_member(leaf).unwrap();
                }
                let out = builder.build().unwrap_or_else(|e| panic!("{step}: mls-rs: {e:?}"));
                let welcome = out.welcome_messages.first().map(|w| w.to_bytes().unwrap());
                let commit = out.commit_message.to_bytes().unwrap();
                let sent: MlsMessage = decode_exact(&commit).unwrap();
                assert_eq!(sent.body.wire_format(), self.wire_format, "{step}");
                (commit, welcome)
            }
        };
        let expected_epoch = self.epochs + 1;
        let committer_leaf = self.leaf(committer);
        let removals = std::mem::take(&mut self.proposed_removals);
        for who in others {
            let removed = matches!(change, Change::Remove(w) if w == who) || removals.contains(&who);
            match who {
                E(i) => {
                    let env = self.env;
                    let message = decode_exact(&commit).unwrap();
                    match self.e_group(i).process(&env, &message) {
                        Ok(ProcessedMessage::Commit(summary)) => {
                            assert_eq!(summary.epoch, expected_epoch, "{step}");
                            assert_eq!(summary.self_removed, removed, "{step}");
                            if matches!(change, Change::Update) {
                                assert!(summary.updated.contains(&LeafIndex(committer_leaf)), "{step}: no path");
                            }
                        }
                        other => panic!("{step}: e2ee-core member {i} got {other:?}"),
                    }
                    if removed {
                        self.e[i].group = None;
                    }
                }
                R(i) => {
                    let message = mls_rs::MlsMessage::from_bytes(&commit).unwrap();
                    match self.r_group(i).process_incoming_message(message) {
                        Ok(ReceivedMessage::Commit(description)) => {
                            let is_removed = matches!(description.effect, CommitEffect::Removed { .. });
                            assert_eq!(is_removed, removed, "{step}");
                        }
                        other => panic!("{step}: mls-rs member {i} got {other:?}"),
                    }
                    if removed {
                        self.r[i].group = None;
                    }
                }
            }
        }
        match committer {
            E(i) => {
                self.e_group(i).merge_pending_commit().unwrap();
            }
            R(i) => {
                self.r_group(i).apply_pending_commit().unwrap();
            }
        }
        match change {
            Change::Add(who) => self.join(who, &welcome.expect("a Welcome")),
            _ => assert!(welcome.is_none(), "{step}: a Welcome without Adds"),
        }
        self.epochs += 1;
        self.check();
    }

    fn describe(&self, change: &Change) -> String {
        match *change {
            Change::Add(who) => format!("an Add of {}", self.name(who)),
            Change::Remove(who) => format!("a Remove of {}", self.name(who)),
            Change::Update => "an update".into(),
            Change::Pending => "the proposals by reference".into(),
        }
    }

    /// `proposer` sends `proposal` to every other member, for a later
    /// Commit that includes it by reference.
    fn propose(&mut self, proposer: Who, proposal: Propose) {
        let target = match proposal {
            Propose::Remove(who) => {
                self.proposed_removals.push(who);
                Some(self.leaf(who))
            }
            Propose::Update => None,
        };
        let bytes = match proposer {
            E(i) => {
                let env = self.env;
                let wire_format = self.wire_format;
                let group = self.e_group(i);
                let proposal = match target {
                    Some(leaf) => Group::remove_proposal(LeafIndex(leaf)),
                    None => group.update_proposal(&env, &mut os_rng()).unwrap(),
                };
                let (message, _) = group.propose(&env, proposal, wire_format, &mut os_rng()).unwrap();
                encode(&message).unwrap()
            }
            R(i) => {
                let group = self.r_group(i);
                let message = match target {
                    Some(leaf) => group.propose_remove(leaf, Vec::new()),
                    None => group.propose_update(Vec::new()),
                };
                message.unwrap().to_bytes().unwrap()
            }
        };
        let sent: MlsMessage = decode_exact(&bytes).unwrap();
        assert_eq!(sent.body.wire_format(), self.wire_format);
        for w in self.members().into_iter().filter(|&w| w != proposer) {
            match w {
                E(i) => {
                    let env = self.env;
                    let m = decode_exact(&bytes).unwrap();
                    let got = self.e_group(i).process(&env, &m);
                    assert!(matches!(got, Ok(ProcessedMessage::Proposal { .. })), "{got:?}");
                }
                R(i) => {
                    let m = mls_rs::MlsMessage::from_bytes(&bytes).unwrap();
                    let got = self.r_group(i).process_incoming_message(m);
                    assert!(matches!(got, Ok(ReceivedMessage::Proposal(_))), "{got:?}");
                }
            }
        }
    }

    /// All members are in the same epoch and agree on its authenticator and
    /// an exported secret.
    fn check(&self) {
        let mut seen: Vec<(String, u64, Vec<u8>, Vec<u8>)> = Vec::new();
        for w in self.members() {
            let view = match w {
                E(i) => {
                    let g = self.e[i].group.as_ref().unwrap();
                    (
                        g.epoch(),
                        g.epoch_authenticator().unwrap().to_vec(),
                        g.export_secret(self.env.cs, LABEL, b"ctx", 32)
                            .unwrap()
                            .as_bytes()
                            .to_vec(),
                    )
                }
                R(i) => {
                    let g = self.r[i].group.as_ref().unwrap();
                    (
                        g.current_epoch(),
                        g.epoch_authenticator().unwrap().as_bytes().to_vec(),
                        g.export_secret(LABEL, b"ctx", 32).unwrap().as_bytes().to_vec(),
                    )
                }
            };
            seen.push((self.name(w).to_owned(), view.0, view.1, view.2));
        }
        assert!(!seen.is_empty());
        let (first, epoch, authenticator, exported) = &seen[0];
        assert_eq!(*epoch, self.epochs, "epoch of {first}");
        for (name, e, a, x) in &seen[1..] {
            assert_eq!(e, epoch, "epoch of {name} and {first}");
            assert_eq!(
                a, authenticator,
                "epoch authenticator of {name} and {first} in epoch {epoch}"
            );
            assert_eq!(x, exported, "exported secret of {name} and {first} in epoch {epoch}");
        }
    }

    /// `sender` encrypts an application message; every other member
    /// decrypts it.
    fn chat(&mut self, sender: Who) {
        let text = format!("{} says hello in epoch {}", self.name(sender), self.epochs).into_bytes();
        let aad = b"aad".to_vec();
        let sender_leaf = self.leaf(sender);
        let bytes = match sender {
            E(i) => {
                let env = self.env;
                let m = self.e_group(i).seal(&env, &text, &aad, 3, &mut os_rng()).unwrap();
                encode(&m).unwrap()
            }
            R(i) => self
                .r_group(i)
                .encrypt_application_message(&text, aad.clone())
                .unwrap()
                .to_bytes()
                .unwrap(),
        };
        for w in self.members().into_iter().filter(|&w| w != sender) {
            match w {
                E(i) => {
                    let env = self.env;
                    let m = decode_exact(&bytes).unwrap();
                    let got = self.e_group(i).process(&env, &m).unwrap();
                    let expected = ProcessedMessage::Application {
                        sender: LeafIndex(sender_leaf),
                        data: text.clone(),
                        authenticated_data: aad.clone(),
                    };
                    assert_eq!(got, expected);
                }
                R(i) => {
                    let m = mls_rs::MlsMessage::from_bytes(&bytes).unwrap();
                    match self.r_group(i).process_incoming_message(m).unwrap() {
                        ReceivedMessage::ApplicationMessage(app) => {
                            assert_eq!(app.data(), text.as_slice());
                            assert_eq!(app.sender_index, sender_leaf);
                            assert_eq!(app.authenticated_data, aad);
                        }
                        other => panic!("expected an application message, got {other:?}"),
                    }
                }
            }
        }
    }

    /// Every member sends one application message to all others.
    fn chat_all(&mut self) {
        for w in self.members() {
            self.chat(w);
        }
    }
}

/// Every cipher suite with each handshake wire format.
fn cases() -> impl Iterator<Item = (u16, WireFormat)> {
    SUITES
        .into_iter()
        .flat_map(|s| [(s, WireFormat::PUBLIC_MESSAGE), (s, WireFormat::PRIVATE_MESSAGE)])
}

/// Runs `$scenario` (generic over the mls-rs configuration) in every case.
macro_rules! in_every_case {
    ($scenario:ident) => {
        for (suite, wire_format) in cases() {
            if suite <= 3 {
                $scenario(&mut world(suite, wire_format, rs_client));
            } else {
                $scenario(&mut world(suite, wire_format, rs_openssl_client));
            }
        }
    };
}

/// Three e2ee-core and three mls-rs clients (made by `rs_client`), none in
/// a group yet.
fn world<C: MlsConfig>(
    suite: u16,
    wire_format: WireFormat,
    rs_client: fn(&str, u16, bool) -> mls_rs::Client<C>,
) -> World<'static, C> {
    let cs = RustCryptoProvider.cipher_suite(CipherSuite(suite)).unwrap();
    let private = wire_format == WireFormat::PRIVATE_MESSAGE;
    let e = (0..3)
        .map(|i| EMember {
            name: format!("e2ee-{i}"),
            signer: cs.signature_key_generate(&mut os_rng()),
            key_package: None,
            group: None,
        })
        .collect();
    let r = (0..3)
        .map(|i| {
            let name = format!("mls-rs-{i}");
            RMember {
                client: rs_client(&name, suite, private),
                name,
                group: None,
            }
        })
        .collect();
    World {
        env: Environment::basic(cs),
        wire_format,
        e,
        r,
        epochs: 0,
        proposed_removals: Vec::new(),
    }
}

/// mls-rs creates the group and adds an e2ee-core member, who then adds an
/// mls-rs member; both sides update, add and remove, by value and by
/// reference.
#[test]
fn mls_rs_creates_the_group() {
    in_every_case!(mls_rs_creates_the_group_in);
}

fn mls_rs_creates_the_group_in<C: MlsConfig>(w: &mut World<'_, C>) {
    w.create(R(0));
    w.commit(R(0), Change::Add(E(0)));
    w.chat_all();
    w.commit(E(0), Change::Add(R(1)));
    w.chat_all();
    w.commit(R(0), Change::Update);
    w.chat_all();
    w.commit(E(0), Change::Update);
    w.chat_all();
    w.commit(R(1), Change::Add(E(1)));
    w.commit(E(1), Change::Add(R(2)));
    w.chat_all();
    w.commit(E(1), Change::Remove(R(0)));
    w.chat_all();
    w.commit(R(2), Change::Remove(E(0)));
    w.chat_all();
    w.commit(R(1), Change::Update);
    w.commit(E(1), Change::Update);
    w.chat_all();
    w.propose(R(1), Propose::Update);
    w.commit(E(1), Change::Pending);
    w.propose(E(1), Propose::Update);
    w.commit(R(2), Change::Pending);
    w.chat_all();
    w.propose(E(1), Propose::Remove(R(2)));
    w.commit(R(1), Change::Pending);
    w.chat_all();
    assert_eq!(w.epochs, 13);
}

/// e2ee-core creates the group and adds an mls-rs member, who then adds an
/// e2ee-core member; both sides update, add and remove, by value and by
/// reference.
#[test]
fn e2ee_creates_the_group() {
    in_every_case!(e2ee_creates_the_group_in);
}

fn e2ee_creates_the_group_in<C: MlsConfig>(w: &mut World<'_, C>) {
    w.create(E(0));
    w.commit(E(0), Change::Add(R(0)));
    w.chat_all();
    w.commit(R(0), Change::Add(E(1)));
    w.chat_all();
    w.commit(E(1), Change::Update);
    w.chat_all();
    w.commit(R(0), Change::Update);
    w.chat_all();
    w.commit(E(0), Change::Add(R(1)));
    w.commit(R(1), Change::Add(E(2)));
    w.chat_all();
    w.commit(R(1), Change::Remove(E(0)));
    w.chat_all();
    w.commit(E(2), Change::Remove(R(0)));
    w.chat_all();
    w.commit(E(1), Change::Update);
    w.commit(R(1), Change::Update);
    w.chat_all();
    w.propose(E(1), Propose::Update);
    w.commit(R(1), Change::Pending);
    w.propose(R(1), Propose::Update);
    w.commit(E(2), Change::Pending);
    w.chat_all();
    w.propose(R(1), Propose::Remove(E(1)));
    w.commit(E(2), Change::Pending);
    w.chat_all();
    assert_eq!(w.epochs, 13);
}

/// An e2ee-core member whose credential is 20,000 bytes long: the
/// GroupInfos and Commits (with its leaf in the UpdatePath) that it signs
/// are long messages. mls-rs must accept them, and e2ee-core the ones
/// mls-rs signs over the same large tree.
#[test]
fn mls_rs_accepts_large_signed_messages() {
    in_every_case!(mls_rs_accepts_large_signed_messages_in);
}

fn mls_rs_accepts_large_signed_messages_in<C: MlsConfig>(w: &mut World<'_, C>) {
    w.e[0].name = format!("e2ee-0-{}", "x".repeat(20_000));
    w.create(E(0));
    w.commit(E(0), Change::Add(R(0)));
    w.chat_all();
    w.commit(E(0), Change::Update);
    w.commit(R(0), Change::Add(E(1)));
    w.chat_all();
    w.commit(E(0), Change::Add(R(1)));
    w.commit(E(0), Change::Remove(E(1)));
    w.chat_all();
    assert_eq!(w.epochs, 5);
}
