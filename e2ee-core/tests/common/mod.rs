//! Helpers shared by the end-to-end group tests: clients with a signature
//! key pair, groups built by Commit and Welcome, and checks that members
//! agree and can talk. Every message goes through its wire encoding.

// Each test crate uses only some of these.
#![allow(dead_code)]

use e2ee_core::codec::{decode_exact, encode};
use e2ee_core::crypto::{CipherSuite, CipherSuiteProvider, CryptoProvider, KeyPair, os_rng};
use e2ee_core::error::Error;
use e2ee_core::group::{
    CommitOutput, CommitParams, CommitSummary, Environment, Group, GroupConfig, JoinKeys, OwnLeaf, ProcessedMessage,
};
use e2ee_core::key_package::{KeyPackageParams, NewKeyPackage, create_key_package, default_capabilities};
use e2ee_core::messages::{Credential, Lifetime, MlsMessage, MlsMessageBody, WireFormat};
use e2ee_rustcrypto::RustCryptoProvider;

pub const SUITES: [CipherSuite; 7] = [
    CipherSuite(1),
    CipherSuite(2),
    CipherSuite(3),
    CipherSuite(4),
    CipherSuite(5),
    CipherSuite(6),
    CipherSuite(7),
];
pub const FOREVER: Lifetime = Lifetime {
    not_before: 0,
    not_after: u64::MAX,
};

pub fn suite(suite: CipherSuite) -> &'static dyn CipherSuiteProvider {
    RustCryptoProvider.cipher_suite(suite).unwrap()
}

/// A client's identity: name and signature key pair.
pub struct Client {
    pub name: String,
    pub signer: KeyPair,
}

impl Client {
    pub fn new(cs: &dyn CipherSuiteProvider, name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            signer: cs.signature_key_generate(&mut os_rng()),
        }
    }

    pub fn own_leaf(&self, cs: &dyn CipherSuiteProvider) -> OwnLeaf {
        OwnLeaf {
            credential: Credential::Basic(self.name.as_bytes().into()),
            signature_public_key: self.signer.public.clone(),
            capabilities: default_capabilities(cs.cipher_suite()),
            extensions: Vec::new(),
            lifetime: FOREVER,
        }
    }

    pub fn create_group(&self, env: &Environment<'_>) -> Group {
        let own = self.own_leaf(env.cs);
        let key = self.signer.private.clone();
        Group::create(
            env,
            b"group".to_vec(),
            own,
            key,
            Vec::new(),
            GroupConfig::default(),
            &mut os_rng(),
        )
        .unwrap()
    }

    pub fn key_package(&self, cs: &dyn CipherSuiteProvider) -> NewKeyPackage {
        let own = self.own_leaf(cs);
        let params = KeyPackageParams {
            credential: own.credential,
            signature_public_key: own.signature_public_key,
            capabilities: own.capabilities,
            lifetime: FOREVER,
            leaf_extensions: Vec::new(),
            extensions: Vec::new(),
        };
        create_key_package(cs, params, self.signer.private.as_bytes(), &mut os_rng()).unwrap()
    }

    pub fn join(&self, env: &Environment<'_>, welcome: &MlsMessage, kp: &NewKeyPackage) -> Result<Group, Error> {
        let MlsMessageBody::Welcome(welcome) = &wire(welcome).body else {
            panic!("not a Welcome");
        };
        let keys = JoinKeys {
            key_package: &kp.key_package,
            init_private_key: kp.init_private_key.as_bytes(),
            encryption_private_key: kp.encryption_private_key.clone(),
            signature_private_key: self.signer.private.clone(),
        };
        Group::join(env, welcome, keys, None, GroupConfig::default())
    }
}

/// The message after a round trip through its encoding.
pub fn wire(message: &MlsMessage) -> MlsMessage {
    decode_exact(&encode(message).unwrap()).unwrap()
}

pub fn commit(group: &mut Group, env: &Environment<'_>, params: CommitParams) -> CommitOutput {
    group.commit(env, params, &mut os_rng()).unwrap()
}

/// Processes a Commit that must succeed.
pub fn apply(group: &mut Group, env: &Environment<'_>, message: &MlsMessage) -> CommitSummary {
    match group.process(env, &wire(message)) {
        Ok(ProcessedMessage::Commit(summary)) => summary,
        other => panic!("expected a Commit, got {other:?}"),
    }
}

/// Every member is in the same epoch with the same secrets.
pub fn assert_agree(env: &Environment<'_>, groups: &[&Group]) {
    let first = groups[0];
    let exported = |g: &Group| g.export_secret(env.cs, b"test", b"context", 32).unwrap();
    for g in &groups[1..] {
        assert_eq!(g.epoch(), first.epoch());
        assert_eq!(g.context(), first.context());
        assert_eq!(g.tree(), first.tree());
        assert_eq!(g.epoch_authenticator(), first.epoch_authenticator());
        assert_eq!(exported(g), exported(first));
    }
}

/// `sender` seals a message and every receiver opens it.
pub fn exchange(env: &Environment<'_>, sender: &mut Group, receivers: &mut [&mut Group], text: &[u8]) {
    let message = sender.seal(env, text, b"ad", 7, &mut os_rng()).unwrap();
    assert_eq!(message.body.wire_format(), WireFormat::PRIVATE_MESSAGE);
    for receiver in receivers.iter_mut() {
        let opened = receiver.process(env, &wire(&message)).unwrap();
        let expected = ProcessedMessage::Application {
            sender: sender.own_leaf(),
            data: text.to_vec(),
            authenticated_data: b"ad".to_vec(),
        };
        assert_eq!(opened, expected);
    }
}

/// An empty Commit with a path.
pub fn with_path() -> CommitParams {
    CommitParams {
        force_path: true,
        ..CommitParams::default()
    }
}

/// A Commit adding the owners of `key_packages`.
pub fn adding(key_packages: &[&NewKeyPackage], wire_format: WireFormat) -> CommitParams {
    let proposals = key_packages
        .iter()
        .map(|kp| Group::add_proposal(kp.key_package.clone()))
        .collect();
    CommitParams {
        proposals,
        wire_format,
        ..CommitParams::default()
    }
}
