//! e2ee-core, through its high-level API (`e2ee_core::client`), and
//! [OpenMLS](https://crates.io/crates/openmls) 0.9.2 in the same groups.
//!
//! Either side creates the group and adds a member of the other, who joins
//! from the Welcome (ratchet tree inside); that member adds one of its own
//! side, who adds one of the first side in turn, so that each implementation
//! joins from Welcomes of the other built over trees it did not make. Members
//! of both sides commit updates (empty Commits with an UpdatePath) and remove
//! each other, and all exchange application messages in every epoch. After
//! every Commit all members must agree on the epoch, the epoch authenticator,
//! an exported secret and who is at which leaf.
//!
//! Every message crosses between members as its wire encoding, as it would
//! over a network: OpenMLS serializes with `tls_codec` and reads
//! `MlsMessageIn`, e2ee-core takes and returns encoded `MLSMessage`s. Each
//! scenario runs for cipher suites 1, 2, 3 and 7, with handshake messages as
//! PublicMessage and as PrivateMessage.
//!
//! OpenMLS adds with `add_members`, whose Commits carry an UpdatePath (so
//! the joiner also takes a path secret from the Welcome); e2ee-core's `add`
//! sends none. Both kinds of Add cross.
//!
//! OpenMLS runs on its RustCrypto provider, wrapped ([`Crypto`]) so that it
//! also accepts suite 7, whose primitives (P-384, AES-256-GCM, SHA-384) it
//! has but does not list.

