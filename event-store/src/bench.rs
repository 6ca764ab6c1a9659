//! Throughput benchmarks behind `cairn bench`: appends (with latency percentiles and the
//! ratio to a plain multi-row INSERT of the same rows), decoding reads, and the stored Merkle
//! tree (roots and proofs, and appends while it is kept up).

use std::time::{Duration, Instant};

use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use uuid::Uuid;

use crate::append::build_rows;
use crate::backend::Store;
use crate::codec::{Event, Upcasters};
use crate::error::{Result, StoreError};
use crate::model::{ExpectedVersion, Metadata, NewEvent, StreamId};
use crate::store::EventStore;

/// A trade-shaped payload of realistic size (about 150 bytes of MessagePack).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BenchTrade {
    pub account: String,
    pub symbol: String,
    pub side: String,
    pub quantity: String,
    pub price: String,
    pub fees: String,
    pub trade_date: String,
    pub settlement_date: String,
}

impl Event for BenchTrade {
    const EVENT_TYPE: &'static str = "BenchTradeRecorded";
    const SCHEMA_VERSION: u32 = 1;
}

pub(crate) fn bench_events(n: usize, seed: usize) -> Result<Vec<NewEvent>> {
    const SYMBOLS: [&str; 8] = ["VTI", "VXUS", "BND", "AAPL", "MSFT", "BRK.B", "SCHD", "VNQ"];
    let metadata = Metadata { actor: Some("bench".into()), source: Some("cairn bench".into()), ..Default::default() };
    (0..n)
        .map(|i| {
            let k = seed + i;
            let trade = BenchTrade {
                account: format!("acct-{:02}", k % 10),
                symbol: SYMBOLS[k % SYMBOLS.len()].into(),
                side: if k % 3 == 0 { "sell" } else { "buy" }.into(),
                quantity: format!("{}.{:03}", 1 + k % 500, k % 1000),
                price: format!("{}.{:02}", 20 + k % 400, k % 100),
                fees: "0.35".into(),
                trade_date: "2026-11-20".into(),
                settlement_date: "2026-11-23".into(),
            };
            NewEvent::from_event(Uuid::now_v7(), &trade, metadata.clone())
        })
        .collect()
}

/// What `cairn bench append` prints.
#[derive(Debug, Clone, Serialize)]
pub struct AppendReport {
    pub backend: &'static str,
    pub events: usize,
    pub batch: usize,
    pub writers: usize,
    pub seconds: f64,
    pub events_per_sec: f64,
    pub appends: usize,
    pub latency_ms_p50: f64,
    pub latency_ms_p99: f64,
    /// The same rows, hashed beforehand, inserted with the store's multi-row INSERT statement in
    /// one transaction per batch from one writer, with no lock, version check or hashing.
    pub raw_insert_events_per_sec: f64,
    /// `events_per_sec / raw_insert_events_per_sec`: how close the store gets to the bare insert.
    pub ratio_to_raw_insert: f64,
}

