//! Attacks on the library, each asserting the secure outcome (RFC 9420
//! §16, RFC 9750 §8): a Delivery Service that drops, reorders, replays,
//! injects or forks; outsiders; removed members; insiders with bad trees,
//! paths, forged senders or ratchet exhaustion; resource exhaustion.
//!
//! docs/security.md maps each threat to its protection and to the test
//! here that shows it holds.

mod signatures;
