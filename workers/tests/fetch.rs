//! `workers::market::fetch` against local replicas of two vendors (Polygon's aggregates API,
//! Stooq's CSV download) serving the same bars: the primary answers, then goes down in the
//! middle of a fetch, the fetch completes from the backup while the primary's circuit breaker
//! opens, and once the primary is back and the breaker's wait is over, a trial call closes it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::Router;
use chrono::{NaiveDate, TimeZone};
use commands::aggregate::Caller;
use commands::Context;
use event_store::{EventStore, Store};
use workers::market::breaker::State as Breaker;
use workers::market::config;
use workers::market::fetch::{fetch, Mode, Request, CONCURRENT_SYMBOLS};

const SYMBOLS: [&str; 4] = ["VTI", "BND", "SPY", "QQQ"];

/// The made-up close of `symbol` on the `day`-th trading day.
fn close(symbol: &str, day: usize) -> String {
    let base = 100 + 50 * SYMBOLS.iter().position(|s| *s == symbol).unwrap_or(0);
    format!("{base}.{:02}", 10 + day)
}

fn trading_days(from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    from.iter_days().take_while(|d| *d <= to).filter(|d| !domain::calendar::is_market_closed(*d)).collect()
}

/// Each day's bar: open = low = close − 1, high = close + 1.
fn bar(symbol: &str, i: usize) -> (String, String, String, String) {
    let c: rust_decimal::Decimal = close(symbol, i).parse().unwrap();
    let one = rust_decimal::Decimal::ONE;
    ((c - one).to_string(), (c + one).to_string(), (c - one).to_string(), c.to_string())
}

#[derive(Clone)]
struct Replica {
    /// Requests answered so far; past `limit` the replica fails every request with a 503.
    served: Arc<AtomicUsize>,
    limit: Arc<AtomicUsize>,
}

