//! Alerts as commits land: `serve` follows the log and, after each batch of commits, runs the
//! monitoring rules for the households the batch touched, so a client connected to its
//! household's live stream sees an alert a moment after the price or trade that caused it, not
//! at the next scheduled monitoring task.
//!
//! What a batch touches ([`Touched`]):
//! - a household's ledger or one of its portfolios: that household;
//! - its `ThresholdsSet` (`cairn rules set`): that household (its own alerts are not read
//!   back, or each evaluation would start another);
//! - a symbol's bar or description: the households holding it now or naming it in their value
//!   history (a revised close moves their drawdown), and for a currency pair (`EUR.USD`) those
//!   holding positions quoted in that currency;
//! - the regime rule's benchmark: every household, since each one's regime rule reads it.
//!
//! Each evaluation is [`super::evaluate`] over those households, at the clock's day in New
//! York; commits that land meanwhile wait and are taken together in the next one. Commits
//! made while `serve` was down are not replayed here: the day's monitoring task evaluates
//! every household.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use commands::Context;
use domain::streams::Parts;
use event_store::{EventStore as _, Store, StoredEvent};
use projections::db::Db;
use projections::holdings::VALUATIONS;
use projections::query::records;
use projections::valuation_history::VALUE_HISTORY_SYMBOLS;
use tokio::sync::watch;

use crate::ops::clock::Clock;

/// What the live evaluations have done, for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    pub evaluations: AtomicU64,
    pub households: AtomicU64,
    pub raised: AtomicU64,
    pub failures: AtomicU64,
    /// The last position evaluated, and how long its evaluation took.
    pub position: AtomicU64,
    pub last_ms: AtomicU64,
    /// Milliseconds spent in each phase of the evaluations, summed (see [`super::Timings`]).
    pub phases: std::sync::Mutex<super::Timings>,
}

impl Metrics {
    /// Each figure's Prometheus name, type, help and value.
    pub fn figures(&self) -> [(&'static str, &'static str, &'static str, String); 10] {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed).to_string();
        let phases = self.phases.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let seconds = |ms: u64| format!("{:.3}", ms as f64 / 1000.0);
        [
            ("cairn_live_alert_evaluations_total", "counter", "Evaluations after commits.", load(&self.evaluations)),
            (
                "cairn_live_alert_households_total",
                "counter",
                "Households those evaluations covered.",
                load(&self.households),
            ),
            ("cairn_live_alerts_raised_total", "counter", "Alerts they raised.", load(&self.raised)),
            ("cairn_live_alert_failures_total", "counter", "Evaluations that failed.", load(&self.failures)),
            ("cairn_live_alert_position", "gauge", "The last log position evaluated.", load(&self.position)),
            (
                "cairn_live_alert_last_duration_seconds",
                "gauge",
                "How long the last evaluation took.",
                seconds(self.last_ms.load(Ordering::Relaxed)),
            ),
            (
                "cairn_live_alert_catch_up_seconds_total",
                "counter",
                "Time the evaluations waited for the read models.",
                seconds(phases.catch_up_ms),
            ),
            (
                "cairn_live_alert_snapshots_seconds_total",
                "counter",
                "Time they read the households' snapshots.",
                seconds(phases.snapshots_ms),
            ),
            ("cairn_live_alert_rules_seconds_total", "counter", "Time they ran the rules.", seconds(phases.rules_ms)),
            (
                "cairn_live_alert_record_seconds_total",
                "counter",
                "Time they recorded the alerts.",
                seconds(phases.record_ms),
            ),
        ]
    }
}

/// The households and symbols a batch of commits touched.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Touched {
    pub households: BTreeSet<String>,
    pub symbols: BTreeSet<String>,
    /// The benchmark moved: every household's regime rule reads it.
    pub all: bool,
}

impl Touched {
    /// Notes what `event` touches; `benchmark` is the regime rule's symbol, if any.
    pub fn add(&mut self, event: &StoredEvent, benchmark: Option<&str>) {
        match Parts::of(event.stream_id.as_str()) {
            Some(Parts::Ledger(h) | Parts::Portfolio(h, _)) => {
                self.households.insert(h.to_owned());
            }
            Some(Parts::Alerts(h)) if event.event_type == "ThresholdsSet" => {
                self.households.insert(h.to_owned());
            }
            Some(Parts::Market(symbol))
                if matches!(event.event_type.as_str(), "BarRecorded" | "BarRevised" | "SecurityDescribed") =>
            {
                self.all |= benchmark == Some(symbol);
                self.symbols.insert(symbol.to_owned());
            }
            _ => {}
        }
    }

