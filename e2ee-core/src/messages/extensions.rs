//! Extensions (RFC 9420 §13). Unknown extension types are kept as opaque
//! bytes so they survive re-encoding, as the RFC requires. The bodies of the
//! extensions the RFC defines implement [`ExtensionBody`]; the `ratchet_tree`
//! body is [`RatchetTree`].

use alloc::vec::Vec;

use super::{Credential, CredentialType, HpkePublicKey, ProposalType, RatchetTree, SignaturePublicKey};
use crate::codec::{CodecError, Decode, Encode, Size, VLBytes, decode_exact, encode};

/// ExtensionType (RFC 9420 §17.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Size, Encode, Decode)]
pub struct ExtensionType(pub u16);

impl ExtensionType {
    /// application_id (LeafNode).
    pub const APPLICATION_ID: Self = Self(1);
    /// ratchet_tree (GroupInfo).
    pub const RATCHET_TREE: Self = Self(2);
    /// required_capabilities (GroupContext).
    pub const REQUIRED_CAPABILITIES: Self = Self(3);
    /// external_pub (GroupInfo).
    pub const EXTERNAL_PUB: Self = Self(4);
    /// external_senders (GroupContext).
    pub const EXTERNAL_SENDERS: Self = Self(5);

    /// Whether this is one of RFC 9420's types, which every client supports
    /// and no capabilities list names (§7.2).
    pub fn is_default(self) -> bool {
        (Self::APPLICATION_ID.0..=Self::EXTERNAL_SENDERS.0).contains(&self.0)
    }
}

/// Extension (RFC 9420 §7.2).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct Extension {
    /// The extension's type.
    pub extension_type: ExtensionType,
    /// The extension's encoded body.
    pub extension_data: VLBytes,
}

impl Extension {
    /// An extension of `T`'s type whose `extension_data` encodes `body`.
    pub fn from_body<T: ExtensionBody>(body: &T) -> Result<Self, CodecError> {
        Ok(Self {
            extension_type: T::EXTENSION_TYPE,
            extension_data: encode(body)?.into(),
        })
    }

    /// Decodes `extension_data` as `T` (all of it), whatever the type field says.
    pub fn body<T: ExtensionBody>(&self) -> Result<T, CodecError> {
        decode_exact(self.extension_data.as_slice())
    }

    /// Finds the extension of `T`'s type in `extensions` and decodes its body.
    pub fn find<T: ExtensionBody>(extensions: &[Self]) -> Result<Option<T>, CodecError> {
        extensions
            .iter()
            .find(|e| e.extension_type == T::EXTENSION_TYPE)
            .map(Self::body)
            .transpose()
    }
}

/// The body of an extension of a known type (RFC 9420 §13.4).
pub trait ExtensionBody: Encode + Decode {
    /// The type of extension this is the body of.
    const EXTENSION_TYPE: ExtensionType;
}

/// The `application_id` extension body (RFC 9420 §5.3.3).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct ApplicationId {
    /// The application-level identifier of the client.
    pub application_id: VLBytes,
}

/// RequiredCapabilities, the `required_capabilities` extension body
/// (RFC 9420 §11.1).
#[derive(Clone, Debug, Default, PartialEq, Eq, Size, Encode, Decode)]
pub struct RequiredCapabilities {
    /// Extension types every member must support.
    pub extension_types: Vec<ExtensionType>,
    /// Proposal types every member must support.
    pub proposal_types: Vec<ProposalType>,
    /// Credential types every member must support.
    pub credential_types: Vec<CredentialType>,
}

/// ExternalPub, the `external_pub` extension body (RFC 9420 §12.4.3.2).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct ExternalPub {
    /// The HPKE public key external joiners encrypt to (§8.3).
    pub external_pub: HpkePublicKey,
}

/// ExternalSender (RFC 9420 §12.1.8.1).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct ExternalSender {
    /// The external sender's signature key.
    pub signature_key: SignaturePublicKey,
    /// The external sender's credential.
    pub credential: Credential,
}

/// `ExternalSender external_senders<V>`, the `external_senders` extension
/// body (RFC 9420 §12.1.8.1).
pub type ExternalSenders = Vec<ExternalSender>;

impl ExtensionBody for ApplicationId {
    const EXTENSION_TYPE: ExtensionType = ExtensionType::APPLICATION_ID;
}

impl ExtensionBody for RatchetTree {
    const EXTENSION_TYPE: ExtensionType = ExtensionType::RATCHET_TREE;
}

impl ExtensionBody for RequiredCapabilities {
    const EXTENSION_TYPE: ExtensionType = ExtensionType::REQUIRED_CAPABILITIES;
}

impl ExtensionBody for ExternalPub {
    const EXTENSION_TYPE: ExtensionType = ExtensionType::EXTERNAL_PUB;
}

impl ExtensionBody for ExternalSenders {
    const EXTENSION_TYPE: ExtensionType = ExtensionType::EXTERNAL_SENDERS;
}
