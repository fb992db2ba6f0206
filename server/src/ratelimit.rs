//! Keyed rate limits (GCRA: a burst, then a steady rate), in this process's memory.
//!
//! A [`RateLimiter`] is per replica: behind a load balancer spreading requests over `n`
//! replicas, a key gets up to `n` times the rate (fine for flood control, which each replica
//! does for itself). Limits that must hold across replicas (password attempts, the registry's
//! publish limit) are a [`SharedRateLimiter`], whose state is a row per key in the database
//! every replica uses.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A rate: `burst` requests at once, then one per `interval`. Written `RATE/UNIT[:BURST]`, as
/// `1000/s`, `60/min:10` or `3600/h`; the burst is one unit's worth unless given. `off` turns
/// the limit off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed at once.
    pub burst: u32,
    /// Then one request per this long.
    pub interval: Duration,
}

impl RateLimit {
    /// `count` requests per `per`, with bursts of `burst`.
    pub fn new(count: u32, per: Duration, burst: u32) -> Self {
        Self {
            burst: burst.max(1),
            interval: per / count.max(1),
        }
    }

    /// `count` requests per second, with bursts of a second's worth.
    pub fn per_second(count: u32) -> Self {
        Self::new(count, Duration::from_secs(1), count)
    }

    /// `count` requests per minute, with bursts of `burst`.
    pub fn per_minute(count: u32, burst: u32) -> Self {
        Self::new(count, Duration::from_secs(60), burst)
    }
}

/// Why a rate could not be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{text}` is not a rate: write RATE/UNIT[:BURST] (units s, min, h), as `1000/s` or `60/min:10`{}",
    if *.off_allowed { ", or `off`" } else { "" }
)]
pub struct BadRateLimit {
    text: String,
    off_allowed: bool,
}

impl FromStr for RateLimit {
    type Err = BadRateLimit;

    fn from_str(text: &str) -> Result<Self, BadRateLimit> {
        let bad = || BadRateLimit {
            text: text.to_owned(),
            off_allowed: false,
        };
        let (rate, burst) = match text.split_once(':') {
            Some((rate, burst)) => (rate, Some(burst.parse::<u32>().map_err(|_| bad())?)),
            None => (text, None),
        };
        let (count, unit) = rate.split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        if count == 0 || burst == Some(0) {
            return Err(bad());
        }
        Ok(Self::new(count, per, burst.unwrap_or(count)))
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per_hour = Duration::from_secs(3600).as_nanos() / self.interval.as_nanos().max(1);
        if per_hour % 3600 == 0 {
            write!(f, "{}/s:{}", per_hour / 3600, self.burst)
        } else if per_hour % 60 == 0 {
            write!(f, "{}/min:{}", per_hour / 60, self.burst)
        } else {
            write!(f, "{per_hour}/h:{}", self.burst)
        }
    }
}

/// A limit that may be turned off: written as a [`RateLimit`] or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Switchable(pub Option<RateLimit>);

impl FromStr for Switchable {
    type Err = BadRateLimit;

    fn from_str(text: &str) -> Result<Self, BadRateLimit> {
        if text.trim() == "off" {
            Ok(Self(None))
        } else {
            text.parse()
                .map(|limit| Self(Some(limit)))
                .map_err(|e: BadRateLimit| BadRateLimit {
                    off_allowed: true,
                    ..e
                })
        }
    }
}

/// Keys it has seen at most before it forgets those that are idle again.
const MAX_KEYS: usize = 100_000;

/// One [`RateLimit`] applied to each key separately.
#[derive(Debug)]
pub struct RateLimiter {
    limit: RateLimit,
    // Theoretical arrival time of the next allowed request, per key.
    tat: Mutex<HashMap<String, Instant>>,
}

impl RateLimiter {
    /// A limiter applying `limit` to each key.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            tat: Mutex::new(HashMap::new()),
        }
    }

    /// The limit it applies.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes one request for `key`: `Err(wait)` when over the limit, `wait` being how long
    /// until the next one is allowed.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let tolerance = self.limit.interval * (self.limit.burst - 1);
        let mut tat = self
            .tat
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let current = tat.get(key).copied().unwrap_or(now).max(now);
        // Only forward arithmetic on `Instant`s: shortly after boot, `now` minus a long
        // tolerance does not exist.
        let ahead = current.duration_since(now);
        if ahead > tolerance {
            return Err(ahead - tolerance);
        }
        let next = current + self.limit.interval;
        if let Some(slot) = tat.get_mut(key) {
            *slot = next;
        } else {
            if tat.len() >= MAX_KEYS {
                tat.retain(|_, t| *t > now);
            }
            tat.insert(key.to_owned(), next);
        }
        Ok(())
    }
}

/// One [`RateLimit`] per key, kept in the table `rate_limits (key TEXT PRIMARY KEY, tat BIGINT
/// NOT NULL)` of a database shared by every replica, so that it holds across them. Each take
/// is one atomic upsert (no lock held between statements), on SQLite and PostgreSQL alike.
/// Times are Unix microseconds: a rate of thousands a second still has a whole interval.
#[derive(Debug, Clone)]
pub struct SharedRateLimiter {
    limit: RateLimit,
    /// What keys are prefixed with, so that several limits share the table.
    name: &'static str,
}

impl SharedRateLimiter {
    /// `limit` for keys named `name:…`.
    pub fn new(name: &'static str, limit: RateLimit) -> Self {
        Self { limit, name }
    }

