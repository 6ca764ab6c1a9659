//! A circuit breaker per provider, with the semantics of resilience4j's `CircuitBreaker`
//! (<https://resilience4j.readme.io/docs/circuitbreaker>), so that a vendor that is down or
//! crawling is left alone for a while instead of being hammered, and the selector moves on to
//! the next provider at once.
//!
//! # The rules
//!
//! The breaker is a state machine with three ordinary states, [`State::Closed`],
//! [`State::Open`] and [`State::HalfOpen`], and two special ones set by hand,
//! [`State::Disabled`] (always permits, records nothing) and [`State::ForcedOpen`] (always
//! refuses) — left only by [`CircuitBreaker::reset`].
//!
//! - **Outcomes.** A caller asks for a [`Permit`] ([`CircuitBreaker::try_acquire`]), makes the
//!   call, and records how it went: [`Permit::success`], [`Permit::failure`] or
//!   [`Permit::ignore`] (neither; [`Permit::record`] maps a [`ProviderError`]). The call's
//!   duration runs from the permit to the record; a call that took longer than
//!   [`Config::slow_call_duration_threshold`] (strictly) is *slow*, whether it succeeded or
//!   failed. A permit dropped without a record counts as ignored.
//! - **Sliding window.** While CLOSED, outcomes go into a sliding window:
//!   [`SlidingWindow::CountBased`] keeps the last N calls in a ring;
//!   [`SlidingWindow::TimeBased`] keeps the calls of the last N seconds, aggregated in one
//!   bucket per second (resilience4j's "partial aggregations"), a bucket leaving the total when
//!   its second falls out of the window (subtract-on-evict).
//! - **CLOSED → OPEN.** Once the window holds at least [`Config::minimum_number_of_calls`]
//!   calls, the breaker opens when the failure rate (`failed × 100 / calls`) is at or above
//!   [`Config::failure_rate_threshold`], or the slow-call rate at or above
//!   [`Config::slow_call_rate_threshold`]. Below the minimum it never opens, whatever the rate
//!   (9 failures out of 9 do not open a breaker that wants 10 calls). As in resilience4j, a
//!   count-based window's minimum is capped at the window's size.
//! - **OPEN.** Every call is refused ([`Refused`], with the time left) for the wait in the open
//!   state. The first opening waits [`Config::wait_duration_in_open_state`]; each consecutive
//!   re-opening from HALF_OPEN multiplies the wait by [`Config::backoff_multiplier`], capped at
//!   [`Config::max_wait_duration`] (resilience4j's `waitIntervalFunctionInOpenState` with
//!   `IntervalFunction.ofExponentialRandomBackoff`); the wait is then randomised uniformly
//!   within ± [`Config::jitter_factor`] × wait (resilience4j's randomisation factor, applied
//!   after the cap as it does). Closing again resets the backoff.
//! - **OPEN → HALF_OPEN.** The first permission request after the wait moves the breaker to
//!   HALF_OPEN (resilience4j's default; its optional timer-driven transition is not needed
//!   here).
//! - **HALF_OPEN.** Exactly [`Config::permitted_calls_in_half_open`] trial calls are
//!   permitted; any more are refused. An ignored (or dropped) trial frees its slot for another.
//!   When all the trials are recorded, the breaker closes if both their failure rate and their
//!   slow-call rate are below the thresholds, and opens again (with the longer wait) otherwise.
//!
//! Two deliberate differences from resilience4j: an outcome recorded after the breaker changed
//! state since its permit was issued (a slow call that started while CLOSED and ends while
//! HALF_OPEN) is dropped, so it cannot decide a trial it was not part of; and
//! [`Metrics::calls_refused`] counts every refusal since the breaker was built (a Prometheus
//! counter), where resilience4j's "not permitted calls" restarts with each state.
//!
//! # Defaults (resilience4j's)
//!
//! | field | default |
//! |---|---|
//! | [`Config::failure_rate_threshold`] | 50 % |
//! | [`Config::slow_call_rate_threshold`] | 100 % |
//! | [`Config::slow_call_duration_threshold`] | 60 s |
//! | [`Config::sliding_window`] | count-based, 100 calls |
//! | [`Config::minimum_number_of_calls`] | 100 |
//! | [`Config::wait_duration_in_open_state`] | 60 s |
//! | [`Config::permitted_calls_in_half_open`] | 10 |
//! | [`Config::backoff_multiplier`] | 1.0 (a constant wait, as resilience4j's default) |
//! | [`Config::max_wait_duration`] | 30 min |
//! | [`Config::jitter_factor`] | 0.0 (no jitter) |
//!
//! # Observability
//!
//! Every state transition is logged (`tracing::info!`, with the breaker's name, both states,
//! the rates that decided it and the wait when it opens) and counted
//! ([`CircuitBreaker::transitions`]); [`State::as_number`] gives the state as a Prometheus
//! gauge value (0 closed, 1 open, 2 half-open, 3 disabled, 4 forced open).
//!
//! Time comes from a [`Clock`] ([`SystemClock`] in production, [`ManualClock`] in tests), so
//! nothing here sleeps. The state lives behind a `std::sync::Mutex` held only for a few
//! arithmetic steps, never across an `.await`.

use std::collections::hash_map::RandomState;
use std::collections::VecDeque;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::provider::ProviderError;

/// Where the breaker (and the rate limiter) read the time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Instant;
}

/// The monotonic clock of the machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// A clock that moves only when told to ([`ManualClock::advance`]): for tests that never
/// sleep.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Instant>,
}

impl ManualClock {
    /// A clock that starts at the machine's present instant.
    pub fn new() -> Self {
        Self { now: Mutex::new(Instant::now()) }
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Instant {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The breaker's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls pass; outcomes fill the sliding window.
    Closed,
    /// Calls are refused until the wait is over.
    Open,
    /// A fixed number of trial calls decide whether to close or open again.
    HalfOpen,
    /// Set by hand: every call passes and nothing is recorded.
    Disabled,
    /// Set by hand: every call is refused.
    ForcedOpen,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "closed",
            Self::Open => "open",
            Self::HalfOpen => "half_open",
            Self::Disabled => "disabled",
            Self::ForcedOpen => "forced_open",
        }
    }

