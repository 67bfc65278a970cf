//! Decoding arbitrary bytes as a ratchet tree, `optional<Node>
//! ratchet_tree<V>` (RFC 9420 §12.4.3.3), must never panic, and whatever
//! decodes must re-encode to the same bytes (encodings are canonical and
//! `decode_exact` rejects trailing bytes).
#![no_main]

use e2ee_core::codec;
use e2ee_core::messages::RatchetTree;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = codec::decode_exact::<RatchetTree>(data) {
        let encoded = codec::encode(&value).expect("a decoded RatchetTree re-encodes");
        assert_eq!(encoded, data, "decode/encode round trip changed the bytes");
    }
});
