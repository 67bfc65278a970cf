//! Runner for `psk_secret*.json`.

use super::common::Runner;

/// Not implemented yet.
pub const RUNNER: Option<Runner> = None;