    /// The state as a gauge value for Prometheus: 0 closed, 1 open, 2 half-open, 3 disabled,
    /// 4 forced open (resilience4j's order).
    pub fn as_number(self) -> u8 {
        match self {
            Self::Closed => 0,
            Self::Open => 1,
            Self::HalfOpen => 2,
            Self::Disabled => 3,
            Self::ForcedOpen => 4,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The sliding window that holds the outcomes of calls while the breaker is CLOSED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlidingWindow {
    /// The last `calls` calls.
    CountBased { calls: u32 },
    /// The calls of the last `seconds` seconds, in one bucket per second.
    TimeBased { seconds: u32 },
}

/// How a breaker decides; see the [module documentation](self) for the rules and defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Failure rate in percent, in (0, 100], at or above which the breaker opens. Default 50.
    pub failure_rate_threshold: f64,
    /// Slow-call rate in percent, in (0, 100], at or above which the breaker opens.
    /// Default 100.
    pub slow_call_rate_threshold: f64,
    /// A call that takes longer than this is slow. Default 60 s.
    pub slow_call_duration_threshold: Duration,
    /// Default count-based, 100 calls.
    pub sliding_window: SlidingWindow,
    /// Calls the window must hold before a rate is computed (at least 1). Default 100.
    pub minimum_number_of_calls: u32,
    /// The wait in the open state after the first opening (more than zero). Default 60 s.
    pub wait_duration_in_open_state: Duration,
    /// Trial calls in the half-open state (at least 1). Default 10.
    pub permitted_calls_in_half_open: u32,
    /// Factor (at least 1) applied to the wait each consecutive time the breaker re-opens from
    /// half-open. Default 1.0: a constant wait.
    pub backoff_multiplier: f64,
    /// The cap of the backed-off wait (at least the wait in the open state). Default 30 min.
    pub max_wait_duration: Duration,
    /// The wait is drawn uniformly in `wait × (1 ± jitter_factor)`; in [0, 1). Default 0.
    pub jitter_factor: f64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration_threshold: Duration::from_secs(60),
            sliding_window: SlidingWindow::CountBased { calls: 100 },
            minimum_number_of_calls: 100,
            wait_duration_in_open_state: Duration::from_secs(60),
            permitted_calls_in_half_open: 10,
            backoff_multiplier: 1.0,
            max_wait_duration: Duration::from_secs(30 * 60),
            jitter_factor: 0.0,
        }
    }
}

impl Config {
    /// Checks the bounds resilience4j enforces (and those of the backoff).
    pub fn validate(&self) -> Result<(), ConfigError> {
        let percent = |v: f64| v.is_finite() && v > 0.0 && v <= 100.0;
        if !percent(self.failure_rate_threshold) {
            return Err(ConfigError::FailureRateThreshold(self.failure_rate_threshold));
        }
        if !percent(self.slow_call_rate_threshold) {
            return Err(ConfigError::SlowCallRateThreshold(self.slow_call_rate_threshold));
        }
        match self.sliding_window {
            SlidingWindow::CountBased { calls: 0 } | SlidingWindow::TimeBased { seconds: 0 } => {
                return Err(ConfigError::EmptyWindow);
            }
            _ => {}
        }
        if self.minimum_number_of_calls == 0 {
            return Err(ConfigError::MinimumNumberOfCalls);
        }
        if self.permitted_calls_in_half_open == 0 {
            return Err(ConfigError::PermittedCallsInHalfOpen);
        }
        if self.wait_duration_in_open_state.is_zero() {
            return Err(ConfigError::WaitDuration);
        }
        if !(self.backoff_multiplier.is_finite() && self.backoff_multiplier >= 1.0) {
            return Err(ConfigError::BackoffMultiplier(self.backoff_multiplier));
        }
        if self.max_wait_duration < self.wait_duration_in_open_state {
            return Err(ConfigError::MaxWaitDuration {
                max: self.max_wait_duration,
                wait: self.wait_duration_in_open_state,
            });
        }
        if !(self.jitter_factor.is_finite() && (0.0..1.0).contains(&self.jitter_factor)) {
            return Err(ConfigError::JitterFactor(self.jitter_factor));
        }
        Ok(())
    }

    /// The minimum number of calls in force: capped at the window's size when count-based.
    fn effective_minimum(&self) -> u32 {
        match self.sliding_window {
            SlidingWindow::CountBased { calls } => self.minimum_number_of_calls.min(calls),
            SlidingWindow::TimeBased { .. } => self.minimum_number_of_calls,
        }
    }
}

/// A [`Config`] out of bounds.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("failure_rate_threshold must be in (0, 100], not {0}")]
    FailureRateThreshold(f64),
    #[error("slow_call_rate_threshold must be in (0, 100], not {0}")]
    SlowCallRateThreshold(f64),
    #[error("the sliding window must hold at least one call or one second")]
    EmptyWindow,
    #[error("minimum_number_of_calls must be at least 1")]
    MinimumNumberOfCalls,
    #[error("permitted_calls_in_half_open must be at least 1")]
    PermittedCallsInHalfOpen,
    #[error("wait_duration_in_open_state must be more than zero")]
    WaitDuration,
    #[error("backoff_multiplier must be a finite number of at least 1, not {0}")]
    BackoffMultiplier(f64),
    #[error("max_wait_duration ({max:?}) must be at least wait_duration_in_open_state ({wait:?})")]
    MaxWaitDuration { max: Duration, wait: Duration },
    #[error("jitter_factor must be in [0, 1), not {0}")]
    JitterFactor(f64),
}

/// A call the breaker did not permit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker {name} is {state}: call not permitted{}", retry_after.map(|d| format!(", retry in {:.1} s", d.as_secs_f64())).unwrap_or_default())]
pub struct Refused {
    /// The breaker's (provider's) name.
    pub name: String,
    pub state: State,
    /// When OPEN, the time left before a trial call may be permitted.
    pub retry_after: Option<Duration>,
}

