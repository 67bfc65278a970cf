//! GroupContext (RFC 9420 §8.1).

use alloc::vec::Vec;

use super::{Extension, ProtocolVersion};
use crate::codec::{Decode, Encode, Size, VLBytes};
use crate::crypto::CipherSuite;

/// The summary of a group's state that every member agrees on (§8.1).
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct GroupContext {
    /// Always `mls10`.
    pub version: ProtocolVersion,
    /// The group's cipher suite.
    pub cipher_suite: CipherSuite,
    /// The application-chosen group identifier.
    pub group_id: VLBytes,
    /// The epoch counter.
    pub epoch: u64,
    /// The ratchet tree's root tree hash.
    pub tree_hash: VLBytes,
    /// The confirmed transcript hash after the commit that started the epoch.
    pub confirmed_transcript_hash: VLBytes,
    /// The group's extensions.
    pub extensions: Vec<Extension>,
}
