//! The groups and forgeries the attacks share.

use e2ee_core::client::{self, GroupOptions};
use e2ee_core::codec::decode_exact;
use e2ee_core::crypto::{CipherSuiteProvider, os_rng};
use e2ee_core::error::Error;
use e2ee_core::framing;
use e2ee_core::group::{Environment, Group, ProcessedMessage};
use e2ee_core::messages::{
    Content, FramedContent, FramedContentAuthData, GroupContext, MlsMessage, MlsMessageBody, ProtocolVersion,
    PublicMessage, Sender, WireFormat,
};

use crate::common::{Client, adding, commit, wire};

/// Alice, Bob and Carol (leaves 0, 1, 2) in epoch 1, on the low-level API.
pub struct Trio {
    pub ids: [Client; 3],
    pub groups: [Group; 3],
}

impl Trio {
    pub fn new(env: &Environment<'_>) -> Self {
        let ids = ["alice", "bob", "carol"].map(|name| Client::new(env.cs, name));
        let mut alice = ids[0].create_group(env);
        let kps = [ids[1].key_package(env.cs), ids[2].key_package(env.cs)];
        let out = commit(&mut alice, env, adding(&[&kps[0], &kps[1]], WireFormat::PUBLIC_MESSAGE));
        alice.merge_pending_commit().unwrap();
        let welcome = out.welcome.unwrap();
        let bob = ids[1].join(env, &welcome, &kps[0]).unwrap();
        let carol = ids[2].join(env, &welcome, &kps[1]).unwrap();
        Self {
            ids,
            groups: [alice, bob, carol],
        }
    }

    /// `by` commits with a path; everyone else processes the Commit, which
    /// must work for all: the group is not stalled.
    pub fn advance(&mut self, env: &Environment<'_>, by: usize) {
        let out = commit(&mut self.groups[by], env, crate::common::with_path());
        self.groups[by].merge_pending_commit().unwrap();
        for (i, g) in self.groups.iter_mut().enumerate().filter(|(i, _)| *i != by) {
            let processed = g.process(env, &wire(&out.commit));
            assert!(
                matches!(processed, Ok(ProcessedMessage::Commit(_))),
                "member {i}: {processed:?}"
            );
        }
        let [a, b, c] = &self.groups;
        crate::common::assert_agree(env, &[a, b, c]);
    }

    /// Every member's epoch.
    pub fn epochs(&self) -> [u64; 3] {
        [0, 1, 2].map(|i| self.groups[i].epoch())
    }
}

/// `content` signed by `signature_key` and framed as a PublicMessage
/// without a membership tag: what a non-member (a joiner, or anyone
/// claiming to be one) can send. `context` is signed if the sender type
/// signs it.
pub fn public_message(
    cs: &dyn CipherSuiteProvider,
    signature_key: &[u8],
    content: FramedContent,
    context: &GroupContext,
    confirmation_tag: Option<Vec<u8>>,
) -> MlsMessage {
    let signer = cs.signer(signature_key).unwrap();
    let signature = framing::sign_content(&*signer, WireFormat::PUBLIC_MESSAGE, &content, context).unwrap();
    let auth = FramedContentAuthData {
        signature,
        confirmation_tag: confirmation_tag.map(Into::into),
    };
    MlsMessage {
        version: ProtocolVersion::MLS10,
        body: MlsMessageBody::PublicMessage(PublicMessage {
            content,
            auth,
            membership_tag: None,
        }),
    }
}

/// The PublicMessage inside `message`.
pub fn public(message: &MlsMessage) -> PublicMessage {
    match &wire(message).body {
        MlsMessageBody::PublicMessage(m) => m.clone(),
        other => panic!("not a PublicMessage: {other:?}"),
    }
}

/// A content of the group of `context`, in its epoch.
pub fn framed(context: &GroupContext, sender: Sender, content: Content) -> FramedContent {
    FramedContent {
        group_id: context.group_id.clone(),
        epoch: context.epoch,
        sender,
        authenticated_data: Default::default(),
        content,
    }
}

/// `group` after processing `message`, which it must refuse with `error`,
/// unchanged (same epoch, same secrets).
pub fn refuses(env: &Environment<'_>, group: &mut Group, message: &MlsMessage, error: Error) {
    let (epoch, authenticator) = (group.epoch(), group.epoch_authenticator().map(<[u8]>::to_vec));
    assert_eq!(group.process(env, &wire(message)).map(|_| ()), Err(error));
    assert_eq!(group.epoch(), epoch);
    assert_eq!(group.epoch_authenticator().map(<[u8]>::to_vec), authenticator);
}

/// A high-level chat: Alice's group with Bob and Carol, the clients with
/// `options`.
pub fn chat(options: GroupOptions) -> ([client::Client; 3], [client::Group; 3]) {
    let mut clients = ["alice", "bob", "carol"].map(|n| client::Client::new(1, n.as_bytes()).unwrap());
    for c in &mut clients {
        c.set_group_options(options).unwrap();
    }
    let [alice, bob, carol] = &mut clients;
    let mut group = alice.create_group().unwrap();
    let added = group
        .add(&[bob.key_package().unwrap(), carol.key_package().unwrap()])
        .unwrap();
    group.merge_commit().unwrap();
    let welcome = added.welcome.unwrap();
    let (b, c) = (bob.join(&welcome).unwrap(), carol.join(&welcome).unwrap());
    (clients, [group, b, c])
}

/// Decodes an `MLSMessage`.
pub fn message(bytes: &[u8]) -> MlsMessage {
    decode_exact(bytes).unwrap()
}

/// Fresh random bytes.
pub fn random(len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rand_core::Rng::fill_bytes(&mut os_rng(), &mut bytes);
    bytes
}