    /// The limit it applies.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes one request for `key` now; over the limit, refused as `what`.
    pub async fn take(
        &self,
        pool: &sqlx::AnyPool,
        key: &str,
        what: &'static str,
    ) -> Result<Result<(), Refused>, sqlx::Error> {
        let now = now_micros();
        let interval = i64::try_from(self.limit.interval.as_micros())
            .unwrap_or(i64::MAX)
            .max(1);
        let tolerance = interval.saturating_mul(i64::from(self.limit.burst) - 1);
        let key = format!("{}:{key}", self.name);
        // GCRA: the key's theoretical arrival time moves one interval on; refused (no row
        // returned, nothing written) when it is further ahead of now than the burst allows.
        let taken: Option<i64> = sqlx::query_scalar(
            "INSERT INTO rate_limits (key, tat) VALUES ($1, $2 + $3) \
             ON CONFLICT (key) DO UPDATE SET \
             tat = (CASE WHEN rate_limits.tat > $2 THEN rate_limits.tat ELSE $2 END) + $3 \
             WHERE rate_limits.tat - $2 <= $4 \
             RETURNING tat",
        )
        .bind(&key)
        .bind(now)
        .bind(interval)
        .bind(tolerance)
        .fetch_optional(pool)
        .await?;
        if taken.is_some() {
            return Ok(Ok(()));
        }
        let tat: Option<i64> = sqlx::query_scalar("SELECT tat FROM rate_limits WHERE key = $1")
            .bind(&key)
            .fetch_optional(pool)
            .await?;
        let wait = tat
            .unwrap_or(now)
            .saturating_sub(now)
            .saturating_sub(tolerance);
        Ok(Err(Refused {
            what,
            retry_after: retry_after_seconds(Duration::from_micros(
                u64::try_from(wait).unwrap_or(0),
            )),
        }))
    }
}

/// Forgets the keys of every [`SharedRateLimiter`] whose allowance is whole again (a key
/// without a row is one with its full burst); returns how many.
pub async fn prune_shared(pool: &sqlx::AnyPool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query("DELETE FROM rate_limits WHERE tat <= $1")
        .bind(now_micros())
        .execute(pool)
        .await?
        .rows_affected())
}

/// The wall clock as Unix microseconds: what [`SharedRateLimiter`] rows hold, the same on
/// every replica (as far as their clocks agree).
fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// A request over a limit: what the client is told, and how long it should wait.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}; retry in {retry_after} s")]
pub struct Refused {
    /// What was over its limit, for the client.
    pub what: &'static str,
    /// Whole seconds to wait (`Retry-After`), at least 1.
    pub retry_after: u64,
}

impl RateLimiter {
    /// Takes one request for `key`; over the limit, refused as `what`.
    pub fn take(&self, key: &str, what: &'static str) -> Result<(), Refused> {
        self.check(key).map_err(|wait| Refused {
            what,
            retry_after: retry_after_seconds(wait),
        })
    }
}

/// Takes one request from `address` from `limiter`: nothing is limited without either (a
/// limit turned off, a peer whose address is unknown).
pub fn take_from_address(
    limiter: Option<&RateLimiter>,
    address: Option<IpAddr>,
) -> Result<(), Refused> {
    match (limiter, address) {
        (Some(limiter), Some(address)) => {
            limiter.take(&address.to_string(), "too many requests from your address")
        }
        _ => Ok(()),
    }
}

/// Whole seconds to announce in `Retry-After` for a `wait` (at least 1).
fn retry_after_seconds(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis().div_ceil(1000))
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bursts_then_refuses_with_a_wait() {
        let limiter = RateLimiter::new(RateLimit::per_minute(6, 3));
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
        }
        let wait = limiter.check("a").err();
        assert!(wait.is_some_and(|w| w > Duration::from_secs(8)), "{wait:?}");
        assert!(limiter.check("b").is_ok(), "keys are independent");
    }

    #[test]
    fn long_tolerances_hold_whatever_the_uptime() {
        // Tolerances longer than the machine's uptime (a test VM's monotonic clock starts near
        // zero) must not turn the limit off.
        let limiter = RateLimiter::new(RateLimit::new(1, Duration::from_secs(365 * 24 * 3600), 3));
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
        }
        assert!(limiter.check("a").is_err());
    }

    #[test]
    fn rates_read_and_print() -> Result<(), BadRateLimit> {
        let limit: RateLimit = "1000/s".parse()?;
        assert_eq!(limit.burst, 1000);
        assert_eq!(limit.interval, Duration::from_millis(1));
        assert_eq!(limit.to_string(), "1000/s:1000");
        let limit: RateLimit = "60/min:10".parse()?;
        assert_eq!((limit.burst, limit.interval), (10, Duration::from_secs(1)));
        assert_eq!(limit.to_string(), "1/s:10");
        assert_eq!("7/h".parse::<RateLimit>()?.to_string(), "7/h:7");
        assert_eq!("off".parse::<Switchable>()?, Switchable(None));
        assert_eq!(
            "2/s".parse::<Switchable>()?,
            Switchable(Some(RateLimit::per_second(2)))
        );
        for bad in ["", "10", "10/day", "0/s", "x/s", "10/s:0", "10/s:x"] {
            let error = bad.parse::<RateLimit>().err().map(|e| e.to_string());
            assert!(
                error
                    .as_deref()
                    .is_some_and(|e| e.contains("RATE/UNIT") && !e.contains("off")),
                "{bad}: {error:?}"
            );
            let error = bad.parse::<Switchable>().err().map(|e| e.to_string());
            assert!(
                error.as_deref().is_some_and(|e| e.ends_with("or `off`")),
                "{bad}: {error:?}"
            );
        }
        Ok(())
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_seconds(Duration::ZERO), 1);
        assert_eq!(retry_after_seconds(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_seconds(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_seconds(Duration::from_millis(2001)), 3);
    }
}
