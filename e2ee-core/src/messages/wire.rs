//! Helpers for the hand-written codecs of structures whose later fields are
//! selected by an earlier one (RFC 9420 §2.1 `select` on a field that is not
//! immediately followed by the selected body), which the derives cannot
//! express.

use alloc::vec::Vec;

use crate::codec::{CodecError, Decode, Measured, Reader, Writer};

/// A structure encoded as the concatenation of its present fields.
pub(crate) trait Parts {
    /// The fields to encode, in wire order; an error if the structure is
    /// inconsistent (e.g. a field present that its selector excludes).
    fn parts(&self) -> Result<Vec<&dyn Measured>, CodecError>;
}

/// The encoded length of `value`'s parts (0 if it cannot be encoded).
pub(crate) fn parts_len(value: &dyn Parts) -> usize {
    value
        .parts()
        .map(|parts| parts.iter().map(|p| p.encoded_len()).sum())
        .unwrap_or(0)
}

/// Writes `value`'s parts in order.
pub(crate) fn encode_parts(value: &dyn Parts, w: &mut Writer) {
    match value.parts() {
        Ok(parts) => parts.iter().for_each(|part| part.encode_to(w)),
        Err(e) => w.fail(e),
    }
}

/// Implements `Size` and `Encode` for types implementing [`Parts`].
macro_rules! encode_by_parts {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::codec::Size for $ty {
            fn encoded_len(&self) -> usize {
                $crate::messages::wire::parts_len(self)
            }
        }
        impl $crate::codec::Encode for $ty {
            fn encode_to(&self, w: &mut $crate::codec::Writer) {
                $crate::messages::wire::encode_parts(self, w)
            }
        }
    )*};
}
pub(crate) use encode_by_parts;

/// `Some(value)` as a part when present, nothing when absent.
pub(crate) fn push_opt<'a, T: Measured>(parts: &mut Vec<&'a dyn Measured>, value: &'a Option<T>) {
    if let Some(v) = value {
        parts.push(v);
    }
}

/// Requires `present` to equal `expected` (an optional field matches its
/// selector); [`CodecError::InvalidValue`] otherwise.
pub(crate) fn check_presence(present: bool, expected: bool) -> Result<(), CodecError> {
    if present == expected {
        Ok(())
    } else {
        Err(CodecError::InvalidValue)
    }
}

/// Decodes a `T` only when `present` (a field selected by an earlier one).
pub(crate) fn decode_if<T: Decode>(present: bool, r: &mut Reader<'_>) -> Result<Option<T>, CodecError> {
    present.then(|| T::decode_from(r)).transpose()
}
