//! `cairn bench quotes` and `cairn bench fetch`: the live quote pipeline and the market data
//! ingestion, measured as the issue asks (throughput and latency, printed as JSON).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use event_store::Store;
use futures::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;
use workers::market::QuoteSink;

use super::bench::BenchServer;
use super::caller;

/// The quote pipeline in process (Polygon JSON frames parsed, validated, cached and fanned out
/// to `subscribers` subscribers of 10 symbols each), then `/v1/stream/quotes` of an in-process
/// server to `clients` WebSocket clients subscribed to every one of `symbols` symbols while
/// `quotes` quotes are published, with one more client that never reads (its buffer stays
/// bounded: what it misses is counted as dropped).
pub(crate) async fn quotes(
    store: &Store,
    url: &str,
    quotes: usize,
    symbols: usize,
    subscribers: usize,
    clients: usize,
) -> anyhow::Result<serde_json::Value> {
    let symbols = symbols.max(1);
    let pipeline = tokio::task::spawn_blocking(move || {
        workers::market::quotes::bench::bench_pipeline(quotes, symbols.max(10), subscribers, 10)
    })
    .await??;

    let cx = commands::Context::new(store.clone());
    let server = BenchServer::start(store, url, &cx).await?;
    let hub = server.state.market.hub.clone();
    let ws_url = format!("{}/v1/stream/quotes", server.base.replace("http://", "ws://"));
    let names: Vec<String> = (0..symbols).map(|i| format!("S{i:04}")).collect();
    let subscribe = serde_json::json!({"action": "subscribe", "symbols": names}).to_string();
    let received = Arc::new(AtomicU64::new(0));
    let dropped = Arc::new(AtomicU64::new(0));
    let mut readers = Vec::new();
    let mut stalled = None;
    for client in 0..=clients {
        let mut request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(ws_url.as_str())?;
        request.headers_mut().insert("authorization", format!("Bearer {}", server.token).parse()?);
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await?;
        ws.send(Message::text(subscribe.clone())).await?;
        // Until the subscription is confirmed.
        while let Some(m) = ws.next().await {
            if let Message::Text(t) = m? {
                if t.contains("\"subscribed\"") {
                    break;
                }
            }
        }
        if client == clients {
            stalled = Some(ws);
            continue;
        }
        let (received, dropped) = (received.clone(), dropped.clone());
        readers.push(tokio::spawn(async move {
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    if t.starts_with("{\"type\":\"quote\"") {
                        received.fetch_add(1, Ordering::Relaxed);
                    } else if let Some(n) = t
                        .strip_prefix("{\"count\":")
                        .or_else(|| t.split("\"count\":").nth(1))
                        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
                        .and_then(|n| n.parse::<u64>().ok())
                    {
                        dropped.fetch_add(n, Ordering::Relaxed);
                    }
                }
            }
        }));
    }
    let rss_before = rss_bytes();
    // Publish: batches of `symbols` quotes, one per symbol, as a vendor's frames would bring.
    let started = Instant::now();
    let at = chrono::Utc::now();
    let batches = quotes.div_ceil(symbols);
    for b in 0..batches {
        let batch: Vec<workers::market::Quote> = names
            .iter()
            .map(|s| {
                let bid = rust_decimal::Decimal::new(10_000 + (b % 100) as i64, 2);
                workers::market::Quote {
                    symbol: s.clone(),
                    at: at + chrono::Duration::milliseconds(b as i64),
                    last: None,
                    bid: Some(bid),
                    ask: Some(bid + rust_decimal::Decimal::new(2, 2)),
                    size: None,
                    source: "bench".into(),
                }
            })
            .collect();
        hub.deliver(batch);
        tokio::task::yield_now().await;
    }
    let published = (batches * symbols) as u64;
    let expected = published * clients as u64;
    // Until every reader has its quotes or was told what it missed, or 60 s.
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.load(Ordering::Relaxed) + dropped.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    let rss_after = rss_bytes();
    let delivered = received.load(Ordering::Relaxed);
    let stats = hub.stats();
    drop(stalled);
    let _ = server.stop.send(true);
    for r in readers {
        r.abort();
    }
    let _ = server.server.await;
    Ok(serde_json::json!({
        "pipeline": {
            "quotes": pipeline.quotes,
            "symbols": pipeline.symbols,
            "subscribers": pipeline.subscribers,
            "each_subscribes": pipeline.each_subscribes,
            "quotes_per_sec": pipeline.quotes_per_sec.round(),
            "p50_micros": pipeline.p50.as_micros(),
            "p99_micros": pipeline.p99.as_micros(),
            "max_micros": pipeline.max.as_micros(),
            "parse_seconds": pipeline.parse_elapsed.as_secs_f64(),
            "producer_seconds": pipeline.producer_elapsed.as_secs_f64(),
        },
        "websocket": {
            "clients": clients,
            "symbols": symbols,
            "published": published,
            "messages_delivered": delivered,
            "messages_dropped_reported": dropped.load(Ordering::Relaxed),
            "seconds": elapsed.as_secs_f64(),
            "messages_per_sec": (delivered as f64 / elapsed.as_secs_f64()).round(),
            "stalled_client": "one more client subscribed to every symbol that never reads",
            "hub_dropped_total": stats.dropped,
            "rss_growth_bytes": rss_after.saturating_sub(rss_before),
        },
    }))
}

