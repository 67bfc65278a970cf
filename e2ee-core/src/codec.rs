//! The TLS presentation language of RFC 9420 §2.1, with MLS variable-length
//! vectors (§2.1.2): vector lengths are QUIC-style varints limited to 30
//! bits and must be minimally encoded.
//!
//! Structures derive [`Encode`], [`Decode`] and [`Size`] (the crate
//! `e2ee-codec-derive`): fields in declaration order, an enum's variant after
//! its discriminant. Encoding writes into one [`Writer`]; decoding reads
//! from a [`Reader`] and fails with a one-byte [`CodecError`], never a
//! panic. Every decoder in this crate goes through [`decode_exact`], which
//! also rejects trailing bytes. (Why not the crate `tls_codec`: its derived
//! encoders allocate and copy a vector per field, and its errors carry
//! strings; with this codec the WebAssembly package is 12 % smaller, 9 %
//! gzipped.)

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

pub use e2ee_codec_derive::{Decode, Encode, Size};

crate::error::error_enum! {
    /// Why bytes could not be decoded (or, rarely, encoded).
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub enum CodecError {
        /// The input ended before the structure was complete.
        Truncated => "codec_truncated", "input ended before the structure was complete";
        /// Bytes were left over after the structure was decoded.
        TrailingBytes => "codec_trailing_bytes", "unexpected bytes after the structure";
        /// A vector length prefix was non-minimal, over 30 bits, or did not
        /// match the bytes its elements consumed.
        InvalidLength => "codec_invalid_length", "invalid vector length";
        /// A field held a value the protocol does not allow (an unknown enum
        /// discriminant, a bad optional marker, ...).
        InvalidValue => "codec_invalid_value", "invalid field value";
        /// An encoding limit of this library was exceeded.
        LimitExceeded => "codec_limit_exceeded", "size limit exceeded";
    }
}

/// `opaque data<V>`: a byte vector with an MLS varint length prefix.
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
    fn encoded_len(&self) -> usize {
        opaque_len(self.0.len())
    }
}

impl Decode for VLBytes {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(Self(r.opaque()?.to_vec()))
    }
}

/// The length of `len`'s minimal varint header (4 if over 30 bits, where
/// encoding fails anyway).
/// The encoded length of `opaque data<V>` with `len` bytes of data.
pub(crate) fn opaque_len(len: usize) -> usize {
    varint_len(len) + len
}

fn varint_len(len: usize) -> usize {
    varint(len).map_or(4, |(_, n)| n)
}

/// The encoded length of a structure (for buffers sized up front).
/// Derived with `e2ee_codec_derive::Size`.
pub trait Size {
    /// How many bytes [`Encode::encode_to`] writes.
    fn encoded_len(&self) -> usize;
}

impl<T: Size + ?Sized> Size for &T {
    fn encoded_len(&self) -> usize {
        (**self).encoded_len()
    }
}

macro_rules! size_fixed {
    ($($t:ty),*) => {$(
        impl Size for $t {
            fn encoded_len(&self) -> usize {
                core::mem::size_of::<$t>()
            }
        }
    )*};
}
size_fixed!(u8, u16, u32, u64);

impl<const N: usize> Size for [u8; N] {
    fn encoded_len(&self) -> usize {
        N
    }
}

impl<T: Size> Size for Vec<T> {
    fn encoded_len(&self) -> usize {
        let body = self.iter().map(Size::encoded_len).sum();
        opaque_len(body)
    }
}

impl<T: Size> Size for Option<T> {
    fn encoded_len(&self) -> usize {
        1 + self.as_ref().map_or(0, Size::encoded_len)
    }
}

/// Decodes exactly one `T` from `bytes`; trailing bytes are an error.
pub fn decode_exact<T: Decode>(bytes: &[u8]) -> Result<T, CodecError> {
    let mut r = Reader::new(bytes);
    let value = T::decode_from(&mut r)?;
    if !r.rest().is_empty() {
        return Err(CodecError::TrailingBytes);
    }
    Ok(value)
}

/// Decodes one `T` from the front of `bytes`, returning the rest.
pub fn decode_prefix<T: Decode>(bytes: &[u8]) -> Result<(T, &[u8]), CodecError> {
    let mut r = Reader::new(bytes);
    let value = T::decode_from(&mut r)?;
    Ok((value, r.rest()))
}

/// Reads encodings (RFC 9420 §2.1) from the front of a byte slice.
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader of `bytes`.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let (taken, rest) = self.bytes.split_at_checked(n).ok_or(CodecError::Truncated)?;
        self.bytes = rest;
        Ok(taken)
    }

    /// The next `N` bytes.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let (taken, rest) = self.bytes.split_first_chunk().ok_or(CodecError::Truncated)?;
        self.bytes = rest;
        Ok(*taken)
    }

    /// The body of `opaque data<V>`: a varint length, then that many bytes.
    pub fn opaque(&mut self) -> Result<&'a [u8], CodecError> {
        let (len, header) = read_varint_length(self.bytes)?;
        self.bytes = &self.bytes[header..];
        self.take(len)
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.bytes
    }
}

