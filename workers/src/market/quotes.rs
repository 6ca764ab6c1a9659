//! The live quote hub: vendors' streamed quotes (a [`QuoteSink`] fed by the stream adapters)
//! are checked, kept as the latest quote per symbol, compared across sources, and fanned out
//! to subscribers (the `/v1/stream/quotes` WebSocket clients, and NATS through
//! [`spawn_nats`]). Live quotes are not events: nothing here touches the log.
//!
//! - **Validation.** A quote with a bid and an ask is checked by
//!   [`domain::quality::assess_quote`], its last price (the mid when it has none) included: a
//!   price at or below 0 or a crossed quote (bid above ask) is rejected, a spread above
//!   [`QualityConfig::max_spread`] is flagged `fair` and used. A quote without both sides
//!   needs a last price above 0 (any side it has must be above 0 too). A quote with an empty
//!   symbol or no price at all is rejected. A rejected quote is counted under its reason
//!   ([`HubStats::rejected_by`]) and neither cached nor sent.
//! - **Time order.** A quote older (by its `at`) than the last one seen from the same source
//!   for the same symbol is ignored and counted ([`HubStats::stale_ignored`]); one with the
//!   same time is used (vendors stamp several quotes with the same millisecond).
//! - **Consensus.** A source's price is its last, or the mid of bid and ask. When other
//!   sources have quoted the symbol within [`HubConfig::fresh_window`] (60 s) of the incoming
//!   quote's time, the incoming price and their latest prices are screened as
//!   `domain::quality::consensus` screens closes: the price deviating most from the median
//!   beyond [`QualityConfig::consensus_tolerance`] (5%) is set aside and the median taken
//!   again, until every remaining price is within the tolerance. An incoming quote set aside
//!   is an **outlier**: counted ([`HubStats::outliers`]), neither cached nor sent. Ties set
//!   the incoming quote aside first (a newcomer does not displace prices that agree), then
//!   the source later in alphabetical order. A source's outlier still counts as its latest
//!   price for the screening of later quotes, so when the market really moves, the quotes
//!   agree again as soon as the other sources have quoted the new price. A symbol quoted by
//!   one source is used as is.
//! - **Cache.** The latest used quote per symbol, whichever source it came from, in the order
//!   quotes arrive ([`QuoteHub::latest`], [`QuoteHub::snapshot`]); vendors' clocks differ, so
//!   their times are compared only within one source.
//! - **Fan-out.** A [`Subscriber`] names its symbols ([`Subscriber::add`]) and first gets each
//!   one's cached quote, then every used quote of them, in the order the hub used them. Its
//!   buffer holds at most `capacity` quotes: when a quote arrives at a full buffer, the
//!   oldest queued one is dropped and counted, and the subscriber is told how many were
//!   dropped ([`Delivery::Dropped`]) before its next quote, so a client that stops reading
//!   costs bounded memory and never slows the others. Dropping the [`Subscriber`]
//!   unregisters it. [`QuoteHub::close`] ends every subscription: queued quotes are still
//!   received, then `recv` gives `None`.
//! - **NATS.** [`spawn_nats`] publishes every used quote as JSON to `cairn.quotes.<SYMBOL>`
//!   ([`subject_for`]) from a subscription to all symbols, so a slow or absent NATS server
//!   costs that subscription's bounded buffer and never blocks [`QuoteSink::deliver`].
//!
//! [`QuoteSink::deliver`] takes the hub's lock once per batch and holds it while the batch's
//! quotes go into the buffers (each buffer's lock once per batch, each subscriber woken once),
//! so every subscriber sees one symbol's quotes in the order the hub used them, even with
//! several streams delivering at once. A quote goes to all its subscribers as one shared
//! [`Arc<LiveQuote>`], whose JSON is written once ([`LiveQuote::json`]).

pub mod bench;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use chrono::{DateTime, Utc};
use domain::quality::{assess_quote, median, Grade, QualityConfig, Quote as CheckedQuote, Severity};
use rust_decimal::Decimal;
use serde::Serialize;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::provider::{Quote, QuoteSink};

pub use bench::{bench_pipeline, bench_pipeline_with, PipelineFigures};

/// The buffer of the NATS publisher's subscription, in quotes.
pub const NATS_BUFFER: usize = 65_536;

/// The subject prefix of the published quotes.
pub const SUBJECT_PREFIX: &str = "cairn.quotes.";

/// The hub's thresholds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubConfig {
    /// The quote checks' thresholds: [`QualityConfig::max_spread`] for the spread flag,
    /// [`QualityConfig::consensus_tolerance`] for the consensus across sources.
    pub quality: QualityConfig,
    /// Another source's latest quote takes part in the consensus when it is at most this far
    /// from the incoming quote's time: 60 s (a house rule: about a minute bar).
    pub fresh_window: chrono::Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        Self { quality: QualityConfig::default(), fresh_window: chrono::Duration::seconds(60) }
    }
}

/// A quote the hub used, as subscribers get it and as the WebSocket and NATS send it (JSON,
/// prices as strings).
#[derive(Debug, Clone, Serialize)]
pub struct LiveQuote {
    pub symbol: String,
    pub at: DateTime<Utc>,
    pub last: Option<Decimal>,
    pub bid: Option<Decimal>,
    pub ask: Option<Decimal>,
    pub size: Option<Decimal>,
    /// The provider it came from.
    pub source: String,
    /// `excellent`, or `fair` for a wide spread (see [`domain::quality::Grade`]).
    pub grade: &'static str,
    #[serde(skip)]
    json: OnceLock<String>,
}

impl LiveQuote {
    pub fn from_quote(q: Quote, grade: Grade) -> Self {
        Self {
            symbol: q.symbol,
            at: q.at,
            last: q.last,
            bid: q.bid,
            ask: q.ask,
            size: q.size,
            source: q.source,
            grade: grade_name(grade),
            json: OnceLock::new(),
        }
    }

    /// The quote as JSON, written once however many subscribers send it.
    pub fn json(&self) -> &str {
        // Strings, decimals and a time always serialize.
        self.json.get_or_init(|| serde_json::to_string(self).unwrap_or_default())
    }
}

impl PartialEq for LiveQuote {
    fn eq(&self, other: &Self) -> bool {
        (&self.symbol, self.at, self.last, self.bid, self.ask, self.size, &self.source, self.grade)
            == (&other.symbol, other.at, other.last, other.bid, other.ask, other.size, &other.source, other.grade)
    }
}

impl Eq for LiveQuote {}

