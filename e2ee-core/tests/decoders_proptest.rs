//! Robustness of every public wire decoder (RFC 9420 structures): on
//! arbitrary bytes, and on valid encodings from `messages.json` with random
//! byte mutations, truncations and extensions, decoding never panics and
//! returns a typed `CodecError`; whatever does decode re-encodes to the very
//! same bytes (encodings are canonical).

use std::collections::HashMap;
use std::sync::OnceLock;

use e2ee_core::codec::{CodecError, Decode, Encode, decode_exact, encode};
use e2ee_core::messages::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;

type Check = fn(&[u8]) -> Result<(), TestCaseError>;

/// One decoder under test with valid encodings to mutate.
struct Decoder {
    name: &'static str,
    check: Check,
    seeds: Vec<Vec<u8>>,
}

/// Requires a decoded value's re-encoding to equal its input.
fn same(encoded: Result<Vec<u8>, CodecError>, input: &[u8]) -> Result<(), TestCaseError> {
    let again = encoded.map_err(|e| TestCaseError::fail(format!("re-encode: {e}")))?;
    prop_assert_eq!(again.as_slice(), input);
    Ok(())
}

/// Decodes `T`; on success the re-encoding must equal the input.
fn check<T: Decode + Encode>(bytes: &[u8]) -> Result<(), TestCaseError> {
    match decode_exact::<T>(bytes) {
        Ok(value) => same(encode(&value), bytes),
        Err(_) => Ok(()),
    }
}

/// The content type a leading selector byte stands for.
fn content_type(byte: u8) -> ContentType {
    [ContentType::Application, ContentType::Proposal, ContentType::Commit][usize::from(byte % 3)]
}

/// FramedContentAuthData: first byte picks the content type.
fn check_auth(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Some((&ct, rest)) = bytes.split_first() else {
        return Ok(());
    };
    match FramedContentAuthData::decode(rest, content_type(ct)) {
        Ok((auth, [])) => same(encode(&auth), rest),
        _ => Ok(()),
    }
}

/// Content::decode_body: first byte picks the content type.
fn check_body(bytes: &[u8]) -> Result<(), TestCaseError> {
    let Some((&ct, rest)) = bytes.split_first() else {
        return Ok(());
    };
    match Content::decode_body(content_type(ct), rest) {
        Ok((body, [])) => same(body.encode_body(), rest),
        _ => Ok(()),
    }
}

fn enc<T: Encode>(value: &T) -> Vec<u8> {
    encode(value).expect("vector values encode")
}

fn prefixed(prefix: &[u8], value: &impl Encode) -> Vec<u8> {
    [prefix, &enc(value)].concat()
}

/// Typed values decoded from a sample of `messages.json` cases.
#[derive(Default)]
struct Samples {
    messages: Vec<MlsMessage>,
    key_packages: Vec<KeyPackage>,
    welcomes: Vec<Welcome>,
    group_infos: Vec<GroupInfo>,
    public: Vec<PublicMessage>,
    private: Vec<PrivateMessage>,
    trees: Vec<RatchetTree>,
    group_secrets: Vec<GroupSecrets>,
    proposals: Vec<Proposal>,
    commits: Vec<Commit>,
    /// The raw field bytes, by field name.
    raw: HashMap<String, Vec<Vec<u8>>>,
}

/// The `messages.json` fields that hold an MLSMessage.
const MESSAGE_FIELDS: [&str; 7] = [
    "mls_welcome",
    "mls_group_info",
    "mls_key_package",
    "public_message_application",
    "public_message_proposal",
    "public_message_commit",
    "private_message",
];