use e2ee_core::client::{Client, Event, Group, GroupOptions, HandshakeFormat};
use openmls::prelude::tls_codec::{Deserialize as _, Serialize as _};
use openmls::prelude::{
    AeadType, BasicCredential, Capabilities, Ciphersuite, CredentialWithKey, CryptoError, ExporterSecret, HashType,
    HpkeCiphertext, HpkeConfig, HpkeKeyPair, KemOutput, KeyPackage, LeafNodeIndex, LeafNodeParameters, MlsGroup,
    MlsGroupCreateConfig, MlsGroupJoinConfig, MlsMessageBodyIn, MlsMessageIn, MlsMessageOut, OpenMlsCrypto,
    OpenMlsProvider, PURE_CIPHERTEXT_WIRE_FORMAT_POLICY, PURE_PLAINTEXT_WIRE_FORMAT_POLICY, ProcessedMessageContent,
    ProtocolVersion, SecretVLBytes, Sender, SignatureScheme, StagedWelcome, WireFormat, WireFormatPolicy,
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::{MemoryStorage, RustCrypto};

const SUITES: [u16; 4] = [1, 2, 3, 7];
/// The exporter's label, context and length, the same on both sides.
const LABEL: &str = "interop";
const CONTEXT: &[u8] = b"ctx";
const EXPORTED_LEN: u16 = 32;

/// Suite 7, which OpenMLS's RustCrypto provider leaves out of its list.
const SUITE_7: Ciphersuite = Ciphersuite::MLS_256_DHKEMP384_AES256GCM_SHA384_P384;

/// OpenMLS's RustCrypto provider, but for suite 7 as well: its primitives
/// (ECDSA P-384 with SHA-384, DHKEM(P-384) with HKDF-SHA384, AES-256-GCM)
/// are all there; only `supports` and `supported_ciphersuites` leave the
/// suite out. Everything else is RustCrypto's, unchanged.
#[derive(Debug, Default)]
struct Crypto(RustCrypto);

impl OpenMlsCrypto for Crypto {
    fn supports(&self, ciphersuite: Ciphersuite) -> Result<(), CryptoError> {
        match ciphersuite {
            SUITE_7 => Ok(()),
            _ => self.0.supports(ciphersuite),
        }
    }

    fn supported_ciphersuites(&self) -> Vec<Ciphersuite> {
        let mut suites = self.0.supported_ciphersuites();
        suites.push(SUITE_7);
        suites
    }

    fn hkdf_extract(&self, hash_type: HashType, salt: &[u8], ikm: &[u8]) -> Result<SecretVLBytes, CryptoError> {
        self.0.hkdf_extract(hash_type, salt, ikm)
    }

    fn hmac(&self, hash_type: HashType, key: &[u8], message: &[u8]) -> Result<SecretVLBytes, CryptoError> {
        self.0.hmac(hash_type, key, message)
    }

    fn hkdf_expand(
        &self,
        hash_type: HashType,
        prk: &[u8],
        info: &[u8],
        okm_len: usize,
    ) -> Result<SecretVLBytes, CryptoError> {
        self.0.hkdf_expand(hash_type, prk, info, okm_len)
    }

    fn hash(&self, hash_type: HashType, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.0.hash(hash_type, data)
    }

    fn aead_encrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        data: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.0.aead_encrypt(alg, key, data, nonce, aad)
    }

    fn aead_decrypt(
        &self,
        alg: AeadType,
        key: &[u8],
        ct_tag: &[u8],
        nonce: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.0.aead_decrypt(alg, key, ct_tag, nonce, aad)
    }

    fn signature_key_gen(&self, alg: SignatureScheme) -> Result<(Vec<u8>, Vec<u8>), CryptoError> {
        self.0.signature_key_gen(alg)
    }

    fn verify_signature(
        &self,
        alg: SignatureScheme,
        data: &[u8],
        pk: &[u8],
        signature: &[u8],
    ) -> Result<(), CryptoError> {
        self.0.verify_signature(alg, data, pk, signature)
    }

    fn sign(&self, alg: SignatureScheme, data: &[u8], key: &[u8]) -> Result<Vec<u8>, CryptoError> {
        self.0.sign(alg, data, key)
    }

    fn hpke_seal(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        aad: &[u8],
        ptxt: &[u8],
    ) -> Result<HpkeCiphertext, CryptoError> {
        self.0.hpke_seal(config, pk_r, info, aad, ptxt)
    }

    fn hpke_open(
        &self,
        config: HpkeConfig,
        input: &HpkeCiphertext,
        sk_r: &[u8],
        info: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        self.0.hpke_open(config, input, sk_r, info, aad)
    }

    fn hpke_setup_sender_and_export(
        &self,
        config: HpkeConfig,
        pk_r: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        exporter_length: usize,
    ) -> Result<(KemOutput, ExporterSecret), CryptoError> {
        (self.0).hpke_setup_sender_and_export(config, pk_r, info, exporter_context, exporter_length)
    }

    fn hpke_setup_receiver_and_export(
        &self,
        config: HpkeConfig,
        enc: &[u8],
        sk_r: &[u8],
        info: &[u8],
        exporter_context: &[u8],
        exporter_length: usize,
    ) -> Result<ExporterSecret, CryptoError> {
        (self.0).hpke_setup_receiver_and_export(config, enc, sk_r, info, exporter_context, exporter_length)
    }

    fn derive_hpke_keypair(&self, config: HpkeConfig, ikm: &[u8]) -> Result<HpkeKeyPair, CryptoError> {
        self.0.derive_hpke_keypair(config, ikm)
    }
}

/// An OpenMLS provider as `OpenMlsRustCrypto` is assembled (RustCrypto's
/// randomness, memory storage), with [`Crypto`] for the cryptography.
#[derive(Debug, Default)]
struct Provider {
    crypto: Crypto,
    storage: MemoryStorage,
}

impl OpenMlsProvider for Provider {
    type CryptoProvider = Crypto;
    type RandProvider = RustCrypto;
    type StorageProvider = MemoryStorage;

    fn storage(&self) -> &MemoryStorage {
        &self.storage
    }

    fn crypto(&self) -> &Crypto {
        &self.crypto
    }

    fn rand(&self) -> &RustCrypto {
        &self.crypto.0
    }
}

/// A Commit a member makes.
enum Commit<'a> {
    /// Add the owner of this KeyPackage (an encoded MLSMessage).
    Add(&'a [u8]),
    /// Remove the member at this leaf.
    Remove(u32),
    /// An empty Commit with an UpdatePath.
    Update,
}

/// A Commit as sent, and the Welcome for an added member.
struct Sent {
    commit: Vec<u8>,
    welcome: Option<Vec<u8>>,
}

