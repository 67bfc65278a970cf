//! Proposals (RFC 9420 §12.1).
//!
//! [`ProposalType`] is a `uint16` newtype, so any value (including GREASE,
//! §13.5) decodes where a bare type is listed, e.g. in `Capabilities`. A
//! [`Proposal`] body is selected by its type and is not length-prefixed, so
//! a proposal of a type other than the seven of §12.1 fails to decode with
//! [`CodecError::InvalidValue`](crate::codec::CodecError::InvalidValue).

use alloc::vec::Vec;

use super::{CipherSuite, Extension, KeyPackage, LeafNode, PreSharedKeyId, ProtocolVersion};
use crate::codec::{Decode, Encode, Size, VLBytes};

/// ProposalType (RFC 9420 §12.1, §17.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Size, Encode, Decode)]
pub struct ProposalType(pub u16);

impl ProposalType {
    /// `add`.
    pub const ADD: Self = Self(1);
    /// `update`.
    pub const UPDATE: Self = Self(2);
    /// `remove`.
    pub const REMOVE: Self = Self(3);
    /// `psk`.
    pub const PSK: Self = Self(4);
    /// `reinit`.
    pub const REINIT: Self = Self(5);
    /// `external_init`.
    pub const EXTERNAL_INIT: Self = Self(6);
    /// `group_context_extensions`.
    pub const GROUP_CONTEXT_EXTENSIONS: Self = Self(7);

    /// Whether this is one of RFC 9420's types, which every client supports
    /// and no capabilities list names (§7.2).
    pub fn is_default(self) -> bool {
        (Self::ADD.0..=Self::GROUP_CONTEXT_EXTENSIONS.0).contains(&self.0)
    }
}

/// Add (RFC 9420 §12.1.1).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct Add {
    /// The key package of the client to add.
    pub key_package: KeyPackage,
}

/// Update (RFC 9420 §12.1.2).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct Update {
    /// The sender's new leaf node.
    pub leaf_node: LeafNode,
}

/// Remove (RFC 9420 §12.1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct Remove {
    /// Leaf index of the member to remove.
    pub removed: u32,
}

/// PreSharedKey (RFC 9420 §12.1.4).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct PreSharedKey {
    /// The PSK to inject into the next epoch's key schedule.
    pub psk: PreSharedKeyId,
}

/// ReInit (RFC 9420 §12.1.5).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct ReInit {
    /// The new group's identifier.
    pub group_id: VLBytes,
    /// The new group's protocol version.
    pub version: ProtocolVersion,
    /// The new group's cipher suite.
    pub cipher_suite: CipherSuite,
    /// The new group's GroupContext extensions.
    pub extensions: Vec<Extension>,
}

/// ExternalInit (RFC 9420 §12.1.6).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct ExternalInit {
    /// The KEM output to the group's `external_pub` (§8.3).
    pub kem_output: VLBytes,
}

/// GroupContextExtensions (RFC 9420 §12.1.7).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct GroupContextExtensions {
    /// The group's new extensions, replacing the old ones.
    pub extensions: Vec<Extension>,
}

/// Proposal (RFC 9420 §12.1): `proposal_type` followed by the body it selects.
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
#[repr(u16)]
pub enum Proposal {
    /// `add`.
    #[codec(discriminant = 1)]
    Add(Add),
    /// `update`.
    #[codec(discriminant = 2)]
    Update(Update),
    /// `remove`.
    #[codec(discriminant = 3)]
    Remove(Remove),
    /// `psk`.
    #[codec(discriminant = 4)]
    PreSharedKey(PreSharedKey),
    /// `reinit`.
    #[codec(discriminant = 5)]
    ReInit(ReInit),
    /// `external_init`.
    #[codec(discriminant = 6)]
    ExternalInit(ExternalInit),
    /// `group_context_extensions`.
    #[codec(discriminant = 7)]
    GroupContextExtensions(GroupContextExtensions),
}

impl Proposal {
    /// The proposal's `proposal_type`.
    pub fn proposal_type(&self) -> ProposalType {
        match self {
            Self::Add(_) => ProposalType::ADD,
            Self::Update(_) => ProposalType::UPDATE,
            Self::Remove(_) => ProposalType::REMOVE,
            Self::PreSharedKey(_) => ProposalType::PSK,
            Self::ReInit(_) => ProposalType::REINIT,
            Self::ExternalInit(_) => ProposalType::EXTERNAL_INIT,
            Self::GroupContextExtensions(_) => ProposalType::GROUP_CONTEXT_EXTENSIONS,
        }
    }
}
