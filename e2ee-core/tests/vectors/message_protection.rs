//! Runner for `message-protection.json` (RFC 9420 §6): unprotect the
//! vector's PublicMessages and PrivateMessages, and round-trip our own.

use e2ee_core::codec::{decode_exact, encode};
use e2ee_core::crypto::{CipherSuiteProvider, CryptoProvider, Secret};
use e2ee_core::framing::{self, PrivateKeys};
use e2ee_core::messages::framing::{
    AuthenticatedContent, Content, FramedContent, FramedContentAuthData, MlsMessage, MlsMessageBody, Sender, WireFormat,
};
use e2ee_core::messages::{GroupContext, ProtocolVersion};
use e2ee_core::secret_tree::SecretTree;
use e2ee_rustcrypto::RustCryptoProvider;
use serde_json::Value;

use super::common::{Runner, hex_field, suite_of, u64_field};

/// Checks proposal, commit and application protection.
pub const RUNNER: Option<Runner> = Some(run);

/// The sender of every message in these vectors (test-vectors.md).
const SENDER: u32 = 1;

struct Case<'a> {
    cs: &'a dyn CipherSuiteProvider,
    context: GroupContext,
    v: &'a Value,
}

fn run(case: &Value) -> Result<(), String> {
    let cs = RustCryptoProvider
        .cipher_suite(suite_of(case)?)
        .map_err(|e| e.to_string())?;
    let context = GroupContext {
        version: ProtocolVersion::MLS10,
        cipher_suite: suite_of(case)?,
        group_id: hex_field(case, "group_id")?.into(),
        epoch: u64_field(case, "epoch")?,
        tree_hash: hex_field(case, "tree_hash")?.into(),
        confirmed_transcript_hash: hex_field(case, "confirmed_transcript_hash")?.into(),
        extensions: vec![],
    };
    let c = Case { cs, context, v: case };
    for kind in ["proposal", "commit", "application"] {
        c.check(kind).map_err(|e| format!("{kind}: {e}"))?;
    }
    Ok(())
}

