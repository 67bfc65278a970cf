//! Welcome messages (RFC 9420 §12.4.3.1).
//!
//! `GroupSecrets` and `PathSecret` zeroize their secrets when dropped, and
//! their `Debug` output shows no secret.

use alloc::vec::Vec;
use core::fmt;

use super::{KeyPackageRef, PreSharedKeyId};
use crate::codec::{Decode, Encode, Size, VLBytes};
use crate::crypto::{CipherSuite, HpkeCiphertext};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// PathSecret (RFC 9420 §12.4.3.1).
#[derive(Clone, PartialEq, Eq, Size, Encode, Decode, Zeroize, ZeroizeOnDrop)]
pub struct PathSecret {
    /// The path secret for the lowest common ancestor of sender and joiner.
    pub path_secret: VLBytes,
}

/// GroupSecrets (RFC 9420 §12.4.3.1), encrypted to each joiner.
#[derive(Clone, PartialEq, Eq, Size, Encode, Decode, Zeroize, ZeroizeOnDrop)]
pub struct GroupSecrets {
    /// The joiner secret of the new epoch.
    pub joiner_secret: VLBytes,
    /// The path secret, when the commit had a path.
    pub path_secret: Option<PathSecret>,
    /// The PSKs the epoch's key schedule uses (identifiers, not secrets).
    #[zeroize(skip)]
    pub psks: Vec<PreSharedKeyId>,
}

impl fmt::Debug for PathSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PathSecret").finish_non_exhaustive()
    }
}

impl fmt::Debug for GroupSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupSecrets")
            .field("path_secret", &self.path_secret.is_some())
            .field("psks", &self.psks)
            .finish_non_exhaustive()
    }
}

/// EncryptedGroupSecrets (RFC 9420 §12.4.3.1).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct EncryptedGroupSecrets {
    /// The KeyPackageRef of the joiner's key package.
    pub new_member: KeyPackageRef,
    /// `EncryptWithLabel(init_key, "Welcome", encrypted_group_info, GroupSecrets)`.
    pub encrypted_group_secrets: HpkeCiphertext,
}

/// Welcome (RFC 9420 §12.4.3.1).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct Welcome {
    /// The group's cipher suite.
    pub cipher_suite: CipherSuite,
    /// One entry per joiner.
    pub secrets: Vec<EncryptedGroupSecrets>,
    /// The GroupInfo, AEAD-encrypted with the welcome key and nonce.
    pub encrypted_group_info: VLBytes,
}
