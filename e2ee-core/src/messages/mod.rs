//! Wire structures of RFC 9420, each encoded and decoded with the TLS
//! presentation language (see [`crate::codec`]).

pub mod extensions;
pub mod group_context;

use alloc::vec::Vec;

use crate::codec::{TlsDeserializeBytes, TlsSerializeBytes, TlsSize};

pub use extensions::{Extension, ExtensionType};
pub use group_context::GroupContext;

/// ProtocolVersion (RFC 9420 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, TlsSize, TlsSerializeBytes, TlsDeserializeBytes)]
pub struct ProtocolVersion(pub u16);

impl ProtocolVersion {
    /// `mls10`, the only version this library speaks.
    pub const MLS10: Self = Self(1);
}
