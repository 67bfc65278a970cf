//! The fuzz targets of e2ee-core as plain functions of their input, so
//! that two engines run the same code: cargo-fuzz (libFuzzer, coverage
//! guided, nightly; `fuzz/` and `scripts/fuzz.sh`) and the test suite's
//! smoke run (`tests/smoke.rs`, stable, random mutations of the seed
//! corpus). A target panics exactly when it finds something.
#![forbid(unsafe_code)]

mod decode;
mod live_group;

pub use decode::{
    decode_commit, decode_group_info, decode_key_package, decode_mls_message, decode_proposal, decode_ratchet_tree,
    decode_vlbytes, decode_welcome,
};
pub use live_group::open_in_live_group;

/// A fuzz target: a function of the input that panics on a finding.
pub type Target = fn(&[u8]);

/// Every target by name (the name of its cargo-fuzz binary and corpus).
pub const TARGETS: &[(&str, Target)] = &[
    ("decode_vlbytes", decode_vlbytes),
    ("decode_mls_message", decode_mls_message),
    ("decode_key_package", decode_key_package),
    ("decode_welcome", decode_welcome),
    ("decode_group_info", decode_group_info),
    ("decode_ratchet_tree", decode_ratchet_tree),
    ("decode_commit", decode_commit),
    ("decode_proposal", decode_proposal),
    ("open_in_live_group", open_in_live_group),
];
