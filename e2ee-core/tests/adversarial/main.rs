//! Attacks on the library, each asserting the secure outcome (RFC 9420
//! §16, RFC 9750 §8): a Delivery Service that drops, reorders, replays,
//! injects or forks; outsiders; removed members; insiders with forged
//! senders, names, signatures or proposals; resource exhaustion.
//!
//! docs/security.md maps each threat to its protection and to the test
//! here that shows it holds.

#[path = "../common/mod.rs"]
mod common;
mod counting;
mod support;

mod delivery;
mod external_commits;
mod identity;
mod proposals;
mod ratchet;
mod removed_member;
mod resources;
mod signatures;
mod state;
