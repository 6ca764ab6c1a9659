//! `cairn bench alerts`: every monitoring rule over every household after a day's prices
//! arrive, end to end from the prices' commit to the alerts recorded (the read models caught up
//! on the way), and each alert's latency from that commit; then alerts as single prices land,
//! with the projectors and the live alerts (`workers::alerts::live`) following as in `serve`.

use std::time::Instant;

use anyhow::Context as _;
use event_store::{EventStore as _, Store};

use super::caller;

/// `households` households, each a taxable account holding 1 to 3 of `symbols` symbols and a
/// portfolio with a 60/40 target over two of them (so some drift, some are concentrated, some
/// hold cash), 30 days of closes; then the next day's closes are committed and the rules run.
pub(crate) async fn alerts(
    store: &Store,
    url: &str,
    households: usize,
    symbols: usize,
    live: usize,
) -> anyhow::Result<serde_json::Value> {
    let cx = commands::Context::new(store.clone());
    let who = caller("cairn bench alerts");
    let symbols = symbols.max(2);
    let name = |i: usize| format!("S{i:03}");
    let start = chrono::NaiveDate::from_ymd_opt(2025, 11, 3).expect("a date");
    let days: Vec<chrono::NaiveDate> =
        start.iter_days().filter(|d| !domain::calendar::is_market_closed(*d)).take(32).collect();
    let bars = |days: &[chrono::NaiveDate]| {
        let mut csv = String::from("date,symbol,open,high,low,close,volume\n");
        for (n, d) in days.iter().enumerate() {
            for s in 0..symbols {
                // Each symbol drifts its own way: some fall below their cost, some rise.
                let close = 100.0 + (s as f64 - symbols as f64 / 2.0) * 0.05 * n as f64;
                csv.push_str(&format!("{d},{},{close:.2},{close:.2},{close:.2},{close:.2},1000\n", name(s)));
            }
        }
        csv
    };
    commands::market::import_csv(&cx, bars(&days[..30]).as_bytes(), &who).await?;
    let setup = Instant::now();
    for h in 0..households {
        let held = 1 + h % 3;
        let mut csv = String::from("trade_date,account,account_type,action,symbol,quantity,price,fees\n");
        csv.push_str(&format!("{},Brokerage,taxable,deposit,,1,{},0\n", days[0], 10_000 + 1_000 * held));
        for k in 0..held {
            csv.push_str(&format!("{},Brokerage,taxable,buy,{},{},100,0\n", days[0], name((h + k) % symbols), 30));
        }
        let household = format!("h{h:05}");
        commands::ledger::import_csv(&cx, &household, csv.as_bytes(), false, &who).await?;
        let target = [(name(h % symbols), "0.6"), (name((h + 1) % symbols), "0.4")]
            .into_iter()
            .map(|(s, w)| (s, w.parse().expect("a weight")))
            .collect();
        for command in [
            domain::portfolio::PortfolioCommand::Create {
                household: household.clone(),
                name: "core".into(),
                accounts: vec!["Brokerage".into()],
            },
            domain::portfolio::PortfolioCommand::SetTarget(target),
        ] {
            commands::portfolio::run(&cx, &household, "core", command, None, &who).await?;
        }
    }
    let db = projections::Db::open(url, false).await?;
    let mut reader = queries::read::Reader::with_db(store.clone(), db.clone());
    let head = store.head().await?.map_or(0, |h| h.position);
    for projector in ["holdings", "prices", "valuation_history", "people"] {
        reader.at_least(projector, head, std::time::Duration::ZERO).await?;
    }
    // A first evaluation raises the standing alerts; the measured one sees the new day.
    let now = chrono::Utc::now();
    workers::alerts::evaluate(&cx, &db, None, days[29], now, std::time::Duration::ZERO, None).await?;
    let setup = setup.elapsed();
    // From here the projectors follow the log as `serve` runs them: the evaluation waits for
    // them (as the monitoring task does) and the live alerts read what they wrote.
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let projectors: Vec<_> = projections::all()
        .into_iter()
        .map(|p| tokio::spawn(projections::runner::follow(db.clone(), store.clone(), p, stopping.clone())))
        .collect();
    // As in a running `serve`, they have read everything before the day's prices (the first
    // evaluation's alerts among it) when those arrive.
    let head = store.head().await?.map_or(0, |h| h.position);
    for projector in ["holdings", "prices", "valuation_history", "people"] {
        reader.at_least(projector, head, std::time::Duration::from_secs(600)).await?;
    }

    let t = Instant::now();
    commands::market::import_csv(&cx, bars(&days[30..31]).as_bytes(), &who).await?;
    let commit_position = store.head().await?.map_or(0, |h| h.position);
    let commit_at =
        store.read_all(commit_position, 1).await?.first().map(|e| e.recorded_at).context("the prices' commit")?;
    let follower = workers::ops::FOLLOWER;
    let done = workers::alerts::evaluate(&cx, &db, None, days[30], chrono::Utc::now(), follower, None).await?;
    let seconds = t.elapsed().as_secs_f64();
    // Each alert event's latency from the prices' commit: when its household's live stream,
    // and so the web page's bell, can carry it.
    let mut latencies = Vec::new();
    let mut position = commit_position + 1;
    loop {
        let page = store.read_all(position, 10_000).await?;
        let Some(last) = page.last() else { break };
        position = last.global_position + 1;
        for e in page.iter().filter(|e| e.event_type.starts_with("Alert")) {
            latencies.push((e.recorded_at - commit_at).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e3);
        }
    }
    let day = quantiles(latencies);
    let live = live_alerts(store, &db, &bars, days[31], symbols, live).await;
    let _ = stop.send(true);
    for task in projectors {
        task.await?;
    }
    let live = live?;
    Ok(serde_json::json!({
        "backend": store.backend(),
        "households": households,
        "symbols": symbols,
        "setup_seconds": setup.as_secs_f64(),
        "seconds": seconds,
        "households_per_sec": households as f64 / seconds,
        "target_seconds": 5.0,
        "findings": done.findings,
        "raised": done.raised,
        "escalated": done.escalated,
        "resolved": done.resolved,
        "timings": done.timings,
        "alert_events": day.0,
        "commit_to_alert_ms": day.1,
        "live": live,
    }))
}