    pub fn is_empty(&self) -> bool {
        self.households.is_empty() && self.symbols.is_empty() && !self.all
    }

    /// The households to evaluate, by key: `None` for every one.
    pub async fn households(&self, db: &Db) -> projections::Result<Option<Vec<String>>> {
        if self.all {
            return Ok(None);
        }
        let mut out = self.households.clone();
        for symbol in &self.symbols {
            let named = [("symbol", Some(symbol.clone()))];
            out.extend(
                records(db, &VALUE_HISTORY_SYMBOLS, &named).await?.iter().map(|r| r.str("household").to_owned()),
            );
            out.extend(records(db, &VALUATIONS, &named).await?.iter().map(|r| r.str("household").to_owned()));
            // A pair's close converts every position quoted in its first currency.
            if let Some(currency) = domain::fx::currency_of_pair(symbol) {
                let quoted = [("currency", Some(currency.to_owned()))];
                out.extend(records(db, &VALUATIONS, &quoted).await?.iter().map(|r| r.str("household").to_owned()));
            }
        }
        Ok(Some(out.into_iter().collect()))
    }
}

/// What [`follow`] runs on.
pub struct Live {
    pub cx: Context<Store>,
    pub db: Db,
    pub clock: Arc<dyn Clock>,
    pub benchmark: Option<String>,
    /// How long the server's projectors get to reach a batch before the evaluation catches
    /// them up itself.
    pub follower: Duration,
    pub metrics: Arc<Metrics>,
}

/// Follows the log from its head until `stopping`, evaluating the households each batch of
/// commits touched. An evaluation that fails is logged and counted; the next batch tries again
/// with what it touched too.
pub async fn follow(live: Live, mut stopping: watch::Receiver<bool>) {
    let store = live.cx.store().clone();
    let start = loop {
        match store.head().await {
            Ok(head) => break head.map_or(0, |h| h.position) + 1,
            Err(e) => {
                tracing::warn!(error = %e, "live alerts: cannot read the log's head; trying again");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stopping.wait_for(|s| *s) => return,
                }
            }
        }
    };
    let mut subscription = store.subscribe_named("live alerts", start);
    let mut pending = Touched::default();
    loop {
        let batch = tokio::select! {
            batch = subscription.next_batch(10_000) => batch,
            _ = stopping.wait_for(|s| *s) => return,
        };
        let batch = match batch {
            Ok(batch) => batch,
            Err(e) => {
                tracing::error!(error = %e, "live alerts stopped: the log cannot be read");
                return;
            }
        };
        for event in &batch {
            pending.add(event, live.benchmark.as_deref());
        }
        let Some(last) = batch.last().map(|e| e.global_position) else { continue };
        if pending.is_empty() {
            continue;
        }
        let started = std::time::Instant::now();
        match evaluate(&live, &pending, last).await {
            Ok(raised) => {
                pending = Touched::default();
                {
                    let mut phases = live.metrics.phases.lock().unwrap_or_else(|e| e.into_inner());
                    phases.catch_up_ms += raised.timings.catch_up_ms;
                    phases.snapshots_ms += raised.timings.snapshots_ms;
                    phases.rules_ms += raised.timings.rules_ms;
                    phases.record_ms += raised.timings.record_ms;
                }
                live.metrics.evaluations.fetch_add(1, Ordering::Relaxed);
                live.metrics.raised.fetch_add(raised.raised as u64, Ordering::Relaxed);
                live.metrics.households.fetch_add(raised.households as u64, Ordering::Relaxed);
                live.metrics.position.store(last, Ordering::Relaxed);
                live.metrics.last_ms.store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
            }
            Err(e) => {
                live.metrics.failures.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, position = last, "live alerts: an evaluation failed; the next commit retries it");
            }
        }
    }
}

/// One evaluation of what `touched` names (up to `position`), at the clock's instant and New
/// York day. Who holds a symbol is read once the read models that say it reach `position`.
async fn evaluate(live: &Live, touched: &Touched, position: u64) -> anyhow::Result<super::Evaluated> {
    let mut reader = queries::read::Reader::with_db(live.cx.store().clone(), live.db.clone());
    for name in ["holdings", "valuation_history"] {
        reader.at_least(name, position, live.follower).await?;
    }
    let households = touched.households(&reader.db).await?;
    if households.as_ref().is_some_and(Vec::is_empty) {
        return Ok(super::Evaluated::default());
    }
    let at = live.clock.now();
    let as_of = domain::calendar::new_york_day(at);
    let done =
        super::evaluate(&live.cx, &live.db, households.as_deref(), as_of, at, live.follower, live.benchmark.as_deref())
            .await?;
    Ok(done)
}