impl Case<'_> {
    fn check(&self, kind: &str) -> Result<(), String> {
        let raw = hex_field(self.v, kind)?;
        let content = match kind {
            "proposal" => Content::Proposal(decode_exact(&raw).map_err(|e| e.to_string())?),
            "commit" => Content::Commit(decode_exact(&raw).map_err(|e| e.to_string())?),
            _ => Content::Application(raw.clone().into()),
        };
        if kind != "application" {
            let got = self.open_public(&hex_field(self.v, &format!("{kind}_pub"))?)?;
            expect_content(&got, &content, "vector PublicMessage")?;
            let ours = self.seal_public(self.sign(content.clone(), WireFormat::PUBLIC_MESSAGE)?)?;
            expect_content(&self.open_public(&ours)?, &content, "own PublicMessage")?;
        }
        let got = self.open_private(&hex_field(self.v, &format!("{kind}_priv"))?)?;
        expect_content(&got, &content, "vector PrivateMessage")?;
        let ours = self.seal_private(&self.sign(content.clone(), WireFormat::PRIVATE_MESSAGE)?)?;
        expect_content(&self.open_private(&ours)?, &content, "own PrivateMessage")
    }

    fn membership_key(&self) -> Result<Vec<u8>, String> {
        hex_field(self.v, "membership_key")
    }

    fn secret_tree(&self) -> Result<SecretTree, String> {
        SecretTree::new(Secret::new(hex_field(self.v, "encryption_secret")?), 2).map_err(|e| e.to_string())
    }

    fn sign(&self, content: Content, wire_format: WireFormat) -> Result<AuthenticatedContent, String> {
        let is_commit = matches!(content, Content::Commit(_));
        let content = FramedContent {
            group_id: self.context.group_id.clone(),
            epoch: self.context.epoch,
            sender: Sender::Member(SENDER),
            authenticated_data: b"aad".into(),
            content,
        };
        let signer = self
            .cs
            .signer(&hex_field(self.v, "signature_priv")?)
            .map_err(|e| e.to_string())?;
        let signature =
            framing::sign_content(&*signer, wire_format, &content, &self.context).map_err(|e| e.to_string())?;
        // Any tag will do here: confirmation tags are checked by the group layer.
        let confirmation_tag = is_commit.then(|| vec![7u8; self.cs.hash_len()].into());
        Ok(AuthenticatedContent {
            wire_format,
            content,
            auth: FramedContentAuthData {
                signature,
                confirmation_tag,
            },
        })
    }

    fn seal_public(&self, content: AuthenticatedContent) -> Result<Vec<u8>, String> {
        let msg = framing::protect_public(self.cs, &self.membership_key()?, &self.context, content)
            .map_err(|e| e.to_string())?;
        mls_message(MlsMessageBody::PublicMessage(msg))
    }

    fn seal_private(&self, content: &AuthenticatedContent) -> Result<Vec<u8>, String> {
        let (sds, mut tree) = (hex_field(self.v, "sender_data_secret")?, self.secret_tree()?);
        let keys = PrivateKeys {
            sender_data_secret: &sds,
            secret_tree: &mut tree,
        };
        let msg = framing::protect_private(self.cs, keys, content, 13, &mut super::common::rng())
            .map_err(|e| e.to_string())?;
        mls_message(MlsMessageBody::PrivateMessage(msg))
    }

    fn open_public(&self, bytes: &[u8]) -> Result<AuthenticatedContent, String> {
        let MlsMessageBody::PublicMessage(msg) = decode_message(bytes)? else {
            return Err("not a PublicMessage".into());
        };
        let content = framing::unprotect_public(self.cs, &self.membership_key()?, &self.context, msg)
            .map_err(|e| e.to_string())?;
        self.verify(content)
    }

    fn open_private(&self, bytes: &[u8]) -> Result<AuthenticatedContent, String> {
        let MlsMessageBody::PrivateMessage(msg) = decode_message(bytes)? else {
            return Err("not a PrivateMessage".into());
        };
        let (sds, mut tree) = (hex_field(self.v, "sender_data_secret")?, self.secret_tree()?);
        let keys = PrivateKeys {
            sender_data_secret: &sds,
            secret_tree: &mut tree,
        };
        let content = framing::unprotect_private(self.cs, keys, &self.context, &msg).map_err(|e| e.to_string())?;
        // The key is used up: the same message must not open twice.
        let keys = PrivateKeys {
            sender_data_secret: &sds,
            secret_tree: &mut tree,
        };
        if framing::unprotect_private(self.cs, keys, &self.context, &msg).is_ok() {
            return Err("a replayed PrivateMessage opened twice".into());
        }
        self.verify(content)
    }

    fn verify(&self, content: AuthenticatedContent) -> Result<AuthenticatedContent, String> {
        if content.content.sender != Sender::Member(SENDER) {
            return Err(format!("unexpected sender {:?}", content.content.sender));
        }
        let verifier = self
            .cs
            .verifier(&hex_field(self.v, "signature_pub")?)
            .map_err(|e| e.to_string())?;
        framing::verify_content(&*verifier, &content, &self.context).map_err(|e| e.to_string())?;
        Ok(content)
    }
}

fn decode_message(bytes: &[u8]) -> Result<MlsMessageBody, String> {
    let msg: MlsMessage = decode_exact(bytes).map_err(|e| e.to_string())?;
    Ok(msg.body)
}

fn mls_message(body: MlsMessageBody) -> Result<Vec<u8>, String> {
    encode(&MlsMessage {
        version: ProtocolVersion::MLS10,
        body,
    })
    .map_err(|e| e.to_string())
}

fn expect_content(got: &AuthenticatedContent, want: &Content, what: &str) -> Result<(), String> {
    if &got.content.content == want {
        Ok(())
    } else {
        Err(format!("{what}: content differs"))
    }
}