/// This process's resident memory (Linux's `/proc/self/statm`; 0 elsewhere).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()))
        .map_or(0, |pages| pages * 4096)
}

/// `cairn market fetch` end to end from a local provider: `symbols` files of `years` years of
/// daily bars (every NYSE trading day, a random walk) in a scratch folder, fetched through the
/// selector, checked against each symbol's history and recorded in one transaction.
pub(crate) async fn fetch(store: &Store, symbols: usize, years: u32) -> anyhow::Result<serde_json::Value> {
    let dir = tempfile::tempdir()?;
    let to = chrono::NaiveDate::from_ymd_opt(2025, 12, 31).unwrap_or_default();
    let from = chrono::NaiveDate::from_ymd_opt(2025 - years as i32 + 1, 1, 1).unwrap_or_default();
    let days: Vec<chrono::NaiveDate> =
        from.iter_days().take_while(|d| *d <= to).filter(|d| !domain::calendar::is_market_closed(*d)).collect();
    let names: Vec<String> = (0..symbols).map(|i| format!("S{i:04}")).collect();
    let generating = Instant::now();
    for (i, name) in names.iter().enumerate() {
        let mut csv = String::with_capacity(days.len() * 48);
        csv.push_str("date,open,high,low,close,volume\n");
        // A deterministic walk in cents: ±1% steps from 100.00.
        let mut cents: i64 = 10_000;
        let mut x = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        for d in &days {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let step = (x % 201) as i64 - 100;
            cents = (cents + cents * step / 10_000).max(100);
            let c = rust_decimal::Decimal::new(cents, 2);
            let spread = rust_decimal::Decimal::new((cents / 100).max(1), 2);
            csv.push_str(&format!("{d},{c},{},{},{c},{}\n", c + spread, c - spread, 100_000 + (x % 50_000)));
        }
        std::fs::write(dir.path().join(format!("{name}.csv")), csv)?;
    }
    let generated = generating.elapsed();
    let toml =
        format!("[[provider]]\nname = \"local\"\nkind = \"local\"\ndir = {:?}\n", dir.path().display().to_string());
    let (selector, _) = workers::market::config::parse(&toml, &|_| None)?;
    let cx = commands::Context::new(store.clone());
    let request = workers::market::fetch::Request {
        symbols: names,
        from,
        to,
        mode: workers::market::fetch::Mode::First,
        concurrency: workers::market::fetch::CONCURRENT_SYMBOLS,
    };
    let started = Instant::now();
    let report = workers::market::fetch::fetch(
        &cx,
        &selector,
        &request,
        &domain::quality::QualityConfig::default(),
        &caller("cairn bench fetch"),
    )
    .await?;
    let elapsed = started.elapsed();
    Ok(serde_json::json!({
        "backend": store.backend(),
        "symbols": symbols,
        "days": days.len(),
        "bars": symbols * days.len(),
        "recorded": report.recorded,
        "rejected": report.rejected,
        "flagged": report.flagged,
        "generate_seconds": generated.as_secs_f64(),
        "seconds": elapsed.as_secs_f64(),
        "bars_per_sec": ((symbols * days.len()) as f64 / elapsed.as_secs_f64()).round(),
    }))
}
