//! Interoperability tests of `e2ee-core` against other MLS (RFC 9420)
//! implementations. The crate has no code of its own: the tests live in
//! `tests/`, so the peers' dependencies stay out of `e2ee-core`'s tree.
//!
//! - `tests/mls_rs.rs`: groups shared with [mls-rs](https://crates.io/crates/mls-rs).