pub fn grade_name(g: Grade) -> &'static str {
    match g {
        Grade::Excellent => "excellent",
        Grade::Good => "good",
        Grade::Fair => "fair",
        Grade::Poor => "poor",
    }
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Quote(Arc<LiveQuote>),
    /// How many quotes were dropped since the last delivery because the subscriber fell behind.
    Dropped(u64),
}

/// A quote that passed the checks: its grade and the price compared across sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checked {
    pub grade: Grade,
    pub price: Price,
}

/// The price a quote is compared across sources by: its last, or the mid of its bid and ask
/// (kept as the two sides, so that the division waits until a comparison needs it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Price {
    Last(Decimal),
    Mid { bid: Decimal, ask: Decimal },
}

impl Price {
    pub fn value(self) -> Decimal {
        match self {
            Self::Last(last) => last,
            Self::Mid { bid, ask } => (bid + ask) / Decimal::TWO,
        }
    }
}

/// Why a quote was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The reason's key, as counted in [`HubStats::rejected_by`].
    pub check: &'static str,
    pub reason: String,
}

/// The rejection keys, in [`HubStats::rejected_by`].
pub const REJECTION_KEYS: [&str; 4] = ["no_price", "no_symbol", "quote_crossed", "quote_price"];

fn rejection_index(check: &str) -> usize {
    REJECTION_KEYS.iter().position(|k| *k == check).unwrap_or(0)
}

/// Checks one quote on its own (see the module documentation).
pub fn validate(q: &Quote, quality: &QualityConfig) -> Result<Checked, Rejection> {
    if q.symbol.is_empty() {
        return Err(Rejection { check: "no_symbol", reason: "the quote has no symbol".into() });
    }
    if let (Some(bid), Some(ask)) = (q.bid, q.ask) {
        let price = q.last.map_or(Price::Mid { bid, ask }, Price::Last);
        // Without a last the mid stands in for it. With both sides above 0 the mid is above 0
        // and the verdict is the same for any stand-in above 0, so the ask stands in and the
        // division is left for the rejections.
        let last = match q.last {
            Some(last) => last,
            None if bid > Decimal::ZERO && ask > Decimal::ZERO => ask,
            None => price.value(),
        };
        let a = assess_quote(&CheckedQuote { bid, ask, last }, quality);
        return match a.grade {
            Some(grade) => Ok(Checked { grade, price }),
            None => {
                let rejects: Vec<_> = a.findings.iter().filter(|f| f.severity == Severity::Reject).collect();
                let check = match rejects.first().map(|f| f.check) {
                    Some(domain::quality::Check::QuoteCrossed) => "quote_crossed",
                    _ => "quote_price",
                };
                let reason = rejects.iter().map(|f| f.reason.as_str()).collect::<Vec<_>>().join("; ");
                Err(Rejection { check, reason })
            }
        };
    }
    let Some(last) = q.last else {
        return Err(Rejection { check: "no_price", reason: "the quote has no last price and no bid and ask".into() });
    };
    let reasons: Vec<String> = [("bid", q.bid), ("ask", q.ask), ("last", Some(last))]
        .into_iter()
        .filter_map(|(field, v)| v.filter(|v| *v <= Decimal::ZERO).map(|v| format!("{field} {v} is not above 0")))
        .collect();
    if reasons.is_empty() {
        Ok(Checked { grade: Grade::Excellent, price: Price::Last(last) })
    } else {
        Err(Rejection { check: "quote_price", reason: reasons.join("; ") })
    }
}

/// The hub's counters so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HubStats {
    /// Quotes delivered to the hub.
    pub received: u64,
    /// Quotes used: cached and sent.
    pub accepted: u64,
    pub rejected: u64,
    /// Rejections by reason ([`REJECTION_KEYS`]).
    pub rejected_by: BTreeMap<&'static str, u64>,
    pub outliers: u64,
    /// Quotes older than the last one from the same source for the symbol.
    pub stale_ignored: u64,
    /// Quotes put into subscribers' buffers (one per subscriber; snapshots included).
    pub delivered: u64,
    /// Quotes dropped from full buffers.
    pub dropped: u64,
    pub subscribers: u64,
    /// Symbols with a cached quote.
    pub symbols: u64,
    /// The latest rejection: `SYMBOL from SOURCE: reason`.
    pub last_rejection: Option<String>,
    /// The latest outlier: `SYMBOL from SOURCE: reason`.
    pub last_outlier: Option<String>,
}

#[derive(Default)]
struct Counters {
    received: AtomicU64,
    accepted: AtomicU64,
    rejected_by: [AtomicU64; REJECTION_KEYS.len()],
    outliers: AtomicU64,
    stale_ignored: AtomicU64,
    delivered: AtomicU64,
    dropped: AtomicU64,
    subscribers: AtomicU64,
    symbols: AtomicU64,
}

/// The live quote hub (see the module documentation); shared as `Arc<QuoteHub>`.
pub struct QuoteHub {
    inner: Arc<Inner>,
}

struct Inner {
    config: HubConfig,
    state: Mutex<State>,
    counters: Counters,
    last_rejection: Mutex<Option<String>>,
    last_outlier: Mutex<Option<String>>,
}

#[derive(Default)]
struct State {
    symbols: HashMap<String, SymbolState>,
    slots: HashMap<u64, SlotEntry>,
    /// Subscriptions to every symbol.
    all: Vec<Arc<Slot>>,
    next_id: u64,
    /// The number of the batch being delivered, to stage each buffer's quotes once.
    batch: u64,
    staged: Vec<(Arc<Slot>, Vec<Arc<LiveQuote>>)>,
    /// Emptied staging vectors, reused.
    pool: Vec<Vec<Arc<LiveQuote>>>,
    closed: bool,
}

#[derive(Default)]
struct SymbolState {
    latest: Option<Arc<LiveQuote>>,
    sources: Vec<SourceState>,
    subscribers: Vec<Arc<Slot>>,
}

impl SymbolState {
    fn is_unused(&self) -> bool {
        self.latest.is_none() && self.sources.is_empty() && self.subscribers.is_empty()
    }
}

struct SourceState {
    name: String,
    at: DateTime<Utc>,
    price: Price,
}

struct SlotEntry {
    slot: Arc<Slot>,
    symbols: HashSet<String>,
    all: bool,
}

/// One subscriber's buffer.
struct Slot {
    id: u64,
    capacity: usize,
    queue: Mutex<Queue>,
    notify: Notify,
    closed: AtomicBool,
    /// The batch this slot was last staged in, and where; only touched under the hub's lock.
    staged_in: AtomicU64,
    staged_at: AtomicUsize,
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Arc<LiveQuote>>,
    dropped: u64,
}

