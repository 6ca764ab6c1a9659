//! Which provider answers: the configured providers in order of priority, each behind its
//! circuit breaker ([`super::breaker`]) and rate limiter ([`super::limiter`]). A request names
//! the capability it needs; the selector skips a provider that cannot serve it or whose breaker
//! refuses the call, and moves on to the next when a call fails, so one vendor's outage or
//! refusal degrades to the next and never stops the caller.
//!
//! - A provider with nothing for the request (`NotFound`) is not a failure of the provider, but
//!   the next one is still asked: another vendor may know the symbol.
//! - A rate-limit answer with `Retry-After` pauses that provider's bucket for that long.
//! - Daily bars come back at the prices traded: a vendor whose history is adjusted for splits
//!   is brought back with another provider's splits (`Selector::traded`).
//! - Each provider's calls, successes, failures and latencies (p50/p99 of the last
//!   [`LATENCY_SAMPLES`] calls) are kept for `cairn market providers` and `/metrics`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
use domain::market::{unadjust_splits, Adjustment, Bar, Split};

use super::breaker::CircuitBreaker;
use super::limiter::TokenBucket;
use super::provider::{Capability, CorporateAction, IntradayBar, Provider, ProviderError};

/// How many of a provider's latest calls its latency percentiles are taken over.
pub const LATENCY_SAMPLES: usize = 1000;

/// The longest a request waits for a provider's rate limit before moving on to the next.
pub const MAX_RATE_WAIT: Duration = Duration::from_secs(2);

/// One configured provider: the adapter, its priority (lower first), its breaker and its
/// optional rate limit.
pub struct Source {
    pub provider: Arc<dyn Provider>,
    pub priority: u32,
    /// The provider's reliability weight in (0, 1] for the consensus (1 unless configured).
    pub weight: rust_decimal::Decimal,
    pub breaker: CircuitBreaker,
    pub limiter: Option<TokenBucket>,
    stats: Mutex<Stats>,
}

impl Source {
    pub fn new(
        provider: Arc<dyn Provider>,
        priority: u32,
        breaker: CircuitBreaker,
        limiter: Option<TokenBucket>,
    ) -> Self {
        Self {
            provider,
            priority,
            weight: rust_decimal::Decimal::ONE,
            breaker,
            limiter,
            stats: Mutex::new(Stats::default()),
        }
    }

    /// The same source with reliability weight `weight` (in (0, 1]).
    pub fn with_weight(mut self, weight: rust_decimal::Decimal) -> Self {
        self.weight = weight;
        self
    }

    pub fn name(&self) -> &str {
        self.provider.name()
    }

    /// The provider's figures so far.
    pub fn health(&self) -> Health {
        let stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let mut sorted: Vec<Duration> = stats.latencies.iter().copied().collect();
        sorted.sort();
        let percentile = |p: f64| -> Option<Duration> {
            // Nearest rank.
            let n = sorted.len();
            (n > 0).then(|| sorted[((p * n as f64).ceil() as usize).clamp(1, n) - 1])
        };
        let today = Utc::now().date_naive();
        Health {
            name: self.name().to_owned(),
            priority: self.priority,
            capabilities: self.provider.capabilities().iter().map(|c| c.as_str()).collect(),
            state: self.breaker.state().as_str(),
            calls: stats.calls,
            successes: stats.successes,
            failures: stats.failures,
            refused: self.breaker.metrics().calls_refused,
            success_rate: (stats.calls > 0).then(|| stats.successes as f64 / stats.calls as f64),
            p50: percentile(0.50),
            p99: percentile(0.99),
            calls_today: if stats.day == Some(today) { stats.calls_on_day } else { 0 },
            last_error: stats.last_error.clone(),
        }
    }

    fn note(&self, took: Duration, outcome: Result<(), &ProviderError>) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let today = Utc::now().date_naive();
        if stats.day != Some(today) {
            (stats.day, stats.calls_on_day) = (Some(today), 0);
        }
        stats.calls += 1;
        stats.calls_on_day += 1;
        match outcome {
            Ok(()) => stats.successes += 1,
            Err(e) if e.is_failure() => {
                stats.failures += 1;
                stats.last_error = Some(e.to_string());
            }
            // Nothing for this request: the provider answered.
            Err(_) => stats.successes += 1,
        }
        if stats.latencies.len() == LATENCY_SAMPLES {
            stats.latencies.pop_front();
        }
        stats.latencies.push_back(took);
    }
}

#[derive(Debug, Default)]
struct Stats {
    calls: u64,
    successes: u64,
    failures: u64,
    day: Option<NaiveDate>,
    calls_on_day: u64,
    latencies: VecDeque<Duration>,
    last_error: Option<String>,
}

