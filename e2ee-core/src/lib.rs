//! # e2ee-core
//!
//! Messaging Layer Security (MLS, RFC 9420) for group end-to-end encryption,
//! written for `no_std` + `alloc`. Its features:
//! - `client`: the high-level API, with OS randomness (`getrandom`); no std
//!   needed. Everything else takes a caller-supplied `rand_core` RNG.
//! - `std` (default): `client`, and the clock for leaf lifetime checks.
//! - `precomputed-tables` (default): Ed25519 base-point tables (~40 KB),
//!   faster signing.
//! - `parallel` (with `std`): a joined tree's signatures, HPKE to many
//!   keys and a Welcome to many joiners on all available cores.
//!
//! Besides the lifetime checks of `std`, results are the same with or
//! without each of them: every signature is verified on its own, with the
//! strict rules of `verify_strict` for Ed25519, so members built
//! differently never disagree on the same bytes.
//!
//! Most applications need only the high-level [`client`] API ([`Client`],
//! [`Group`], [`Event`]; `client` feature): see its example. The modules
//! below it implement the protocol.
//!
//! Modules are named after the RFC's concepts so the code can be read next
//! to the specification:
//!
//! | module | RFC 9420 |
//! |---|---|
//! | [`codec`] | §2.1 presentation language, variable-length vectors |
//! | [`crypto`] | §5 cipher suites and labelled operations |
//! | [`tree_math`] | Appendix C array-based trees |
//! | [`secret_tree`] | §9 secret tree, §6.3.2 sender data |
//! | [`key_package`] | §10 KeyPackage creation and validation, §7.2 leaf signing |
//! | [`key_schedule`] | §8 key schedule, exporter, external init |
//! | [`psk`] | §8.4 pre-shared keys |
//! | [`transcript`] | §8.2 transcript hashes |
//! | [`ratchet_tree`] | §4, §7 ratchet tree, tree and parent hashes, validation |
//! | [`treekem`] | §7.4–§7.6 UpdatePath creation and processing |
//! | [`messages`] | wire structures of §6, §7, §10–§12 |
//! | [`framing`] | §6 PublicMessage / PrivateMessage protection |
//! | [`welcome`] | §12.4.3.1 Welcome and GroupInfo protection |
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[macro_use]
extern crate alloc;
// The codec derives name `::e2ee_core::codec`, for use in other crates too.
extern crate self as e2ee_core;
// The unit tests use std (threads, proptest) whatever the features.
#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(feature = "client")]
pub mod client;
pub mod codec;
pub mod crypto;
pub mod error;
pub mod framing;
pub mod group;
pub mod key_package;
pub mod key_schedule;
pub mod messages;
pub mod psk;
pub mod ratchet_tree;
pub mod secret_tree;
pub mod transcript;
pub mod tree_math;
pub mod treekem;
mod vec_map;
pub mod welcome;

#[cfg(feature = "client")]
pub use client::{Client, Event, Group};
pub use error::Error;
