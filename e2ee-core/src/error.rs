//! The crate's public error type: one enum gathering each layer's errors,
//! with a stable machine-readable [`Error::code`] for bindings.

use core::fmt;

#[cfg(feature = "client")]
use crate::client::ClientError;
use crate::codec::CodecError;
use crate::crypto::CryptoError;
use crate::framing::FramingError;
use crate::group::GroupError;
use crate::key_package::KeyPackageError;
use crate::ratchet_tree::TreeError;
use crate::secret_tree::SecretTreeError;
use crate::transcript::TranscriptError;
use crate::treekem::TreeKemError;
use crate::welcome::WelcomeError;

/// Any error of this crate.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Bytes could not be decoded.
    Codec(CodecError),
    /// A cryptographic operation failed.
    Crypto(CryptoError),
    /// A confirmation tag did not match the transcript.
    Transcript(TranscriptError),
    /// A message key was unavailable (consumed, too far ahead, ...).
    SecretTree(SecretTreeError),
    /// A message could not be protected or unprotected.
    Framing(FramingError),
    /// A Welcome could not be processed.
    Welcome(WelcomeError),
    /// A ratchet tree was invalid or an operation on it failed.
    Tree(TreeError),
    /// A KeyPackage could not be created or was rejected.
    KeyPackage(KeyPackageError),
    /// An UpdatePath could not be created or processed.
    TreeKem(TreeKemError),
    /// A group operation failed or a message was rejected.
    Group(GroupError),
    /// The high-level API refused the request.
    #[cfg(feature = "client")]
    Client(ClientError),
}

impl Error {
    /// A stable machine-readable code (e.g. `codec_truncated`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Codec(e) => e.code(),
            Self::Crypto(e) => e.code(),
            Self::Transcript(e) => e.code(),
            Self::SecretTree(e) => e.code(),
            Self::Framing(e) => e.code(),
            Self::Welcome(e) => e.code(),
            Self::Tree(e) => e.code(),
            Self::KeyPackage(e) => e.code(),
            Self::TreeKem(e) => e.code(),
            Self::Group(e) => e.code(),
            #[cfg(feature = "client")]
            Self::Client(e) => e.code(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Codec(e) => write!(f, "decoding failed: {e}"),
            Self::Crypto(e) => write!(f, "cryptographic failure: {e}"),
            Self::Transcript(e) => write!(f, "transcript check failed: {e}"),
            Self::SecretTree(e) => write!(f, "message key unavailable: {e}"),
            Self::Framing(e) => write!(f, "message protection failed: {e}"),
            Self::Welcome(e) => write!(f, "welcome processing failed: {e}"),
            Self::Tree(e) => write!(f, "ratchet tree error: {e}"),
            Self::KeyPackage(e) => write!(f, "key package error: {e}"),
            Self::TreeKem(e) => write!(f, "TreeKEM error: {e}"),
            Self::Group(e) => write!(f, "{e}"),
            #[cfg(feature = "client")]
            Self::Client(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for Error {}

impl From<CodecError> for Error {
    fn from(e: CodecError) -> Self {
        Self::Codec(e)
    }
}

impl From<CryptoError> for Error {
    fn from(e: CryptoError) -> Self {
        Self::Crypto(e)
    }
}

impl From<SecretTreeError> for Error {
    fn from(e: SecretTreeError) -> Self {
        Self::SecretTree(e)
    }
}

impl From<FramingError> for Error {
    fn from(e: FramingError) -> Self {
        Self::Framing(e)
    }
}

impl From<TreeError> for Error {
    fn from(e: TreeError) -> Self {
        Self::Tree(e)
    }
}

impl From<TreeKemError> for Error {
    fn from(e: TreeKemError) -> Self {
        Self::TreeKem(e)
    }
}

impl From<KeyPackageError> for Error {
    fn from(e: KeyPackageError) -> Self {
        Self::KeyPackage(e)
    }
}

impl From<WelcomeError> for Error {
    fn from(e: WelcomeError) -> Self {
        Self::Welcome(e)
    }
}

impl From<TranscriptError> for Error {
    fn from(e: TranscriptError) -> Self {
        Self::Transcript(e)
    }
}

impl From<GroupError> for Error {
    fn from(e: GroupError) -> Self {
        Self::Group(e)
    }
}

#[cfg(feature = "client")]
impl From<ClientError> for Error {
    fn from(e: ClientError) -> Self {
        Self::Client(e)
    }
}
