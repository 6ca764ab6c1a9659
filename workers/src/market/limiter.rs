//! A rate limiter per provider: a token bucket, so that cairn stays inside each vendor's
//! published request quota instead of learning it from HTTP 429s.
//!
//! # The rules (the token-bucket algorithm)
//!
//! - The bucket holds at most [`Config::capacity`] tokens and starts full.
//! - Tokens flow back continuously at [`Config::rate`] per second (not in steps): after `t`
//!   seconds the bucket holds `min(capacity, tokens + rate × t)`.
//! - A call takes one token. [`TokenBucket::try_take`] takes it at once or answers how long
//!   until one is there (`(1 − tokens) / rate`); [`TokenBucket::take`] waits that long
//!   (`tokio::time::sleep`) and tries again.
//! - So over any span of `t` seconds at most `capacity + rate × t` calls pass: `capacity`
//!   bounds the burst, `rate` the long-run throughput. A vendor that counts "N calls per
//!   minute" is kept in the long run by `rate = N / 60`; one that also refuses bursts wants a
//!   small `capacity` (1 leaves a call every `60 / N` seconds).
//! - **A vendor's 429.** When a vendor answers "rate limited" anyway — with a `Retry-After`
//!   or its own wait ([`ProviderError::RateLimited`](super::ProviderError::RateLimited)) —
//!   [`TokenBucket::honour_retry_after`] (or [`TokenBucket::pause_until`]) makes the bucket
//!   refuse every call until then; a later pause extends an earlier one, an earlier one never
//!   shortens it. The vendor has shown that the bucket was fuller than its own count, so the
//!   bucket is emptied: when the pause ends it holds one token (the call the vendor said it
//!   would take) and refills at `rate` from there, never bursting straight back into a
//!   vendor that has just refused.
//!
//! This is the classic token bucket (Turner's "new facility for limiting rates", as in
//! <https://en.wikipedia.org/wiki/Token_bucket>), the same scheme as resilience4j's and
//! Guava's rate limiters in their bursty forms. Time is read from a [`Clock`] so tests drive
//! it by hand; only [`TokenBucket::take`] sleeps, on Tokio's timer. The state sits behind a
//! `std::sync::Mutex` held for a few arithmetic steps and never across an `.await`.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::breaker::{Clock, SystemClock};

/// Tolerance on the token count (a millionth of a token), so that float rounding never leaves
/// a bucket a hair short of a token after waiting exactly the time it answered.
const EPSILON: f64 = 1e-6;

/// A bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Tokens the bucket holds at most (and at the start): the largest burst. At least 1.
    pub capacity: u32,
    /// Tokens added per second, continuously. Finite and more than zero.
    pub rate: f64,
}

impl Config {
    /// `capacity` tokens, refilled at `rate` per second.
    pub fn new(capacity: u32, rate: f64) -> Self {
        Self { capacity, rate }
    }

    /// `calls` per second, in bursts of up to `calls`.
    pub fn per_second(calls: u32) -> Self {
        Self { capacity: calls, rate: f64::from(calls) }
    }

    /// `calls` per minute, in bursts of up to `calls` (a vendor's "5 requests per minute").
    pub fn per_minute(calls: u32) -> Self {
        Self { capacity: calls, rate: f64::from(calls) / 60.0 }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.capacity == 0 {
            return Err(ConfigError::Capacity);
        }
        if !(self.rate.is_finite() && self.rate > 0.0) {
            return Err(ConfigError::Rate(self.rate));
        }
        Ok(())
    }
}

/// A [`Config`] out of bounds.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("a token bucket's capacity must be at least 1")]
    Capacity,
    #[error("a token bucket's rate must be a finite number of tokens per second above zero, not {0}")]
    Rate(f64),
}

/// One provider's token bucket. Cloning gives another handle on the same bucket.
#[derive(Clone)]
pub struct TokenBucket {
    shared: Arc<Shared>,
}

