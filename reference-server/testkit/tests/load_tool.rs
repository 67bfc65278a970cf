//! `e2ee-load` itself, at a small size: it starts its own redis-server,
//! replicas and nginx, kills a replica mid-run and must report every
//! message delivered exactly once, with real MLS and with `--opaque` at a
//! fixed offered load (`--rate`).

use std::process::Command;

use e2ee_testkit::testbed::require_binary;

/// 10 clients in 2 groups of 5: each message reaches the 4 other members.
const MESSAGES: usize = 400;
const DELIVERIES: usize = MESSAGES * 4;

/// The summary line of one run with `extra` flags.
fn summary(extra: &[&str]) -> String {
    let messages = MESSAGES.to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_e2ee-load"))
        .args([
            "--replicas",
            "3",
            "--clients",
            "10",
            "--groups",
            "2",
            "--messages",
            &messages,
        ])
        .args(["--kill-replica-after", "150", "--settle-secs", "10"])
        .args(extra)
        .output()
        .expect("e2ee-load runs");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("killed replica"), "no replica was killed:\n{stderr}");
    let line = stdout.lines().find(|l| l.starts_with("sent "));
    line.unwrap_or_else(|| panic!("no summary line:\n{stdout}\n{stderr}"))
        .to_owned()
}

#[test]
fn the_load_tool_loses_nothing_when_a_replica_dies() {
    if require_binary("redis-server").is_none() || require_binary("nginx").is_none() {
        return;
    }
    let expected = format!("sent {MESSAGES}, delivered {DELIVERIES}, lost 0, duplicated 0, ");
    for extra in [&[][..], &["--opaque", "--rate", "400"][..]] {
        let line = summary(extra);
        assert!(line.starts_with(&expected), "{extra:?}: {line}");
    }
}