/// A snapshot of the breaker, for logs and `/metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct Metrics {
    pub state: State,
    /// Failed calls in percent of the calls in the window; `None` until the window holds the
    /// minimum number of calls (the permitted trial calls when half-open).
    pub failure_rate: Option<f64>,
    /// Slow calls in percent of the calls in the window; `None` as for `failure_rate`.
    pub slow_call_rate: Option<f64>,
    /// Calls in the window (the trial calls recorded when half-open; while open, the window
    /// that opened it).
    pub buffered_calls: u32,
    pub failed_calls: u32,
    /// Slow calls, failed or not.
    pub slow_calls: u32,
    /// Slow calls that also failed.
    pub slow_failed_calls: u32,
    /// Calls refused since the breaker was built.
    pub calls_refused: u64,
    /// State transitions since the breaker was built.
    pub transitions: u64,
    /// Consecutive openings without closing in between (1 after the first; drives the backoff).
    pub consecutive_opens: u32,
    /// The wait drawn for the current opening, while open.
    pub open_wait: Option<Duration>,
}

/// One provider's circuit breaker. Cloning gives another handle on the same breaker.
#[derive(Clone)]
pub struct CircuitBreaker {
    shared: Arc<Shared>,
}

struct Shared {
    name: String,
    config: Config,
    minimum: u32,
    clock: Arc<dyn Clock>,
    inner: Mutex<Inner>,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.shared.name)
            .field("state", &self.state())
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl CircuitBreaker {
    /// A CLOSED breaker on the machine's clock.
    pub fn new(name: impl Into<String>, config: Config) -> Result<Self, ConfigError> {
        Self::with_clock(name, config, Arc::new(SystemClock))
    }

    /// A CLOSED breaker reading the time from `clock`.
    pub fn with_clock(name: impl Into<String>, config: Config, clock: Arc<dyn Clock>) -> Result<Self, ConfigError> {
        config.validate()?;
        let name = name.into();
        let origin = clock.now();
        let seed = {
            let mut hasher = RandomState::new().build_hasher();
            hasher.write(name.as_bytes());
            hasher.finish()
        };
        let inner = Inner {
            state: State::Closed,
            generation: 0,
            window: Window::closed(&config, origin),
            half_open_slots: 0,
            open_until: None,
            open_wait: None,
            consecutive_opens: 0,
            calls_refused: 0,
            transitions: 0,
            rng: SplitMix64(seed),
        };
        let minimum = config.effective_minimum();
        Ok(Self { shared: Arc::new(Shared { name, config, minimum, clock, inner: Mutex::new(inner) }) })
    }

    /// Seeds the jitter's random numbers, for reproducible waits (tests, simulations).
    pub fn seed_jitter(&self, seed: u64) {
        self.shared.lock().rng = SplitMix64(seed);
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Asks to make a call: a [`Permit`] to record its outcome with, or [`Refused`] while OPEN
    /// (or FORCED_OPEN), or when HALF_OPEN has no trial slot left. The first request after the
    /// open wait moves the breaker to HALF_OPEN.
    pub fn try_acquire(&self) -> Result<Permit, Refused> {
        let shared = &self.shared;
        let now = shared.clock.now();
        let mut inner = shared.lock();
        if inner.state == State::Open {
            match inner.open_until {
                Some(until) if now < until => {
                    inner.calls_refused += 1;
                    return Err(self.refused(State::Open, Some(until - now)));
                }
                _ => shared.transition(&mut inner, State::HalfOpen, now),
            }
        }
        match inner.state {
            State::Closed | State::Disabled => {}
            State::HalfOpen if inner.half_open_slots > 0 => inner.half_open_slots -= 1,
            state => {
                inner.calls_refused += 1;
                return Err(self.refused(state, None));
            }
        }
        Ok(Permit { shared: Arc::clone(shared), started: now, generation: inner.generation, done: false })
    }

    fn refused(&self, state: State, retry_after: Option<Duration>) -> Refused {
        Refused { name: self.shared.name.clone(), state, retry_after }
    }

    pub fn state(&self) -> State {
        self.shared.lock().state
    }

    /// The state as a Prometheus gauge value ([`State::as_number`]).
    pub fn state_number(&self) -> u8 {
        self.state().as_number()
    }

    /// State transitions since the breaker was built (a Prometheus counter).
    pub fn transitions(&self) -> u64 {
        self.shared.lock().transitions
    }

    pub fn metrics(&self) -> Metrics {
        let now = self.shared.clock.now();
        let mut inner = self.shared.lock();
        inner.window.advance(now);
        let tally = inner.window.tally();
        let minimum = match inner.state {
            State::HalfOpen => self.shared.config.permitted_calls_in_half_open,
            _ => self.shared.minimum,
        };
        let (failure_rate, slow_call_rate) = match tally.rates(minimum) {
            Some((failure, slow)) => (Some(failure), Some(slow)),
            None => (None, None),
        };
        Metrics {
            state: inner.state,
            failure_rate,
            slow_call_rate,
            buffered_calls: tally.calls,
            failed_calls: tally.failed,
            slow_calls: tally.slow,
            slow_failed_calls: tally.slow_failed,
            calls_refused: inner.calls_refused,
            transitions: inner.transitions,
            consecutive_opens: inner.consecutive_opens,
            open_wait: if inner.state == State::Open { inner.open_wait } else { None },
        }
    }

    /// Refuses every call until [`CircuitBreaker::reset`].
    pub fn force_open(&self) {
        self.manual_transition(State::ForcedOpen);
    }

    /// Permits every call and records nothing until [`CircuitBreaker::reset`].
    pub fn disable(&self) {
        self.manual_transition(State::Disabled);
    }

    /// Back to CLOSED with an empty window and no backoff, from any state.
    pub fn reset(&self) {
        self.manual_transition(State::Closed);
    }

    fn manual_transition(&self, to: State) {
        let now = self.shared.clock.now();
        let mut inner = self.shared.lock();
        self.shared.transition(&mut inner, to, now);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records a permitted call's outcome (`None`: ignored) and applies the rules.
    fn record(&self, generation: u64, started: Instant, outcome: Option<bool>) {
        let now = self.clock.now();
        let mut inner = self.lock();
        if generation != inner.generation {
            // Permitted in an earlier state: it has no say in this one.
            return;
        }
        let Some(failed) = outcome else {
            if inner.state == State::HalfOpen {
                inner.half_open_slots += 1;
            }
            return;
        };
        let slow = now.saturating_duration_since(started) > self.config.slow_call_duration_threshold;
        match inner.state {
            State::Closed => {
                inner.window.record(now, Outcome { failed, slow });
                if inner.window.tally().exceeds(self.minimum, &self.config) == Some(true) {
                    self.transition(&mut inner, State::Open, now);
                }
            }
            State::HalfOpen => {
                inner.window.record(now, Outcome { failed, slow });
                match inner.window.tally().exceeds(self.config.permitted_calls_in_half_open, &self.config) {
                    Some(true) => self.transition(&mut inner, State::Open, now),
                    Some(false) => self.transition(&mut inner, State::Closed, now),
                    None => {}
                }
            }
            State::Open | State::Disabled | State::ForcedOpen => {}
        }
    }

    /// Moves to `to` (nothing when already there), resetting what the new state starts with.
    fn transition(&self, inner: &mut Inner, to: State, now: Instant) {
        let from = inner.state;
        if from == to {
            return;
        }
        let tally = inner.window.tally();
        let minimum = if from == State::HalfOpen { self.config.permitted_calls_in_half_open } else { self.minimum };
        let rates = tally.rates(minimum);
        inner.state = to;
        inner.generation += 1;
        inner.transitions += 1;
        inner.open_until = None;
        inner.open_wait = None;
        inner.half_open_slots = 0;
        match to {
            State::Open => {
                inner.consecutive_opens = if from == State::HalfOpen { inner.consecutive_opens + 1 } else { 1 };
                let wait = self.open_wait(inner.consecutive_opens, &mut inner.rng);
                inner.open_until = Some(now + wait);
                inner.open_wait = Some(wait);
                // The window that opened the breaker stays readable while it is open.
            }
            State::HalfOpen => {
                inner.half_open_slots = self.config.permitted_calls_in_half_open;
                inner.window = Window::count(self.config.permitted_calls_in_half_open);
            }
            State::Closed | State::Disabled | State::ForcedOpen => {
                inner.consecutive_opens = 0;
                inner.window = Window::closed(&self.config, now);
            }
        }
        tracing::info!(
            breaker = %self.name,
            from = %from,
            to = %to,
            failure_rate = rates.map(|(failure, _)| failure),
            slow_call_rate = rates.map(|(_, slow)| slow),
            calls = tally.calls,
            wait_s = inner.open_wait.map(|w| w.as_secs_f64()),
            "circuit breaker state transition"
        );
    }

    /// The wait of the `attempt`-th consecutive opening (1 for the first): the base wait times
    /// the multiplier to the power `attempt - 1`, capped, then jittered.
    fn open_wait(&self, attempt: u32, rng: &mut SplitMix64) -> Duration {
        let config = &self.config;
        let exponent = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let base = config.wait_duration_in_open_state.as_secs_f64() * config.backoff_multiplier.powi(exponent);
        let capped = base.min(config.max_wait_duration.as_secs_f64());
        let delta = config.jitter_factor * capped;
        let jittered = capped - delta + rng.next_f64() * 2.0 * delta;
        Duration::try_from_secs_f64(jittered).unwrap_or(config.max_wait_duration)
    }
}

/// The right to make one call, and the way to record its outcome. Dropping it unrecorded
/// counts as [`Permit::ignore`].
#[must_use = "record the call's outcome with success(), failure() or ignore()"]
pub struct Permit {
    shared: Arc<Shared>,
    started: Instant,
    generation: u64,
    done: bool,
}

impl fmt::Debug for Permit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit").field("breaker", &self.shared.name).field("started", &self.started).finish()
    }
}