/// A provider's state and figures, as `cairn market providers` shows them.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    pub name: String,
    pub priority: u32,
    pub capabilities: Vec<&'static str>,
    /// The breaker's state: `closed`, `open`, `half_open`, …
    pub state: &'static str,
    pub calls: u64,
    pub successes: u64,
    pub failures: u64,
    /// Calls the breaker refused.
    pub refused: u64,
    pub success_rate: Option<f64>,
    pub p50: Option<Duration>,
    pub p99: Option<Duration>,
    pub calls_today: u64,
    pub last_error: Option<String>,
}

/// Why a provider did not answer a request.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct Attempt {
    pub provider: String,
    pub problem: String,
    /// Whether the provider was called (else skipped: breaker open, rate limit, capability).
    pub called: bool,
}

/// No provider answered; each attempt says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no provider answered for {what}: {}", attempts.iter().map(|a| format!("{}: {}", a.provider, a.problem)).collect::<Vec<_>>().join("; "))]
pub struct Exhausted {
    pub what: String,
    pub attempts: Vec<Attempt>,
}

/// Why a question put to the providers and the read models got no answer.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error(transparent)]
    Exhausted(#[from] Exhausted),
    #[error(transparent)]
    Report(#[from] queries::ledger::ReportError),
}

/// A provider's answer, with the providers tried before it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered<T> {
    pub provider: String,
    pub value: T,
    pub attempts: Vec<Attempt>,
    /// What a person should know about the answer (bars that could not be brought back to the
    /// prices traded).
    pub notes: Vec<String>,
}

/// The configured providers, in order of priority (then of configuration).
pub struct Selector {
    sources: Vec<Source>,
}

