//! Extensions (RFC 9420 §13). Unknown extension types are kept as opaque
//! bytes so they survive re-encoding, as the RFC requires.

use alloc::vec::Vec;

use crate::codec::{TlsDeserializeBytes, TlsSerializeBytes, TlsSize, VLBytes};

/// ExtensionType (RFC 9420 §17.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, TlsSize, TlsSerializeBytes, TlsDeserializeBytes)]
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
}

/// Extension (RFC 9420 §7.2).
#[derive(Clone, Debug, PartialEq, Eq, TlsSize, TlsSerializeBytes, TlsDeserializeBytes)]
pub struct Extension {
    /// The extension's type.
    pub extension_type: ExtensionType,
    /// The extension's encoded body.
    pub extension_data: VLBytes,
}