impl Permit {
    /// When the call was permitted: its duration is measured from here.
    pub fn started(&self) -> Instant {
        self.started
    }

    /// The call succeeded.
    pub fn success(self) {
        self.finish(Some(false));
    }

    /// The provider failed.
    pub fn failure(self) {
        self.finish(Some(true));
    }

    /// The call counts neither way (in HALF_OPEN its trial slot is freed for another call).
    pub fn ignore(self) {
        self.finish(None);
    }

    /// Records a provider's answer: `Ok` a success, an error that
    /// [`is_failure`](ProviderError::is_failure) a failure, `NotFound` a success (the vendor
    /// answered, it just had nothing), `Unsupported` ignored (no call was made).
    pub fn record<T>(self, result: &Result<T, ProviderError>) {
        match result {
            Ok(_) => self.success(),
            Err(e) if e.is_failure() => self.failure(),
            Err(ProviderError::Unsupported { .. }) => self.ignore(),
            Err(_) => self.success(),
        }
    }

    fn finish(mut self, outcome: Option<bool>) {
        self.done = true;
        self.shared.record(self.generation, self.started, outcome);
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if !self.done {
            self.shared.record(self.generation, self.started, None);
        }
    }
}

struct Inner {
    state: State,
    /// Bumped on every transition; a permit from another generation is not recorded.
    generation: u64,
    window: Window,
    /// Trial calls still to permit while HALF_OPEN.
    half_open_slots: u32,
    open_until: Option<Instant>,
    open_wait: Option<Duration>,
    consecutive_opens: u32,
    calls_refused: u64,
    transitions: u64,
    rng: SplitMix64,
}

#[derive(Debug, Clone, Copy)]
struct Outcome {
    failed: bool,
    slow: bool,
}

/// Counts of calls, as a whole window or one second's bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tally {
    calls: u32,
    failed: u32,
    slow: u32,
    slow_failed: u32,
}

impl Tally {
    fn add(&mut self, outcome: Outcome) {
        self.calls += 1;
        self.failed += u32::from(outcome.failed);
        self.slow += u32::from(outcome.slow);
        self.slow_failed += u32::from(outcome.slow && outcome.failed);
    }

    fn remove(&mut self, outcome: Outcome) {
        self.calls -= 1;
        self.failed -= u32::from(outcome.failed);
        self.slow -= u32::from(outcome.slow);
        self.slow_failed -= u32::from(outcome.slow && outcome.failed);
    }

    fn subtract(&mut self, other: &Tally) {
        self.calls -= other.calls;
        self.failed -= other.failed;
        self.slow -= other.slow;
        self.slow_failed -= other.slow_failed;
    }

    /// The failure and slow-call rates in percent, once there are `minimum` calls.
    fn rates(&self, minimum: u32) -> Option<(f64, f64)> {
        if self.calls == 0 || self.calls < minimum {
            return None;
        }
        let calls = f64::from(self.calls);
        Some((f64::from(self.failed) * 100.0 / calls, f64::from(self.slow) * 100.0 / calls))
    }