impl Slot {
    /// Appends `items` (emptied) to the buffer, dropping the oldest beyond the capacity;
    /// gives how many were dropped. The caller wakes the subscriber.
    fn push(&self, items: &mut Vec<Arc<LiveQuote>>) -> u64 {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let incoming = items.len();
        // Of the incoming ones, those beyond the capacity would be dropped at once.
        let skip = incoming.saturating_sub(self.capacity);
        let overflow = (q.items.len() + incoming - skip).saturating_sub(self.capacity);
        q.items.drain(..overflow);
        q.items.extend(items.drain(skip..));
        items.clear();
        let dropped = (skip + overflow) as u64;
        q.dropped += dropped;
        dropped
    }

    fn push_one(&self, item: Arc<LiveQuote>) -> u64 {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        let mut dropped = 0;
        if q.items.len() >= self.capacity {
            q.items.pop_front();
            q.dropped += 1;
            dropped = 1;
        }
        q.items.push_back(item);
        dropped
    }
}

impl Default for QuoteHub {
    fn default() -> Self {
        Self::new(HubConfig::default())
    }
}

impl QuoteHub {
    pub fn new(config: HubConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                state: Mutex::new(State::default()),
                counters: Counters::default(),
                last_rejection: Mutex::new(None),
                last_outlier: Mutex::new(None),
            }),
        }
    }

    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// The latest used quote of `symbol`.
    pub fn latest(&self, symbol: &str) -> Option<Arc<LiveQuote>> {
        let state = self.inner.lock();
        state.symbols.get(symbol).and_then(|s| s.latest.clone())
    }

    /// The latest used quotes of `symbols`, in their order, skipping those without one.
    pub fn snapshot<S: AsRef<str>>(&self, symbols: &[S]) -> Vec<Arc<LiveQuote>> {
        let state = self.inner.lock();
        symbols.iter().filter_map(|s| state.symbols.get(s.as_ref()).and_then(|s| s.latest.clone())).collect()
    }

    /// A subscription with a buffer of `capacity` quotes (at least 1), to no symbol yet.
    pub fn subscribe(&self, capacity: usize) -> Subscriber {
        self.inner.register(capacity, false)
    }

    /// A subscription to every symbol's quotes as they are used (no snapshot).
    pub fn subscribe_all(&self, capacity: usize) -> Subscriber {
        self.inner.register(capacity, true)
    }

    /// Ends every subscription (queued quotes are still received, then `recv` gives `None`);
    /// quotes delivered afterwards are ignored.
    pub fn close(&self) {
        let mut state = self.inner.lock();
        state.closed = true;
        for entry in state.slots.values() {
            entry.slot.closed.store(true, Ordering::Release);
            entry.slot.notify.notify_one();
        }
    }

    pub fn is_closed(&self) -> bool {
        self.inner.lock().closed
    }

    pub fn stats(&self) -> HubStats {
        let c = &self.inner.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let rejected_by: BTreeMap<&'static str, u64> =
            REJECTION_KEYS.iter().zip(&c.rejected_by).map(|(k, n)| (*k, load(n))).collect();
        HubStats {
            received: load(&c.received),
            accepted: load(&c.accepted),
            rejected: rejected_by.values().sum(),
            rejected_by,
            outliers: load(&c.outliers),
            stale_ignored: load(&c.stale_ignored),
            delivered: load(&c.delivered),
            dropped: load(&c.dropped),
            subscribers: load(&c.subscribers),
            symbols: load(&c.symbols),
            last_rejection: self.inner.last_rejection.lock().unwrap_or_else(|e| e.into_inner()).clone(),
            last_outlier: self.inner.last_outlier.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
}

impl QuoteSink for QuoteHub {
    fn deliver(&self, batch: Vec<Quote>) {
        self.inner.deliver(batch);
    }
}

/// Counts of one batch, added to the hub's counters once.
#[derive(Default)]
struct Tally {
    accepted: u64,
    rejected_by: [u64; REJECTION_KEYS.len()],
    outliers: u64,
    stale: u64,
    delivered: u64,
    dropped: u64,
    new_symbols: u64,
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn register(self: &Arc<Self>, capacity: usize, all: bool) -> Subscriber {
        let mut state = self.lock();
        state.next_id += 1;
        let slot = Arc::new(Slot {
            id: state.next_id,
            capacity: capacity.max(1),
            queue: Mutex::new(Queue::default()),
            notify: Notify::new(),
            closed: AtomicBool::new(state.closed),
            staged_in: AtomicU64::new(0),
            staged_at: AtomicUsize::new(0),
        });
        if all {
            state.all.push(slot.clone());
        }
        state.slots.insert(slot.id, SlotEntry { slot: slot.clone(), symbols: HashSet::new(), all });
        self.counters.subscribers.fetch_add(1, Ordering::Relaxed);
        drop(state);
        Subscriber { hub: self.clone(), slot }
    }

    fn deliver(&self, batch: Vec<Quote>) {
        if batch.is_empty() {
            return;
        }
        let mut state = self.lock();
        if state.closed {
            return;
        }
        self.counters.received.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let quality = &self.config.quality;
        let mut tally = Tally::default();
        let mut rejection = None;
        let mut outlier = None;
        state.batch += 1;
        let batch_no = state.batch;
        let State { symbols, all, staged, pool, .. } = &mut *state;
        for q in batch {
            let checked = match validate(&q, quality) {
                Ok(c) => c,
                Err(r) => {
                    tally.rejected_by[rejection_index(r.check)] += 1;
                    rejection = Some(format!("{} from {}: {}", q.symbol, q.source, r.reason));
                    continue;
                }
            };
            let entry = match symbols.get_mut(q.symbol.as_str()) {
                Some(e) => e,
                None => symbols.entry(q.symbol.clone()).or_default(),
            };
            let own = match entry.sources.iter().position(|s| s.name == q.source) {
                Some(i) => {
                    if q.at < entry.sources[i].at {
                        tally.stale += 1;
                        continue;
                    }
                    entry.sources[i].at = q.at;
                    entry.sources[i].price = checked.price;
                    i
                }
                None => {
                    entry.sources.push(SourceState { name: q.source.clone(), at: q.at, price: checked.price });
                    entry.sources.len() - 1
                }
            };
            if entry.sources.len() > 1 {
                if let Some(reason) = self.screen(&entry.sources, own, q.at) {
                    tally.outliers += 1;
                    outlier = Some(format!("{} from {}: {}", q.symbol, q.source, reason));
                    continue;
                }
            }
            let live = Arc::new(LiveQuote::from_quote(q, checked.grade));
            tally.accepted += 1;
            for slot in entry.subscribers.iter().chain(all.iter()) {
                if slot.staged_in.load(Ordering::Relaxed) != batch_no {
                    slot.staged_in.store(batch_no, Ordering::Relaxed);
                    slot.staged_at.store(staged.len(), Ordering::Relaxed);
                    staged.push((slot.clone(), pool.pop().unwrap_or_default()));
                }
                staged[slot.staged_at.load(Ordering::Relaxed)].1.push(live.clone());
            }
            if entry.latest.replace(live).is_none() {
                tally.new_symbols += 1;
            }
        }
        for (slot, mut items) in staged.drain(..) {
            tally.delivered += items.len() as u64;
            tally.dropped += slot.push(&mut items);
            slot.notify.notify_one();
            pool.push(items);
        }
        drop(state);
        let c = &self.counters;
        for (counter, n) in [
            (&c.accepted, tally.accepted),
            (&c.outliers, tally.outliers),
            (&c.stale_ignored, tally.stale),
            (&c.delivered, tally.delivered),
            (&c.dropped, tally.dropped),
            (&c.symbols, tally.new_symbols),
        ]
        .into_iter()
        .chain(c.rejected_by.iter().zip(tally.rejected_by))
        {
            if n > 0 {
                counter.fetch_add(n, Ordering::Relaxed);
            }
        }
        if let Some(r) = rejection {
            tracing::debug!(rejection = %r, "quote rejected");
            *self.last_rejection.lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
        }
        if let Some(o) = outlier {
            tracing::debug!(outlier = %o, "quote set aside as an outlier");
            *self.last_outlier.lock().unwrap_or_else(|e| e.into_inner()) = Some(o);
        }
    }

    /// The consensus screening of `sources[own]`'s new price against the other sources'
    /// fresh prices: the reason when it is set aside as an outlier.
    fn screen(&self, sources: &[SourceState], own: usize, at: DateTime<Utc>) -> Option<String> {
        let window = self.config.fresh_window;
        let fresh = |s: &SourceState| (s.at - at).abs() <= window;
        if !sources.iter().enumerate().any(|(i, s)| i != own && fresh(s)) {
            return None;
        }
        // Each source with its price, the incoming one first.
        let mut entries: Vec<(&str, Decimal)> = std::iter::once(&sources[own])
            .chain(sources.iter().enumerate().filter(|(i, s)| *i != own && fresh(s)).map(|(_, s)| s))
            .map(|s| (s.name.as_str(), s.price.value()))
            .collect();
        let tolerance = self.config.quality.consensus_tolerance;
        let mine = entries[0].1;
        // The incoming quote stays at index 0 until it is set aside, which ends the screening.
        while entries.len() > 1 {
            let prices: Vec<Decimal> = entries.iter().map(|e| e.1).collect();
            let m = median(&prices)?;
            if m <= Decimal::ZERO {
                return None;
            }
            let (worst, deviation) =
                entries.iter().enumerate().map(|(i, e)| (i, (e.1 - m).abs() / m)).max_by(|(a, da), (b, db)| {
                    // Ties: the incoming quote (index 0) first, then the later name.
                    da.cmp(db).then_with(|| (*a == 0).cmp(&(*b == 0))).then_with(|| entries[*a].0.cmp(entries[*b].0))
                })?;
            if deviation <= tolerance {
                return None;
            }
            if worst == 0 {
                return Some(format!(
                    "price {} is {} {} the median {} of the {} sources' fresh prices (tolerance {})",
                    mine.normalize(),
                    pct(deviation),
                    if mine > m { "above" } else { "below" },
                    m.normalize(),
                    entries.len(),
                    pct(tolerance)
                ));
            }
            entries.remove(worst);
        }
        None
    }
}

fn pct(fraction: Decimal) -> String {
    format!("{}%", (fraction * Decimal::ONE_HUNDRED).round_dp(2).normalize())
}

/// One subscription (see the module documentation); dropping it unregisters it.
pub struct Subscriber {
    hub: Arc<Inner>,
    slot: Arc<Slot>,
}

impl Subscriber {
    /// Subscribes to `symbols` (matched exactly as the vendors spell them); each one newly
    /// added has its cached quote queued first. Gives how many were newly added; a
    /// subscription to all symbols ([`QuoteHub::subscribe_all`]) adds none.
    pub fn add<I, S>(&self, symbols: I) -> usize
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut state = self.hub.lock();
        let State { symbols: table, slots, closed, .. } = &mut *state;
        let Some(entry) = slots.get_mut(&self.slot.id) else { return 0 };
        if entry.all {
            return 0;
        }
        let (mut added, mut delivered, mut dropped) = (0, 0, 0);
        for symbol in symbols {
            let symbol = symbol.as_ref();
            if symbol.is_empty() || entry.symbols.contains(symbol) {
                continue;
            }
            entry.symbols.insert(symbol.to_owned());
            let s = table.entry(symbol.to_owned()).or_default();
            s.subscribers.push(self.slot.clone());
            added += 1;
            if let (Some(latest), false) = (&s.latest, *closed) {
                dropped += self.slot.push_one(latest.clone());
                delivered += 1;
            }
        }
        drop(state);
        if delivered > 0 {
            self.slot.notify.notify_one();
            self.hub.counters.delivered.fetch_add(delivered, Ordering::Relaxed);
            self.hub.counters.dropped.fetch_add(dropped, Ordering::Relaxed);
        }
        added
    }

    /// Unsubscribes from `symbols`; gives how many it was subscribed to. Their quotes already
    /// queued are still received.
    pub fn remove<I, S>(&self, symbols: I) -> usize
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut state = self.hub.lock();
        let State { symbols: table, slots, .. } = &mut *state;
        let Some(entry) = slots.get_mut(&self.slot.id) else { return 0 };
        let mut removed = 0;
        for symbol in symbols {
            if entry.symbols.remove(symbol.as_ref()) {
                detach(table, symbol.as_ref(), self.slot.id);
                removed += 1;
            }
        }
        removed
    }

    /// The symbols subscribed to, sorted.
    pub fn symbols(&self) -> Vec<String> {
        let state = self.hub.lock();
        let mut symbols: Vec<String> =
            state.slots.get(&self.slot.id).map(|e| e.symbols.iter().cloned().collect()).unwrap_or_default();
        symbols.sort();
        symbols
    }

    /// The buffer's capacity, in quotes.
    pub fn capacity(&self) -> usize {
        self.slot.capacity
    }

    /// Quotes queued now.
    pub fn queued(&self) -> usize {
        self.slot.queue.lock().unwrap_or_else(|e| e.into_inner()).items.len()
    }

    /// The next delivery: a [`Delivery::Dropped`] first when quotes were dropped since the
    /// last one. Waits for one; `None` once the hub is closed and the buffer is empty.
    /// Cancel-safe: a `recv` dropped while waiting (in a `select!`) takes nothing.
    pub async fn recv(&mut self) -> Option<Delivery> {
        loop {
            let closed = self.slot.closed.load(Ordering::Acquire);
            if let Some(d) = self.try_recv() {
                return Some(d);
            }
            if closed {
                return None;
            }
            // A push between the look above and this wait leaves a permit: no wake-up is lost.
            self.slot.notify.notified().await;
        }
    }

    /// The next delivery if one is queued, without waiting.
    pub fn try_recv(&mut self) -> Option<Delivery> {
        let mut q = self.slot.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.dropped > 0 {
            return Some(Delivery::Dropped(std::mem::take(&mut q.dropped)));
        }
        q.items.pop_front().map(Delivery::Quote)
    }

    /// Appends up to `limit` deliveries to `buf`, waiting for at least one; gives how many.
    /// 0 when `limit` is 0, or once the hub is closed and the buffer is empty. Cancel-safe.
    pub async fn recv_many(&mut self, buf: &mut Vec<Delivery>, limit: usize) -> usize {
        if limit == 0 {
            return 0;
        }
        loop {
            let closed = self.slot.closed.load(Ordering::Acquire);
            {
                let mut q = self.slot.queue.lock().unwrap_or_else(|e| e.into_inner());
                let mut n = 0;
                if q.dropped > 0 {
                    buf.push(Delivery::Dropped(std::mem::take(&mut q.dropped)));
                    n += 1;
                }
                let take = (limit - n).min(q.items.len());
                buf.extend(q.items.drain(..take).map(Delivery::Quote));
                n += take;
                if n > 0 {
                    return n;
                }
            }
            if closed {
                return 0;
            }
            self.slot.notify.notified().await;
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let mut state = self.hub.lock();
        let State { symbols: table, slots, all, .. } = &mut *state;
        let Some(entry) = slots.remove(&self.slot.id) else { return };
        if entry.all {
            all.retain(|s| s.id != self.slot.id);
        }
        for symbol in &entry.symbols {
            detach(table, symbol, self.slot.id);
        }
        drop(state);
        self.hub.counters.subscribers.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Takes subscriber `id` off `symbol`, and the symbol off the table when nothing is left of it.
fn detach(table: &mut HashMap<String, SymbolState>, symbol: &str, id: u64) {
    if let Some(s) = table.get_mut(symbol) {
        s.subscribers.retain(|slot| slot.id != id);
        if s.is_unused() {
            table.remove(symbol);
        }
    }
}

/// The NATS subject of `symbol`'s quotes: `cairn.quotes.` and the symbol upper-case, with
/// `.`, `*`, `>` and whitespace (which NATS subjects reserve) replaced by `_`.
pub fn subject_for(symbol: &str) -> String {
    let mut subject = String::with_capacity(SUBJECT_PREFIX.len() + symbol.len());
    subject.push_str(SUBJECT_PREFIX);
    if symbol.is_empty() {
        subject.push('_');
    }
    for c in symbol.chars() {
        if matches!(c, '.' | '*' | '>') || c.is_whitespace() {
            subject.push('_');
        } else {
            subject.extend(c.to_uppercase());
        }
    }
    subject
}

/// Publishes every quote the hub uses to NATS ([`subject_for`], the JSON of
/// [`LiveQuote::json`]) until `stop` turns true or the hub is closed. It reads from a
/// subscription to all symbols with a buffer of [`NATS_BUFFER`] quotes: when NATS is slow
/// or away, the oldest quotes are dropped (and logged), never the hub blocked.
pub fn spawn_nats(hub: Arc<QuoteHub>, client: async_nats::Client, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let subscriber = hub.subscribe_all(NATS_BUFFER);
    tokio::spawn(publish(subscriber, client, stop))
}

async fn publish(mut subscriber: Subscriber, client: async_nats::Client, mut stop: watch::Receiver<bool>) {
    let stopped = async move {
        // A dropped sender is not a stop: publishing goes on until the hub closes.
        if stop.wait_for(|s| *s).await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let mut stopped = std::pin::pin!(stopped);
    let mut subjects: HashMap<String, async_nats::Subject> = HashMap::new();
    let mut buf = Vec::with_capacity(1024);
    let (mut published, mut failed, mut dropped) = (0u64, 0u64, 0u64);
    loop {
        buf.clear();
        let n = tokio::select! {
            n = subscriber.recv_many(&mut buf, 1024) => n,
            () = &mut stopped => break,
        };
        if n == 0 {
            break;
        }
        let send = async {
            for d in buf.drain(..) {
                match d {
                    Delivery::Quote(q) => {
                        let subject = match subjects.get(&q.symbol) {
                            Some(s) => s.clone(),
                            None => {
                                let s = async_nats::Subject::from(subject_for(&q.symbol));
                                subjects.insert(q.symbol.clone(), s.clone());
                                s
                            }
                        };
                        match client.publish(subject, q.json().to_owned().into()).await {
                            Ok(()) => published += 1,
                            Err(e) => {
                                failed += 1;
                                if failed.is_power_of_two() {
                                    tracing::warn!(error = %e, failed, "publishing a quote to NATS failed");
                                }
                            }
                        }
                    }
                    Delivery::Dropped(n) => {
                        dropped += n;
                        tracing::warn!(dropped = n, "NATS publishing fell behind; the oldest quotes were dropped");
                    }
                }
            }
        };
        tokio::select! {
            () = send => {}
            () = &mut stopped => break,
        }
    }
    tracing::info!(published, failed, dropped, "quote publishing to NATS stopped");
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::TimeZone;

    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    fn two_sided(symbol: &str, source: &str, secs: i64, bid: Decimal, ask: Decimal) -> Quote {
        Quote {
            symbol: symbol.into(),
            at: at(secs),
            last: None,
            bid: Some(bid),
            ask: Some(ask),
            size: Some(dec("100")),
            source: source.into(),
        }
    }

    fn last_only(symbol: &str, source: &str, secs: i64, last: Decimal) -> Quote {
        Quote {
            symbol: symbol.into(),
            at: at(secs),
            last: Some(last),
            bid: None,
            ask: None,
            size: None,
            source: source.into(),
        }
    }

    fn next_quote(s: &mut Subscriber) -> Arc<LiveQuote> {
        match s.try_recv() {
            Some(Delivery::Quote(q)) => q,
            other => panic!("expected a quote, got {other:?}"),
        }
    }

    fn rejected(stats: &HubStats) -> Vec<(&'static str, u64)> {
        stats.rejected_by.iter().filter(|(_, n)| **n > 0).map(|(k, n)| (*k, *n)).collect()
    }

    #[test]
    fn crossed_and_zero_quotes_are_rejected_with_the_reason_and_a_wide_one_is_sent_as_fair() {
        let quality = QualityConfig::default();
        let crossed = two_sided("AAA", "polygon", 0, dec("10.10"), dec("10.00"));
        assert_eq!(
            validate(&crossed, &quality),
            Err(Rejection { check: "quote_crossed", reason: "bid 10.10 is above ask 10.00 (a crossed quote)".into() })
        );
        let zero_bid = two_sided("AAA", "polygon", 0, dec("0"), dec("1"));
        assert_eq!(
            validate(&zero_bid, &quality),
            Err(Rejection { check: "quote_price", reason: "bid 0 is not above 0".into() })
        );
        let zero_last = last_only("AAA", "polygon", 0, dec("0"));
        assert_eq!(
            validate(&zero_last, &quality),
            Err(Rejection { check: "quote_price", reason: "last 0 is not above 0".into() })
        );
        let mut nothing = last_only("AAA", "polygon", 0, dec("1"));
        nothing.last = None;
        assert_eq!(validate(&nothing, &quality).unwrap_err().check, "no_price");
        // The mid stands in for a missing last: (9.5 + 10.5) / 2 = 10; spread 1 / 10 = 10% > 5%.
        let wide = two_sided("AAA", "polygon", 1, dec("9.5"), dec("10.5"));
        let checked = validate(&wide, &quality).unwrap();
        assert_eq!(checked, Checked { grade: Grade::Fair, price: Price::Mid { bid: dec("9.5"), ask: dec("10.5") } });
        assert_eq!(checked.price.value(), dec("10"));
        assert_eq!(
            validate(&last_only("AAA", "polygon", 0, dec("3")), &quality),
            Ok(Checked { grade: Grade::Excellent, price: Price::Last(dec("3")) })
        );
        // A last, when there is one, is checked as it is.
        let mut below = two_sided("AAA", "polygon", 0, dec("9.99"), dec("10.01"));
        below.last = Some(dec("-1"));
        assert_eq!(validate(&below, &quality).unwrap_err().reason, "last -1 is not above 0");

        let hub = QuoteHub::default();
        let mut s = hub.subscribe(8);
        s.add(["AAA"]);
        hub.deliver(vec![crossed, zero_bid, zero_last, nothing, wide]);
        let q = next_quote(&mut s);
        assert_eq!((q.grade, q.bid, q.ask, q.last), ("fair", Some(dec("9.5")), Some(dec("10.5")), None));
        assert_eq!(s.try_recv(), None);
        let stats = hub.stats();
        assert_eq!((stats.received, stats.accepted, stats.rejected), (5, 1, 4));
        assert_eq!(rejected(&stats), [("no_price", 1), ("quote_crossed", 1), ("quote_price", 2)]);
        assert_eq!(stats.rejected_by.len(), REJECTION_KEYS.len());
        assert_eq!(
            stats.last_rejection.as_deref(),
            Some("AAA from polygon: the quote has no last price and no bid and ask")
        );
        assert_eq!(hub.latest("AAA"), Some(q));
    }

    #[test]
    fn an_older_quote_from_the_same_source_is_ignored() {
        let hub = QuoteHub::default();
        let mut s = hub.subscribe(8);
        s.add(["AAA"]);
        hub.deliver(vec![last_only("AAA", "polygon", 10, dec("100"))]);
        hub.deliver(vec![last_only("AAA", "polygon", 5, dec("101")), last_only("AAA", "polygon", 10, dec("100.5"))]);
        assert_eq!(next_quote(&mut s).last, Some(dec("100")));
        // The same time is used.
        assert_eq!(next_quote(&mut s).last, Some(dec("100.5")));
        assert_eq!(s.try_recv(), None);
        let stats = hub.stats();
        assert_eq!((stats.received, stats.accepted, stats.stale_ignored), (3, 2, 1));
        // Another source's clock is its own: its earlier time is not stale.
        hub.deliver(vec![last_only("AAA", "tiingo", 4, dec("100.4"))]);
        assert_eq!(next_quote(&mut s).source, "tiingo");
        assert_eq!(hub.latest("AAA").unwrap().last, Some(dec("100.4")));
        assert_eq!(hub.stats().stale_ignored, 1);
    }

    #[test]
    fn a_source_ten_percent_off_the_others_is_an_outlier_and_not_sent() {
        let hub = QuoteHub::default();
        let mut s = hub.subscribe(8);
        s.add(["AAA"]);
        hub.deliver(vec![last_only("AAA", "polygon", 0, dec("100"))]);
        hub.deliver(vec![two_sided("AAA", "tiingo", 1, dec("100.1"), dec("100.3"))]);
        hub.deliver(vec![last_only("AAA", "zbad", 2, dec("110"))]);
        assert_eq!(next_quote(&mut s).source, "polygon");
        assert_eq!(next_quote(&mut s).source, "tiingo");
        assert_eq!(s.try_recv(), None);
        let latest = hub.latest("AAA").unwrap();
        assert_eq!((latest.source.as_str(), latest.bid), ("tiingo", Some(dec("100.1"))));
        let stats = hub.stats();
        assert_eq!((stats.received, stats.accepted, stats.outliers), (3, 2, 1));
        // Median of 100, 100.2 (tiingo's mid) and 110 is 100.2: (110 − 100.2) / 100.2 = 9.78%.
        assert_eq!(
            stats.last_outlier.as_deref(),
            Some("AAA from zbad: price 110 is 9.78% above the median 100.2 of the 3 sources' fresh prices (tolerance 5%)")
        );
        // The outlier's price does not spoil the others': polygon against tiingo and zbad
        // (median 100.2, zbad set aside) is used.
        hub.deliver(vec![last_only("AAA", "polygon", 3, dec("99.9"))]);
        assert_eq!(next_quote(&mut s).last, Some(dec("99.9")));
        // zbad again, still off: set aside again.
        hub.deliver(vec![last_only("AAA", "zbad", 4, dec("111"))]);
        assert_eq!(s.try_recv(), None);
        assert_eq!(hub.stats().outliers, 2);
        // Beyond the fresh window (60 s) of the others, zbad stands alone and is used.
        hub.deliver(vec![last_only("AAA", "zbad", 65, dec("111"))]);
        assert_eq!(next_quote(&mut s).last, Some(dec("111")));
    }

    #[test]
    fn two_sources_agree_again_once_both_have_quoted_a_move() {
        let hub = QuoteHub::default();
        let mut s = hub.subscribe(8);
        s.add(["AAA"]);
        hub.deliver(vec![last_only("AAA", "a", 0, dec("100")), last_only("AAA", "b", 0, dec("100.5"))]);
        // b jumps 20%: a tie against a's 100, and the newcomer is set aside.
        hub.deliver(vec![last_only("AAA", "b", 1, dec("120"))]);
        // a follows: it agrees with b's latest price, and so does b's next.
        hub.deliver(vec![last_only("AAA", "a", 2, dec("120.1")), last_only("AAA", "b", 3, dec("120.2"))]);
        let seen: Vec<_> = std::iter::from_fn(|| s.try_recv()).collect();
        let prices: Vec<_> = seen
            .iter()
            .map(|d| match d {
                Delivery::Quote(q) => q.last.unwrap(),
                Delivery::Dropped(n) => panic!("dropped {n}"),
            })
            .collect();
        assert_eq!(prices, [dec("100"), dec("100.5"), dec("120.1"), dec("120.2")]);
        assert_eq!(hub.stats().outliers, 1);
    }

    #[test]
    fn a_bad_source_that_quoted_first_is_set_aside_once_two_others_agree() {
        let hub = QuoteHub::default();
        let mut s = hub.subscribe(8);
        s.add(["AAA"]);
        hub.deliver(vec![last_only("AAA", "bad", 0, dec("120"))]);
        // One against one: the newcomer is set aside.
        hub.deliver(vec![last_only("AAA", "b", 1, dec("100"))]);
        // Two against one: bad is set aside, c is used, and bad's next quote is an outlier.
        hub.deliver(vec![last_only("AAA", "c", 2, dec("100.1"))]);
        hub.deliver(vec![last_only("AAA", "bad", 3, dec("120"))]);
        hub.deliver(vec![last_only("AAA", "b", 4, dec("100.2"))]);
        let used: Vec<_> = (0..3).map(|_| next_quote(&mut s).source.clone()).collect();
        assert_eq!(used, ["bad", "c", "b"]);
        assert_eq!(s.try_recv(), None);
        assert_eq!(hub.stats().outliers, 2);
        assert_eq!(
            hub.stats().last_outlier.as_deref(),
            Some("AAA from bad: price 120 is 19.88% above the median 100.1 of the 3 sources' fresh prices (tolerance 5%)")
        );
    }

    #[test]
    fn a_single_source_is_used_as_is() {
        let hub = QuoteHub::default();
        let mut s = hub.subscribe(8);
        s.add(["AAA"]);
        hub.deliver(vec![last_only("AAA", "polygon", 0, dec("100")), last_only("AAA", "polygon", 1, dec("150"))]);
        hub.deliver(vec![last_only("AAA", "polygon", 2, dec("50"))]);
        let prices: Vec<_> = (0..3).map(|_| next_quote(&mut s).last.unwrap()).collect();
        assert_eq!(prices, [dec("100"), dec("150"), dec("50")]);
        assert_eq!(hub.stats().outliers, 0);
    }

    #[test]
    fn subscribers_get_only_their_symbols_with_the_cached_quote_first() {
        let hub = QuoteHub::default();
        let mut a = hub.subscribe(8);
        let mut b = hub.subscribe(8);
        assert_eq!(a.add(["AAA", "AAA"]), 1);
        assert_eq!(b.add(["BBB"]), 1);
        hub.deliver(vec![
            last_only("AAA", "polygon", 0, dec("1")),
            last_only("BBB", "polygon", 0, dec("2")),
            last_only("CCC", "polygon", 0, dec("3")),
            last_only("AAA", "polygon", 1, dec("1.1")),
        ]);
        assert_eq!(next_quote(&mut a).last, Some(dec("1")));
        assert_eq!(next_quote(&mut a).last, Some(dec("1.1")));
        assert_eq!(a.try_recv(), None);
        assert_eq!(next_quote(&mut b).symbol, "BBB");
        assert_eq!(b.try_recv(), None);
        // A late subscriber gets the cached quotes of its symbols (none for an unknown one).
        let mut c = hub.subscribe(8);
        assert_eq!(c.add(["CCC", "AAA", "ZZZ"]), 3);
        assert_eq!(c.symbols(), ["AAA", "CCC", "ZZZ"]);
        assert_eq!(next_quote(&mut c).last, Some(dec("3")));
        assert_eq!(next_quote(&mut c).last, Some(dec("1.1")));
        assert_eq!(c.try_recv(), None);
        assert_eq!(
            hub.snapshot(&["AAA", "ZZZ", "BBB"]).iter().map(|q| q.symbol.as_str()).collect::<Vec<_>>(),
            ["AAA", "BBB"]
        );
        // Removed symbols are no longer sent.
        assert_eq!(c.remove(["AAA", "QQQ"]), 1);
        hub.deliver(vec![last_only("AAA", "polygon", 2, dec("1.2")), last_only("CCC", "polygon", 2, dec("3.1"))]);
        assert_eq!(next_quote(&mut c).symbol, "CCC");
        assert_eq!(c.try_recv(), None);
        let stats = hub.stats();
        // Delivered: 1 and 1.1 to a, 2 to b, the snapshots 3 and 1.1 to c, 1.2 to a, 3.1 to c.
        assert_eq!((stats.accepted, stats.delivered, stats.symbols, stats.subscribers), (6, 7, 3, 3));
    }

    #[test]
    fn a_subscription_to_all_gets_every_quote_and_no_snapshot() {
        let hub = QuoteHub::default();
        hub.deliver(vec![last_only("AAA", "polygon", 0, dec("1"))]);
        let mut all = hub.subscribe_all(8);
        assert_eq!(all.try_recv(), None);
        assert_eq!(all.add(["AAA"]), 0);
        hub.deliver(vec![last_only("BBB", "polygon", 0, dec("2")), last_only("AAA", "polygon", 1, dec("1.1"))]);
        assert_eq!(next_quote(&mut all).symbol, "BBB");
        assert_eq!(next_quote(&mut all).symbol, "AAA");
        drop(all);
        assert_eq!(hub.stats().subscribers, 0);
        hub.deliver(vec![last_only("BBB", "polygon", 1, dec("2"))]);
        assert_eq!(hub.stats().delivered, 2);
    }

    #[test]
    fn a_subscriber_that_does_not_read_holds_its_capacity_and_is_told_what_it_missed() {
        let hub = QuoteHub::default();
        let mut s = hub.subscribe(16);
        s.add(["AAA"]);
        let q = |i: i64| last_only("AAA", "polygon", i, Decimal::from(100 + i));
        // 10 one by one, then batches of 99 (the last larger than the buffer by itself).
        for i in 0..10 {
            hub.deliver(vec![q(i)]);
            assert!(s.queued() <= 16);
        }
        for chunk in (10..1000).collect::<Vec<_>>().chunks(99) {
            hub.deliver(chunk.iter().map(|i| q(*i)).collect());
            assert_eq!(s.queued(), 16);
        }
        assert_eq!(s.try_recv(), Some(Delivery::Dropped(984)));
        let times: Vec<_> = (0..16).map(|_| next_quote(&mut s).at).collect();
        assert_eq!(times, (984..1000).map(at).collect::<Vec<_>>());
        assert_eq!(s.try_recv(), None);
        let stats = hub.stats();
        assert_eq!((stats.accepted, stats.delivered, stats.dropped), (1000, 1000, 984));
        // A batch larger than the buffer on its own keeps its newest quotes.
        hub.deliver((1000..1040).map(q).collect());
        assert_eq!(s.try_recv(), Some(Delivery::Dropped(24)));
        assert_eq!(next_quote(&mut s).at, at(1024));
    }

    #[test]
    fn dropping_a_subscriber_unsubscribes_it() {
        let hub = QuoteHub::default();
        let a = hub.subscribe(8);
        let mut b = hub.subscribe(8);
        a.add(["AAA"]);
        b.add(["AAA"]);
        assert_eq!(hub.stats().subscribers, 2);
        drop(a);
        assert_eq!(hub.stats().subscribers, 1);
        hub.deliver(vec![last_only("AAA", "polygon", 0, dec("1"))]);
        assert_eq!(next_quote(&mut b).last, Some(dec("1")));
        assert_eq!(hub.stats().delivered, 1);
        drop(b);
        assert_eq!(hub.stats().subscribers, 0);
        // A symbol subscribed to and never quoted leaves nothing behind.
        let c = hub.subscribe(8);
        c.add(["NEVER"]);
        drop(c);
        assert!(!hub.inner.lock().symbols.contains_key("NEVER"));
        assert!(hub.inner.lock().symbols.contains_key("AAA"));
    }

    #[tokio::test]
    async fn recv_waits_for_a_quote_and_close_ends_it_after_the_queued_ones() {
        let hub = Arc::new(QuoteHub::default());
        let mut s = hub.subscribe(8);
        s.add(["AAA"]);
        let waiting = tokio::spawn(async move {
            let first = s.recv().await;
            (first, s)
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let from = hub.clone();
        std::thread::spawn(move || from.deliver(vec![last_only("AAA", "polygon", 0, dec("1"))])).join().unwrap();
        let (first, mut s) = tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
        assert!(matches!(first, Some(Delivery::Quote(q)) if q.last == Some(dec("1"))));

        hub.deliver(vec![last_only("AAA", "polygon", 1, dec("2"))]);
        let ended = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(d) = s.recv().await {
                got.push(d);
            }
            got
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        hub.close();
        let got = tokio::time::timeout(Duration::from_secs(5), ended).await.unwrap().unwrap();
        assert_eq!(got.len(), 1);
        assert!(hub.is_closed());
        // After close: nothing is taken in, and a new subscription ends at once.
        hub.deliver(vec![last_only("AAA", "polygon", 2, dec("3"))]);
        assert_eq!(hub.latest("AAA").unwrap().last, Some(dec("2")));
        let mut late = hub.subscribe(8);
        late.add(["AAA"]);
        assert_eq!(late.recv().await, None);
        let mut buf = Vec::new();
        assert_eq!(late.recv_many(&mut buf, 10).await, 0);
    }

    #[tokio::test]
    async fn recv_many_takes_the_dropped_count_then_the_quotes() {
        let hub = QuoteHub::default();
        let mut s = hub.subscribe(2);
        s.add(["AAA"]);
        hub.deliver((0..5).map(|i| last_only("AAA", "polygon", i, dec("1"))).collect());
        let mut buf = Vec::new();
        assert_eq!(s.recv_many(&mut buf, 10).await, 3);
        assert_eq!(buf[0], Delivery::Dropped(3));
        assert!(matches!(&buf[2], Delivery::Quote(q) if q.at == at(4)));
    }

    #[test]
    fn a_live_quote_is_json_with_prices_as_strings() {
        let hub = QuoteHub::default();
        let mut q = two_sided("AAA", "polygon", 0, dec("114.125"), dec("114.128"));
        q.at = Utc.timestamp_millis_opt(1_536_036_818_784).unwrap();
        hub.deliver(vec![q]);
        let live = hub.latest("AAA").unwrap();
        let expected = r#"{"symbol":"AAA","at":"2018-09-04T04:53:38.784Z","last":null,"bid":"114.125","ask":"114.128","size":"100","source":"polygon","grade":"excellent"}"#;
        assert_eq!(live.json(), expected);
        assert_eq!(serde_json::to_string(&*live).unwrap(), expected);
    }

    #[test]
    fn subjects_are_upper_case_tokens() {
        assert_eq!(subject_for("brk.b"), "cairn.quotes.BRK_B");
        assert_eq!(subject_for("X:BTC USD*>"), "cairn.quotes.X:BTC_USD__");
        assert_eq!(subject_for("EUR.USD\t"), "cairn.quotes.EUR_USD_");
        assert_eq!(subject_for(""), "cairn.quotes._");
    }

    #[tokio::test]
    async fn quotes_are_published_to_nats() {
        let Ok(url) = std::env::var("CAIRN_TEST_NATS_URL") else {
            println!("skipped: set CAIRN_TEST_NATS_URL (e.g. nats://127.0.0.1:4222) to publish to a NATS server");
            return;
        };
        use futures::StreamExt;
        let nanos = Utc::now().timestamp_nanos_opt().unwrap_or_default();
        let symbol = format!("t.q{nanos}");
        let listener = async_nats::connect(&url).await.unwrap();
        let mut messages = listener.subscribe(subject_for(&symbol)).await.unwrap();
        listener.flush().await.unwrap();

        let hub = Arc::new(QuoteHub::default());
        let (stop_tx, stop) = watch::channel(false);
        let publisher = spawn_nats(hub.clone(), async_nats::connect(&url).await.unwrap(), stop);
        hub.deliver(vec![two_sided(&symbol, "polygon", 0, dec("10.01"), dec("10.03"))]);
        let message = tokio::time::timeout(Duration::from_secs(5), messages.next()).await.unwrap().unwrap();
        assert_eq!(message.subject.as_str(), format!("cairn.quotes.T_Q{nanos}"));
        let json: serde_json::Value = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(json["symbol"], symbol.as_str());
        assert_eq!((json["bid"].as_str(), json["ask"].as_str()), (Some("10.01"), Some("10.03")));
        assert_eq!((json["source"].as_str(), json["grade"].as_str()), (Some("polygon"), Some("excellent")));
        stop_tx.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(5), publisher).await.unwrap().unwrap();
        assert_eq!(hub.stats().subscribers, 0);
    }
}