/// How many latencies, and their p50, p99 and largest, in milliseconds.
fn quantiles(mut ms: Vec<f64>) -> (usize, serde_json::Value) {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms.get(((ms.len().max(1) - 1) as f64 * q).round() as usize).copied();
    (ms.len(), serde_json::json!({ "p50": at(0.5), "p99": at(0.99), "max": at(1.0) }))
}

/// `commits` commits of one symbol's close on `day` each (a 40% fall, so its holders drift and
/// hold losses), a second and a half apart, with the live alerts following the log beside the
/// projectors (already following) as `serve` runs them; each alert event's latency from the
/// commit it followed to a live subscriber of the log, which is what a household's SSE stream
/// reads.
async fn live_alerts(
    store: &Store,
    db: &projections::Db,
    bars: &dyn Fn(&[chrono::NaiveDate]) -> String,
    day: chrono::NaiveDate,
    symbols: usize,
    commits: usize,
) -> anyhow::Result<serde_json::Value> {
    let cx = commands::Context::new(store.clone());
    let who = caller("cairn bench alerts");
    let (stop, stopping) = tokio::sync::watch::channel(false);
    let mut tasks = Vec::new();
    let metrics = std::sync::Arc::new(workers::alerts::live::Metrics::default());
    let worker = workers::alerts::live::Live {
        cx: cx.clone(),
        db: db.clone(),
        clock: std::sync::Arc::new(workers::ops::clock::SystemClock),
        benchmark: None,
        follower: workers::ops::FOLLOWER,
        metrics: metrics.clone(),
    };
    tasks.push(tokio::spawn(workers::alerts::live::follow(worker, stopping.clone())));
    // The client: every alert event with the instant it arrived.
    let head = store.head().await?.map_or(0, |h| h.position);
    let mut subscription = store.subscribe(head + 1);
    let mut watching = stopping.clone();
    let client = tokio::spawn(async move {
        let mut seen: Vec<(u64, chrono::DateTime<chrono::Utc>)> = Vec::new();
        loop {
            let batch = tokio::select! {
                batch = subscription.next_batch(10_000) => batch,
                _ = watching.wait_for(|s| *s) => return seen,
            };
            let Ok(batch) = batch else { return seen };
            let now = chrono::Utc::now();
            seen.extend(batch.iter().filter(|e| e.event_type.starts_with("Alert")).map(|e| (e.global_position, now)));
        }
    });
    let mut marks: Vec<(u64, chrono::DateTime<chrono::Utc>)> = Vec::new();
    for k in 0..commits {
        // Each commit a different symbol's next close, 40% below the last.
        let symbol = (k * 7) % symbols;
        let csv = bars(&[day]);
        let row = csv.lines().nth(1 + symbol).context("a bar")?;
        let close: f64 = row.split(',').nth(5).context("a close")?.parse()?;
        let fallen = close * 0.6;
        let line = format!(
            "{day},{},{fallen:.2},{fallen:.2},{fallen:.2},{fallen:.2},1000",
            row.split(',').nth(1).unwrap_or("")
        );
        let one = format!("date,symbol,open,high,low,close,volume\n{line}\n");
        commands::market::import_csv(&cx, one.as_bytes(), &who).await?;
        let position = store.head().await?.map_or(0, |h| h.position);
        let at = store.read_all(position, 1).await?.first().map(|e| e.recorded_at).context("the commit")?;
        marks.push((position, at));
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    }
    let _ = stop.send(true);
    let seen = client.await?;
    for task in tasks {
        task.await?;
    }
    let latencies: Vec<f64> = seen
        .iter()
        .filter_map(|(position, arrived)| {
            let (_, committed) = marks.iter().rev().find(|(p, _)| p < position)?;
            Some((*arrived - *committed).num_microseconds().unwrap_or(i64::MAX) as f64 / 1e3)
        })
        .collect();
    let (events, ms) = quantiles(latencies);
    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    Ok(serde_json::json!({
        "commits": commits,
        "alert_events": events,
        "evaluations": load(&metrics.evaluations),
        "households_evaluated": load(&metrics.households),
        "raised": load(&metrics.raised),
        "failures": load(&metrics.failures),
        "commit_to_alert_ms": ms,
        "target_p99_ms": 500.0,
        "timings_total": metrics.phases.lock().unwrap_or_else(|e| e.into_inner()).clone(),
    }))
}