/// Appends `events` events in batches of `batch` from `writers` concurrent writers, each to its
/// own streams with exact expected versions; then times the bare INSERT of as many rows.
pub async fn append(store: &Store, events: usize, batch: usize, writers: usize) -> Result<AppendReport> {
    let (batch, writers) = (batch.max(1), writers.max(1));
    let per_writer = events.div_ceil(writers);
    let run = Uuid::now_v7().simple().to_string();
    let mut work = Vec::with_capacity(writers);
    for w in 0..writers {
        let n = per_writer.min(events.saturating_sub(w * per_writer));
        work.push(bench_events(n, w * per_writer)?);
    }
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(writers);
    for (w, events) in work.into_iter().enumerate() {
        let store = store.clone();
        let stream = StreamId::new(format!("bench-{run}-{w}"))?;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(events.len() / batch + 1);
            let mut version = 0;
            for chunk in events.chunks(batch) {
                let expected = if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(version) };
                let t = Instant::now();
                version = store.append(&stream, expected, chunk).await?.stream_version;
                latencies.push(t.elapsed());
            }
            Ok::<_, StoreError>(latencies)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::new();
    for t in tasks {
        latencies.extend(t.await.map_err(|e| StoreError::InvalidAppend(format!("bench writer failed: {e}")))??);
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let raw = raw_insert(store, events, batch).await?;
    let events_per_sec = events as f64 / seconds;
    Ok(AppendReport {
        backend: store.backend(),
        events,
        batch,
        writers,
        seconds,
        events_per_sec,
        appends: latencies.len(),
        latency_ms_p50: percentile_ms(&latencies, 0.50),
        latency_ms_p99: percentile_ms(&latencies, 0.99),
        raw_insert_events_per_sec: raw,
        ratio_to_raw_insert: events_per_sec / raw,
    })
}

fn percentile_ms(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1e3
}

/// Inserts `events` prepared rows in batches with no checks; returns events per second.
async fn raw_insert(store: &Store, events: usize, batch: usize) -> Result<f64> {
    let stream = StreamId::new(format!("benchraw-{}", Uuid::now_v7().simple()))?;
    let new = bench_events(events, 0)?;
    let head = store.head().await?;
    let rows = build_rows(head.as_ref(), &stream, 0, &new, Utc::now())?;
    let start = Instant::now();
    for chunk in rows.chunks(batch) {
        match store {
            Store::Sqlite(s) => s.insert_unchecked(&stream, chunk).await?,
            Store::Postgres(s) => s.insert_unchecked(&stream, chunk).await?,
        }
    }
    Ok(events as f64 / start.elapsed().as_secs_f64())
}

/// What `cairn bench read` prints.
#[derive(Debug, Clone, Serialize)]
pub struct ReadReport {
    pub backend: &'static str,
    pub events: u64,
    /// Seconds of the second pass, and its throughput.
    pub seconds: f64,
    pub events_per_sec: f64,
    /// Throughput of the first pass over freshly written events.
    pub first_pass_events_per_sec: f64,
}

/// Fills the store with `events` events (untimed), then times two passes of `read_all` over all
/// of them, decoding every payload into its type.
pub async fn read(store: &Store, events: usize) -> Result<ReadReport> {
    let stream = StreamId::new(format!("benchread-{}", Uuid::now_v7().simple()))?;
    for (i, chunk) in bench_events(events, 0)?.chunks(1_000).enumerate() {
        let expected = if i == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Any };
        store.append(&stream, expected, chunk).await?;
    }
    // The first pass reads freshly written rows (on PostgreSQL it also sets their hint bits);
    // the second reads a log that has been read before, as replays of older history do.
    let (read, first_seconds) = read_pass(store).await?;
    let (_, seconds) = read_pass(store).await?;
    Ok(ReadReport {
        backend: store.backend(),
        events: read,
        seconds,
        events_per_sec: read as f64 / seconds,
        first_pass_events_per_sec: read as f64 / first_seconds,
    })
}

/// Reads the whole log in pages, decoding every payload; returns (events, seconds).
async fn read_pass(store: &Store) -> Result<(u64, f64)> {
    let upcasters = Upcasters::new();
    let start = Instant::now();
    let mut read = 0u64;
    let mut from = 1;
    loop {
        let page = store.read_all(from, 2_000).await?;
        let Some(last) = page.last() else { break };
        from = last.global_position + 1;
        for e in &page {
            let trade: BenchTrade = upcasters.decode(e)?;
            std::hint::black_box(trade);
        }
        read += page.len() as u64;
    }
    Ok((read, start.elapsed().as_secs_f64()))
}

/// What `cairn bench tree` prints.
#[derive(Debug, Clone, Serialize)]
pub struct TreeReport {
    pub backend: &'static str,
    pub events: u64,
    /// Filling the log with bare INSERTs (untimed work, shown for scale).
    pub fill_seconds: f64,
    /// The first [`Store::sync_tree`] over the whole log: every leaf read once, every node
    /// stored.
    pub sync_seconds: f64,
    pub sync_events_per_sec: f64,
    pub nodes: u64,
    /// Each answer below syncs the tree first, as every caller does.
    pub proofs: usize,
    pub root_ms_p50: f64,
    pub root_ms_p99: f64,
    pub inclusion_ms_p50: f64,
    pub inclusion_ms_p99: f64,
    pub consistency_ms_p50: f64,
    pub consistency_ms_p99: f64,
    /// Appends of [`TREE_APPEND_EVENTS`] events in batches of 100: alone, while a task syncs
    /// the tree every second (as `serve`'s head publisher does after commits), and every
    /// 100 ms (ten times as often); best of three rounds each, run in turn.
    pub append_events_per_sec_alone: f64,
    pub append_events_per_sec_with_tree: f64,
    pub append_events_per_sec_with_tree_every_100ms: f64,
    /// `with_tree / alone`: the target is at least 0.9.
    pub append_ratio: f64,
    pub append_ratio_every_100ms: f64,
}

/// Events appended in each round of the append comparison of [`tree`].
pub const TREE_APPEND_EVENTS: usize = 50_000;

