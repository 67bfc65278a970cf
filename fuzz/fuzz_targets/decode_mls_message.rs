//! Decoding arbitrary bytes as an MLSMessage (RFC 9420 §6) must never panic, and whatever
//! decodes must re-encode to the same bytes (encodings are canonical and
//! `decode_exact` rejects trailing bytes).
#![no_main]

use e2ee_core::codec;
use e2ee_core::messages::MlsMessage;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(value) = codec::decode_exact::<MlsMessage>(data) {
        let encoded = codec::encode(&value).expect("a decoded MlsMessage re-encodes");
        assert_eq!(encoded, data, "decode/encode round trip changed the bytes");
    }
});
