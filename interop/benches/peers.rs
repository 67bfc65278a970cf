//! e2ee-core against mls-rs and OpenMLS on the same machine, in the same
//! process: the project's latency goals at 10,000 members are relative to
//! OpenMLS's and mls-rs's times, and a machine's speed varies by tens of
//! percent from day to day. Here each
//! operation of the three libraries runs in turn, so all see the same
//! load, and the medians are printed side by side (`PEER` lines).
//!
//! All use both cores: mls-rs with its default `rayon` feature, OpenMLS
//! with its rayon, e2ee-core with `parallel`. Cipher suite 1, basic
//! credentials, each peer with its RustCrypto provider (the primitives
//! e2ee-core uses too). OpenMLS adds without an UpdatePath
//! (`add_members_without_update`), as the other two do by default.
//!
//! The fixture is the same shape as e2ee-core's group bench: a creator adds
//! everyone in one Commit (every parent node blank), so a Commit with a path
//! (a removal) encrypts to about N − 1 leaf keys. Per size:
//!
//! - a Commit adding one member, with its Welcome (ratchet tree inside),
//!   not merged;
//! - joining by such a Welcome (fresh joiners, added in one Commit);
//! - a Commit removing one member, not merged.
//!
//! `cargo bench -p interop --features parallel --bench peers`; sizes with
//! `E2EE_PEER_SIZES` (default 1000,10000), runs per operation with
//! `E2EE_PEER_RUNS` (5). Without the feature e2ee-core runs on one core.

use std::hint::black_box;
use std::time::Instant;

