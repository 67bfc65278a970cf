//! cargo-fuzz's entry for `e2ee_fuzz_targets::decode_proposal` (see that crate for
//! what the target checks).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| e2ee_fuzz_targets::decode_proposal(data));
