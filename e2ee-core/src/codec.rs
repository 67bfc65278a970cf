//! The TLS presentation language of RFC 9420 §2.1, with MLS variable-length
//! vectors (§2.1.2), on top of the `tls_codec` crate.
//!
//! `tls_codec` is built with its `mls` feature: vector lengths are QUIC-style
//! varints limited to 30 bits and must be minimally encoded. Every decoder in
//! this crate goes through [`decode_exact`], which also rejects trailing bytes.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

use crate::crypto::Secret;

pub use tls_codec::{DeserializeBytes, SerializeBytes, Size, TlsDeserializeBytes, TlsSerializeBytes, TlsSize};

/// Why bytes could not be decoded (or, rarely, encoded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodecError {
    /// The input ended before the structure was complete.
    Truncated,
    /// Bytes were left over after the structure was decoded.
    TrailingBytes,
    /// A vector length prefix was non-minimal, over 30 bits, or did not match
    /// the bytes its elements consumed.
    InvalidLength,
    /// A field held a value the protocol does not allow (an unknown enum
    /// discriminant, a bad optional marker, ...).
    InvalidValue,
    /// An encoding limit of this library was exceeded.
    LimitExceeded,
}

impl CodecError {
    /// A stable machine-readable code for bindings.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Truncated => "codec_truncated",
            Self::TrailingBytes => "codec_trailing_bytes",
            Self::InvalidLength => "codec_invalid_length",
            Self::InvalidValue => "codec_invalid_value",
            Self::LimitExceeded => "codec_limit_exceeded",
        }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Truncated => "input ended before the structure was complete",
            Self::TrailingBytes => "unexpected bytes after the structure",
            Self::InvalidLength => "invalid vector length",
            Self::InvalidValue => "invalid field value",
            Self::LimitExceeded => "size limit exceeded",
        })
    }
}

impl From<tls_codec::Error> for CodecError {
    fn from(e: tls_codec::Error) -> Self {
        use tls_codec::Error as E;
        match e {
            E::EndOfStream => Self::Truncated,
            E::TrailingData => Self::TrailingBytes,
            E::InvalidVectorLength => Self::InvalidLength,
            // tls_codec reports vector/element length mismatches as DecodingError.
            E::DecodingError(_) => Self::InvalidLength,
            E::UnknownValue(_) | E::InvalidInput => Self::InvalidValue,
            E::EncodingError(_) | E::InvalidWriteLength(_) | E::LibraryError => Self::LimitExceeded,
        }
    }
}

impl From<CodecError> for tls_codec::Error {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::Truncated => Self::EndOfStream,
            CodecError::TrailingBytes => Self::TrailingData,
            CodecError::InvalidLength | CodecError::LimitExceeded => Self::InvalidVectorLength,
            CodecError::InvalidValue => Self::InvalidInput,
        }
    }
}

/// `opaque data<V>`: a byte vector with an MLS varint length prefix.
///
/// This replaces `tls_codec::VLBytes`, whose decoder trips a `debug_assert`
/// (a panic in debug builds) on truncated input; this one only returns errors.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, zeroize::Zeroize)]
pub struct VLBytes(Vec<u8>);

