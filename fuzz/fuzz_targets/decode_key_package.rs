//! Decoding arbitrary bytes as a KeyPackage (RFC 9420 §10) must never panic, and whatever
//! decodes must re-encode to the same bytes (encodings are canonical and
//! `decode_exact` rejects trailing bytes).
#![no_main]

use e2ee_core::codec;
use e2ee_core::messages::KeyPackage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = codec::decode_exact::<KeyPackage>(data) {
        let encoded = codec::encode(&value).expect("a decoded KeyPackage re-encodes");
        assert_eq!(encoded, data, "decode/encode round trip changed the bytes");
    }
});