impl Samples {
    fn load() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/mls-test-vectors/messages.json");
        let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
        let mut s = Self::default();
        for case in cases.iter().step_by(25) {
            for (key, hex) in case.as_object().expect("case is an object") {
                let bytes = hex::decode(hex.as_str().expect("hex field")).expect("hex");
                s.raw.entry(key.clone()).or_default().push(bytes);
            }
        }
        for i in 0..s.raw["commit"].len() {
            s.add_case(i);
        }
        s.add_parent_tree();
        s
    }

    /// Decodes field `key` of the `i`-th sampled case.
    fn field<T: Decode>(&self, key: &str, i: usize) -> T {
        decode_exact(&self.raw[key][i]).unwrap_or_else(|e| panic!("{key}: {e}"))
    }

    fn add_case(&mut self, i: usize) {
        for key in MESSAGE_FIELDS {
            self.add_message(self.field(key, i));
        }
        self.trees.push(self.field("ratchet_tree", i));
        self.group_secrets.push(self.field("group_secrets", i));
        self.commits.push(self.field("commit", i));
        self.proposals.extend([
            Proposal::Add(self.field("add_proposal", i)),
            Proposal::Update(self.field("update_proposal", i)),
            Proposal::Remove(self.field("remove_proposal", i)),
            Proposal::PreSharedKey(self.field("pre_shared_key_proposal", i)),
            Proposal::ReInit(self.field("re_init_proposal", i)),
            Proposal::ExternalInit(self.field("external_init_proposal", i)),
            Proposal::GroupContextExtensions(self.field("group_context_extensions_proposal", i)),
        ]);
    }

    /// The vector trees have no parent nodes: add a three-node tree with one.
    fn add_parent_tree(&mut self) {
        let leaf = self.key_packages[0].leaf_node.clone();
        let parent = ParentNode {
            encryption_key: (&[7u8; 32]).into(),
            parent_hash: (&[9u8; 32]).into(),
            unmerged_leaves: vec![1],
        };
        self.trees
            .push(vec![Some(Node::Leaf(leaf)), Some(Node::Parent(parent)), None]);
    }

    fn add_message(&mut self, message: MlsMessage) {
        match &message.body {
            MlsMessageBody::PublicMessage(m) => self.public.push(m.clone()),
            MlsMessageBody::PrivateMessage(m) => self.private.push(m.clone()),
            MlsMessageBody::Welcome(m) => self.welcomes.push(m.clone()),
            MlsMessageBody::GroupInfo(m) => self.group_infos.push(m.clone()),
            MlsMessageBody::KeyPackage(m) => self.key_packages.push(m.clone()),
        }
        self.messages.push(message);
    }

    fn leaf_nodes(&self) -> impl Iterator<Item = &LeafNode> {
        self.key_packages
            .iter()
            .map(|kp| &kp.leaf_node)
            .chain(self.trees.iter().flatten().flatten().filter_map(|node| match node {
                Node::Leaf(leaf) => Some(leaf),
                Node::Parent(_) => None,
            }))
    }

    fn paths(&self) -> impl Iterator<Item = &UpdatePath> {
        self.commits.iter().filter_map(|c| c.path.as_ref())
    }
}

/// Encodings of every item.
fn each<'a, T: Encode + 'a>(items: impl IntoIterator<Item = &'a T>) -> Vec<Vec<u8>> {
    items.into_iter().map(enc).collect()
}

/// Encodings of `f` applied to every item.
fn all<'a, T: 'a, U: Encode>(items: impl IntoIterator<Item = &'a T>, f: impl Fn(&T) -> U) -> Vec<Vec<u8>> {
    items.into_iter().map(|item| enc(&f(item))).collect()
}

fn decoders() -> &'static [Decoder] {
    static DECODERS: OnceLock<Vec<Decoder>> = OnceLock::new();
    DECODERS.get_or_init(|| build(&Samples::load()))
}

macro_rules! decoder {
    ($ty:ty, $seeds:expr) => {
        Decoder {
            name: stringify!($ty),
            check: check::<$ty>,
            seeds: $seeds,
        }
    };
}

fn build(s: &Samples) -> Vec<Decoder> {
    let contents: Vec<&FramedContent> = s.public.iter().map(|m| &m.content).collect();
    let nodes = || s.trees.iter().flatten().flatten();
    let raw = |key: &str| s.raw[key].clone();
    vec![
        decoder!(MlsMessage, each(&s.messages)),
        decoder!(KeyPackage, each(&s.key_packages)),
        decoder!(Welcome, each(&s.welcomes)),
        decoder!(GroupInfo, each(&s.group_infos)),
        decoder!(GroupContext, each(s.group_infos.iter().map(|g| &g.group_context))),
        decoder!(PublicMessage, each(&s.public)),
        decoder!(PrivateMessage, each(&s.private)),
        decoder!(FramedContent, each(contents.iter().copied())),
        decoder!(Sender, each(contents.iter().map(|c| &c.sender))),
        decoder!(Content, each(contents.iter().map(|c| &c.content))),
        decoder!(AuthenticatedContent, all(&s.public, authenticated)),
        decoder!(SenderData, vec![vec![0, 0, 0, 1, 0, 0, 0, 2, 9, 9, 9, 9]]),
        decoder!(SenderDataAad, all(&s.private, sender_data_aad)),
        decoder!(PrivateContentAad, all(&s.private, private_content_aad)),
        decoder!(RatchetTree, each(&s.trees)),
        decoder!(Node, each(nodes())),
        decoder!(LeafNode, each(s.leaf_nodes())),
        decoder!(Credential, each(s.leaf_nodes().map(|l| &l.credential))),
        decoder!(Capabilities, each(s.leaf_nodes().map(|l| &l.capabilities))),
        decoder!(LeafNodeSource, each(s.leaf_nodes().map(|l| &l.leaf_node_source))),
        decoder!(ParentNode, each(nodes().filter_map(as_parent))),
        decoder!(UpdatePath, each(s.paths())),
        decoder!(UpdatePathNode, each(s.paths().flat_map(|p| &p.nodes))),
        decoder!(GroupSecrets, each(&s.group_secrets)),
        decoder!(
            PathSecret,
            each(s.group_secrets.iter().filter_map(|g| g.path_secret.as_ref()))
        ),
        decoder!(EncryptedGroupSecrets, each(s.welcomes.iter().flat_map(|w| &w.secrets))),
        decoder!(PreSharedKeyId, each(s.group_secrets.iter().flat_map(|g| &g.psks))),
        decoder!(Proposal, each(&s.proposals)),
        decoder!(ProposalOrRef, each(s.commits.iter().flat_map(|c| &c.proposals))),
        decoder!(Commit, each(&s.commits)),
        decoder!(Add, raw("add_proposal")),
        decoder!(Update, raw("update_proposal")),
        decoder!(Remove, raw("remove_proposal")),
        decoder!(PreSharedKey, raw("pre_shared_key_proposal")),
        decoder!(ReInit, raw("re_init_proposal")),
        decoder!(ExternalInit, raw("external_init_proposal")),
        decoder!(GroupContextExtensions, raw("group_context_extensions_proposal")),
        decoder!(Extension, each(s.group_infos.iter().flat_map(|g| &g.extensions))),
        decoder!(ExternalPub, vec![vec![3, 1, 2, 3]]),
        decoder!(ApplicationId, vec![vec![2, 7, 7]]),
        decoder!(ExternalSenders, all(s.leaf_nodes(), external_senders)),
        decoder!(RequiredCapabilities, vec![vec![2, 0, 6, 2, 0, 1, 2, 0, 2]]),
        Decoder {
            name: "FramedContentAuthData",
            check: check_auth,
            seeds: auth_seeds(s),
        },
        Decoder {
            name: "Content::decode_body",
            check: check_body,
            seeds: body_seeds(&contents),
        },
    ]
}

