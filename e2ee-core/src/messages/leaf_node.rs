//! Leaf nodes (RFC 9420 §7.2): Capabilities, Lifetime, LeafNodeSource,
//! LeafNode and the LeafNodeTBS signature content.

use alloc::vec::Vec;

use super::wire::{Parts, check_presence, encode_by_parts};
use super::{
    CipherSuite, Credential, CredentialType, Extension, ExtensionType, HpkePublicKey, ProposalType, ProtocolVersion,
    SignaturePublicKey,
};
use crate::codec::{CodecError, Decode, Encode, Measured, Size, VLBytes};

/// Capabilities (RFC 9420 §7.2). Unknown (e.g. GREASE) values decode and are
/// kept, as §13.5 requires.
#[derive(Clone, Debug, Default, PartialEq, Eq, Size, Encode, Decode)]
pub struct Capabilities {
    /// Supported protocol versions.
    pub versions: Vec<ProtocolVersion>,
    /// Supported cipher suites.
    pub cipher_suites: Vec<CipherSuite>,
    /// Supported non-default extension types.
    pub extensions: Vec<ExtensionType>,
    /// Supported non-default proposal types.
    pub proposals: Vec<ProposalType>,
    /// Supported credential types.
    pub credentials: Vec<CredentialType>,
}

/// Lifetime (RFC 9420 §7.2), in seconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct Lifetime {
    /// The first second the leaf node is valid.
    pub not_before: u64,
    /// The last second the leaf node is valid.
    pub not_after: u64,
}

/// LeafNodeSource (RFC 9420 §7.2) with the field it selects in a LeafNode.
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
#[repr(u8)]
pub enum LeafNodeSource {
    /// `key_package`: `Lifetime lifetime`.
    #[codec(discriminant = 1)]
    KeyPackage(Lifetime),
    /// `update`: no field.
    #[codec(discriminant = 2)]
    Update,
    /// `commit`: `opaque parent_hash<V>`.
    #[codec(discriminant = 3)]
    Commit(VLBytes),
}

/// LeafNode (RFC 9420 §7.2).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct LeafNode {
    /// The member's HPKE public key.
    pub encryption_key: HpkePublicKey,
    /// The member's signature public key.
    pub signature_key: SignaturePublicKey,
    /// The member's credential.
    pub credential: Credential,
    /// What the member's client supports.
    pub capabilities: Capabilities,
    /// How the leaf node came to be, with its lifetime or parent hash.
    pub leaf_node_source: LeafNodeSource,
    /// The leaf node's extensions.
    pub extensions: Vec<Extension>,
    /// `SignWithLabel(., "LeafNodeTBS", LeafNodeTBS)`.
    pub signature: VLBytes,
}

/// LeafNodeTBS (RFC 9420 §7.2): what a LeafNode's signature covers.
/// Encode-only; build it from the leaf node being signed or verified.
#[derive(Clone, Copy, Debug)]
pub struct LeafNodeTbs<'a> {
    /// The leaf node; every field above `signature` is covered.
    pub leaf_node: &'a LeafNode,
    /// `(group_id, leaf_index)`: required for `update` and `commit` leaf
    /// nodes, ignored for `key_package` ones.
    pub group: Option<(&'a VLBytes, u32)>,
}

impl Parts for LeafNodeTbs<'_> {
    fn parts(&self) -> Result<Vec<&dyn Measured>, CodecError> {
        let leaf = self.leaf_node;
        let mut parts: Vec<&dyn Measured> = vec![
            &leaf.encryption_key,
            &leaf.signature_key,
            &leaf.credential,
            &leaf.capabilities,
            &leaf.leaf_node_source,
            &leaf.extensions,
        ];
        if matches!(leaf.leaf_node_source, LeafNodeSource::KeyPackage(_)) {
            return Ok(parts);
        }
        // update / commit: `opaque group_id<V>; uint32 leaf_index;`
        check_presence(self.group.is_some(), true)?;
        if let Some((group_id, leaf_index)) = &self.group {
            parts.push(*group_id);
            parts.push(leaf_index);
        }
        Ok(parts)
    }
}

encode_by_parts!(LeafNodeTbs<'_>);