/// A structure in the TLS presentation language, read from a [`Reader`].
/// Derived with `e2ee_codec_derive::Decode`.
pub trait Decode: Sized {
    /// Reads one value from the front of `r`.
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError>;
}

macro_rules! decode_int {
    ($($t:ty),*) => {$(
        impl Decode for $t {
            fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
                Ok(<$t>::from_be_bytes(r.array()?))
            }
        }
    )*};
}
decode_int!(u8, u16, u32, u64);

impl<const N: usize> Decode for [u8; N] {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        r.array()
    }
}

/// `T items<V>`: elements must fill the announced length exactly. No
/// capacity is reserved from the length (an attacker's number).
impl<T: Decode> Decode for Vec<T> {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        let mut items = Reader::new(r.opaque()?);
        let mut out = Vec::new();
        while !items.rest().is_empty() {
            let before = items.rest().len();
            // An element running past the vector's end is a length mismatch.
            let item = T::decode_from(&mut items).map_err(|e| match e {
                CodecError::Truncated => CodecError::InvalidLength,
                other => other,
            })?;
            // An element of no bytes would repeat without end.
            if items.rest().len() == before {
                return Err(CodecError::InvalidLength);
            }
            out.push(item);
        }
        Ok(out)
    }
}

/// A `T`, decoded into shared ownership (no wire form of its own).
impl<T: Decode> Decode for alloc::sync::Arc<T> {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        Ok(alloc::sync::Arc::new(T::decode_from(r)?))
    }
}

/// `optional<T>`: presence byte 0 or 1.
impl<T: Decode> Decode for Option<T> {
    fn decode_from(r: &mut Reader<'_>) -> Result<Self, CodecError> {
        match u8::decode_from(r)? {
            0 => Ok(None),
            1 => Ok(Some(T::decode_from(r)?)),
            _ => Err(CodecError::InvalidValue),
        }
    }
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
    let len = usize::try_from(value).map_err(|_| CodecError::LimitExceeded)?;
    if varint_len(len) != header_len {
        return Err(CodecError::InvalidLength);
    }
    Ok((len, header_len))
}

/// The minimal varint header for `len` (§2.1.2) and its length, or `None`
/// over 30 bits.
#[inline]
fn varint(len: usize) -> Option<([u8; 4], usize)> {
    let len = u32::try_from(len).ok()?;
    Some(match len {
        0..=0x3f => ([len as u8, 0, 0, 0], 1),
        0x40..=0x3fff => {
            let [a, b] = (0x4000 | len as u16).to_be_bytes();
            ([a, b, 0, 0], 2)
        }
        0x4000..=0x3fff_ffff => ((0x8000_0000 | len).to_be_bytes(), 4),
        _ => return None,
    })
}

/// Appends encodings (RFC 9420 §2.1) to one buffer: every structure writes
/// its fields straight into it, with no vector per field or level of
/// nesting.
///
/// Writing cannot fail midway: the first error (a vector over the 30-bit
/// length limit, an optional field that does not match its selector) is
/// kept and returned by [`Writer::finish`].
#[derive(Default)]
pub struct Writer {
    buf: Vec<u8>,
    /// Growing zeroizes the buffer left behind (for stored secrets).
    secret: bool,
    error: Option<CodecError>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer that continues `buf`.
    pub fn from_vec(buf: Vec<u8>) -> Self {
        Self { buf, ..Self::default() }
    }