use e2ee_core::client::{Client, Group};
use mls_rs::MlsMessage;
use mls_rs::client_builder::MlsConfig;
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::{
    BasicCredential, Ciphersuite, CredentialWithKey, KeyPackage, LeafNodeIndex, MlsGroup, MlsGroupCreateConfig,
    MlsGroupJoinConfig, MlsMessageBodyIn, MlsMessageIn, OpenMlsProvider as _, StagedWelcome, Welcome,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;

const SUITE: u16 = 1;

#[path = "../common/mls_rs_client.rs"]
mod mls_rs_client;
use mls_rs_client::rs_client;

fn rs_key_package<C: MlsConfig>(client: &mls_rs::Client<C>) -> MlsMessage {
    client
        .generate_key_package_message(Default::default(), Default::default(), None)
        .unwrap()
}

/// `creator` adds the owners of `key_packages` in one Commit and merges
/// it; the Welcome.
fn rs_add<C: MlsConfig>(creator: &mut mls_rs::Group<C>, key_packages: impl Iterator<Item = MlsMessage>) -> MlsMessage {
    let builder = key_packages.fold(creator.commit_builder(), |b, kp| b.add_member(kp).unwrap());
    let welcome = builder.build().unwrap().welcome_messages.remove(0);
    creator.apply_pending_commit().unwrap();
    welcome
}

/// One library's group of `size` members, as its creator holds it, and
/// `joiners` clients added afterwards in one Commit, whose Welcome each of
/// them can join from once.
trait Fixture {
    /// A Commit adding one fresh member, with its Welcome; not merged.
    fn add_commit(&mut self);
    /// Joiner `i` joins from the joiners' Welcome.
    fn join(&mut self, i: usize);
    /// A Commit removing leaf 1; not merged.
    fn remove_commit(&mut self);
}

struct E2ee {
    creator: Group,
    fresh: Vec<u8>,
    joiners: Vec<Client>,
    welcome: Vec<u8>,
}

impl E2ee {
    fn new(size: usize, joiners: usize) -> Self {
        let key_package = |i: usize| {
            Client::new(SUITE, format!("m{i}").as_bytes())
                .unwrap()
                .key_package()
                .unwrap()
        };
        let creator_client = Client::new(SUITE, b"creator").unwrap();
        let mut creator = creator_client.create_group().unwrap();
        let members: Vec<Vec<u8>> = (1..size).map(key_package).collect();
        creator.add(&members).unwrap();
        creator.merge_commit().unwrap();
        let mut joining: Vec<Client> = (0..joiners)
            .map(|i| Client::new(SUITE, format!("j{i}").as_bytes()).unwrap())
            .collect();
        let kps: Vec<Vec<u8>> = joining.iter_mut().map(|c| c.key_package().unwrap()).collect();
        let welcome = creator.add(&kps).unwrap().welcome.unwrap();
        creator.merge_commit().unwrap();
        Self {
            creator,
            fresh: key_package(size),
            joiners: joining,
            welcome,
        }
    }
}

impl Fixture for E2ee {
    fn add_commit(&mut self) {
        black_box(self.creator.add(std::slice::from_ref(&self.fresh)).unwrap());
        self.creator.discard_commit();
    }

    fn join(&mut self, i: usize) {
        black_box(self.joiners[i].join(&self.welcome).unwrap());
    }

    fn remove_commit(&mut self) {
        black_box(self.creator.remove(&[1]).unwrap());
        self.creator.discard_commit();
    }
}

struct MlsRs<C: MlsConfig> {
    creator: mls_rs::Group<C>,
    fresh: MlsMessage,
    joiners: Vec<mls_rs::Client<C>>,
    welcome: MlsMessage,
}

fn mls_rs_fixture(size: usize, joiners: usize) -> MlsRs<impl MlsConfig> {
    let mut creator =
        (rs_client("creator", SUITE, false).create_group(Default::default(), Default::default(), None)).unwrap();
    let members = (1..size).map(|i| rs_key_package(&rs_client(&format!("m{i}"), SUITE, false)));
    rs_add(&mut creator, members);
    let joining: Vec<_> = (0..joiners)
        .map(|i| rs_client(&format!("j{i}"), SUITE, false))
        .collect();
    let welcome = rs_add(&mut creator, joining.iter().map(rs_key_package));
    MlsRs {
        creator,
        fresh: rs_key_package(&rs_client("fresh", SUITE, false)),
        joiners: joining,
        welcome,
    }
}

impl<C: MlsConfig> Fixture for MlsRs<C> {
    fn add_commit(&mut self) {
        let builder = self.creator.commit_builder().add_member(self.fresh.clone()).unwrap();
        black_box(builder.build().unwrap());
        self.creator.clear_pending_commit();
    }

    fn join(&mut self, i: usize) {
        black_box(self.joiners[i].join_group(None, &self.welcome, None).unwrap());
    }

    fn remove_commit(&mut self) {
        black_box(self.creator.commit_builder().remove_member(1).unwrap().build().unwrap());
        self.creator.clear_pending_commit();
    }
}

/// An OpenMLS member's provider (its key store), signer and credential.
struct OpenMlsMember {
    provider: OpenMlsRustCrypto,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
}

const OPENMLS_SUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMX25519_AES128GCM_SHA256_Ed25519;

impl OpenMlsMember {
    fn new(name: &str) -> Self {
        let signer = SignatureKeyPair::new(OPENMLS_SUITE.signature_algorithm()).unwrap();
        let credential = CredentialWithKey {
            credential: BasicCredential::new(name.as_bytes().to_vec()).into(),
            signature_key: signer.public().into(),
        };
        Self {
            provider: OpenMlsRustCrypto::default(),
            signer,
            credential,
        }
    }

    fn key_package(&self) -> KeyPackage {
        let bundle = KeyPackage::builder().build(OPENMLS_SUITE, &self.provider, &self.signer, self.credential.clone());
        bundle.unwrap().key_package().clone()
    }
}

struct OpenMls {
    creator: OpenMlsMember,
    group: MlsGroup,
    fresh: KeyPackage,
    joiners: Vec<OpenMlsMember>,
    welcome: Welcome,
}

impl OpenMls {
    fn new(size: usize, joiners: usize) -> Self {
        let creator = OpenMlsMember::new("creator");
        let config = (MlsGroupCreateConfig::builder())
            .ciphersuite(OPENMLS_SUITE)
            .use_ratchet_tree_extension(true)
            .build();
        let mut group = MlsGroup::new(&creator.provider, &creator.signer, &config, creator.credential.clone()).unwrap();
        let members: Vec<KeyPackage> = (1..size)
            .map(|i| OpenMlsMember::new(&format!("m{i}")).key_package())
            .collect();
        group
            .add_members_without_update(&creator.provider, &creator.signer, &members)
            .unwrap();
        group.merge_pending_commit(&creator.provider).unwrap();
        let joining: Vec<OpenMlsMember> = (0..joiners).map(|i| OpenMlsMember::new(&format!("j{i}"))).collect();
        let kps: Vec<KeyPackage> = joining.iter().map(OpenMlsMember::key_package).collect();
        let (_, welcome, _) = group
            .add_members_without_update(&creator.provider, &creator.signer, &kps)
            .unwrap();
        group.merge_pending_commit(&creator.provider).unwrap();
        // As a joiner receives it: from the wire.
        let bytes = welcome.tls_serialize_detached().unwrap();
        let MlsMessageBodyIn::Welcome(welcome) = MlsMessageIn::tls_deserialize_exact(bytes).unwrap().extract() else {
            panic!("not a Welcome");
        };
        Self {
            fresh: OpenMlsMember::new("fresh").key_package(),
            welcome,
            creator,
            group,
            joiners: joining,
        }
    }
}

impl Fixture for OpenMls {
    fn add_commit(&mut self) {
        let (provider, signer) = (&self.creator.provider, &self.creator.signer);
        let added = self
            .group
            .add_members_without_update(provider, signer, std::slice::from_ref(&self.fresh));
        black_box(added.unwrap());
        self.group.clear_pending_commit(provider.storage()).unwrap();
    }

    fn join(&mut self, i: usize) {
        let provider = &self.joiners[i].provider;
        let config = MlsGroupJoinConfig::default();
        let staged = StagedWelcome::new_from_welcome(provider, &config, self.welcome.clone(), None).unwrap();
        black_box(staged.into_group(provider).unwrap());
    }

    fn remove_commit(&mut self) {
        let (provider, signer) = (&self.creator.provider, &self.creator.signer);
        black_box(
            self.group
                .remove_members(provider, signer, &[LeafNodeIndex::new(1)])
                .unwrap(),
        );
        self.group.clear_pending_commit(provider.storage()).unwrap();
    }
}

fn median(mut times: Vec<f64>) -> f64 {
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

/// Runs `op(fixture, run)` on each fixture in turn, `runs` times, and
/// prints the medians.
fn compare(
    size: usize,
    what: &str,
    runs: usize,
    fixtures: &mut [(&str, &mut dyn Fixture)],
    op: impl Fn(&mut dyn Fixture, usize),
) {
    let mut times = vec![Vec::new(); fixtures.len()];
    for run in 0..runs {
        for ((_, fixture), times) in fixtures.iter_mut().zip(&mut times) {
            let t = Instant::now();
            op(&mut **fixture, run);
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    let medians: Vec<f64> = times.into_iter().map(median).collect();
    let line: Vec<String> = (fixtures.iter().zip(&medians))
        .map(|((name, _), m)| format!("{name} {m:.2} ms ({:.2})", m / medians[0]))
        .collect();
    eprintln!(
        "[size {size}] PEER {what}: {} (medians of {runs} runs in turn; in parentheses, relative to e2ee-core)",
        line.join(", ")
    );
}

fn env_list(name: &str, default: &str) -> Vec<usize> {
    let text = std::env::var(name).unwrap_or_else(|_| default.to_owned());
    text.split(',').map(|x| x.trim().parse().unwrap()).collect()
}

fn main() {
    // `cargo bench` passes `--bench`; there is nothing to filter.
    let sizes = env_list("E2EE_PEER_SIZES", "1000,10000");
    let runs = env_list("E2EE_PEER_RUNS", "5")[0];
    if !cfg!(feature = "parallel") {
        eprintln!("note: without --features parallel, e2ee-core runs on one core and mls-rs on both");
    }
    for size in sizes {
        let t = Instant::now();
        let mut e2ee = E2ee::new(size, runs);
        let e2ee_setup = t.elapsed();
        let t = Instant::now();
        let mut mls_rs = mls_rs_fixture(size, runs);
        let mls_rs_setup = t.elapsed();
        let t = Instant::now();
        let mut openmls = OpenMls::new(size, runs);
        eprintln!(
            "[size {size}] fixtures: e2ee-core {e2ee_setup:.2?}, mls-rs {mls_rs_setup:.2?}, OpenMLS {:.2?}",
            t.elapsed()
        );
        let mut fixtures: [(&str, &mut dyn Fixture); 3] = [
            ("e2ee-core", &mut e2ee),
            ("mls-rs", &mut mls_rs),
            ("OpenMLS", &mut openmls),
        ];
        compare(size, "add Commit with Welcome", runs, &mut fixtures, |f, _| {
            f.add_commit()
        });
        compare(size, "join by Welcome", runs, &mut fixtures, |f, i| f.join(i));
        compare(size, "remove Commit", runs, &mut fixtures, |f, _| f.remove_commit());
    }
}