/// What a member saw of another member's Commit.
struct Seen {
    /// The epoch the Commit started.
    epoch: u64,
    /// The committer sent an UpdatePath.
    path: bool,
    /// The Commit removed this member.
    self_removed: bool,
}

/// An application message as a member decrypted it.
#[derive(Debug, PartialEq, Eq)]
struct Opened {
    sender: u32,
    data: Vec<u8>,
    aad: Vec<u8>,
}

/// A member's view of the current epoch, which all members must share.
#[derive(Debug, PartialEq, Eq)]
struct View {
    epoch: u64,
    authenticator: Vec<u8>,
    exported: Vec<u8>,
    /// (leaf index, identity) of every member, by leaf.
    roster: Vec<(u32, Vec<u8>)>,
}

/// A client of either implementation, and its group once it is a member.
/// Every message in and out is an encoded MLSMessage.
trait Peer {
    fn name(&self) -> &str;
    fn is_member(&self) -> bool;
    fn leaf(&self) -> u32;
    /// A fresh KeyPackage, its private keys kept for the Welcome.
    fn key_package(&mut self) -> Vec<u8>;
    /// Creates a group alone.
    fn create(&mut self);
    fn join(&mut self, welcome: &[u8]);
    /// Makes a Commit, left pending until [`Peer::merge`].
    fn commit(&mut self, commit: Commit<'_>) -> Sent;
    /// Enters the epoch of the pending Commit.
    fn merge(&mut self);
    /// Processes another member's Commit and enters its epoch; leaves the
    /// group if it was removed.
    fn process_commit(&mut self, commit: &[u8]) -> Seen;
    fn seal(&mut self, data: &[u8], aad: &[u8]) -> Vec<u8>;
    fn open(&mut self, message: &[u8]) -> Opened;
    fn view(&self) -> View;
}

/// An e2ee-core member.
struct E2ee {
    name: String,
    client: Client,
    group: Option<Group>,
}

impl E2ee {
    fn new(name: &str, suite: u16, format: HandshakeFormat) -> Self {
        let mut client = Client::new(suite, name.as_bytes()).unwrap();
        let options = GroupOptions {
            handshake_wire_format: format,
            ..GroupOptions::default()
        };
        client.set_group_options(options).unwrap();
        Self {
            name: name.to_owned(),
            client,
            group: None,
        }
    }

    fn group(&mut self) -> &mut Group {
        (self.group.as_mut()).unwrap_or_else(|| panic!("{} is not a member", self.name))
    }

    /// Opens `message`, which must come to exactly one event.
    fn open_one(&mut self, message: &[u8]) -> Event {
        let name = self.name.clone();
        let events = (self.group().open(message)).unwrap_or_else(|e| panic!("{name} cannot open: {e:?}"));
        let [event] = <[Event; 1]>::try_from(events).unwrap_or_else(|e| panic!("{name}: events {e:?}"));
        event
    }
}

impl Peer for E2ee {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_member(&self) -> bool {
        self.group.is_some()
    }

    fn leaf(&self) -> u32 {
        self.group.as_ref().unwrap().own_index()
    }

    fn key_package(&mut self) -> Vec<u8> {
        self.client.key_package().unwrap()
    }

    fn create(&mut self) {
        self.group = Some(self.client.create_group().unwrap());
    }

    fn join(&mut self, welcome: &[u8]) {
        let group = (self.client.join(welcome)).unwrap_or_else(|e| panic!("{} cannot join: {e:?}", self.name));
        self.group = Some(group);
    }

    fn commit(&mut self, commit: Commit<'_>) -> Sent {
        let group = self.group();
        let bundle = match commit {
            Commit::Add(key_package) => group.add(&[key_package.to_vec()]),
            Commit::Remove(leaf) => group.remove(&[leaf]),
            Commit::Update => group.update(),
        };
        let bundle = bundle.unwrap_or_else(|e| panic!("{}: {e:?}", self.name));
        Sent {
            commit: bundle.commit,
            welcome: bundle.welcome,
        }
    }

    fn merge(&mut self) {
        self.group().merge_commit().unwrap();
    }

