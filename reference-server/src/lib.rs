//! # reference-server
//!
//! The reference MLS delivery service for `e2ee`: it will store KeyPackages
//! and GroupInfo, order each group's commits (accept a commit only while the
//! group is still at the epoch it was made for), and fan messages out to
//! connected clients over WebSockets, with an in-memory or Redis store. It will
//! also serve the web chat demo, whose clients run `e2ee-core` compiled to
//! WebAssembly, so the server only ever sees ciphertext.
//!
//! **None of that is implemented yet.** Today this crate only reports its
//! status; see [`STATUS`].
#![forbid(unsafe_code)]
#![deny(missing_docs)]

/// What the `reference-server` binary prints today: an honest statement that
/// the delivery service and the web chat are not built yet, and what the demo
/// will be.
pub const STATUS: &str = "\
e2ee reference-server: the delivery service is NOT IMPLEMENTED YET.

There is no server to start and no web chat to open: this binary only prints
this message and exits.

What the demo will be: `cargo run --release -p reference-server` will start an
MLS (RFC 9420) delivery service with HTTP + WebSocket endpoints and serve a
browser chat in which every member runs e2ee-core (compiled to WebAssembly).
Messages are end-to-end encrypted; the server stores and forwards ciphertext
and orders each group's commits, but never sees a key or a plaintext.

What exists today: the e2ee-core library (work in progress) and its IETF
test-vector runner; see the Status section of README.md.
Run the tests with: bash scripts/test.sh";

#[cfg(test)]
mod tests {
    #[test]
    fn status_says_not_implemented() {
        assert!(super::STATUS.contains("NOT IMPLEMENTED YET"));
    }
}
