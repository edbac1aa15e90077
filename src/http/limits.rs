//! The JSON API's request budget: a token bucket per API token, per server. It protects this
//! server from one runaway client; it decides no outcome (every exactly-once guarantee comes
//! from the database), so it may live in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Requests per second a token may send to one server, with bursts of twice that.
pub struct RateLimiter {
    per_second: u64,
    buckets: Mutex<HashMap<i64, Bucket>>,
}

struct Bucket {
    /// Thousandths of a request, so the arithmetic stays integer.
    milli: u64,
    at: Instant,
}

impl RateLimiter {
    /// `per_second` requests a second per token; 0 means no limit.
    pub fn new(per_second: u32) -> Self {
        RateLimiter {
            per_second: u64::from(per_second),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn capacity(&self) -> u64 {
        self.per_second * 2 * 1000
    }

    /// Take one request from `token_id`'s budget, or say how many seconds to wait.
    pub fn take(&self, token_id: i64) -> Result<(), u32> {
        self.take_at(token_id, Instant::now())
    }

    fn take_at(&self, token_id: i64, now: Instant) -> Result<(), u32> {
        if self.per_second == 0 {
            return Ok(());
        }
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let cap = self.capacity();
        let b = buckets.entry(token_id).or_insert(Bucket {
            milli: cap,
            at: now,
        });
        let elapsed_ms =
            u64::try_from(now.saturating_duration_since(b.at).as_millis()).unwrap_or(u64::MAX);
        b.milli = b
            .milli
            .saturating_add(elapsed_ms.saturating_mul(self.per_second))
            .min(cap);
        b.at = now;
        if b.milli >= 1000 {
            b.milli -= 1000;
            Ok(())
        } else {
            let wait_ms = (1000 - b.milli).div_ceil(self.per_second);
            Err(u32::try_from(wait_ms.div_ceil(1000).max(1)).unwrap_or(u32::MAX))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_then_refills() {
        let limiter = RateLimiter::new(5);
        let t0 = Instant::now();
        for _ in 0..10 {
            assert_eq!(limiter.take_at(1, t0), Ok(()));
        }
        assert_eq!(limiter.take_at(1, t0), Err(1));
        // Another token has its own budget.
        assert_eq!(limiter.take_at(2, t0), Ok(()));
        // 200 ms at 5 per second is one more request.
        assert_eq!(limiter.take_at(1, t0 + Duration::from_millis(200)), Ok(()));
        assert!(limiter.take_at(1, t0 + Duration::from_millis(200)).is_err());
        // Refills up to the burst, not beyond.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..10 {
            assert_eq!(limiter.take_at(1, later), Ok(()));
        }
        assert!(limiter.take_at(1, later).is_err());
    }

    #[test]
    fn zero_means_unlimited() {
        let limiter = RateLimiter::new(0);
        for _ in 0..10_000 {
            assert_eq!(limiter.take(7), Ok(()));
        }
    }
}
