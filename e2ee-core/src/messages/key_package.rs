//! KeyPackages (RFC 9420 §10).

use alloc::vec::Vec;

use super::wire::{Parts, encode_by_parts};
use super::{CipherSuite, Extension, HpkePublicKey, LeafNode, ProtocolVersion};
use crate::codec::{CodecError, Decode, Encode, Measured, Size, VLBytes};

/// KeyPackage (RFC 9420 §10).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct KeyPackage {
    /// The protocol version.
    pub version: ProtocolVersion,
    /// The cipher suite the key package is for.
    pub cipher_suite: CipherSuite,
    /// The HPKE key Welcome secrets are encrypted to.
    pub init_key: HpkePublicKey,
    /// The client's leaf node (`leaf_node_source` = `key_package`).
    pub leaf_node: LeafNode,
    /// The key package's extensions.
    pub extensions: Vec<Extension>,
    /// `SignWithLabel(., "KeyPackageTBS", KeyPackageTBS)`.
    pub signature: VLBytes,
}

/// KeyPackageTBS (RFC 9420 §10): every KeyPackage field but `signature`.
/// Encode-only.
#[derive(Clone, Copy, Debug)]
pub struct KeyPackageTbs<'a>(pub &'a KeyPackage);

impl Parts for KeyPackageTbs<'_> {
    fn parts(&self) -> Result<Vec<&dyn Measured>, CodecError> {
        let kp = self.0;
        Ok(vec![
            &kp.version,
            &kp.cipher_suite,
            &kp.init_key,
            &kp.leaf_node,
            &kp.extensions,
        ])
    }
}

encode_by_parts!(KeyPackageTbs<'_>);