    /// Whether a rate is at or above its threshold; `None` below the minimum of calls.
    fn exceeds(&self, minimum: u32, config: &Config) -> Option<bool> {
        self.rates(minimum)
            .map(|(failure, slow)| failure >= config.failure_rate_threshold || slow >= config.slow_call_rate_threshold)
    }
}

enum Window {
    Count {
        size: usize,
        calls: VecDeque<Outcome>,
        total: Tally,
    },
    Time {
        seconds: u64,
        origin: Instant,
        /// (second since `origin`, its calls), oldest first.
        buckets: VecDeque<(u64, Tally)>,
        total: Tally,
    },
}

impl Window {
    fn closed(config: &Config, now: Instant) -> Self {
        match config.sliding_window {
            SlidingWindow::CountBased { calls } => Self::count(calls),
            SlidingWindow::TimeBased { seconds } => Self::Time {
                seconds: u64::from(seconds),
                origin: now,
                buckets: VecDeque::new(),
                total: Tally::default(),
            },
        }
    }

    fn count(size: u32) -> Self {
        let size = usize::try_from(size).unwrap_or(usize::MAX);
        Self::Count { size, calls: VecDeque::with_capacity(size.min(1024)), total: Tally::default() }
    }

    /// Drops (subtract-on-evict) the buckets whose second has left the window.
    fn advance(&mut self, now: Instant) {
        if let Self::Time { seconds, origin, buckets, total } = self {
            let current = now.saturating_duration_since(*origin).as_secs();
            while let Some((second, tally)) = buckets.front() {
                if second + *seconds > current {
                    break;
                }
                total.subtract(tally);
                buckets.pop_front();
            }
        }
    }

    fn record(&mut self, now: Instant, outcome: Outcome) {
        self.advance(now);
        match self {
            Self::Count { size, calls, total } => {
                calls.push_back(outcome);
                total.add(outcome);
                if calls.len() > *size {
                    if let Some(evicted) = calls.pop_front() {
                        total.remove(evicted);
                    }
                }
            }
            Self::Time { origin, buckets, total, .. } => {
                let current = now.saturating_duration_since(*origin).as_secs();
                match buckets.back_mut() {
                    Some((second, tally)) if *second == current => tally.add(outcome),
                    _ => {
                        let mut tally = Tally::default();
                        tally.add(outcome);
                        buckets.push_back((current, tally));
                    }
                }
                total.add(outcome);
            }
        }
    }

    fn tally(&self) -> Tally {
        match self {
            Self::Count { total, .. } | Self::Time { total, .. } => *total,
        }
    }
}