    fn process_commit(&mut self, commit: &[u8]) -> Seen {
        let Event::EpochChanged {
            epoch,
            committer,
            updated,
            self_removed,
            ..
        } = self.open_one(commit)
        else {
            panic!("{}: not an epoch change", self.name);
        };
        if self_removed {
            self.group = None;
        }
        Seen {
            epoch,
            path: committer.is_some_and(|c| updated.contains(&c)),
            self_removed,
        }
    }

    fn seal(&mut self, data: &[u8], aad: &[u8]) -> Vec<u8> {
        self.group().seal(data, aad).unwrap()
    }

    fn open(&mut self, message: &[u8]) -> Opened {
        match self.open_one(message) {
            Event::Message {
                sender,
                data,
                authenticated_data,
                ..
            } => Opened {
                sender: sender.index,
                data,
                aad: authenticated_data,
            },
            other => panic!("{}: not a message: {other:?}", self.name),
        }
    }

    fn view(&self) -> View {
        let group = self.group.as_ref().unwrap();
        View {
            epoch: group.epoch(),
            authenticator: group.epoch_authenticator().unwrap(),
            exported: group.export_secret(LABEL.as_bytes(), CONTEXT, EXPORTED_LEN).unwrap(),
            roster: group.members().into_iter().map(|m| (m.index, m.identity)).collect(),
        }
    }
}

/// An OpenMLS member: its provider (which keeps its private keys), signer
/// and credential.
struct OpenMls {
    name: String,
    suite: Ciphersuite,
    policy: WireFormatPolicy,
    provider: Provider,
    signer: SignatureKeyPair,
    credential: CredentialWithKey,
    group: Option<MlsGroup>,
}

impl OpenMls {
    fn new(name: &str, suite: u16, format: HandshakeFormat) -> Self {
        let suite = Ciphersuite::try_from(suite).unwrap();
        let signer = SignatureKeyPair::new(suite.signature_algorithm()).unwrap();
        let credential = CredentialWithKey {
            credential: BasicCredential::new(name.as_bytes().to_vec()).into(),
            signature_key: signer.public().into(),
        };
        let policy = match format {
            HandshakeFormat::Public => PURE_PLAINTEXT_WIRE_FORMAT_POLICY,
            HandshakeFormat::Private => PURE_CIPHERTEXT_WIRE_FORMAT_POLICY,
        };
        Self {
            name: name.to_owned(),
            suite,
            policy,
            provider: Provider::default(),
            signer,
            credential,
            group: None,
        }
    }

    /// The leaf's capabilities. OpenMLS refuses a leaf (its own included)
    /// whose capabilities lack the group's suite, and its default
    /// capabilities list suites 1 to 3 whatever the provider: these list the
    /// provider's suites ([`Crypto`]'s, so 7 too).
    fn capabilities(&self) -> Capabilities {
        Capabilities::for_provider(self.provider.crypto())
    }

    /// The group configuration for joining; that for creating has the same
    /// settings. The ratchet tree goes into Welcomes (e2ee-core needs it
    /// there) and handshake messages are sent as the scenario says.
    fn join_config(&self) -> MlsGroupJoinConfig {
        (MlsGroupJoinConfig::builder())
            .wire_format_policy(self.policy)
            .use_ratchet_tree_extension(true)
            .build()
    }

    /// Processes a group message from another member.
    fn process(&mut self, message: &[u8]) -> (Sender, Vec<u8>, ProcessedMessageContent) {
        let message = from_wire(message).try_into_protocol_message().unwrap();
        let provider = &self.provider;
        let group = self.group.as_mut().unwrap();
        let processed = (group.process_message(provider, message))
            .unwrap_or_else(|e| panic!("{} cannot process: {e:?}", self.name));
        (
            processed.sender().clone(),
            processed.aad().to_vec(),
            processed.into_content(),
        )
    }
}

impl Peer for OpenMls {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_member(&self) -> bool {
        self.group.is_some()
    }

    fn leaf(&self) -> u32 {
        self.group.as_ref().unwrap().own_leaf_index().u32()
    }

    fn key_package(&mut self) -> Vec<u8> {
        let bundle = (KeyPackage::builder())
            .leaf_node_capabilities(self.capabilities())
            .build(self.suite, &self.provider, &self.signer, self.credential.clone())
            .unwrap();
        to_wire(&MlsMessageOut::from(bundle.key_package().clone()))
    }

