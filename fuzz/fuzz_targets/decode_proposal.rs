//! Decoding arbitrary bytes as a Proposal (RFC 9420 §12.1) must never panic, and whatever
//! decodes must re-encode to the same bytes (encodings are canonical and
//! `decode_exact` rejects trailing bytes).
#![no_main]

use e2ee_core::codec;
use e2ee_core::messages::Proposal;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = codec::decode_exact::<Proposal>(data) {
        let encoded = codec::encode(&value).expect("a decoded Proposal re-encodes");
        assert_eq!(encoded, data, "decode/encode round trip changed the bytes");
    }
});
