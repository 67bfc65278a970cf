//! Runner for `secret-tree*.json`.

use super::common::Runner;

/// Not implemented yet.
pub const RUNNER: Option<Runner> = None;