    fn create(&mut self) {
        let config = (MlsGroupCreateConfig::builder())
            .ciphersuite(self.suite)
            .capabilities(self.capabilities())
            .wire_format_policy(self.policy)
            .use_ratchet_tree_extension(true)
            .build();
        let group = MlsGroup::new(&self.provider, &self.signer, &config, self.credential.clone());
        self.group = Some(group.unwrap());
    }

    fn join(&mut self, welcome: &[u8]) {
        let MlsMessageBodyIn::Welcome(welcome) = from_wire(welcome).extract() else {
            panic!("not a Welcome");
        };
        let staged = StagedWelcome::new_from_welcome(&self.provider, &self.join_config(), welcome, None);
        let staged = staged.unwrap_or_else(|e| panic!("{} cannot join: {e:?}", self.name));
        self.group = Some(staged.into_group(&self.provider).unwrap());
    }

    fn commit(&mut self, commit: Commit<'_>) -> Sent {
        let (provider, signer) = (&self.provider, &self.signer);
        let group = self.group.as_mut().unwrap();
        let (commit, welcome) = match commit {
            Commit::Add(key_package) => {
                let MlsMessageBodyIn::KeyPackage(key_package) = from_wire(key_package).extract() else {
                    panic!("not a KeyPackage");
                };
                let key_package = key_package.validate(provider.crypto(), ProtocolVersion::Mls10).unwrap();
                let (commit, welcome, _) = group.add_members(provider, signer, &[key_package]).unwrap();
                (commit, Some(welcome))
            }
            Commit::Remove(leaf) => {
                let (commit, welcome, _) =
                    (group.remove_members(provider, signer, &[LeafNodeIndex::new(leaf)])).unwrap();
                (commit, welcome)
            }
            Commit::Update => {
                let bundle = group.self_update(provider, signer, LeafNodeParameters::default());
                let (commit, welcome, _) = bundle.unwrap().into_messages();
                (commit, welcome)
            }
        };
        Sent {
            commit: to_wire(&commit),
            welcome: welcome.as_ref().map(to_wire),
        }
    }

    fn merge(&mut self) {
        let group = self.group.as_mut().unwrap();
        group.merge_pending_commit(&self.provider).unwrap();
    }

    fn process_commit(&mut self, commit: &[u8]) -> Seen {
        let (_, _, ProcessedMessageContent::StagedCommitMessage(staged)) = self.process(commit) else {
            panic!("{}: not a Commit", self.name);
        };
        let seen = Seen {
            epoch: staged.group_context().epoch().as_u64(),
            path: staged.update_path_leaf_node().is_some(),
            self_removed: staged.self_removed(),
        };
        let group = self.group.as_mut().unwrap();
        group.merge_staged_commit(&self.provider, *staged).unwrap();
        if seen.self_removed {
            self.group = None;
        }
        seen
    }

    fn seal(&mut self, data: &[u8], aad: &[u8]) -> Vec<u8> {
        let (provider, signer) = (&self.provider, &self.signer);
        let group = self.group.as_mut().unwrap();
        group.set_aad(aad.to_vec());
        to_wire(&group.create_message(provider, signer, data).unwrap())
    }

    fn open(&mut self, message: &[u8]) -> Opened {
        let (sender, aad, ProcessedMessageContent::ApplicationMessage(data)) = self.process(message) else {
            panic!("{}: not an application message", self.name);
        };
        let Sender::Member(sender) = sender else {
            panic!("{}: not from a member", self.name);
        };
        Opened {
            sender: sender.u32(),
            data: data.into_bytes(),
            aad,
        }
    }

