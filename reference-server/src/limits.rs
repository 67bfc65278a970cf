//! Per-client request rate (a token bucket per identity) and connection
//! counts. Both are per replica: behind a proxy with N replicas a client
//! gets at most N times the rate, which bounds abuse without shared state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::error::{ApiError, ErrorCode};

/// Buckets idle this long are dropped (they are full again anyway).
const IDLE_SECS: f64 = 60.0;

struct Bucket {
    tokens: f64,
    last: Instant,
}

/// A token bucket per client.
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// `rate` requests per second on average, `burst` at once.
    pub fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst: burst.max(1.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token of `identity`'s bucket, or refuses with `rate_limited`.
    pub fn check(&self, identity: &str) -> Result<(), ApiError> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 10_000 {
            buckets.retain(|_, b| now.duration_since(b.last).as_secs_f64() < IDLE_SECS);
        }
        let bucket = buckets.entry(identity.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            last: now,
        });
        let refill = now.duration_since(bucket.last).as_secs_f64() * self.rate;
        bucket.tokens = (bucket.tokens + refill).min(self.burst);
        bucket.last = now;
        if bucket.tokens < 1.0 {
            return Err(ApiError::new(
                ErrorCode::RateLimited,
                format!("more than {} requests per second: slow down", self.rate),
            ));
        }
        bucket.tokens -= 1.0;
        Ok(())
    }
}

/// Counts WebSocket connections, in total and per client.
pub struct Connections {
    max_total: usize,
    max_per_client: usize,
    counts: Mutex<(usize, HashMap<String, usize>)>,
}

/// A counted connection; dropping it gives the place back.
pub struct ConnectionSlot {
    owner: Arc<Connections>,
    identity: String,
}

impl Connections {
    /// At most `max_total` connections, `max_per_client` per identity.
    pub fn new(max_total: usize, max_per_client: usize) -> Self {
        Self {
            max_total,
            max_per_client,
            counts: Mutex::new((0, HashMap::new())),
        }
    }

    /// Takes a place for `identity` or refuses with `too_many_connections`.
    pub fn acquire(self: Arc<Self>, identity: &str) -> Result<ConnectionSlot, ApiError> {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per) = &mut *counts;
        if *total >= self.max_total {
            return Err(ApiError::new(
                ErrorCode::TooManyConnections,
                "this replica has the most connections it takes",
            ));
        }
        let mine = per.entry(identity.to_owned()).or_insert(0);
        if *mine >= self.max_per_client {
            return Err(ApiError::new(
                ErrorCode::TooManyConnections,
                format!("at most {} connections per client", self.max_per_client),
            ));
        }
        *mine += 1;
        *total += 1;
        drop(counts);
        Ok(ConnectionSlot {
            owner: self,
            identity: identity.to_owned(),
        })
    }

    /// How many connections are open.
    pub fn total(&self) -> usize {
        self.counts.lock().unwrap_or_else(|p| p.into_inner()).0
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut counts = self.owner.counts.lock().unwrap_or_else(|p| p.into_inner());
        let (total, per) = &mut *counts;
        *total = total.saturating_sub(1);
        if let Some(n) = per.get_mut(&self.identity) {
            *n -= 1;
            if *n == 0 {
                per.remove(&self.identity);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_refuse_bursts_and_slots_come_back() {
        let limiter = RateLimiter::new(0.001, 3.0);
        for _ in 0..3 {
            limiter.check("a").unwrap();
        }
        assert_eq!(limiter.check("a").unwrap_err().code, ErrorCode::RateLimited);
        limiter.check("b").unwrap();

        let conns = Arc::new(Connections::new(3, 2));
        let a1 = conns.clone().acquire("a").unwrap();
        let _a2 = conns.clone().acquire("a").unwrap();
        assert!(conns.clone().acquire("a").is_err());
        let _b = conns.clone().acquire("b").unwrap();
        assert!(conns.clone().acquire("c").is_err(), "total");
        drop(a1);
        assert_eq!(conns.total(), 2);
        conns.clone().acquire("a").unwrap();
    }
}
