//! Credentials (RFC 9420 §5.3).
//!
//! `credential_type` is a `uint16` from an IANA registry, so [`CredentialType`]
//! is a newtype and any value (including GREASE, §13.5) decodes where a bare
//! type is listed, e.g. in `Capabilities`. A [`Credential`] body, however, is
//! selected by its type and is not length-prefixed, so a credential of a type
//! other than `basic` or `x509` cannot be delimited: decoding it fails with
//! [`CodecError::InvalidValue`](crate::codec::CodecError::InvalidValue)
//! rather than guessing. Applications defining new credential types (§13.3)
//! must extend [`Credential`].

use alloc::vec::Vec;

use crate::codec::{Decode, Encode, Size, VLBytes};

/// CredentialType (RFC 9420 §5.3, §17.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Size, Encode, Decode)]
pub struct CredentialType(pub u16);

impl CredentialType {
    /// `basic`: a bare application-defined identity.
    pub const BASIC: Self = Self(1);
    /// `x509`: a chain of DER-encoded X.509 certificates.
    pub const X509: Self = Self(2);
}

/// Certificate (RFC 9420 §5.3): one DER-encoded X.509 certificate.
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
pub struct Certificate {
    /// The DER encoding of the certificate.
    pub cert_data: VLBytes,
}

/// Credential (RFC 9420 §5.3): `credential_type` followed by the body it selects.
#[derive(Clone, Debug, PartialEq, Eq, Size, Encode, Decode)]
#[repr(u16)]
pub enum Credential {
    /// `basic`: `opaque identity<V>`, in an application-defined format.
    #[codec(discriminant = 1)]
    Basic(VLBytes),
    /// `x509`: `Certificate certificates<V>`, end-entity certificate first.
    #[codec(discriminant = 2)]
    X509(Vec<Certificate>),
}

impl Credential {
    /// The credential's `credential_type`.
    pub fn credential_type(&self) -> CredentialType {
        match self {
            Self::Basic(_) => CredentialType::BASIC,
            Self::X509(_) => CredentialType::X509,
        }
    }
}