async fn polygon(
    State(r): State<Replica>,
    Path((symbol, from, to)): Path<(String, String, String)>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> (axum::http::StatusCode, String) {
    if r.served.fetch_add(1, Ordering::SeqCst) >= r.limit.load(Ordering::SeqCst) {
        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "upstream down".into());
    }
    assert_eq!(q.get("apiKey").map(String::as_str), Some("pk-test"), "the key is sent");
    assert_eq!(q.get("adjusted").map(String::as_str), Some("false"));
    let (from, to) = (from.parse().unwrap(), to.parse().unwrap());
    let results: Vec<String> = trading_days(from, to)
        .iter()
        .map(|d| {
            let i = d.signed_duration_since(NaiveDate::from_ymd_opt(2025, 3, 3).unwrap()).num_days() as usize;
            let (o, h, l, c) = bar(&symbol, i);
            let t = chrono_tz::America::New_York
                .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
                .unwrap()
                .timestamp_millis();
            format!(r#"{{"v":1000,"vw":{c},"o":{o},"c":{c},"h":{h},"l":{l},"t":{t},"n":10}}"#)
        })
        .collect();
    let body = format!(
        r#"{{"ticker":"{symbol}","queryCount":{n},"resultsCount":{n},"adjusted":false,"results":[{}],"status":"OK","request_id":"r1"}}"#,
        results.join(","),
        n = results.len()
    );
    (axum::http::StatusCode::OK, body)
}

async fn stooq(Query(q): Query<std::collections::HashMap<String, String>>) -> String {
    let symbol = q["s"].trim_end_matches(".us").to_ascii_uppercase();
    let day = |k: &str| NaiveDate::parse_from_str(&q[k], "%Y%m%d").unwrap();
    let mut csv = String::from("Date,Open,High,Low,Close,Volume\n");
    for d in trading_days(day("d1"), day("d2")) {
        let i = d.signed_duration_since(NaiveDate::from_ymd_opt(2025, 3, 3).unwrap()).num_days() as usize;
        let (o, h, l, c) = bar(&symbol, i);
        csv.push_str(&format!("{d},{o},{h},{l},{c},1000\n"));
    }
    csv
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

#[tokio::test]
async fn the_fetch_fails_over_mid_run_and_the_breaker_opens_then_closes() {
    let replica = Replica { served: Arc::default(), limit: Arc::new(AtomicUsize::new(usize::MAX)) };
    let polygon_url = serve(
        Router::new()
            .route("/v2/aggs/ticker/{symbol}/range/1/day/{from}/{to}", get(polygon))
            .with_state(replica.clone()),
    )
    .await;
    let stooq_url = serve(Router::new().route("/q/d/l/", get(stooq))).await;
    let toml = format!(
        r#"
        [[provider]]
        name = "polygon"
        kind = "polygon"
        base_url = "{polygon_url}"
        key_env = "POLYGON_API_KEY"
        priority = 1
        breaker = {{ window_calls = 4, minimum_number_of_calls = 2, wait_seconds = 1, permitted_calls_in_half_open = 1, jitter_factor = 0.0, backoff_multiplier = 1.0 }}

        [[provider]]
        name = "stooq"
        kind = "stooq"
        base_url = "{stooq_url}"
        priority = 2
        "#
    );
    let (selector, _) = config::parse(&toml, &|k| (k == "POLYGON_API_KEY").then(|| "pk-test".to_owned())).unwrap();
    let cx = Context::new(Store::open("sqlite::memory:").await.unwrap());
    let caller = Caller { actor: "test".into(), source: "fetch test".into() };
    let quality = domain::quality::QualityConfig::default();
    let symbols: Vec<String> = SYMBOLS.iter().map(|s| s.to_string()).collect();

    // The primary answers every symbol.
    // One symbol at a time, so the primary's breaker sees them in order.
    let first = Request {
        symbols: symbols.clone(),
        from: day("2025-03-03"),
        to: day("2025-03-07"),
        mode: Mode::First,
        concurrency: 1,
    };
    let r = fetch(&cx, &selector, &first, &quality, &caller).await.unwrap();
    assert_eq!((r.recorded, r.failed, r.rejected), (20, 0, 0), "{r:?}");
    assert!(r.symbols.iter().all(|s| s.providers == ["polygon"]));
    // Again: nothing new.
    let again = fetch(&cx, &selector, &first, &quality, &caller).await.unwrap();
    assert_eq!((again.recorded, again.unchanged), (0, 20));

    // The primary goes down after one more answer, in the middle of the next fetch.
    replica.limit.store(replica.served.load(Ordering::SeqCst) + 1, Ordering::SeqCst);
    let second = Request { from: day("2025-03-10"), to: day("2025-03-14"), ..first.clone() };
    let r = fetch(&cx, &selector, &second, &quality, &caller).await.unwrap();
    assert_eq!((r.recorded, r.failed), (20, 0), "every symbol recorded: {r:?}");
    let used: Vec<&str> = r.symbols.iter().map(|s| s.providers[0].as_str()).collect();
    assert_eq!(used, ["polygon", "stooq", "stooq", "stooq"]);
    // BND and SPY were tried on the primary and failed (503); then the window of four held two
    // failures in four, 50 %: the breaker opened and QQQ skipped it.
    assert!(r.symbols[1].attempts[0].called && r.symbols[1].attempts[0].problem.contains("unavailable"));
    assert!(r.symbols[3].attempts[0].problem.contains("circuit breaker polygon is open"), "{:?}", r.symbols[3]);
    assert!(!r.symbols[3].attempts[0].called);
    assert_eq!(selector.sources()[0].breaker.state(), Breaker::Open);
    let bars = commands::market::recorded_bars(&cx, "QQQ").await.unwrap();
    assert_eq!(bars.last().unwrap().source.as_deref(), Some("stooq"));
    assert_eq!(bars.last().unwrap().close.to_string(), close("QQQ", 11));

    // The primary is back; after the breaker's wait a trial call goes through and closes it.
    replica.limit.store(usize::MAX, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let third =
        Request { symbols: vec!["VTI".into()], from: day("2025-03-17"), to: day("2025-03-17"), ..first.clone() };
    let r = fetch(&cx, &selector, &third, &quality, &caller).await.unwrap();
    assert_eq!(r.symbols[0].providers, ["polygon"]);
    assert_eq!(selector.sources()[0].breaker.state(), Breaker::Closed);
    let health = selector.sources()[0].health();
    // 4 + 4 answered, then VTI answered, BND and SPY failed, QQQ skipped; then the trial.
    assert_eq!((health.calls, health.failures, health.refused), (12, 2, 1), "{health:?}");
}

#[tokio::test]
async fn a_symbol_no_provider_knows_is_reported_and_the_others_recorded() {
    let stooq_url = serve(Router::new().route(
        "/q/d/l/",
        get(|Query(q): Query<std::collections::HashMap<String, String>>| async move {
            if q["s"] == "nope.us" {
                "No data".to_owned()
            } else {
                stooq(Query(q)).await
            }
        }),
    ))
    .await;
    let toml = format!("[[provider]]\nname = \"stooq\"\nkind = \"stooq\"\nbase_url = \"{stooq_url}\"\n");
    let (selector, _) = config::parse(&toml, &|_| None).unwrap();
    let cx = Context::new(Store::open("sqlite::memory:").await.unwrap());
    let request = Request {
        symbols: vec!["VTI".into(), "NOPE".into()],
        from: day("2025-03-03"),
        to: day("2025-03-07"),
        mode: Mode::First,
        concurrency: CONCURRENT_SYMBOLS,
    };
    let r = fetch(
        &cx,
        &selector,
        &request,
        &domain::quality::QualityConfig::default(),
        &Caller { actor: "test".into(), source: "t".into() },
    )
    .await
    .unwrap();
    assert_eq!((r.recorded, r.failed), (5, 1));
    // Stooq's prices are adjusted for splits, and no provider here gives splits: used as sent,
    // and the report says so.
    assert!(r.symbols[0].notes[0].contains("adjusted for splits and were used as sent"), "{:?}", r.symbols[0]);
    let nope = &r.symbols[1];
    assert!(nope.providers.is_empty());
    assert!(nope.attempts[0].problem.contains("no data"), "{nope:?}");
}

/// Three vendors answer for VTI; one of them is 10% off on one day and sends a bar for a
/// Saturday. The median of the three is recorded, the bad close is refused as a consensus
/// outlier, the Saturday bar by the calendar, and both refusals are kept once.
#[tokio::test]
async fn the_consensus_refuses_a_planted_bad_value_and_keeps_why() {
    let polygon_url = serve(
        Router::new()
            .route("/v2/aggs/ticker/{symbol}/range/1/day/{from}/{to}", get(polygon))
            .with_state(Replica { served: Arc::default(), limit: Arc::new(AtomicUsize::new(usize::MAX)) }),
    )
    .await;
    let stooq_url = serve(Router::new().route("/q/d/l/", get(stooq))).await;
    let bad_url = serve(Router::new().route(
        "/q/d/l/",
        get(|Query(q): Query<std::collections::HashMap<String, String>>| async move {
            let good = stooq(Query(q)).await;
            let mut out = String::new();
            for line in good.lines() {
                if line.starts_with("2025-03-05,") {
                    // 110.12 instead of 100.12: 10% off the others.
                    out.push_str("2025-03-05,109.12,111.12,109.12,110.12,1000\n");
                } else {
                    out.push_str(line);
                    out.push('\n');
                }
            }
            out.push_str("2025-03-08,100.15,101.15,99.15,100.15,1000\n");
            out
        }),
    ))
    .await;
    let toml = format!(
        r#"
        [[provider]]
        name = "polygon"
        kind = "polygon"
        base_url = "{polygon_url}"
        key_env = "POLYGON_API_KEY"
        priority = 1

        [[provider]]
        name = "stooq"
        kind = "stooq"
        base_url = "{stooq_url}"
        priority = 2
        weight = "0.8"

        [[provider]]
        name = "shaky"
        kind = "stooq"
        base_url = "{bad_url}"
        priority = 3
        weight = "0.5"
        "#
    );
    let (selector, _) = config::parse(&toml, &|k| (k == "POLYGON_API_KEY").then(|| "pk-test".to_owned())).unwrap();
    let cx = Context::new(Store::open("sqlite::memory:").await.unwrap());
    let caller = Caller { actor: "test".into(), source: "consensus test".into() };
    let quality = domain::quality::QualityConfig::default();
    let request = Request {
        symbols: vec!["VTI".into()],
        from: day("2025-03-03"),
        to: day("2025-03-08"),
        mode: Mode::Consensus(domain::quality::Method::Median),
        concurrency: CONCURRENT_SYMBOLS,
    };
    let r = fetch(&cx, &selector, &request, &quality, &caller).await.unwrap();
    assert_eq!(r.mode, "median");
    let vti = &r.symbols[0];
    assert_eq!(vti.providers, ["polygon", "stooq", "shaky"]);
    assert_eq!((r.recorded, r.rejected, r.failed), (5, 2, 0), "{r:?}");
    let outlier = vti.rejected.iter().find(|n| n.checks == ["consensus"]).expect("the outlier is refused");
    assert_eq!((outlier.date, outlier.source.as_deref()), (day("2025-03-05"), Some("shaky")));
    assert_eq!(outlier.close.to_string(), "110.12");
    assert!(outlier.reasons[0].contains("10"), "{outlier:?}");
    let saturday = vti.rejected.iter().find(|n| n.checks == ["calendar"]).expect("the Saturday bar is refused");
    assert_eq!(saturday.date, day("2025-03-08"));
    assert!(saturday.reasons[0].contains("Saturday"), "{saturday:?}");

    let bars = commands::market::recorded_bars(&cx, "VTI").await.unwrap();
    assert_eq!(bars.len(), 5);
    let wednesday = bars.iter().find(|b| b.date == day("2025-03-05")).unwrap();
    assert_eq!(wednesday.close.to_string(), close("VTI", 2));
    assert_eq!(wednesday.source.as_deref(), Some("consensus:polygon+stooq"));
    let monday = bars.iter().find(|b| b.date == day("2025-03-03")).unwrap();
    assert_eq!(monday.source.as_deref(), Some("consensus:polygon+shaky+stooq"));

    // The events keep the grade of each recorded bar and the refusals with their reasons.
    let stream = commands::market::market_stream("VTI").unwrap();
    let events = cx.store().read_stream(&stream, 0, event_store::Direction::Forwards, 100).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types.iter().filter(|t| **t == "BarRejected").count(), 2, "{types:?}");
    assert_eq!(types.iter().filter(|t| **t == "BarRecorded").count(), 5, "{types:?}");

    // Again: nothing new, not even the refusals.
    let again = fetch(&cx, &selector, &request, &quality, &caller).await.unwrap();
    assert_eq!((again.recorded, again.revised, again.rejected), (0, 0, 0), "{again:?}");
    assert_eq!(
        cx.store().read_stream(&stream, 0, event_store::Direction::Forwards, 100).await.unwrap().len(),
        events.len()
    );
}

/// Stooq's history is adjusted for splits; Yahoo, configured for corporate actions, names the
/// 4-for-1 split of 2025-03-05, so the days before it are recorded at the prices traded.
#[tokio::test]
async fn split_adjusted_bars_are_recorded_at_the_prices_traded() {
    let stooq_url = serve(Router::new().route(
        "/q/d/l/",
        get(|| async {
            "Date,Open,High,Low,Close,Volume\n\
             2025-03-03,25.00,25.20,24.90,25.10,400000\n\
             2025-03-04,25.10,25.30,25.00,25.20,400000\n\
             2025-03-05,25.20,25.40,25.10,25.30,100000\n"
        }),
    ))
    .await;
    // 1741185000 is 2025-03-05 09:30 in New York.
    let yahoo_url = serve(Router::new().route(
        "/v8/finance/chart/{symbol}",
        get(|| async {
            r#"{"chart":{"result":[{"meta":{"exchangeTimezoneName":"America/New_York"},"timestamp":[],
                "events":{"splits":{"1741185000":{"date":1741185000,"numerator":4.0,"denominator":1.0,"splitRatio":"4:1"}}},
                "indicators":{"quote":[{}]}}],"error":null}}"#
        }),
    ))
    .await;
    let toml = format!(
        "[[provider]]\nname = \"stooq\"\nkind = \"stooq\"\nbase_url = \"{stooq_url}\"\npriority = 1\n\n\
         [[provider]]\nname = \"yahoo\"\nkind = \"yahoo\"\nbase_url = \"{yahoo_url}\"\npriority = 2\n"
    );
    let (selector, _) = config::parse(&toml, &|_| None).unwrap();
    let cx = Context::new(Store::open("sqlite::memory:").await.unwrap());
    let request = Request {
        symbols: vec!["SPLT".into()],
        from: day("2025-03-03"),
        to: day("2025-03-05"),
        mode: Mode::First,
        concurrency: CONCURRENT_SYMBOLS,
    };
    let caller = Caller { actor: "test".into(), source: "t".into() };
    let r = fetch(&cx, &selector, &request, &domain::quality::QualityConfig::default(), &caller).await.unwrap();
    assert_eq!((r.recorded, r.symbols[0].providers.clone()), (3, vec!["stooq".to_owned()]), "{r:?}");
    assert!(r.symbols[0].notes.is_empty(), "{:?}", r.symbols[0]);
    let bars = commands::market::recorded_bars(&cx, "SPLT").await.unwrap();
    let recorded: Vec<(String, String)> = bars.iter().map(|b| (b.close.to_string(), b.volume.to_string())).collect();
    assert_eq!(
        recorded,
        [("100.4".into(), "100000".into()), ("100.8".into(), "100000".into()), ("25.30".into(), "100000".into())]
    );
}
