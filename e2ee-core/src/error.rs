//! The crate's public error type: one enum gathering each layer's errors,
//! with a stable machine-readable [`Error::code`] for bindings.

use core::fmt;

use crate::codec::CodecError;
use crate::crypto::CryptoError;
use crate::transcript::TranscriptError;

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
}

impl Error {
    /// A stable machine-readable code (e.g. `codec_truncated`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Codec(e) => e.code(),
            Self::Crypto(e) => e.code(),
            Self::Transcript(e) => e.code(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Codec(e) => write!(f, "decoding failed: {e}"),
            Self::Crypto(e) => write!(f, "cryptographic failure: {e}"),
            Self::Transcript(e) => write!(f, "transcript check failed: {e}"),
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

impl From<TranscriptError> for Error {
    fn from(e: TranscriptError) -> Self {
        Self::Transcript(e)
    }
}
