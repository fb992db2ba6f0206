//! Login rate limits: a GCRA bucket per account and per client address, in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bursts of `burst` attempts, then one per `interval`, per key.
#[derive(Debug)]
pub struct RateLimiter {
    burst: u32,
    interval: Duration,
    // Theoretical arrival time of the next allowed attempt, per key.
    tat: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    /// A limiter allowing `burst` at once, then one per `interval`.
    pub fn new(burst: u32, interval: Duration) -> Self {
        Self {
            burst: burst.max(1),
            interval,
            tat: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one attempt for `key`: `Err(wait)` when over the limit.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let tolerance = self.interval * (self.burst - 1);
        let mut tat = self
            .tat
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if tat.len() > 100_000 {
            tat.retain(|_, t| *t > now);
        }
        let current = tat.get(key).copied().unwrap_or(now).max(now);
        let allowed_at = current.checked_sub(tolerance).unwrap_or(now);
        if allowed_at > now {
            return Err(allowed_at - now);
        }
        tat.insert(key.to_owned(), current + self.interval);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refuses_with_a_wait() {
        let limiter = RateLimiter::new(3, Duration::from_secs(10));
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
        }
        let wait = limiter.check("a").err();
        assert!(wait.is_some_and(|w| w > Duration::from_secs(8)), "{wait:?}");
        assert!(limiter.check("b").is_ok(), "keys are independent");
    }
}