/// A small, fast pseudo-random generator (SplitMix64) for the jitter; seeded per breaker.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn next_f64(&mut self) -> f64 {
        // 53 random bits: every value is exactly representable.
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: Duration = Duration::from_secs(1);

    fn small() -> Config {
        Config {
            failure_rate_threshold: 50.0,
            slow_call_rate_threshold: 100.0,
            slow_call_duration_threshold: Duration::from_secs(2),
            sliding_window: SlidingWindow::CountBased { calls: 10 },
            minimum_number_of_calls: 5,
            wait_duration_in_open_state: Duration::from_secs(10),
            permitted_calls_in_half_open: 3,
            backoff_multiplier: 1.0,
            max_wait_duration: Duration::from_secs(60),
            jitter_factor: 0.0,
        }
    }

    fn breaker(config: Config) -> (CircuitBreaker, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new());
        let breaker = CircuitBreaker::with_clock("polygon", config, clock.clone()).expect("valid config");
        (breaker, clock)
    }

    fn succeed(breaker: &CircuitBreaker, n: u32) {
        for _ in 0..n {
            breaker.try_acquire().expect("permitted").success();
        }
    }

    fn fail(breaker: &CircuitBreaker, n: u32) {
        for _ in 0..n {
            breaker.try_acquire().expect("permitted").failure();
        }
    }

    /// Opens a breaker built from `small()`-like config by failing `minimum` calls.
    fn trip(breaker: &CircuitBreaker) {
        fail(breaker, breaker.config().minimum_number_of_calls);
        assert_eq!(breaker.state(), State::Open);
    }

    fn open_wait(breaker: &CircuitBreaker) -> Duration {
        breaker.metrics().open_wait.expect("the breaker is open")
    }

    #[test]
    fn defaults_are_resilience4j_s() {
        let config = Config::default();
        assert_eq!(config.failure_rate_threshold, 50.0);
        assert_eq!(config.slow_call_rate_threshold, 100.0);
        assert_eq!(config.slow_call_duration_threshold, Duration::from_secs(60));
        assert_eq!(config.sliding_window, SlidingWindow::CountBased { calls: 100 });
        assert_eq!(config.minimum_number_of_calls, 100);
        assert_eq!(config.wait_duration_in_open_state, Duration::from_secs(60));
        assert_eq!(config.permitted_calls_in_half_open, 10);
        assert_eq!(config.backoff_multiplier, 1.0);
        assert_eq!(config.jitter_factor, 0.0);
        assert_eq!(config.validate(), Ok(()));
        let breaker = CircuitBreaker::new("stooq", config).expect("the defaults are valid");
        assert_eq!((breaker.name(), breaker.state(), breaker.state_number()), ("stooq", State::Closed, 0));
    }

    #[test]
    fn configs_out_of_bounds_are_refused() {
        let cases = [
            (Config { failure_rate_threshold: 0.0, ..small() }, ConfigError::FailureRateThreshold(0.0)),
            (Config { failure_rate_threshold: 100.5, ..small() }, ConfigError::FailureRateThreshold(100.5)),
            (Config { slow_call_rate_threshold: -1.0, ..small() }, ConfigError::SlowCallRateThreshold(-1.0)),
            (Config { sliding_window: SlidingWindow::CountBased { calls: 0 }, ..small() }, ConfigError::EmptyWindow),
            (Config { sliding_window: SlidingWindow::TimeBased { seconds: 0 }, ..small() }, ConfigError::EmptyWindow),
            (Config { minimum_number_of_calls: 0, ..small() }, ConfigError::MinimumNumberOfCalls),
            (Config { permitted_calls_in_half_open: 0, ..small() }, ConfigError::PermittedCallsInHalfOpen),
            (Config { wait_duration_in_open_state: Duration::ZERO, ..small() }, ConfigError::WaitDuration),
            (Config { backoff_multiplier: 0.5, ..small() }, ConfigError::BackoffMultiplier(0.5)),
            (
                Config { max_wait_duration: Duration::from_secs(5), ..small() },
                ConfigError::MaxWaitDuration { max: Duration::from_secs(5), wait: Duration::from_secs(10) },
            ),
            (Config { jitter_factor: 1.0, ..small() }, ConfigError::JitterFactor(1.0)),
        ];
        for (config, error) in cases {
            assert_eq!(CircuitBreaker::new("x", config).unwrap_err(), error);
        }
        let nan = Config { failure_rate_threshold: f64::NAN, ..small() };
        assert!(matches!(nan.validate(), Err(ConfigError::FailureRateThreshold(_))));
    }

    #[test]
    fn opens_at_the_threshold_only_after_the_minimum_number_of_calls() {
        let (breaker, _) = breaker(small());
        fail(&breaker, 4);
        // 4 failures out of 4: a 100 % failure rate, but below the minimum of 5 calls.
        assert_eq!(breaker.state(), State::Closed);
        assert_eq!(breaker.metrics().failure_rate, None);
        succeed(&breaker, 1);
        // 4 out of 5: 80 % ≥ 50 %.
        assert_eq!(breaker.state(), State::Open);
        let metrics = breaker.metrics();
        assert_eq!(metrics.failure_rate, Some(80.0));
        assert_eq!(metrics.transitions, 1);
        assert_eq!(metrics.consecutive_opens, 1);
    }

    #[test]
    fn a_failure_rate_equal_to_the_threshold_opens() {
        let (breaker, _) = breaker(Config { minimum_number_of_calls: 4, ..small() });
        succeed(&breaker, 2);
        fail(&breaker, 1);
        assert_eq!(breaker.state(), State::Closed);
        fail(&breaker, 1);
        assert_eq!(breaker.metrics().failure_rate, Some(50.0));
        assert_eq!(breaker.state(), State::Open);
    }

    #[test]
    fn stays_closed_below_the_threshold() {
        let (breaker, _) = breaker(small());
        for i in 0..30 {
            // Every third call fails: a third of the window, below 50 %.
            let permit = breaker.try_acquire().expect("closed");
            if i % 3 == 0 {
                permit.failure()
            } else {
                permit.success()
            }
        }
        let metrics = breaker.metrics();
        assert_eq!(metrics.state, State::Closed);
        assert_eq!(metrics.buffered_calls, 10, "the window holds the last 10 calls");
        assert!(metrics.failure_rate.expect("past the minimum") < 50.0);
        assert_eq!(metrics.transitions, 0);
    }

    #[test]
    fn the_count_based_window_forgets_the_oldest_calls() {
        let (breaker, _) = breaker(Config {
            sliding_window: SlidingWindow::CountBased { calls: 4 },
            minimum_number_of_calls: 4,
            failure_rate_threshold: 60.0,
            ..small()
        });
        fail(&breaker, 2);
        succeed(&breaker, 2);
        assert_eq!(breaker.metrics().failure_rate, Some(50.0));
        succeed(&breaker, 2);
        // The two failures have left the window.
        assert_eq!(breaker.metrics().failure_rate, Some(0.0));
        fail(&breaker, 2);
        assert_eq!(breaker.metrics().failure_rate, Some(50.0));
        fail(&breaker, 1);
        assert_eq!(breaker.state(), State::Open, "3 failures of the last 4: 75 %");
    }

    #[test]
    fn the_minimum_is_capped_at_a_count_based_window_s_size() {
        let (breaker, _) = breaker(Config {
            sliding_window: SlidingWindow::CountBased { calls: 3 },
            minimum_number_of_calls: 100,
            ..small()
        });
        fail(&breaker, 3);
        assert_eq!(breaker.state(), State::Open);
    }

    #[test]
    fn slow_calls_alone_open_it() {
        let (breaker, clock) = breaker(Config { slow_call_rate_threshold: 50.0, ..small() });
        for _ in 0..2 {
            let permit = breaker.try_acquire().expect("closed");
            clock.advance(3 * SEC);
            permit.success();
        }
        // Exactly the threshold is not slow.
        let permit = breaker.try_acquire().expect("closed");
        clock.advance(2 * SEC);
        permit.success();
        succeed(&breaker, 1);
        assert_eq!(breaker.state(), State::Closed, "4 calls: below the minimum");
        assert_eq!(breaker.metrics().slow_calls, 2);
        // A slow failure is slow too: 3 slow of 5 is 60 %, 1 failure of 5 is 20 %.
        let permit = breaker.try_acquire().expect("closed");
        clock.advance(3 * SEC);
        permit.failure();
        let metrics = breaker.metrics();
        assert_eq!(metrics.state, State::Open);
        assert_eq!(metrics.failure_rate, Some(20.0));
        assert_eq!(metrics.slow_call_rate, Some(60.0));
        assert_eq!((metrics.slow_calls, metrics.slow_failed_calls, metrics.failed_calls), (3, 1, 1));
    }

    #[test]
    fn refuses_while_open() {
        let (breaker, clock) = breaker(small());
        trip(&breaker);
        let refused = breaker.try_acquire().unwrap_err();
        assert_eq!(refused.state, State::Open);
        assert_eq!(refused.retry_after, Some(10 * SEC));
        assert_eq!(refused.name, "polygon");
        assert_eq!(refused.to_string(), "circuit breaker polygon is open: call not permitted, retry in 10.0 s");
        clock.advance(9 * SEC);
        assert_eq!(breaker.try_acquire().unwrap_err().retry_after, Some(SEC));
        assert_eq!(breaker.state(), State::Open);
        assert_eq!(breaker.metrics().calls_refused, 2);
    }

    #[test]
    fn half_open_after_the_wait_lets_exactly_n_through_and_closes_on_successes() {
        let (breaker, clock) = breaker(small());
        trip(&breaker);
        clock.advance(10 * SEC);
        let permits: Vec<Permit> = (0..3).map(|_| breaker.try_acquire().expect("a trial call")).collect();
        assert_eq!(breaker.state(), State::HalfOpen);
        assert_eq!(breaker.state_number(), 2);
        let refused = breaker.try_acquire().unwrap_err();
        assert_eq!((refused.state, refused.retry_after), (State::HalfOpen, None));
        let mut permits = permits.into_iter();
        permits.next().expect("3 permits").success();
        permits.next().expect("3 permits").success();
        assert_eq!(breaker.state(), State::HalfOpen, "one trial still running");
        assert_eq!(breaker.metrics().failure_rate, None, "below the permitted trial calls");
        permits.next().expect("3 permits").success();
        let metrics = breaker.metrics();
        assert_eq!(metrics.state, State::Closed);
        assert_eq!(metrics.buffered_calls, 0, "a closed breaker starts with an empty window");
        assert_eq!(metrics.consecutive_opens, 0);
        assert_eq!(metrics.transitions, 3, "closed → open → half-open → closed");
        assert_eq!(metrics.calls_refused, 1);
        assert!(breaker.try_acquire().is_ok());
    }

    #[test]
    fn a_failed_trial_reopens_with_a_backed_off_wait_until_it_closes() {
        let (breaker, clock) = breaker(Config {
            backoff_multiplier: 2.0,
            max_wait_duration: Duration::from_secs(40),
            permitted_calls_in_half_open: 2,
            ..small()
        });
        trip(&breaker);
        let mut waits = vec![open_wait(&breaker)];
        for _ in 0..3 {
            clock.advance(*waits.last().expect("a wait"));
            succeed(&breaker, 1);
            // One failure of two: 50 % ≥ 50 %.
            fail(&breaker, 1);
            assert_eq!(breaker.state(), State::Open);
            waits.push(open_wait(&breaker));
        }
        assert_eq!(waits, [10 * SEC, 20 * SEC, 40 * SEC, 40 * SEC], "doubling, capped at 40 s");
        assert_eq!(breaker.metrics().consecutive_opens, 4);
        // Refused until the whole (longer) wait is over.
        clock.advance(39 * SEC);
        assert_eq!(breaker.try_acquire().unwrap_err().retry_after, Some(SEC));
        clock.advance(SEC);
        succeed(&breaker, 2);
        assert_eq!(breaker.state(), State::Closed);
        // Closing reset the backoff: the next opening waits the base wait again.
        trip(&breaker);
        assert_eq!(open_wait(&breaker), 10 * SEC);
        assert_eq!(breaker.metrics().consecutive_opens, 1);
    }

    #[test]
    fn slow_trials_reopen_it() {
        let (breaker, clock) = breaker(Config { slow_call_rate_threshold: 50.0, ..small() });
        trip(&breaker);
        clock.advance(10 * SEC);
        let slow = breaker.try_acquire().expect("a trial call");
        clock.advance(5 * SEC);
        slow.success();
        succeed(&breaker, 2);
        assert_eq!(breaker.state(), State::Closed, "one slow trial of three: 33 %");
        trip(&breaker);
        clock.advance(10 * SEC);
        let trials: Vec<Permit> = (0..3).map(|_| breaker.try_acquire().expect("a trial call")).collect();
        clock.advance(5 * SEC);
        trials.into_iter().for_each(Permit::success);
        assert_eq!(breaker.state(), State::Open, "all trials slow");
    }

    #[test]
    fn an_ignored_or_dropped_trial_frees_its_slot() {
        let (breaker, clock) = breaker(small());
        trip(&breaker);
        clock.advance(10 * SEC);
        let a = breaker.try_acquire().expect("trial 1");
        let b = breaker.try_acquire().expect("trial 2");
        let c = breaker.try_acquire().expect("trial 3");
        assert!(breaker.try_acquire().is_err());
        a.ignore();
        let d = breaker.try_acquire().expect("the ignored trial's slot");
        assert!(breaker.try_acquire().is_err());
        drop(b);
        let e = breaker.try_acquire().expect("the dropped trial's slot");
        c.success();
        d.success();
        assert_eq!(breaker.state(), State::HalfOpen);
        e.success();
        assert_eq!(breaker.state(), State::Closed);
    }

    #[test]
    fn ignored_calls_do_not_count_while_closed() {
        let (breaker, _) = breaker(small());
        for _ in 0..20 {
            breaker.try_acquire().expect("closed").ignore();
        }
        fail(&breaker, 4);
        let metrics = breaker.metrics();
        assert_eq!((metrics.state, metrics.buffered_calls, metrics.failure_rate), (State::Closed, 4, None));
    }

    #[test]
    fn provider_errors_are_recorded_by_kind() {
        let (breaker, _) = breaker(Config { minimum_number_of_calls: 1, ..small() });
        let provider = "polygon".to_owned();
        let not_found = Err::<(), _>(ProviderError::NotFound { provider: provider.clone(), message: "none".into() });
        let unsupported = Err::<(), _>(ProviderError::Unsupported {
            provider: provider.clone(),
            capability: crate::market::Capability::Fundamentals,
        });
        breaker.try_acquire().expect("closed").record(&Ok::<_, ProviderError>(1));
        breaker.try_acquire().expect("closed").record(&not_found);
        breaker.try_acquire().expect("closed").record(&unsupported);
        let metrics = breaker.metrics();
        assert_eq!((metrics.buffered_calls, metrics.failed_calls), (2, 0), "unsupported is ignored");
        let limited = Err::<(), _>(ProviderError::RateLimited { provider, retry_after: None });
        breaker.try_acquire().expect("closed").record(&limited);
        breaker.try_acquire().expect("closed").record(&limited);
        let metrics = breaker.metrics();
        assert_eq!(metrics.state, State::Open, "rate limited twice in 4 calls: 50 %");
        assert_eq!((metrics.buffered_calls, metrics.failed_calls), (4, 2));
    }

    #[test]
    fn jitter_stays_within_its_bounds_and_varies() {
        let config = Config { jitter_factor: 0.25, wait_duration_in_open_state: Duration::from_secs(60), ..small() };
        let (breaker, clock) = breaker(config.clone());
        breaker.seed_jitter(7);
        trip(&breaker);
        let mut waits = Vec::new();
        for _ in 0..200 {
            let wait = open_wait(&breaker);
            waits.push(wait);
            clock.advance(wait);
            fail(&breaker, 3);
            assert_eq!(breaker.state(), State::Open);
        }
        for wait in &waits {
            assert!((45 * SEC..=75 * SEC).contains(wait), "{wait:?} outside 60 s ± 25 %");
        }
        let lowest = waits.iter().min().expect("200 waits");
        let highest = waits.iter().max().expect("200 waits");
        assert!(*lowest < 50 * SEC && *highest > 70 * SEC, "spread over the range: {lowest:?}..{highest:?}");
        // The same seed draws the same waits.
        let (again, clock) = self::breaker(config);
        again.seed_jitter(7);
        trip(&again);
        for wait in waits.iter().take(10) {
            assert_eq!(open_wait(&again), *wait);
            clock.advance(*wait);
            fail(&again, 3);
        }
    }

    #[test]
    fn jitter_applies_to_the_capped_backoff() {
        let (breaker, clock) = breaker(Config {
            backoff_multiplier: 3.0,
            max_wait_duration: Duration::from_secs(20),
            jitter_factor: 0.5,
            ..small()
        });
        breaker.seed_jitter(42);
        trip(&breaker);
        assert!((5 * SEC..=15 * SEC).contains(&open_wait(&breaker)));
        for _ in 0..20 {
            clock.advance(open_wait(&breaker));
            fail(&breaker, 3);
            let wait = open_wait(&breaker);
            assert!((10 * SEC..=30 * SEC).contains(&wait), "{wait:?} outside 20 s ± 50 %");
        }
    }

    #[test]
    fn the_time_based_window_forgets_old_calls() {
        let (breaker, clock) = breaker(Config {
            sliding_window: SlidingWindow::TimeBased { seconds: 10 },
            minimum_number_of_calls: 4,
            ..small()
        });
        fail(&breaker, 3);
        clock.advance(9 * SEC);
        assert_eq!(breaker.metrics().buffered_calls, 3, "still in the last 10 s");
        clock.advance(SEC);
        assert_eq!(breaker.metrics().buffered_calls, 0, "their second has left the window");
        fail(&breaker, 1);
        succeed(&breaker, 3);
        let metrics = breaker.metrics();
        assert_eq!((metrics.state, metrics.buffered_calls, metrics.failure_rate), (State::Closed, 4, Some(25.0)));
    }

    #[test]
    fn the_time_based_window_adds_up_its_seconds() {
        let (breaker, clock) = breaker(Config {
            sliding_window: SlidingWindow::TimeBased { seconds: 10 },
            minimum_number_of_calls: 4,
            ..small()
        });
        succeed(&breaker, 2);
        clock.advance(4 * SEC);
        fail(&breaker, 1);
        clock.advance(4 * SEC);
        fail(&breaker, 1);
        assert_eq!(breaker.state(), State::Open, "2 failures of 4 within 10 s");
        assert_eq!(breaker.metrics().failure_rate, Some(50.0));
    }

    #[test]
    fn an_outcome_from_an_earlier_state_is_dropped() {
        let (breaker, clock) = breaker(small());
        let stale = breaker.try_acquire().expect("closed");
        trip(&breaker);
        clock.advance(10 * SEC);
        let trial = breaker.try_acquire().expect("a trial call");
        stale.failure();
        assert_eq!(breaker.state(), State::HalfOpen);
        assert_eq!(breaker.metrics().buffered_calls, 0, "the stale failure is not a trial");
        trial.success();
        succeed(&breaker, 2);
        assert_eq!(breaker.state(), State::Closed);
    }

    #[test]
    fn metrics_report_the_window_and_the_counters() {
        let (breaker, clock) = breaker(small());
        let metrics = breaker.metrics();
        assert_eq!(
            metrics,
            Metrics {
                state: State::Closed,
                failure_rate: None,
                slow_call_rate: None,
                buffered_calls: 0,
                failed_calls: 0,
                slow_calls: 0,
                slow_failed_calls: 0,
                calls_refused: 0,
                transitions: 0,
                consecutive_opens: 0,
                open_wait: None,
            }
        );
        succeed(&breaker, 3);
        let slow = breaker.try_acquire().expect("closed");
        clock.advance(3 * SEC);
        slow.failure();
        fail(&breaker, 1);
        let metrics = breaker.metrics();
        assert_eq!(metrics.state, State::Closed, "2 of 5 failed, 1 of 5 slow");
        assert_eq!((metrics.failure_rate, metrics.slow_call_rate), (Some(40.0), Some(20.0)));
        assert_eq!((metrics.buffered_calls, metrics.failed_calls, metrics.slow_calls), (5, 2, 1));
        fail(&breaker, 1);
        for _ in 0..3 {
            assert!(breaker.try_acquire().is_err());
        }
        let metrics = breaker.metrics();
        assert_eq!(metrics.state, State::Open);
        assert_eq!(metrics.failure_rate, Some(50.0), "the window that opened it");
        assert_eq!(metrics.calls_refused, 3);
        assert_eq!(metrics.transitions, 1);
        assert_eq!(metrics.open_wait, Some(10 * SEC));
        assert_eq!(breaker.transitions(), 1);
        assert_eq!(breaker.state_number(), 1);
    }

    #[test]
    fn forced_open_disabled_and_reset() {
        let (breaker, _) = breaker(small());
        breaker.force_open();
        let refused = breaker.try_acquire().unwrap_err();
        assert_eq!((refused.state, refused.retry_after), (State::ForcedOpen, None));
        assert_eq!(breaker.state_number(), 4);
        breaker.disable();
        fail(&breaker, 50);
        let metrics = breaker.metrics();
        assert_eq!((metrics.state, metrics.buffered_calls), (State::Disabled, 0), "disabled records nothing");
        breaker.reset();
        assert_eq!(breaker.state(), State::Closed);
        assert_eq!(breaker.transitions(), 3);
        trip(&breaker);
        breaker.reset();
        assert!(breaker.try_acquire().is_ok());
        assert_eq!(breaker.metrics().buffered_calls, 0);
    }

    #[test]
    fn handles_share_one_breaker_across_threads() {
        let (breaker, _) = breaker(Config {
            sliding_window: SlidingWindow::CountBased { calls: 1000 },
            minimum_number_of_calls: 1000,
            ..small()
        });
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let breaker = breaker.clone();
                std::thread::spawn(move || succeed(&breaker, 100))
            })
            .collect();
        for thread in threads {
            thread.join().expect("no panic");
        }
        assert_eq!(breaker.metrics().buffered_calls, 400);
    }
}
