//! Wire structures of RFC 9420, each encoded and decoded with the TLS
//! presentation language (see [`crate::codec`]). One module per RFC concept.
//!
//! Every type here decodes with [`crate::codec::decode_exact`] and encodes
//! with [`crate::codec::encode`]. `uint16` registries that must carry unknown
//! (e.g. GREASE) values are newtypes with constants ([`ExtensionType`],
//! [`ProposalType`], [`CredentialType`], [`WireFormat`], [`CipherSuite`]);
//! a tagged union (`select`) with an unknown tag fails to decode with
//! [`CodecError::InvalidValue`](crate::codec::CodecError::InvalidValue).
//! Encode-only `…Tbs`/`…Tbm` views give the signed and MACed contents.

pub mod commit;
pub mod credential;
pub mod extensions;
pub mod framing;
pub mod group_context;
pub mod group_info;
pub mod key_package;
pub mod leaf_node;
pub mod pre_shared_key;
pub mod proposals;
#[cfg(test)]
mod tests;
pub mod tree;
pub mod welcome;
mod wire;

use crate::codec::{Decode, Encode, Size, VLBytes};
pub use crate::crypto::{CipherSuite, HpkeCiphertext};

pub use commit::{Commit, ProposalOrRef, ProposalOrRefType};
pub use credential::{Certificate, Credential, CredentialType};
pub use extensions::{
    ApplicationId, Extension, ExtensionBody, ExtensionType, ExternalPub, ExternalSender, ExternalSenders,
    RequiredCapabilities,
};
pub use framing::{
    AuthenticatedContent, AuthenticatedContentTbm, Content, ContentType, FramedContent, FramedContentAuthData,
    FramedContentTbs, MlsMessage, MlsMessageBody, PrivateContentAad, PrivateMessage, PublicMessage, Sender, SenderData,
    SenderDataAad, SenderType, WireFormat,
};
pub use group_context::GroupContext;
pub use group_info::{GroupInfo, GroupInfoTbs};
pub use key_package::{KeyPackage, KeyPackageTbs};
pub use leaf_node::{Capabilities, LeafNode, LeafNodeSource, LeafNodeTbs, Lifetime};
pub use pre_shared_key::{PreSharedKeyId, Psk, PskLabel, PskType, ResumptionPskUsage};
pub use proposals::{
    Add, ExternalInit, GroupContextExtensions, PreSharedKey, Proposal, ProposalType, ReInit, Remove, Update,
};
pub use tree::{Node, NodeType, ParentNode, RatchetTree, UpdatePath, UpdatePathNode};
pub use welcome::{EncryptedGroupSecrets, GroupSecrets, PathSecret, Welcome};

/// ProtocolVersion (RFC 9420 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Size, Encode, Decode)]
pub struct ProtocolVersion(pub u16);

impl ProtocolVersion {
    /// `mls10`, the only version this library speaks.
    pub const MLS10: Self = Self(1);
}

/// HPKEPublicKey (RFC 9420 §5.1.1): `opaque HPKEPublicKey<V>`.
pub type HpkePublicKey = VLBytes;

/// SignaturePublicKey (RFC 9420 §5.1.1): `opaque SignaturePublicKey<V>`.
pub type SignaturePublicKey = VLBytes;

/// MAC (RFC 9420 §6.1): `opaque MAC<V>`.
pub type Mac = VLBytes;

/// HashReference (RFC 9420 §5.2): `opaque HashReference<V>`.
pub type HashReference = VLBytes;

/// KeyPackageRef (RFC 9420 §5.2): `MakeKeyPackageRef(value)`.
pub type KeyPackageRef = HashReference;

/// ProposalRef (RFC 9420 §5.2): `MakeProposalRef(value)`.
pub type ProposalRef = HashReference;
