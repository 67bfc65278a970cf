//! Runs the IETF MLS interop test vectors (github.com/mlswg/mls-implementations).
//!
//! Reads every `*.json` file of a known format from `E2EE_VECTORS_DIR` (default:
//! the copy in `tests/data/mls-test-vectors`) and prints one line per file:
//! `NAME: P passed, F failed, S skipped`. Every suite runs (1 to 7); a build
//! without some of them (see `e2ee-rustcrypto`'s features) skips and counts
//! their cases. Any failure fails the test.

mod vectors {
    pub mod common;
    pub mod crypto_basics;
    pub mod deserialization;
    pub mod key_schedule;
    pub mod message_protection;
    pub mod messages;
    pub mod passive_client;
    pub mod psk_secret;
    pub mod secret_tree;
    pub mod transcript_hashes;
    pub mod tree_math;
    pub mod tree_operations;
    pub mod tree_validation;
    pub mod treekem;
    pub mod welcome;
}

use std::path::PathBuf;

use vectors::common::{Outcome, Runner};

/// The runner for a vector file, chosen by its name.
fn runner_for(file_name: &str) -> Option<Runner> {
    let stem = file_name.strip_suffix(".json")?;
    // Every passive-client-* file (welcome, handling-commit, random, ...) has one format.
    if stem.starts_with("passive-client-") {
        return vectors::passive_client::RUNNER;
    }
    match stem {
        "tree-math" => vectors::tree_math::RUNNER,
        "deserialization" => vectors::deserialization::RUNNER,
        "crypto-basics" => vectors::crypto_basics::RUNNER,
        "secret-tree" => vectors::secret_tree::RUNNER,
        "key-schedule" => vectors::key_schedule::RUNNER,
        "psk_secret" => vectors::psk_secret::RUNNER,
        "transcript-hashes" => vectors::transcript_hashes::RUNNER,
        "message-protection" => vectors::message_protection::RUNNER,
        "messages" => vectors::messages::RUNNER,
        "tree-validation" => vectors::tree_validation::RUNNER,
        "tree-operations" => vectors::tree_operations::RUNNER,
        "treekem" => vectors::treekem::RUNNER,
        "welcome" => vectors::welcome::RUNNER,
        _ => None,
    }
}

#[test]
fn ietf_test_vectors() {
    let dir = std::env::var_os("E2EE_VECTORS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/mls-test-vectors"));
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read vectors directory {}: {e}", dir.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(!names.is_empty(), "no vector files in {}", dir.display());

    let mut total_failed = 0;
    for name in names {
        let Some(runner) = runner_for(&name) else {
            println!("{name}: no runner for this format yet, not run");
            continue;
        };
        let text = std::fs::read_to_string(dir.join(&name)).expect("read vector file");
        let cases: Vec<serde_json::Value> = serde_json::from_str(&text).expect("vector file is a JSON array");
        let (mut passed, mut failed, mut skipped) = (0, 0, 0);
        let mut skip_reasons = std::collections::BTreeMap::<String, usize>::new();
        for (i, case) in cases.iter().enumerate() {
            match vectors::common::run_case(runner, case) {
                Outcome::Passed => passed += 1,
                Outcome::Skipped(why) => {
                    skipped += 1;
                    *skip_reasons.entry(why).or_default() += 1;
                }
                Outcome::Failed(why) => {
                    failed += 1;
                    eprintln!("  {name} case {i}: FAILED: {why}");
                }
            }
        }
        println!("{name}: {passed} passed, {failed} failed, {skipped} skipped");
        for (why, n) in skip_reasons {
            println!("  skipped {n}: {why}");
        }
        total_failed += failed;
    }
    assert_eq!(total_failed, 0, "some vector cases failed");
}