/// Fills the log with `events` events (bare INSERTs of hashed rows, 10,000 at a time), syncs
/// the stored tree over it, then times `proofs` roots, inclusion proofs and consistency proofs
/// at pseudo-random sizes and positions, and appends with and without the tree kept up.
pub async fn tree(store: &Store, events: usize, proofs: usize) -> Result<TreeReport> {
    const FILL: usize = 10_000;
    let started = Instant::now();
    let stream = StreamId::new(format!("benchtree-{}", Uuid::now_v7().simple()))?;
    let mut version = 0u64;
    while (version as usize) < events {
        let n = FILL.min(events - version as usize);
        let head = store.head().await?;
        let rows = build_rows(head.as_ref(), &stream, version, &bench_events(n, version as usize)?, Utc::now())?;
        match store {
            Store::Sqlite(s) => s.insert_unchecked(&stream, &rows).await?,
            Store::Postgres(s) => s.insert_unchecked(&stream, &rows).await?,
        }
        version += n as u64;
    }
    let fill_seconds = started.elapsed().as_secs_f64();
    let t = Instant::now();
    store.sync_tree().await?;
    let sync_seconds = t.elapsed().as_secs_f64();
    let size = store.head().await?.map_or(0, |h| h.position);
    if let Store::Postgres(s) = store {
        // What autovacuum would do to the freshly loaded tables at some moment of the timings
        // below, done now (untimed), so it does not land inside one of them.
        sqlx::query("VACUUM ANALYZE events, merkle_nodes").execute(s.pool()).await?;
    }
    // A fixed linear congruential sequence: the same positions on every run.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move |below: u64| {
        state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        1 + (state >> 33) % below.max(1)
    };
    let (mut roots, mut inclusions, mut consistencies) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..proofs {
        let t = Instant::now();
        std::hint::black_box(store.tree_root(next(size)).await?);
        roots.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(store.tree_inclusion_proof(next(size), size).await?);
        inclusions.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(store.tree_consistency_proof(next(size), size).await?);
        consistencies.push(t.elapsed());
    }
    for v in [&mut roots, &mut inclusions, &mut consistencies] {
        v.sort_unstable();
    }
    let (mut alone, mut with_tree, mut often) = (0f64, 0f64, 0f64);
    for round in 0..3 {
        alone = alone.max(appends(store, round * 3, None).await?);
        with_tree = with_tree.max(appends(store, round * 3 + 1, Some(Duration::from_secs(1))).await?);
        often = often.max(appends(store, round * 3 + 2, Some(Duration::from_millis(100))).await?);
    }
    Ok(TreeReport {
        backend: store.backend(),
        events: size,
        fill_seconds,
        sync_seconds,
        sync_events_per_sec: size as f64 / sync_seconds,
        nodes: store.tree_nodes().await?,
        proofs,
        root_ms_p50: percentile_ms(&roots, 0.50),
        root_ms_p99: percentile_ms(&roots, 0.99),
        inclusion_ms_p50: percentile_ms(&inclusions, 0.50),
        inclusion_ms_p99: percentile_ms(&inclusions, 0.99),
        consistency_ms_p50: percentile_ms(&consistencies, 0.50),
        consistency_ms_p99: percentile_ms(&consistencies, 0.99),
        append_events_per_sec_alone: alone,
        append_events_per_sec_with_tree: with_tree,
        append_events_per_sec_with_tree_every_100ms: often,
        append_ratio: with_tree / alone,
        append_ratio_every_100ms: often / alone,
    })
}

/// Appends [`TREE_APPEND_EVENTS`] events in batches of 100 to a new stream (with a task syncing
/// the tree every `sync` when given); returns events per second.
async fn appends(store: &Store, round: usize, sync: Option<Duration>) -> Result<f64> {
    let stream = StreamId::new(format!("benchtree-append-{round}-{}", Uuid::now_v7().simple()))?;
    let events = bench_events(TREE_APPEND_EVENTS, round * TREE_APPEND_EVENTS)?;
    let (stop, stopped) = watch::channel(false);
    let syncer = sync.map(|every| {
        let (store, mut stopped) = (store.clone(), stopped.clone());
        tokio::spawn(async move {
            loop {
                store.sync_tree().await?;
                tokio::select! {
                    _ = stopped.changed() => return Ok::<_, StoreError>(()),
                    _ = tokio::time::sleep(every) => {}
                }
            }
        })
    });
    drop(stopped);
    let start = Instant::now();
    let mut version = 0;
    for chunk in events.chunks(100) {
        let expected = if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(version) };
        version = store.append(&stream, expected, chunk).await?.stream_version;
    }
    let rate = events.len() as f64 / start.elapsed().as_secs_f64();
    let _ = stop.send(true);
    if let Some(task) = syncer {
        task.await.map_err(|e| StoreError::InvalidAppend(format!("bench tree syncer failed: {e}")))??;
    }
    Ok(rate)
}