    fn view(&self) -> View {
        let group = self.group.as_ref().unwrap();
        let identity =
            |m: openmls::prelude::Member| BasicCredential::try_from(m.credential).unwrap().identity().to_vec();
        View {
            epoch: group.epoch().as_u64(),
            authenticator: group.epoch_authenticator().as_slice().to_vec(),
            exported: (group.export_secret(self.provider.crypto(), LABEL, CONTEXT, EXPORTED_LEN.into())).unwrap(),
            roster: group.members().map(|m| (m.index.u32(), identity(m))).collect(),
        }
    }
}

/// OpenMLS's wire encoding of a message.
fn to_wire(message: &MlsMessageOut) -> Vec<u8> {
    message.tls_serialize_detached().unwrap()
}

/// A message from the wire, as OpenMLS reads it.
fn from_wire(bytes: &[u8]) -> MlsMessageIn {
    MlsMessageIn::tls_deserialize_exact(bytes).unwrap()
}

/// A change one member commits.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// Add this (not yet member) client.
    Add(usize),
    /// Remove this member.
    Remove(usize),
    /// An empty Commit with an UpdatePath.
    Update,
}

/// The clients of one scenario, by index, and the epoch they are in.
struct World {
    suite: u16,
    format: HandshakeFormat,
    peers: Vec<Box<dyn Peer>>,
    epoch: u64,
}

impl World {
    fn new(suite: u16, format: HandshakeFormat) -> Self {
        Self {
            suite,
            format,
            peers: Vec::new(),
            epoch: 0,
        }
    }

    /// A new e2ee-core client, not yet in the group.
    fn e2ee(&mut self) -> usize {
        let name = format!("e2ee-{}", self.peers.len());
        self.peers.push(Box::new(E2ee::new(&name, self.suite, self.format)));
        self.peers.len() - 1
    }

    /// A new OpenMLS client, not yet in the group.
    fn openmls(&mut self) -> usize {
        let name = format!("openmls-{}", self.peers.len());
        self.peers.push(Box::new(OpenMls::new(&name, self.suite, self.format)));
        self.peers.len() - 1
    }

    fn members(&self) -> Vec<usize> {
        (0..self.peers.len()).filter(|&i| self.peers[i].is_member()).collect()
    }

    fn name(&self, who: usize) -> &str {
        self.peers[who].name()
    }

    fn create(&mut self, who: usize) {
        self.peers[who].create();
        self.check("creation");
    }

    /// `committer` commits `change`, every other member processes the
    /// Commit, the committer merges it and an added client joins from the
    /// Welcome; then all must agree.
    fn commit(&mut self, committer: usize, change: Change) {
        let step = self.describe(committer, change);
        let key_package = match change {
            Change::Add(who) => self.peers[who].key_package(),
            _ => Vec::new(),
        };
        let commit = match change {
            Change::Add(_) => Commit::Add(&key_package),
            Change::Remove(who) => Commit::Remove(self.peers[who].leaf()),
            Change::Update => Commit::Update,
        };
        let sent = self.peers[committer].commit(commit);
        self.check_handshake_format(&sent.commit, &step);
        self.epoch += 1;
        for who in self.members().into_iter().filter(|&w| w != committer) {
            let seen = self.peers[who].process_commit(&sent.commit);
            let name = self.name(who);
            assert_eq!(seen.epoch, self.epoch, "{step}: epoch seen by {name}");
            let removed = matches!(change, Change::Remove(r) if r == who);
            assert_eq!(seen.self_removed, removed, "{step}: removal seen by {name}");
            let update = matches!(change, Change::Update);
            assert!(seen.path || !update, "{step}: {name} saw no UpdatePath");
        }
        self.peers[committer].merge();
        match (change, sent.welcome) {
            (Change::Add(who), Some(welcome)) => self.peers[who].join(&welcome),
            (Change::Add(_), None) => panic!("{step}: no Welcome"),
            (_, welcome) => assert!(welcome.is_none(), "{step}: a Welcome without an Add"),
        }
        self.check(&step);
    }

    fn describe(&self, committer: usize, change: Change) -> String {
        let committer = self.name(committer);
        match change {
            Change::Add(who) => format!("{committer} adds {}", self.name(who)),
            Change::Remove(who) => format!("{committer} removes {}", self.name(who)),
            Change::Update => format!("{committer} updates"),
        }
    }

    /// A handshake message went as the scenario's wire format.
    fn check_handshake_format(&self, message: &[u8], step: &str) {
        let expected = match self.format {
            HandshakeFormat::Public => WireFormat::PublicMessage,
            HandshakeFormat::Private => WireFormat::PrivateMessage,
        };
        assert_eq!(from_wire(message).wire_format(), expected, "{step}");
    }

