//! `cairn bench alerts`: every monitoring rule over every household after a day's prices
//! arrive, end to end from the prices' commit to the alerts recorded (the read models caught up
//! on the way), and each alert's latency from that commit.

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
) -> anyhow::Result<serde_json::Value> {
    let cx = commands::Context::new(store.clone());
    let who = caller("cairn bench alerts");
    let symbols = symbols.max(2);
    let name = |i: usize| format!("S{i:03}");
    let start = chrono::NaiveDate::from_ymd_opt(2025, 11, 3).expect("a date");
    let days: Vec<chrono::NaiveDate> =
        start.iter_days().filter(|d| !domain::calendar::is_market_closed(*d)).take(31).collect();
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
    workers::alerts::evaluate_all(&cx, &db, days[29], now, std::time::Duration::ZERO, None).await?;
    let setup = setup.elapsed();

    let t = Instant::now();
    commands::market::import_csv(&cx, bars(&days[30..]).as_bytes(), &who).await?;
    let commit_position = store.head().await?.map_or(0, |h| h.position);
    let commit_at =
        store.read_all(commit_position, 1).await?.first().map(|e| e.recorded_at).context("the prices' commit")?;
    let done =
        workers::alerts::evaluate_all(&cx, &db, days[30], chrono::Utc::now(), std::time::Duration::ZERO, None).await?;
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
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies.get(((latencies.len().max(1) - 1) as f64 * q).round() as usize).copied();
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
        "alert_events": latencies.len(),
        "commit_to_alert_ms": { "p50": at(0.5), "p99": at(0.99), "max": at(1.0), "target_p99": 500.0 },
    }))
}
