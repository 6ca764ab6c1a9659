//! The ingestion worker inside `cairn serve`: the providers file's `[ingest]` symbols fetched
//! on its schedule ([`When`]) through the same [`fetch`] as `cairn market fetch`, so bars
//! arrive by themselves.
//!
//! - **Daily**: each NYSE trading day (`domain::calendar`) at the configured local time (18:30
//!   New York by default, after the close and the vendors' end-of-day files); a weekend or
//!   holiday is skipped. A server started after that time runs at once for the day.
//! - **Every N seconds**: whatever the day (a vendor replica in tests, crypto, FX).
//! - Each run asks for `lookback_days` before today as well, so a run missed while the server
//!   was down is filled by the next (what was recorded already records nothing).
//! - A provider outage degrades to the next provider inside the fetch; a run that fails
//!   altogether (no provider, the store) is logged and counted, and the worker waits for the
//!   next run: it never stops the server.
//!
//! Its figures ([`IngestMetrics`]) are on `/metrics`, with each provider's breaker state.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use commands::aggregate::Caller;
use commands::Context;
use domain::quality::QualityConfig;
use event_store::EventStore;

use super::config::{Ingest, When};
use super::fetch::{fetch, Report, Request};
use super::selector::Selector;

/// The ingestion's figures, for `/metrics`.
#[derive(Debug, Default)]
pub struct IngestMetrics {
    pub runs: AtomicU64,
    /// Runs that recorded nothing because the fetch failed as a whole.
    pub failed_runs: AtomicU64,
    pub bars_recorded: AtomicU64,
    pub bars_revised: AtomicU64,
    pub bars_rejected: AtomicU64,
    /// Symbols no provider answered for, over all runs.
    pub symbols_failed: AtomicU64,
    /// When the last run ended, in Unix seconds (0 before the first).
    pub last_run_unix: AtomicU64,
    last_report: Mutex<Option<Report>>,
}

impl IngestMetrics {
    /// The last run's report.
    pub fn last_report(&self) -> Option<Report> {
        self.last_report.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// When the next run is due after `now`.
pub fn next_run(when: When, now: DateTime<Utc>, last: Option<DateTime<Utc>>) -> DateTime<Utc> {
    match when {
        When::Every(every) => match last {
            None => now,
            Some(last) => last + chrono::Duration::from_std(every).unwrap_or(chrono::Duration::MAX),
        },
        When::Daily { at, time_zone } => {
            let today = now.with_timezone(&time_zone).date_naive();
            let mut day = today;
            // A day is due when it trades, its time has come, and no run happened since it.
            loop {
                let local = time_zone
                    .from_local_datetime(&day.and_time(at))
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or_else(|| Utc.from_utc_datetime(&day.and_time(at)));
                let done = last.is_some_and(|l| l >= local);
                if !domain::calendar::is_market_closed(day) && !done {
                    // A time already past today (no run since it) is due at once.
                    return local.max(now);
                }
                day = day.succ_opt().unwrap_or(NaiveDate::MAX);
            }
        }
    }
}

/// Runs the ingestion until `stop` turns true.
pub async fn run<S: EventStore>(
    cx: Context<S>,
    selector: Arc<Selector>,
    ingest: Ingest,
    quality: QualityConfig,
    metrics: Arc<IngestMetrics>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let caller = Caller { actor: "cairn ingestion".into(), source: "serve".into() };
    let mut last: Option<DateTime<Utc>> = None;
    tracing::info!(symbols = ?ingest.symbols, when = ?ingest.when, "market data ingestion started");
    loop {
        let now = Utc::now();
        let due = next_run(ingest.when, now, last);
        let wait = (due - now).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
        if *stop.borrow() {
            return;
        }
        let started = Utc::now();
        let today = started.date_naive();
        let request = Request {
            symbols: ingest.symbols.clone(),
            from: today - chrono::Duration::days(i64::from(ingest.lookback_days)),
            to: today,
            mode: ingest.mode,
            concurrency: super::fetch::CONCURRENT_SYMBOLS,
        };
        metrics.runs.fetch_add(1, Ordering::Relaxed);
        match fetch(&cx, &selector, &request, &quality, &caller).await {
            Ok(report) => {
                metrics.bars_recorded.fetch_add(report.recorded as u64, Ordering::Relaxed);
                metrics.bars_revised.fetch_add(report.revised as u64, Ordering::Relaxed);
                metrics.bars_rejected.fetch_add(report.rejected as u64, Ordering::Relaxed);
                metrics.symbols_failed.fetch_add(report.failed as u64, Ordering::Relaxed);
                tracing::info!(
                    recorded = report.recorded,
                    revised = report.revised,
                    rejected = report.rejected,
                    failed = report.failed,
                    "market data ingestion ran"
                );
                *metrics.last_report.lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
            }
            Err(e) => {
                metrics.failed_runs.fetch_add(1, Ordering::Relaxed);
                tracing::error!(error = %e, "market data ingestion failed; the next run will try again");
            }
        }
        metrics.last_run_unix.store(Utc::now().timestamp().max(0) as u64, Ordering::Relaxed);
        last = Some(started);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::New_York;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn daily_runs_fall_on_trading_days_at_the_local_time() {
        let when = When::Daily { at: chrono::NaiveTime::from_hms_opt(18, 30, 0).unwrap(), time_zone: New_York };
        // Friday 2025-07-03 (trading, early close) before 18:30 EDT (22:30 UTC): today.
        assert_eq!(next_run(when, utc("2025-07-03T12:00:00Z"), None), utc("2025-07-03T22:30:00Z"));
        // After Thursday's run: Friday 4 July is a holiday, then a weekend: Monday 7 July.
        assert_eq!(
            next_run(when, utc("2025-07-03T22:31:00Z"), Some(utc("2025-07-03T22:30:00Z"))),
            utc("2025-07-07T22:30:00Z")
        );
        // Started after the time with no run today: at once.
        assert_eq!(next_run(when, utc("2025-07-03T23:00:00Z"), None), utc("2025-07-03T23:00:00Z"));
        // In winter 18:30 New York is 23:30 UTC.
        assert_eq!(next_run(when, utc("2025-12-01T00:00:00Z"), None), utc("2025-12-01T23:30:00Z"));
    }

    #[test]
    fn interval_runs_start_at_once_then_every_period() {
        let when = When::Every(Duration::from_secs(60));
        assert_eq!(next_run(when, utc("2025-07-05T10:00:00Z"), None), utc("2025-07-05T10:00:00Z"));
        assert_eq!(
            next_run(when, utc("2025-07-05T10:00:30Z"), Some(utc("2025-07-05T10:00:00Z"))),
            utc("2025-07-05T10:01:00Z")
        );
    }
}