    /// All members are in the expected epoch and agree on its
    /// authenticator, an exported secret and the roster, which lists the
    /// members as the world knows them.
    fn check(&self, step: &str) {
        let members = self.members();
        let first = self.peers[members[0]].view();
        assert_eq!(first.epoch, self.epoch, "{step}: epoch of {}", self.name(members[0]));
        let mut roster: Vec<(u32, Vec<u8>)> = (members.iter())
            .map(|&w| (self.peers[w].leaf(), self.name(w).as_bytes().to_vec()))
            .collect();
        roster.sort();
        assert_eq!(first.roster, roster, "{step}: roster of {}", self.name(members[0]));
        for &who in &members[1..] {
            let (a, b) = (self.name(members[0]), self.name(who));
            assert_eq!(self.peers[who].view(), first, "{step}: views of {a} and {b}");
        }
    }

    /// Every member sends an application message; all others decrypt it.
    fn chat_all(&mut self) {
        for sender in self.members() {
            let data = format!("{} in epoch {}", self.name(sender), self.epoch).into_bytes();
            let aad = format!("aad of {}", self.name(sender)).into_bytes();
            let message = self.peers[sender].seal(&data, &aad);
            let expected = Opened {
                sender: self.peers[sender].leaf(),
                data,
                aad,
            };
            for who in self.members().into_iter().filter(|&w| w != sender) {
                let opened = self.peers[who].open(&message);
                assert_eq!(
                    opened,
                    expected,
                    "{} opening {}'s message",
                    self.name(who),
                    self.name(sender)
                );
            }
        }
    }
}

/// Runs `scenario` in every suite with either handshake wire format.
fn in_every_case(scenario: fn(&mut World)) {
    for suite in SUITES {
        for format in [HandshakeFormat::Public, HandshakeFormat::Private] {
            eprintln!("suite {suite}, handshakes as {format:?}");
            scenario(&mut World::new(suite, format));
        }
    }
}

/// OpenMLS creates the group and adds an e2ee-core member, who adds an
/// OpenMLS member, who adds an e2ee-core member; each side updates and
/// removes a member of the other.
#[test]
fn openmls_creates_the_group() {
    in_every_case(|w| {
        let (o0, e0, o1, e1) = (w.openmls(), w.e2ee(), w.openmls(), w.e2ee());
        w.create(o0);
        w.commit(o0, Change::Add(e0));
        w.chat_all();
        w.commit(e0, Change::Add(o1));
        w.chat_all();
        w.commit(o0, Change::Update);
        w.chat_all();
        w.commit(e0, Change::Update);
        w.chat_all();
        w.commit(o1, Change::Add(e1));
        w.commit(o1, Change::Update);
        w.chat_all();
        w.commit(e0, Change::Remove(o0));
        w.chat_all();
        w.commit(o1, Change::Remove(e0));
        w.chat_all();
        w.commit(e1, Change::Update);
        w.chat_all();
        assert_eq!(w.epoch, 9);
    });
}

/// e2ee-core creates the group and adds an OpenMLS member, who adds an
/// e2ee-core member, who adds an OpenMLS member; each side updates and
/// removes a member of the other.
#[test]
fn e2ee_creates_the_group() {
    in_every_case(|w| {
        let (e0, o0, e1, o1) = (w.e2ee(), w.openmls(), w.e2ee(), w.openmls());
        w.create(e0);
        w.commit(e0, Change::Add(o0));
        w.chat_all();
        w.commit(o0, Change::Add(e1));
        w.chat_all();
        w.commit(e0, Change::Update);
        w.chat_all();
        w.commit(o0, Change::Update);
        w.chat_all();
        w.commit(e1, Change::Add(o1));
        w.commit(e1, Change::Update);
        w.chat_all();
        w.commit(o0, Change::Remove(e0));
        w.chat_all();
        w.commit(e1, Change::Remove(o0));
        w.chat_all();
        w.commit(o1, Change::Update);
        w.chat_all();
        assert_eq!(w.epoch, 9);
    });
}
