//! Transcript hashes and the confirmation tag (RFC 9420 §8.2, §6.1).
//!
//! The functions take encoded structures so this module stays independent
//! of the framing types. Per Commit, in this order:
//!
//! 1. [`confirmed_transcript_hash`] from the previous interim hash and the
//!    Commit's ConfirmedTranscriptHashInput; it goes into the new GroupContext.
//! 2. The new epoch's key schedule yields `confirmation_key`;
//!    [`confirmation_tag`] / [`confirmation_tag_matches`] bind it to the hash.
//! 3. [`interim_transcript_hash`] from the new confirmed hash and the tag.
//!
//! A group's first epoch starts with both hashes empty.

use alloc::vec::Vec;

use crate::codec;
use crate::crypto::{CipherSuiteProvider, ct_eq};
use crate::error::Error;

/// Encodes ConfirmedTranscriptHashInput (§8.2): the content's wire format,
/// FramedContent and signature.
pub fn confirmed_transcript_input(
    content: &crate::messages::framing::AuthenticatedContent,
) -> Result<Vec<u8>, crate::codec::CodecError> {
    let mut out = crate::codec::encode(&content.wire_format)?;
    out.extend_from_slice(&crate::codec::encode(&content.content)?);
    out.extend_from_slice(&crate::codec::encode(&content.auth.signature)?);
    Ok(out)
}

/// `confirmed_transcript_hash_[n] = Hash(interim_transcript_hash_[n-1] ||
/// ConfirmedTranscriptHashInput_[n])`, where `confirmed_input` is the encoded
/// ConfirmedTranscriptHashInput (wire_format, FramedContent, signature).
pub fn confirmed_transcript_hash(cs: &dyn CipherSuiteProvider, interim_prev: &[u8], confirmed_input: &[u8]) -> Vec<u8> {
    hash_concat(cs, interim_prev, confirmed_input)
}

/// `interim_transcript_hash_[n] = Hash(confirmed_transcript_hash_[n] ||
/// InterimTranscriptHashInput_[n])`; the input struct is just the
/// confirmation tag as `opaque<V>`, so this takes the raw tag.
pub fn interim_transcript_hash(
    cs: &dyn CipherSuiteProvider,
    confirmed: &[u8],
    confirmation_tag: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut input = codec::Writer::with_capacity(confirmation_tag.len() + 4);
    input.opaque(confirmation_tag);
    Ok(hash_concat(cs, confirmed, &input.finish()?))
}

/// `confirmation_tag = MAC(confirmation_key, confirmed_transcript_hash)` (§6.1).
pub fn confirmation_tag(
    cs: &dyn CipherSuiteProvider,
    confirmation_key: &[u8],
    confirmed_transcript_hash: &[u8],
) -> Vec<u8> {
    cs.mac(confirmation_key, confirmed_transcript_hash)
}

/// Whether `tag` is the confirmation tag of `confirmed_transcript_hash`,
/// compared in constant time, so a forger learns nothing from how long the
/// comparison took.
pub fn confirmation_tag_matches(
    cs: &dyn CipherSuiteProvider,
    confirmation_key: &[u8],
    confirmed_transcript_hash: &[u8],
    tag: &[u8],
) -> bool {
    ct_eq(&confirmation_tag(cs, confirmation_key, confirmed_transcript_hash), tag)
}

/// `Hash(a || b)`: the suite's hash is one-shot, so concatenate first.
fn hash_concat(cs: &dyn CipherSuiteProvider, a: &[u8], b: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(a.len() + b.len());
    data.extend_from_slice(a);
    data.extend_from_slice(b);
    cs.hash(&data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key_schedule::tests::suite;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    /// transcript-hashes.json, suite 1. The AuthenticatedContent ends with
    /// the confirmation tag as opaque<V> (0x20 + 32 bytes); everything before
    /// it is the ConfirmedTranscriptHashInput.
    #[test]
    fn matches_rfc_vector() {
        let cs = suite(1);
        let content = hex(concat!(
            "00010567726f7570000000000000345601000000000003220220e740a6faf2db65f5853148d75d9a335d",
            "7c4b94ab106fe5f237bc34fdcfc745840040402280c921b6b2836ed4eca496dfa74a13c171f78b808228",
            "94032c4c03cc4fb9c24e505c0d0ba4e8edb63a3327442baa12555a57f28e4cfebb4f0c42997030e20720",
            "3a1d8805d8390f441a622f81bcb7347be86db7cc491d0313163fa63c2f66aa92",
        ));
        let (input, tag) = content.split_at(content.len() - 33);
        let tag = &tag[1..];
        let key = hex("26ae359a9a9760cd1066cae16f1456ea7eaf52bd85d5dba5bb15cca04a90c83f");
        let interim_before = hex("2597552c42df799cd70e99c77c4f80e834a9418096a0b2c7bc66afbc48eebaa6");

        let confirmed = confirmed_transcript_hash(cs, &interim_before, input);
        assert_eq!(
            confirmed,
            hex("51a85b21149c86f3f8c2907017c449e96987242b7ba2be9db1ddd53fb2db0d1d")
        );
        assert_eq!(confirmation_tag(cs, &key, &confirmed), tag);
        assert!(confirmation_tag_matches(cs, &key, &confirmed, tag));
        let interim = interim_transcript_hash(cs, &confirmed, tag).unwrap();
        assert_eq!(
            interim,
            hex("193f9e11118fd08ff626069543b481ec5f04145680b612bb84d8962a2e609211")
        );
    }

    #[test]
    fn tampered_or_truncated_tag_is_rejected() {
        let cs = suite(1);
        let mut tag = confirmation_tag(cs, b"key", b"hash");
        assert!(!confirmation_tag_matches(cs, b"key", b"hash", &tag[..31]));
        assert!(!confirmation_tag_matches(cs, b"other key", b"hash", &tag));
        tag[0] ^= 1;
        assert!(!confirmation_tag_matches(cs, b"key", b"hash", &tag));
    }
}
