//! The in-process pipeline's figures: vendor frames parsed, checked, cached and fanned out
//! to subscribers that drain on another thread, as `cairn bench quotes` prints them.
//!
//! - The frames are Polygon's quote messages (`{"ev":"Q","sym":…,"bp":…,"ap":…,…}`), 100 to
//!   a frame as Polygon batches them, built before the clock starts: symbols `S0`, `S1`, … in
//!   turn, prices a few tenths of a cent apart from frame to frame, every quote valid, the
//!   time one millisecond later each frame.
//! - Subscriber `i` subscribes to `each_subscribes` consecutive symbols starting at
//!   `i × each_subscribes` (wrapping), so the subscriptions spread evenly over the symbols.
//! - The latency of a frame runs from its receipt (before parsing) to the moment its quotes
//!   are in every subscriber's buffer ([`QuoteSink::deliver`] has returned); the throughput
//!   counts from the first frame until every subscriber has drained its buffer.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Delivery, QuoteHub};
use crate::market::provider::{Quote, QuoteSink};
use crate::market::stream::{parse_frame, Protocol};

/// Each bench subscriber's buffer, in quotes.
pub const BENCH_CAPACITY: usize = 8192;

/// Quote messages per frame.
pub const FRAME_QUOTES: usize = 100;

/// What [`bench_pipeline`] measured.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineFigures {
    pub quotes: usize,
    pub frames: usize,
    pub symbols: usize,
    pub subscribers: usize,
    pub each_subscribes: usize,
    /// From the first frame's receipt until every subscriber drained its buffer.
    pub elapsed: Duration,
    pub quotes_per_sec: f64,
    /// Parsing and delivering alone, on the receiving thread.
    pub producer_elapsed: Duration,
    /// Of which parsing.
    pub parse_elapsed: Duration,
    /// The receiving thread's time on a CPU while parsing and delivering (Linux's
    /// `/proc/thread-self/schedstat`; `None` elsewhere): on a busy machine the wall times
    /// above include waits for a CPU, this does not.
    pub producer_cpu: Option<Duration>,
    /// Per frame, receipt to every subscriber's buffer (nearest rank).
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
    pub accepted: u64,
    /// Quotes put into subscribers' buffers.
    pub delivered: u64,
    /// Quotes the subscribers received.
    pub drained: u64,
    /// Quotes dropped because a subscriber fell behind.
    pub dropped: u64,
}

impl fmt::Display for PipelineFigures {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} quotes ({} frames, {} symbols) to {} subscribers × {} symbols: {:.0} quotes/s \
             ({:.3} s; parse + deliver alone {:.3} s, of which parse {:.3} s; on a CPU {}); \
             receipt → every buffer p50 {:?}, p99 {:?}, max {:?} per frame of {}; accepted {}, \
             delivered {}, drained {}, dropped {}",
            self.quotes,
            self.frames,
            self.symbols,
            self.subscribers,
            self.each_subscribes,
            self.quotes_per_sec,
            self.elapsed.as_secs_f64(),
            self.producer_elapsed.as_secs_f64(),
            self.parse_elapsed.as_secs_f64(),
            self.producer_cpu.map_or_else(|| "unknown".to_owned(), |d| format!("{:.3} s", d.as_secs_f64())),
            self.p50,
            self.p99,
            self.max,
            FRAME_QUOTES,
            self.accepted,
            self.delivered,
            self.drained,
            self.dropped
        )
    }
}

/// The calling thread's time on a CPU so far, on Linux.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok().map(Duration::from_nanos)
}

/// Polygon quote frames: `quotes` messages over `symbols` symbols, [`FRAME_QUOTES`] to a frame
/// (see the module documentation).
pub fn polygon_frames(quotes: usize, symbols: usize) -> Vec<String> {
    use std::fmt::Write as _;
    let symbols = symbols.max(1);
    let mut frames = Vec::with_capacity(quotes.div_ceil(FRAME_QUOTES));
    let mut n = 0;
    while n < quotes {
        let frame = n / FRAME_QUOTES;
        let count = FRAME_QUOTES.min(quotes - n);
        let mut text = String::with_capacity(count * 140);
        text.push('[');
        for j in 0..count {
            let sym = (n + j) % symbols;
            // Thousandths of a dollar: a base of $20 to $499 and a few tenths of a cent of jitter.
            let bid = (20 + sym as u64 % 480) * 1000 + 125 + ((frame * 31 + j * 17) % 40) as u64;
            let ask = bid + 3 + (j % 3) as u64;
            if j > 0 {
                text.push(',');
            }
            let _ = write!(
                text,
                r#"{{"ev":"Q","sym":"S{sym}","bx":4,"bp":{}.{:03},"bs":100,"ax":7,"ap":{}.{:03},"as":160,"c":0,"t":{},"q":{},"z":3}}"#,
                bid / 1000,
                bid % 1000,
                ask / 1000,
                ask % 1000,
                1_536_036_818_784u64 + frame as u64,
                n + j
            );
        }
        text.push(']');
        frames.push(text);
        n += count;
    }
    frames
}