impl VLBytes {
    /// Wraps `bytes`.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// Unwraps the bytes.
    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl fmt::Debug for VLBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl From<Vec<u8>> for VLBytes {
    fn from(v: Vec<u8>) -> Self {
        Self(v)
    }
}

impl From<&[u8]> for VLBytes {
    fn from(v: &[u8]) -> Self {
        Self(v.to_vec())
    }
}

impl<const N: usize> From<&[u8; N]> for VLBytes {
    fn from(v: &[u8; N]) -> Self {
        Self(v.to_vec())
    }
}

impl From<VLBytes> for Vec<u8> {
    fn from(v: VLBytes) -> Self {
        v.0
    }
}

impl AsRef<[u8]> for VLBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl core::ops::Deref for VLBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl Size for VLBytes {
    fn tls_serialized_len(&self) -> usize {
        varint_len(self.0.len()) + self.0.len()
    }
}

impl Size for &VLBytes {
    fn tls_serialized_len(&self) -> usize {
        (*self).tls_serialized_len()
    }
}

impl SerializeBytes for VLBytes {
    fn tls_serialize_bytes(&self) -> Result<Vec<u8>, tls_codec::Error> {
        encode_vl(&self.0)
    }
}

impl SerializeBytes for &VLBytes {
    fn tls_serialize_bytes(&self) -> Result<Vec<u8>, tls_codec::Error> {
        (*self).tls_serialize_bytes()
    }
}

impl DeserializeBytes for VLBytes {
    fn tls_deserialize_bytes(bytes: &[u8]) -> Result<(Self, &[u8]), tls_codec::Error> {
        let (data, rest) = split_vl(bytes)?;
        Ok((Self(data.to_vec()), rest))
    }
}

/// Splits `opaque data<V>` off the front of `bytes`: `(data, rest)`.
fn split_vl(bytes: &[u8]) -> Result<(&[u8], &[u8]), tls_codec::Error> {
    let (len, header) = read_varint_length(bytes).map_err(|e| match e {
        CodecError::Truncated => tls_codec::Error::EndOfStream,
        _ => tls_codec::Error::InvalidVectorLength,
    })?;
    let body = &bytes[header..];
    if body.len() < len {
        return Err(tls_codec::Error::EndOfStream);
    }
    Ok(body.split_at(len))
}

/// `data` as `opaque data<V>`, in a buffer of exactly the encoded size (so
/// no reallocation leaves a copy behind).
fn encode_vl(data: &[u8]) -> Result<Vec<u8>, tls_codec::Error> {
    let mut out = Vec::with_capacity(varint_len(data.len()) + data.len());
    write_varint_length(data.len(), &mut out).map_err(|_| tls_codec::Error::InvalidVectorLength)?;
    out.extend_from_slice(data);
    Ok(out)
}

// Secrets encode as `opaque secret<V>`, for storing a group's state
// (`group::Group::export_state`); decoding copies straight into a `Secret`.
impl Size for Secret {
    fn tls_serialized_len(&self) -> usize {
        varint_len(self.len()) + self.len()
    }
}

impl SerializeBytes for Secret {
    fn tls_serialize_bytes(&self) -> Result<Vec<u8>, tls_codec::Error> {
        encode_vl(self.as_bytes())
    }
}

impl DeserializeBytes for Secret {
    fn tls_deserialize_bytes(bytes: &[u8]) -> Result<(Self, &[u8]), tls_codec::Error> {
        let (data, rest) = split_vl(bytes)?;
        Ok((Secret::from_slice(data), rest))
    }
}

fn varint_len(len: usize) -> usize {
    match len {
        0..=0x3f => 1,
        0x40..=0x3fff => 2,
        _ => 4,
    }
}

/// Decodes exactly one `T` from `bytes`; trailing bytes are an error.
pub fn decode_exact<T: DeserializeBytes>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, rest) = T::tls_deserialize_bytes(bytes)?;
    if !rest.is_empty() {
        return Err(CodecError::TrailingBytes);
    }
    Ok(value)
}

/// Decodes one `T` from the front of `bytes`, returning the rest.
pub fn decode_prefix<T: DeserializeBytes>(bytes: &[u8]) -> Result<(T, &[u8]), CodecError> {
    Ok(T::tls_deserialize_bytes(bytes)?)
}

/// Encodes `value` in the TLS presentation language.
pub fn encode<T: SerializeBytes + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    Ok(value.tls_serialize_bytes()?)
}

/// Collects `(key, value)` pairs into a map, or `None` unless the keys are
/// strictly increasing: the canonical encoding of a map as a vector, so a
/// duplicate key cannot silently replace an earlier entry.
pub(crate) fn strictly_sorted_map<K: Ord + Copy, V>(
    entries: impl IntoIterator<Item = (K, V)>,
) -> Option<BTreeMap<K, V>> {
    let mut map = BTreeMap::new();
    for (key, value) in entries {
        if map.last_key_value().is_some_and(|(last, _)| *last >= key) {
            return None;
        }
        map.insert(key, value);
    }
    Some(map)
}