fn as_parent(node: &Node) -> Option<&ParentNode> {
    match node {
        Node::Parent(parent) => Some(parent),
        Node::Leaf(_) => None,
    }
}

fn authenticated(m: &PublicMessage) -> AuthenticatedContent {
    AuthenticatedContent {
        wire_format: WireFormat::PUBLIC_MESSAGE,
        content: m.content.clone(),
        auth: m.auth.clone(),
    }
}

fn sender_data_aad(m: &PrivateMessage) -> SenderDataAad {
    SenderDataAad {
        group_id: m.group_id.clone(),
        epoch: m.epoch,
        content_type: m.content_type,
    }
}

fn private_content_aad(m: &PrivateMessage) -> PrivateContentAad {
    PrivateContentAad {
        group_id: m.group_id.clone(),
        epoch: m.epoch,
        content_type: m.content_type,
        authenticated_data: m.authenticated_data.clone(),
    }
}

fn external_senders(leaf: &LeafNode) -> ExternalSenders {
    vec![ExternalSender {
        signature_key: leaf.signature_key.clone(),
        credential: leaf.credential.clone(),
    }]
}

fn auth_seeds(s: &Samples) -> Vec<Vec<u8>> {
    s.public
        .iter()
        .map(|m| prefixed(&[m.content.content_type() as u8], &m.auth))
        .collect()
}

fn body_seeds(contents: &[&FramedContent]) -> Vec<Vec<u8>> {
    contents
        .iter()
        .map(|c| [&[c.content_type() as u8][..], &c.content.encode_body().expect("encode")].concat())
        .collect()
}

/// One edit of a seed encoding.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Set(usize, u8),
    Truncate(usize),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Extend(Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(i, x)| Mutation::Flip(i, x)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, x)| Mutation::Set(i, x)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), 1..8usize).prop_map(|(i, n)| Mutation::Remove(i, n)),
        prop::collection::vec(any::<u8>(), 1..16).prop_map(Mutation::Extend),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    match m {
        Mutation::Flip(i, x) if len > 0 => bytes[i % len] ^= x,
        Mutation::Set(i, x) if len > 0 => bytes[i % len] = *x,
        Mutation::Truncate(i) => bytes.truncate(i % (len + 1)),
        Mutation::Insert(i, v) => {
            let i = i % (len + 1);
            bytes.splice(i..i, v.iter().copied());
        }
        Mutation::Remove(i, n) => {
            let i = i % (len + 1);
            bytes.drain(i..(i + n).min(len));
        }
        Mutation::Extend(v) => bytes.extend_from_slice(v),
        _ => {}
    }
}

#[test]
fn every_decoder_has_seeds_that_decode() {
    for d in decoders() {
        assert!(!d.seeds.is_empty(), "{}: no seeds", d.name);
        for seed in &d.seeds {
            (d.check)(seed).unwrap_or_else(|e| panic!("{}: {e}", d.name));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        for d in decoders() {
            (d.check)(&bytes)?;
        }
    }

    #[test]
    fn mutated_vectors_never_panic(
        pick in any::<usize>(),
        edits in prop::collection::vec(mutation(), 1..4),
    ) {
        for d in decoders() {
            let mut bytes = d.seeds[pick % d.seeds.len()].clone();
            for edit in &edits {
                apply(&mut bytes, edit);
            }
            (d.check)(&bytes)?;
        }
    }
}