/// Times `quotes` Polygon quotes over `symbols` symbols through the stream adapter's parser
/// ([`parse_frame`]) and a fresh [`QuoteHub`] to `subscribers` subscribers of
/// `each_subscribes` symbols each, drained on a Tokio runtime's worker thread (see the module
/// documentation). A frame that does not parse gives no quotes (and shows as fewer accepted).
pub fn bench_pipeline(
    quotes: usize,
    symbols: usize,
    subscribers: usize,
    each_subscribes: usize,
) -> std::io::Result<PipelineFigures> {
    bench_pipeline_with(quotes, symbols, subscribers, each_subscribes, |text| {
        parse_frame(Protocol::Polygon, "polygon", text).map(|f| f.quotes).unwrap_or_default()
    })
}

/// [`bench_pipeline`] with another parser: `parse` turns a frame's text into its quotes.
pub fn bench_pipeline_with<P>(
    quotes: usize,
    symbols: usize,
    subscribers: usize,
    each_subscribes: usize,
    parse: P,
) -> std::io::Result<PipelineFigures>
where
    P: Fn(&str) -> Vec<Quote>,
{
    let symbols = symbols.max(1);
    let frames = polygon_frames(quotes, symbols);
    let hub = Arc::new(QuoteHub::default());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let mut drainers = Vec::with_capacity(subscribers);
    for i in 0..subscribers {
        let mut subscriber = hub.subscribe(BENCH_CAPACITY);
        subscriber.add((0..each_subscribes).map(|k| format!("S{}", (i * each_subscribes + k) % symbols)));
        drainers.push(runtime.spawn(async move {
            let (mut drained, mut dropped) = (0u64, 0u64);
            let mut buf = Vec::with_capacity(4096);
            while subscriber.recv_many(&mut buf, 4096).await > 0 {
                for d in buf.drain(..) {
                    match d {
                        Delivery::Quote(_) => drained += 1,
                        Delivery::Dropped(n) => dropped += n,
                    }
                }
            }
            (drained, dropped)
        }));
    }
    let mut latencies = Vec::with_capacity(frames.len());
    let mut parse_elapsed = Duration::ZERO;
    let cpu_before = thread_cpu();
    let start = Instant::now();
    for text in &frames {
        let received = Instant::now();
        let batch = parse(text);
        let parsed = Instant::now();
        hub.deliver(batch);
        let done = Instant::now();
        parse_elapsed += parsed - received;
        latencies.push(done - received);
    }
    let producer_elapsed = start.elapsed();
    let producer_cpu = thread_cpu().zip(cpu_before).map(|(after, before)| after.saturating_sub(before));
    hub.close();
    let (mut drained, mut dropped) = (0, 0);
    for d in drainers {
        let (q, x) = runtime.block_on(d).map_err(std::io::Error::other)?;
        drained += q;
        dropped += x;
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let rank = |p: f64| {
        let n = latencies.len();
        if n == 0 {
            Duration::ZERO
        } else {
            latencies[((p * n as f64).ceil() as usize).clamp(1, n) - 1]
        }
    };
    let stats = hub.stats();
    Ok(PipelineFigures {
        quotes,
        frames: frames.len(),
        symbols,
        subscribers,
        each_subscribes,
        elapsed,
        quotes_per_sec: quotes as f64 / elapsed.as_secs_f64().max(f64::MIN_POSITIVE),
        producer_elapsed,
        parse_elapsed,
        producer_cpu,
        p50: rank(0.50),
        p99: rank(0.99),
        max: latencies.last().copied().unwrap_or_default(),
        accepted: stats.accepted,
        delivered: stats.delivered,
        drained,
        dropped,
    })
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;

    fn parse_polygon(text: &str) -> Vec<Quote> {
        let frame = parse_frame(Protocol::Polygon, "polygon", text).unwrap();
        assert_eq!(frame.errors, Vec::<String>::new());
        frame.quotes
    }

    #[test]
    fn the_frames_are_valid_polygon_quotes() {
        let frames = polygon_frames(250, 7);
        assert_eq!(frames.len(), 3);
        let quotes: Vec<Quote> = frames.iter().flat_map(|f| parse_polygon(f)).collect();
        assert_eq!(quotes.len(), 250);
        assert_eq!(quotes[0].symbol, "S0");
        assert_eq!(quotes[8].symbol, "S1");
        assert_eq!((quotes[0].bid, quotes[0].ask), (Some(Decimal::new(20_125, 3)), Some(Decimal::new(20_128, 3))));
        assert!(quotes.iter().all(|q| q.bid < q.ask && q.source == "polygon"));
        assert_eq!(quotes[100].at - quotes[99].at, chrono::Duration::milliseconds(1));
    }

    #[test]
    fn the_bench_runs_and_every_quote_reaches_its_subscribers() {
        // 20 subscribers × 5 symbols over 50 symbols: each symbol has 2 subscribers.
        let f = bench_pipeline(20_000, 50, 20, 5).unwrap();
        println!("{f}");
        assert_eq!((f.accepted, f.delivered, f.drained + f.dropped), (20_000, 40_000, 40_000));
        assert_eq!(f.frames, 200);
        assert!(f.p50 <= f.p99 && f.p99 <= f.max);
        // Another parser plugs in.
        let g = bench_pipeline_with(1000, 10, 2, 5, |_| Vec::new()).unwrap();
        assert_eq!((g.accepted, g.drained), (0, 0));
    }
}