    /// An empty writer with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        Self::from_vec(Vec::with_capacity(capacity))
    }

    /// A writer whose every buffer is zeroized when it grows out of it, so
    /// that encoding secrets leaves no copy behind in freed memory.
    pub(crate) fn for_secrets() -> Self {
        Self {
            secret: true,
            ..Self::default()
        }
    }

    /// Appends raw bytes.
    #[inline]
    pub fn put(&mut self, bytes: &[u8]) {
        if self.secret && self.buf.capacity() - self.buf.len() < bytes.len() {
            let wanted = (self.buf.len() + bytes.len()).max(2 * self.buf.capacity());
            let mut grown = Vec::with_capacity(wanted);
            grown.extend_from_slice(&self.buf);
            zeroize::Zeroize::zeroize(&mut self.buf);
            self.buf = grown;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Appends `opaque bytes<V>`: the varint length, then `bytes`. The
    /// length is known, so the prefix is written first, with nothing to move.
    #[inline]
    pub fn opaque(&mut self, bytes: &[u8]) {
        self.length(bytes.len());
        self.put(bytes);
    }

    /// Appends the length prefix of a vector of `len` bytes whose body the
    /// caller writes next (e.g. straight into the buffer [`Writer::finish`]
    /// returns).
    #[inline]
    pub fn length(&mut self, len: usize) {
        match varint(len) {
            Some((prefix, n)) => self.put(&prefix[..n]),
            None => self.fail(CodecError::LimitExceeded),
        }
    }

    /// Starts a variable-length vector: room for the longest length prefix.
    /// Returns where it starts, for [`Writer::end_vector`].
    pub fn begin_vector(&mut self) -> usize {
        self.put(&[0; 4]);
        self.buf.len() - 4
    }

    /// Ends the vector begun at `start`: writes its minimal length prefix
    /// and, if shorter than the room left for it, moves the body up (only
    /// vectors under 16 KiB move: longer ones take all four bytes).
    pub fn end_vector(&mut self, start: usize) {
        let Some((prefix, n)) = varint(self.buf.len() - start - 4) else {
            return self.fail(CodecError::LimitExceeded);
        };
        let gap = 4 - n;
        self.buf[start..start + n].copy_from_slice(&prefix[..n]);
        if gap > 0 {
            self.buf.copy_within(start + 4.., start + n);
            // The moved body's last bytes stay behind in the spare capacity.
            let end = self.buf.len();
            self.buf[end - gap..].fill(0);
            self.buf.truncate(end - gap);
        }
    }

    /// Records `error` (the first one wins); [`Writer::finish`] returns it.
    pub fn fail(&mut self, error: CodecError) {
        self.error.get_or_insert(error);
    }

    /// The bytes written so far.
    pub fn as_slice(&self) -> &[u8] {
        &self.buf
    }

    /// The bytes written, or the first error.
    pub fn finish(self) -> Result<Vec<u8>, CodecError> {
        match self.error {
            None => Ok(self.buf),
            Some(e) => {
                let mut buf = self.buf;
                zeroize::Zeroize::zeroize(&mut buf);
                Err(e)
            }
        }
    }
}

/// A structure in the TLS presentation language, written into a [`Writer`].
/// Derived with `e2ee_codec_derive::Encode` for plain structures and
/// enums.
pub trait Encode {
    /// Appends the encoding to `w`.
    fn encode_to(&self, w: &mut Writer);

    /// The encoded length, if every value of the type has the same one
    /// (integers, byte arrays, structures of them): a vector of them then
    /// writes its length prefix first instead of moving its body after.
    fn fixed_len() -> Option<usize>
    where
        Self: Sized,
    {
        None
    }
}

impl<T: Encode> Encode for &T {
    fn encode_to(&self, w: &mut Writer) {
        (**self).encode_to(w);
    }

    fn fixed_len() -> Option<usize> {
        T::fixed_len()
    }
}

/// The sum of `lengths` if each is fixed (for the derived
/// [`Encode::fixed_len`] of a structure).
pub fn sum_of_fixed(lengths: &[Option<usize>]) -> Option<usize> {
    lengths.iter().try_fold(0usize, |sum, len| sum.checked_add((*len)?))
}

macro_rules! encode_int {
    ($($t:ty),*) => {$(
        impl Encode for $t {
            fn encode_to(&self, w: &mut Writer) {
                w.put(&self.to_be_bytes());
            }

            fn fixed_len() -> Option<usize> {
                Some(core::mem::size_of::<$t>())
            }
        }
    )*};
}
encode_int!(u8, u16, u32, u64);

/// A fixed-size byte array: its bytes, with no length.
impl<const N: usize> Encode for [u8; N] {
    fn encode_to(&self, w: &mut Writer) {
        w.put(self);
    }

    fn fixed_len() -> Option<usize> {
        Some(N)
    }
}

/// `T items<V>`.
impl<T: Encode> Encode for Vec<T> {
    fn encode_to(&self, w: &mut Writer) {
        match T::fixed_len().and_then(|len| len.checked_mul(self.len())) {
            Some(body) => {
                w.length(body);
                self.iter().for_each(|item| item.encode_to(w));
            }
            None => {
                let start = w.begin_vector();
                self.iter().for_each(|item| item.encode_to(w));
                w.end_vector(start);
            }
        }
    }
}

/// `optional<T>` (§2.1.1): a presence byte, then the value if present.
impl<T: Encode> Encode for Option<T> {
    fn encode_to(&self, w: &mut Writer) {
        match self {
            None => w.put(&[0]),
            Some(value) => {
                w.put(&[1]);
                value.encode_to(w);
            }
        }
    }
}

impl Encode for VLBytes {
    fn encode_to(&self, w: &mut Writer) {
        w.opaque(&self.0);
    }
}

/// An encodable structure that knows its encoded size (for buffers sized
/// up front, e.g. a signed GroupInfo that holds the tree).
pub(crate) trait Measured: Encode + Size {}

impl<T: Encode + Size + ?Sized> Measured for T {}

/// Encodes `value` in the TLS presentation language.
pub fn encode<T: Encode + ?Sized>(value: &T) -> Result<Vec<u8>, CodecError> {
    let mut w = Writer::new();
    value.encode_to(&mut w);
    w.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_minimality() {
        for len in [0usize, 1, 63, 64, 16383, 16384, 0x3fff_ffff] {
            let mut w = Writer::new();
            w.length(len);
            let out = w.finish().unwrap();
            assert_eq!(read_varint_length(&out).unwrap(), (len, out.len()));
        }
        assert_eq!(read_varint_length(&[0x40, 0x01]), Err(CodecError::InvalidLength));
        assert_eq!(
            read_varint_length(&[0xc0, 0, 0, 0, 0, 0, 0, 1]),
            Err(CodecError::InvalidLength)
        );
        assert_eq!(read_varint_length(&[0x80, 0]), Err(CodecError::Truncated));
    }

    /// Every vector length prefix is minimal, across the boundaries where
    /// the room left for it is cut down, and the body moves intact.
    #[test]
    fn writer_vectors_take_minimal_prefixes() {
        for len in [0usize, 1, 63, 64, 300, 16383, 16384, 70_000] {
            let body: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut w = Writer::new();
            w.put(&[0xaa]);
            w.opaque(&body);
            w.put(&[0xbb]);
            let out = w.finish().unwrap();
            let mut expected = vec![0xaa];
            expected.extend_from_slice(&varint(len).map(|(p, n)| p[..n].to_vec()).unwrap());
            expected.extend_from_slice(&body);
            expected.push(0xbb);
            assert_eq!(out, expected, "length {len}");
            assert_eq!(VLBytes::from(body).encoded_len(), expected.len() - 2);
        }
    }

    /// A vector of fixed-size items writes its prefix first; the bytes are
    /// those of a vector that measures its body after.
    #[test]
    fn fixed_size_items_are_known_and_encode_alike() {
        use crate::messages::{Capabilities, ProtocolVersion};
        assert_eq!(ProtocolVersion::fixed_len(), Some(2));
        assert_eq!(<[u8; 3]>::fixed_len(), Some(3));
        assert_eq!(VLBytes::fixed_len(), None);
        assert_eq!(Capabilities::fixed_len(), None);
        for n in [0usize, 1, 31, 32, 8191, 8192, 40_000] {
            let items: Vec<u16> = (0..n).map(|i| i as u16).collect();
            let mut measured_after = Writer::new();
            let start = measured_after.begin_vector();
            items.iter().for_each(|i| i.encode_to(&mut measured_after));
            measured_after.end_vector(start);
            assert_eq!(encode(&items).unwrap(), measured_after.finish().unwrap(), "{n} items");
        }
    }

    /// Nested vectors (a vector of vectors) get their own prefixes, and
    /// the first error is what `finish` returns.
    #[test]
    fn writer_nests_and_keeps_the_first_error() {
        let nested = vec![VLBytes::from(&[1u8; 70]), VLBytes::from(&[2u8])];
        let out = encode(&nested).unwrap();
        assert_eq!(out.len(), nested.encoded_len());
        assert_eq!(decode_exact::<Vec<VLBytes>>(&out).unwrap(), nested);
        let mut w = Writer::new();
        w.fail(CodecError::InvalidValue);
        w.fail(CodecError::LimitExceeded);
        assert_eq!(w.finish(), Err(CodecError::InvalidValue));
    }

    /// A vector's element that runs past the vector is a length error, a
    /// short input a truncation, a bad presence byte an invalid value.
    #[test]
    fn reader_errors_are_typed() {
        assert_eq!(decode_exact::<Vec<u32>>(&[3, 0, 0, 0]), Err(CodecError::InvalidLength));
        assert_eq!(decode_exact::<Vec<u32>>(&[4, 0, 0, 0]), Err(CodecError::Truncated));
        assert_eq!(decode_exact::<Option<u8>>(&[2, 0]), Err(CodecError::InvalidValue));
        assert_eq!(decode_exact::<u16>(&[1]), Err(CodecError::Truncated));
        assert_eq!(decode_prefix::<u16>(&[1, 2, 3]), Ok((0x0102, &[3u8][..])));
        // Elements that take no bytes cannot fill a vector.
        assert_eq!(decode_exact::<Vec<[u8; 0]>>(&[1, 0]), Err(CodecError::InvalidLength));
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
