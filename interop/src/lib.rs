//! Interoperability tests of `e2ee-core` against other MLS (RFC 9420)
//! implementations, and a benchmark against them. The crate has no code of
//! its own: the tests live in `tests/` and the benchmark in `benches/`, so
//! the peers' dependencies stay out of `e2ee-core`'s tree.
//!
//! - `tests/mls_rs.rs`: groups shared with [mls-rs](https://crates.io/crates/mls-rs).
//! - `benches/peers.rs`: e2ee-core, mls-rs and [OpenMLS](https://crates.io/crates/openmls)
//!   timed in turn on the same operations.
