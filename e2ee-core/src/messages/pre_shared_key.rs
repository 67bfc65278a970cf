//! Pre-shared key identifiers (RFC 9420 §8.4).

use crate::codec::{Decode, Encode, Size, VLBytes};

/// PSKType (RFC 9420 §8.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Size, Encode, Decode)]
#[repr(u8)]
pub enum PskType {
    /// `external`.
    External = 1,
    /// `resumption`.
    Resumption = 2,
}

/// ResumptionPSKUsage (RFC 9420 §8.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Size, Encode, Decode)]
#[repr(u8)]
pub enum ResumptionPskUsage {
    /// `application`.
    Application = 1,
    /// `reinit`.
    Reinit = 2,
    /// `branch`.
    Branch = 3,
}

/// `psktype` and the fields it selects in a PreSharedKeyID (RFC 9420 §8.4).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Size, Encode, Decode)]
#[repr(u8)]
pub enum Psk {
    /// `external`: `opaque psk_id<V>`.
    #[codec(discriminant = 1)]
    External {
        /// The application's identifier of the external PSK.
        psk_id: VLBytes,
    },
    /// `resumption`: a resumption secret of an earlier epoch.
    #[codec(discriminant = 2)]
    Resumption {
        /// Why the resumption PSK is used.
        usage: ResumptionPskUsage,
        /// The group the secret is from.
        psk_group_id: VLBytes,
        /// The epoch the secret is from.
        psk_epoch: u64,
    },
}

impl Psk {
    /// The `psktype`.
    pub fn psktype(&self) -> PskType {
        match self {
            Self::External { .. } => PskType::External,
            Self::Resumption { .. } => PskType::Resumption,
        }
    }
}

/// PreSharedKeyID (RFC 9420 §8.4).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Size, Encode, Decode)]
pub struct PreSharedKeyId {
    /// `psktype` with its selected fields.
    pub psk: Psk,
    /// A fresh random nonce of length `KDF.Nh`.
    pub psk_nonce: VLBytes,
}

/// PSKLabel (RFC 9420 §8.4), the context when chaining PSKs into `psk_secret`.
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct PskLabel {
    /// The PSK's identifier.
    pub id: PreSharedKeyId,
    /// Its position in the list.
    pub index: u16,
    /// The number of PSKs.
    pub count: u16,
}