impl Selector {
    pub fn new(mut sources: Vec<Source>) -> Self {
        sources.sort_by_key(|s| s.priority);
        Self { sources }
    }

    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// Daily bars of `symbol` from `from` to `to` from the first provider that answers with
    /// some, at the prices traded where they can be had ([`Selector::traded`]).
    pub async fn daily_bars(
        &self,
        symbol: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Answered<Vec<Bar>>, Exhausted> {
        let mut attempts = Vec::new();
        for source in &self.sources {
            match self.call(source, Capability::DailyBars, |p| p.daily_bars(symbol, from, to)).await {
                Ok(bars) if bars.is_empty() => attempts.push(Attempt {
                    provider: source.name().to_owned(),
                    problem: "no data".into(),
                    called: true,
                }),
                Ok(bars) => {
                    let (value, notes) = self.traded(source, symbol, from, bars).await;
                    return Ok(Answered { provider: source.name().to_owned(), value, attempts, notes });
                }
                Err(attempt) => attempts.push(attempt),
            }
        }
        Err(Exhausted { what: format!("{symbol} daily bars {from} to {to}"), attempts })
    }

    /// `source`'s bars of `symbol` (from `from` on) at the prices traded, with a note when
    /// they could not be brought back. A provider whose history is adjusted for splits
    /// ([`Adjustment::Splits`]: every day before a split divided by its ratio, as of today) has
    /// its bars brought back by [`domain::market::unadjust_splits`] with the splits from `from`
    /// to today of the first provider that serves corporate actions
    /// ([`Selector::corporate_actions`]), so that what is compared (the consensus, the checks
    /// against the recorded history) and what is recorded are the prices traded, whatever each
    /// vendor sends. When no provider gives the splits (none is configured, or none answers),
    /// the bars are used as the vendor sent them and the note says so: without a split in the
    /// range they are the prices traded, and with one, the days before it differ from the
    /// recorded history and from the other vendors by the split's ratio, which the checks
    /// flag and the consensus refuses.
    async fn traded(
        &self,
        source: &Source,
        symbol: &str,
        from: NaiveDate,
        mut bars: Vec<Bar>,
    ) -> (Vec<Bar>, Vec<String>) {
        if source.provider.adjustment() == Adjustment::Raw {
            return (bars, Vec::new());
        }
        let today = Utc::now().date_naive().max(from);
        match self.corporate_actions(symbol, from, today).await {
            Ok(actions) => {
                let splits: Vec<Split> = actions
                    .value
                    .iter()
                    .filter_map(|a| match a {
                        CorporateAction::Split { date, new, old, .. } => Some(Split { date: *date, new: *new, old: *old }),
                        CorporateAction::Dividend { .. } => None,
                    })
                    .collect();
                unadjust_splits(&mut bars, &splits);
                (bars, Vec::new())
            }
            Err(e) => (
                bars,
                vec![format!(
                    "{}'s prices are adjusted for splits and were used as sent: no provider gave the splits to bring them back to the prices traded ({e})",
                    source.name()
                )],
            ),
        }
    }

    /// `minutes`-minute aggregates of `symbol` on the New York day `date` from the first
    /// provider that serves them and answers with some.
    pub async fn intraday_bars(
        &self,
        symbol: &str,
        date: NaiveDate,
        minutes: u32,
    ) -> Result<Answered<Vec<IntradayBar>>, Exhausted> {
        let what = format!("{symbol} {minutes}-minute aggregates on {date}");
        self.first(Capability::Intraday, what, |p| p.intraday_bars(symbol, date, minutes), |bars| !bars.is_empty())
            .await
    }

    /// The fundamentals of `symbol` from the first provider that serves them and answers.
    pub async fn fundamentals(&self, symbol: &str) -> Result<Answered<domain::fundamentals::Fundamentals>, Exhausted> {
        self.first(Capability::Fundamentals, format!("{symbol} fundamentals"), |p| p.fundamentals(symbol), |_| true)
            .await
    }

    /// Splits and dividends of `symbol` between `from` and `to` from the first provider that
    /// serves them and answers (an empty answer counts: no actions in the range).
    pub async fn corporate_actions(
        &self,
        symbol: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Answered<Vec<super::provider::CorporateAction>>, Exhausted> {
        let what = format!("{symbol} corporate actions {from} to {to}");
        self.first(Capability::CorporateActions, what, |p| p.corporate_actions(symbol, from, to), |_| true).await
    }

    /// Daily bars of `symbol` from every provider that answers with some (for the consensus
    /// of several vendors), in priority order and at the prices traded ([`Selector::traded`]),
    /// with the attempts of those that did not.
    pub async fn daily_bars_from_all(
        &self,
        symbol: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> (Vec<Answered<Vec<Bar>>>, Vec<Attempt>) {
        let calls = self.sources.iter().map(|source| async move {
            (
                source.name().to_owned(),
                self.call(source, Capability::DailyBars, |p| p.daily_bars(symbol, from, to)).await,
            )
        });
        let mut answers = Vec::new();
        let mut attempts = Vec::new();
        for (source, (provider, result)) in self.sources.iter().zip(futures::future::join_all(calls).await) {
            match result {
                Ok(bars) if !bars.is_empty() => {
                    let (value, notes) = self.traded(source, symbol, from, bars).await;
                    answers.push(Answered { provider, value, attempts: Vec::new(), notes });
                }
                Ok(_) => attempts.push(Attempt { provider, problem: "no data".into(), called: true }),
                Err(a) => attempts.push(a),
            }
        }
        (answers, attempts)
    }

    /// The reliability weight of the provider named `name` (1 when unknown).
    pub fn weight(&self, name: &str) -> rust_decimal::Decimal {
        self.sources.iter().find(|s| s.name() == name).map_or(rust_decimal::Decimal::ONE, |s| s.weight)
    }

    /// Asks each provider that serves `capability`, in order, until one gives an answer that
    /// `useful` accepts.
    async fn first<'a, T>(
        &'a self,
        capability: Capability,
        what: String,
        call: impl Fn(&'a dyn Provider) -> futures::future::BoxFuture<'a, Result<T, ProviderError>>,
        useful: impl Fn(&T) -> bool,
    ) -> Result<Answered<T>, Exhausted> {
        let mut attempts = Vec::new();
        for source in &self.sources {
            match self.call(source, capability, &call).await {
                Ok(value) if useful(&value) => {
                    return Ok(Answered { provider: source.name().to_owned(), value, attempts, notes: Vec::new() })
                }
                Ok(_) => attempts.push(Attempt {
                    provider: source.name().to_owned(),
                    problem: "no data".into(),
                    called: true,
                }),
                Err(attempt) => attempts.push(attempt),
            }
        }
        Err(Exhausted { what, attempts })
    }

    /// One call to one provider, through its capability check, rate limit and breaker, noted
    /// in its health; the attempt says why there is no answer.
    async fn call<'a, T>(
        &'a self,
        source: &'a Source,
        capability: Capability,
        call: impl Fn(&'a dyn Provider) -> futures::future::BoxFuture<'a, Result<T, ProviderError>>,
    ) -> Result<T, Attempt> {
        let provider = source.name().to_owned();
        let skip = |problem: String| Attempt { provider: provider.clone(), problem, called: false };
        if !source.provider.capabilities().contains(&capability) {
            return Err(skip(format!("does not serve {}", capability.as_str())));
        }
        if let Some(limiter) = &source.limiter {
            if let Err(wait) = limiter.try_take() {
                if wait > MAX_RATE_WAIT {
                    return Err(skip(format!("rate limited for {:.1} s", wait.as_secs_f64())));
                }
                tokio::time::sleep(wait).await;
                if limiter.try_take().is_err() {
                    return Err(skip("rate limited".into()));
                }
            }
        }
        let permit = source.breaker.try_acquire().map_err(|refused| skip(refused.to_string()))?;
        let started = Instant::now();
        let result = call(source.provider.as_ref()).await;
        source.note(started.elapsed(), result.as_ref().map(|_| ()));
        permit.record(&result);
        result.map_err(|e| {
            if let (ProviderError::RateLimited { retry_after: Some(wait), .. }, Some(limiter)) = (&e, &source.limiter) {
                limiter.honour_retry_after(*wait);
            }
            tracing::warn!(provider = %provider, error = %e, "market data provider failed; trying the next");
            Attempt { provider: provider.clone(), problem: e.to_string(), called: true }
        })
    }
}
