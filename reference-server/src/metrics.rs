//! Prometheus metrics in the text exposition format, kept with atomics (no
//! registry needed for this handful).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Upper bounds of the store-latency histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
];

/// The service's counters.
#[derive(Default)]
pub struct Metrics {
    /// Messages accepted into group logs by this replica.
    pub accepted: AtomicU64,
    /// Messages and Welcomes pushed to WebSocket clients by this replica.
    pub delivered: AtomicU64,
    /// Commits refused because another won the epoch.
    pub commit_conflicts: AtomicU64,
    /// Requests refused, any reason.
    pub refused: AtomicU64,
    /// Welcomes put into mailboxes.
    pub welcomes: AtomicU64,
    /// Open WebSocket connections.
    pub connected: AtomicU64,
    store_buckets: [AtomicU64; BUCKETS.len()],
    store_count: AtomicU64,
    store_micros: AtomicU64,
}

impl Metrics {
    /// Records one store call's latency.
    pub fn store_latency(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.store_buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Relaxed);
            }
        }
        self.store_count.fetch_add(1, Relaxed);
        self.store_micros.fetch_add(elapsed.as_micros() as u64, Relaxed);
    }

    /// The text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counters = [
            (
                "e2ee_messages_accepted_total",
                "Messages accepted into group logs.",
                &self.accepted,
            ),
            (
                "e2ee_messages_delivered_total",
                "Messages and Welcomes pushed to clients.",
                &self.delivered,
            ),
            (
                "e2ee_commit_conflicts_total",
                "Commits refused: another won the epoch.",
                &self.commit_conflicts,
            ),
            (
                "e2ee_requests_refused_total",
                "Requests refused with an error.",
                &self.refused,
            ),
            ("e2ee_welcomes_total", "Welcomes put into mailboxes.", &self.welcomes),
        ];
        for (name, help, value) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP e2ee_connected_clients Open WebSocket connections.\n# TYPE e2ee_connected_clients gauge\ne2ee_connected_clients {}",
            self.connected.load(Relaxed)
        );
        let name = "e2ee_store_latency_seconds";
        let _ = writeln!(out, "# HELP {name} Latency of store calls.\n# TYPE {name} histogram");
        for (bound, bucket) in BUCKETS.iter().zip(&self.store_buckets) {
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {}", bucket.load(Relaxed));
        }
        let count = self.store_count.load(Relaxed);
        let sum = self.store_micros.load(Relaxed) as f64 / 1e6;
        let _ = writeln!(
            out,
            "{name}_bucket{{le=\"+Inf\"}} {count}\n{name}_sum {sum}\n{name}_count {count}"
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histogram() {
        let m = Metrics::default();
        m.accepted.fetch_add(3, Relaxed);
        m.store_latency(Duration::from_micros(300));
        let text = m.render();
        assert!(text.contains("e2ee_messages_accepted_total 3"));
        assert!(text.contains("e2ee_store_latency_seconds_bucket{le=\"0.0005\"} 1"));
        assert!(text.contains("e2ee_store_latency_seconds_bucket{le=\"0.00025\"} 0"));
        assert!(text.contains("e2ee_store_latency_seconds_count 1"));
    }
}
