//! Decoding arbitrary bytes as an MLS variable-length byte vector must never
//! panic, and whatever decodes must re-encode to the same bytes (the varint
//! length must be minimal, and `decode_exact` rejects trailing bytes).
#![no_main]

use e2ee_core::codec::{self, VLBytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = codec::decode_exact::<VLBytes>(data) {
        let encoded = codec::encode(&value).expect("a decoded VLBytes re-encodes");
        assert_eq!(encoded, data, "decode/encode round trip changed the bytes");
    }
});
