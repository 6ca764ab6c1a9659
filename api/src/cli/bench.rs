//! `cairn bench projections`: rebuild speed of the read models, and query latency.

use std::time::{Duration, Instant};

use event_store::{EventStore as _, Store};
use projections::db::Db;
use projections::holdings::{LOTS, VALUATIONS};
use projections::query::records;
use projections::{Runner, Source};

use super::caller;

/// Fills the scratch store with `households` ledgers of generated trades (the `bench import`
/// generator: 10 accounts over 40 symbols each), one larger household (50 accounts over 200
/// symbols, about 2,000 open lots) and a year of daily bars for every symbol, about `events`
/// events in all; then times rebuilding `holdings` (positions, lots, gains, wash sales,
/// contributions, valuations) and `prices` from position 0, and the latency of reading the
/// large household's positions and lots.
pub(crate) async fn projections(
    store: &Store,
    url: &str,
    events: usize,
    households: usize,
) -> anyhow::Result<serde_json::Value> {
    let households = households.max(1);
    let bars_per_symbol = 250usize;
    let symbols = 200usize;
    let probe_trades = 2_300usize;
    let trades = (events.saturating_sub(symbols * bars_per_symbol + probe_trades) / households).max(1);
    let csv = commands::bench::generate_csv(trades, 10, 40);
    let who = caller("cairn bench projections");
    let fill = Instant::now();
    let probe = commands::bench::generate_csv(probe_trades, 50, symbols);
    commands::ledger::import_csv(store, "bench probe", probe.as_bytes(), &who).await?;
    for h in 0..households {
        commands::ledger::import_csv(store, &format!("bench {h}"), csv.as_bytes(), &who).await?;
    }
    let mut bars = String::from("date,symbol,open,high,low,close,volume\n");
    let days: Vec<chrono::NaiveDate> = chrono::NaiveDate::from_ymd_opt(2025, 1, 2)
        .expect("valid date")
        .iter_days()
        .filter(|d| !domain::calendar::is_market_closed(*d))
        .take(bars_per_symbol)
        .collect();
    for s in 0..symbols {
        for (i, d) in days.iter().enumerate() {
            let close = 20 + (s * 7 + i) % 300;
            bars.push_str(&format!("{d},S{s:03},{close},{},{close},{close},1000\n", close + 1));
        }
    }
    commands::market::import_csv(store, bars.as_bytes(), &who).await?;
    let head = store.head().await?.map_or(0, |h| h.position);
    let filled = fill.elapsed();
    // One untimed pass over the log first: PostgreSQL's first read of freshly written rows also
    // writes their hint bits, which would be charged to whichever projector ran first.
    let warm = Instant::now();
    let mut next = 1;
    while next <= head {
        let page = store.read_all(next, 20_000).await?;
        let Some(last) = page.last() else { break };
        next = last.global_position + 1;
    }
    let warm_read = warm.elapsed();

    let db = Db::open(url, false).await?;
    let mut rebuilds = serde_json::Map::new();
    for name in ["holdings", "prices"] {
        let mut runner = Runner::open(db.clone(), projections::by_name(name)?).await?;
        let start = Instant::now();
        let read = runner.catch_up(&mut Source::store(store.clone()), &mut |_| {}).await?;
        let seconds = start.elapsed().as_secs_f64();
        rebuilds.insert(
            name.to_owned(),
            serde_json::json!({ "events": read, "seconds": seconds, "events_per_sec": (read as f64 / seconds).round() }),
        );
    }

    let household = Some(domain::ledger::household_key("bench probe"));
    let lots = records(&db, &LOTS, &[("household", household.clone())]).await?.len();
    let positions = records(&db, &VALUATIONS, &[("household", household.clone())]).await?.len();
    let mut latency = serde_json::Map::new();
    for (label, table) in [("positions", &VALUATIONS), ("lots", &LOTS)] {
        let mut times: Vec<Duration> = Vec::with_capacity(500);
        for _ in 0..500 {
            let t = Instant::now();
            records(&db, table, &[("household", household.clone())]).await?;
            times.push(t.elapsed());
        }
        times.sort_unstable();
        let ms = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e3;
        latency.insert(label.to_owned(), serde_json::json!({ "p50_ms": ms(0.50), "p99_ms": ms(0.99) }));
    }
    Ok(serde_json::json!({
        "backend": store.backend(),
        "events": head,
        "households": households,
        "trades_per_household": trades,
        "fill_seconds": filled.as_secs_f64(),
        "warm_read_seconds": warm_read.as_secs_f64(),
        "rebuild": rebuilds,
        "query_household": { "accounts": 50, "open_lots": lots, "positions": positions },
        "query_latency": latency,
    }))
}