struct Shared {
    name: String,
    config: Config,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

struct Inner {
    tokens: f64,
    /// The instant `tokens` was counted at; refilling starts from here (in the future while
    /// paused: the end of the pause).
    counted_at: Instant,
    paused_until: Option<Instant>,
}

impl fmt::Debug for TokenBucket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenBucket")
            .field("name", &self.shared.name)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl TokenBucket {
    /// A full bucket on the machine's clock.
    pub fn new(name: impl Into<String>, config: Config) -> Result<Self, ConfigError> {
        Self::with_clock(name, config, Arc::new(SystemClock))
    }

    /// A full bucket reading the time from `clock`.
    pub fn with_clock(name: impl Into<String>, config: Config, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        config.validate()?;
        let inner = Inner { tokens: f64::from(config.capacity), counted_at: clock.now(), paused_until: None };
        Ok(Self { shared: Arc::new(Shared { name: name.into(), config, clock, inner: Mutex::new(inner) }) })
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    pub fn config(&self) -> Config {
        self.shared.config
    }

    /// Takes a token, or answers how long until one is there (the end of a pause, or the
    /// time the refill needs).
    pub fn try_take(&self) -> Result<(), Duration> {
        let now = self.shared.clock.now();
        let mut inner = self.shared.lock();
        if let Some(until) = inner.paused_until {
            if now < until {
                return Err(until - now);
            }
            inner.paused_until = None;
        }
        self.shared.refill(&mut inner, now);
        if inner.tokens + EPSILON >= 1.0 {
            inner.tokens = (inner.tokens - 1.0).max(0.0);
            Ok(())
        } else {
            let missing = 1.0 - inner.tokens;
            // Rounded up to the microsecond, after forgiving a nanosecond of float noise (worth
            // less than `EPSILON` of a token at up to 1,000 tokens a second), so that waiting
            // the answer is always enough and 1 / (5 / 60) reads 12 s, not 12.000001 s.
            let micros = (missing / self.shared.config.rate * 1e6 - 1e-3).ceil().max(1.0);
            Err(Duration::from_micros(micros as u64))
        }
    }

    /// Takes a token, waiting (Tokio's timer) until there is one.
    pub async fn take(&self) {
        while let Err(wait) = self.try_take() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Refuses every call until `until` (a vendor's 429); a later instant than a pause in
    /// force extends it, an earlier one changes nothing. The bucket restarts with one token
    /// at `until`.
    pub fn pause_until(&self, until: Instant) {
        let now = self.shared.clock.now();
        let mut inner = self.shared.lock();
        if until <= now || inner.paused_until.is_some_and(|current| until <= current) {
            return;
        }
        inner.paused_until = Some(until);
        inner.tokens = 1.0;
        inner.counted_at = until;
        tracing::info!(limiter = %self.shared.name, pause_s = (until - now).as_secs_f64(), "rate limiter paused by the vendor");
    }

    /// Refuses every call for `retry_after` from now (a vendor's `Retry-After`).
    pub fn honour_retry_after(&self, retry_after: Duration) {
        self.pause_until(self.shared.clock.now() + retry_after);
    }

    /// The end of the pause in force, if any.
    pub fn paused_until(&self) -> Option<Instant> {
        let now = self.shared.clock.now();
        self.shared.lock().paused_until.filter(|until| now < *until)
    }

    /// The tokens in the bucket now (0 while paused).
    pub fn available(&self) -> f64 {
        let now = self.shared.clock.now();
        let mut inner = self.shared.lock();
        if inner.paused_until.is_some_and(|until| now < until) {
            return 0.0;
        }
        self.shared.refill(&mut inner, now);
        inner.tokens
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn refill(&self, inner: &mut Inner, now: Instant) {
        if now > inner.counted_at {
            let elapsed = (now - inner.counted_at).as_secs_f64();
            inner.tokens = (inner.tokens + elapsed * self.config.rate).min(f64::from(self.config.capacity));
            inner.counted_at = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::FutureExt;

    use super::super::breaker::ManualClock;
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn bucket(config: Config) -> (TokenBucket, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new());
        let bucket = TokenBucket::with_clock("alphavantage", config, clock.clone()).expect("valid config");
        (bucket, clock)
    }

    #[test]
    fn starts_full_and_refuses_when_empty() {
        let (bucket, _) = bucket(Config::new(3, 0.5));
        for _ in 0..3 {
            assert_eq!(bucket.try_take(), Ok(()));
        }
        assert_eq!(bucket.try_take(), Err(2 * SEC), "one token every 2 s");
        assert_eq!(bucket.available(), 0.0);
    }

    #[test]
    fn refills_continuously() {
        let (bucket, clock) = bucket(Config::new(1, 0.5));
        assert_eq!(bucket.try_take(), Ok(()));
        clock.advance(Duration::from_millis(500));
        assert!((bucket.available() - 0.25).abs() < 1e-9);
        assert_eq!(bucket.try_take(), Err(Duration::from_millis(1500)), "three quarters of a token to go");
        clock.advance(Duration::from_millis(1500));
        assert_eq!(bucket.try_take(), Ok(()));
        assert_eq!(bucket.try_take(), Err(2 * SEC));
    }

    #[test]
    fn waiting_the_answered_time_is_always_enough() {
        let (bucket, clock) = bucket(Config::new(1, 3.0));
        assert_eq!(bucket.try_take(), Ok(()));
        for _ in 0..100 {
            let wait = bucket.try_take().expect_err("empty");
            let third = Duration::from_micros(333_332)..=Duration::from_micros(333_334);
            assert!(third.contains(&wait), "{wait:?}: a third of a second, to the microsecond");
            clock.advance(wait);
            assert_eq!(bucket.try_take(), Ok(()));
        }
    }

    #[test]
    fn never_holds_more_than_its_capacity() {
        let (bucket, clock) = bucket(Config::new(2, 10.0));
        clock.advance(Duration::from_secs(3600));
        assert_eq!(bucket.available(), 2.0);
        assert_eq!(bucket.try_take(), Ok(()));
        assert_eq!(bucket.try_take(), Ok(()));
        assert_eq!(bucket.try_take(), Err(Duration::from_millis(100)));
    }

    #[test]
    fn a_retry_after_refuses_until_it_is_over_then_no_burst() {
        let (bucket, clock) = bucket(Config::per_minute(5));
        bucket.honour_retry_after(Duration::from_secs(30));
        assert_eq!(bucket.try_take(), Err(Duration::from_secs(30)), "a full bucket refuses while paused");
        assert_eq!(bucket.available(), 0.0);
        clock.advance(Duration::from_secs(10));
        assert_eq!(bucket.try_take(), Err(Duration::from_secs(20)));
        assert!(bucket.paused_until().is_some());
        clock.advance(Duration::from_secs(20));
        assert_eq!(bucket.paused_until(), None);
        assert_eq!(bucket.try_take(), Ok(()), "the call the vendor said it would take");
        assert_eq!(bucket.try_take(), Err(Duration::from_secs(12)), "then one every 12 s, no burst of 5");
    }

    #[test]
    fn a_pause_is_extended_never_shortened() {
        let (bucket, clock) = bucket(Config::per_second(10));
        let start = clock.now();
        bucket.pause_until(start + Duration::from_secs(60));
        bucket.honour_retry_after(Duration::from_secs(5));
        assert_eq!(bucket.paused_until(), Some(start + Duration::from_secs(60)));
        bucket.honour_retry_after(Duration::from_secs(90));
        assert_eq!(bucket.try_take(), Err(Duration::from_secs(90)));
        // A pause already over changes nothing.
        let (fresh, _) = self::bucket(Config::per_second(10));
        fresh.honour_retry_after(Duration::ZERO);
        assert_eq!((fresh.paused_until(), fresh.available()), (None, 10.0));
    }

    #[test]
    fn configs_out_of_bounds_are_refused() {
        assert_eq!(TokenBucket::new("x", Config::new(0, 1.0)).unwrap_err(), ConfigError::Capacity);
        assert_eq!(TokenBucket::new("x", Config::new(1, 0.0)).unwrap_err(), ConfigError::Rate(0.0));
        assert_eq!(TokenBucket::new("x", Config::new(1, -2.0)).unwrap_err(), ConfigError::Rate(-2.0));
        assert!(matches!(Config::new(1, f64::NAN).validate(), Err(ConfigError::Rate(_))));
        assert!(matches!(Config::new(1, f64::INFINITY).validate(), Err(ConfigError::Rate(_))));
        let bucket = TokenBucket::new("polygon", Config::per_minute(5)).expect("valid");
        assert_eq!(bucket.name(), "polygon");
        assert_eq!(bucket.config(), Config { capacity: 5, rate: 5.0 / 60.0 });
        assert_eq!(Config::per_second(4), Config { capacity: 4, rate: 4.0 });
    }

    #[test]
    fn handles_share_one_bucket_across_threads() {
        let (bucket, _) = bucket(Config::new(100, 1.0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let bucket = bucket.clone();
                std::thread::spawn(move || (0..50).filter(|_| bucket.try_take().is_ok()).count())
            })
            .collect();
        let taken: usize = threads.into_iter().map(|t| t.join().expect("no panic")).sum();
        assert_eq!(taken, 100, "exactly the capacity, with the clock standing still");
    }

    #[tokio::test]
    async fn take_returns_at_once_with_a_token_and_waits_without_one() {
        let (bucket, clock) = bucket(Config::new(1, 1.0));
        bucket.take().await;
        assert_eq!(bucket.available(), 0.0);
        // Empty: `take` is waiting on the timer, not spinning or taking.
        assert!(bucket.take().now_or_never().is_none());
        clock.advance(SEC);
        assert!(bucket.take().now_or_never().is_some(), "a token is back after 1 s");
        assert_eq!(bucket.try_take(), Err(SEC));
    }
}