/// Reads an MLS variable-length vector header (RFC 9420 §2.1.2) and returns
/// the announced length and the header size. Rejects non-minimal and
/// 8-byte encodings.
pub fn read_varint_length(bytes: &[u8]) -> Result<(usize, usize), CodecError> {
    let first = *bytes.first().ok_or(CodecError::Truncated)?;
    let header_len = 1usize << (first >> 6);
    if header_len == 8 {
        return Err(CodecError::InvalidLength);
    }
    let header = bytes.get(..header_len).ok_or(CodecError::Truncated)?;
    let mut value = u64::from(first & 0x3f);
    for b in &header[1..] {
        value = (value << 8) | u64::from(*b);
    }
    let minimal = match value {
        0..=0x3f => 1,
        0x40..=0x3fff => 2,
        _ => 4,
    };
    if minimal != header_len {
        return Err(CodecError::InvalidLength);
    }
    let len = usize::try_from(value).map_err(|_| CodecError::LimitExceeded)?;
    Ok((len, header_len))
}

/// Writes an MLS variable-length vector header for `len` bytes.
pub fn write_varint_length(len: usize, out: &mut Vec<u8>) -> Result<(), CodecError> {
    match len {
        0..=0x3f => out.push(len as u8),
        0x40..=0x3fff => out.extend_from_slice(&(0x4000u16 | len as u16).to_be_bytes()),
        0x4000..=0x3fff_ffff => out.extend_from_slice(&(0x8000_0000u32 | len as u32).to_be_bytes()),
        _ => return Err(CodecError::LimitExceeded),
    }
    Ok(())
}

/// A structure that appends its encoding to a buffer: those that are
/// signed are written into the signed message in place (a GroupInfo holds
/// the whole tree, a message its content), where the derived encoders would
/// build and copy a vector per field and level of nesting.
pub(crate) trait WriteTo: Size {
    /// Appends the encoding to `out`.
    fn write_to(&self, out: &mut Vec<u8>) -> Result<(), CodecError>;
}

/// The encoding of `value`, for `SerializeBytes` of a [`WriteTo`] type.
pub(crate) fn encode_written(value: &dyn WriteTo) -> Result<Vec<u8>, tls_codec::Error> {
    let mut out = Vec::with_capacity(value.tls_serialized_len());
    value.write_to(&mut out)?;
    Ok(out)
}

/// Appends `opaque bytes<V>` (§2.1.2): the varint length, then `bytes`.
pub(crate) fn write_opaque(out: &mut Vec<u8>, bytes: &[u8]) -> Result<(), CodecError> {
    write_varint_length(bytes.len(), out)?;
    out.extend_from_slice(bytes);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_minimality() {
        for len in [0usize, 1, 63, 64, 16383, 16384, 0x3fff_ffff] {
            let mut out = Vec::new();
            write_varint_length(len, &mut out).unwrap();
            assert_eq!(read_varint_length(&out).unwrap(), (len, out.len()));
        }
        assert_eq!(read_varint_length(&[0x40, 0x01]), Err(CodecError::InvalidLength));
        assert_eq!(
            read_varint_length(&[0xc0, 0, 0, 0, 0, 0, 0, 1]),
            Err(CodecError::InvalidLength)
        );
        assert_eq!(read_varint_length(&[0x80, 0]), Err(CodecError::Truncated));
    }

    #[test]
    fn vlbytes_rejects_trailing_and_short_input() {
        assert_eq!(decode_exact::<VLBytes>(&[1, 7, 0]), Err(CodecError::TrailingBytes));
        assert_eq!(decode_exact::<VLBytes>(&[3, 7]), Err(CodecError::Truncated));
        assert_eq!(
            decode_exact::<VLBytes>(&[0x40, 0x01, 7]),
            Err(CodecError::InvalidLength)
        );
    }
}
