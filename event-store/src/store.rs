//! The [`EventStore`] trait, the [`Store`] that picks a backend from a URL, and subscriptions.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::append::StreamWrite;
use crate::error::{Result, StoreError};
use crate::hash::{ChainBreak, ChainVerifier};
use crate::model::{AppendResult, Direction, ExpectedVersion, Head, NewEvent, StoredEvent, StreamId};

/// An append-only, hash-chained event log.
///
/// Positions start at 1 and have no gaps; stream versions start at 1. Every method that
/// reads sees only committed events, in commit order.
pub trait EventStore: Clone + Send + Sync + 'static {
    /// Appends `events` to `stream` atomically if its version matches `expected`.
    ///
    /// A wrong version is [`StoreError::Conflict`] and writes nothing. Appending event ids that
    /// are already stored, with the same content, returns the original result and writes nothing.
    fn append(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> impl Future<Output = Result<AppendResult>> + Send;

    /// Appends to several streams in one transaction: all of it is written, or none. Each
    /// stream's expectation is checked as in [`EventStore::append`]; a stream whose events are
    /// all stored already (an exact retry) returns its original result.
    fn append_many(&self, writes: &[StreamWrite<'_>]) -> impl Future<Output = Result<Vec<AppendResult>>> + Send;

    /// Up to `limit` events of one stream, starting at `from_version` and walking in `direction`.
    /// Backwards from `u64::MAX` starts at the stream's last event.
    fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        direction: Direction,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send;

    /// Up to `limit` events with `from_position <= position <= up_to`, in order.
    fn read_range(
        &self,
        from_position: u64,
        up_to: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send;

    /// The last position recorded at or before `instant` (0 if none).
    fn position_at(&self, instant: DateTime<Utc>) -> impl Future<Output = Result<u64>> + Send;

    /// The last committed event, if any.
    fn head(&self) -> impl Future<Output = Result<Option<Head>>> + Send;

    /// The stream's current version (0 when it does not exist).
    fn stream_version(&self, stream: &StreamId) -> impl Future<Output = Result<u64>> + Send;

    /// A named subscriber's stored position (0 when it has none).
    fn load_checkpoint(&self, name: &str) -> impl Future<Output = Result<u64>> + Send;

    /// Stores a named subscriber's position.
    fn save_checkpoint(&self, name: &str, position: u64) -> impl Future<Output = Result<()>> + Send;

    /// Changes whenever this process learns that events were committed.
    fn commits(&self) -> watch::Receiver<u64>;

    /// How often a live subscriber re-reads when no notification arrives: one second on SQLite,
    /// whose in-process notification cannot see other processes' commits; thirty seconds on
    /// PostgreSQL, where LISTEN sees every commit and the tick only guards against a silently
    /// dead connection. `None` would wait for notifications alone.
    fn fallback_tick(&self) -> Option<Duration>;

    /// Counters for `/metrics`.
    fn metrics(&self) -> &Arc<StoreMetrics>;

    /// Every event of each stream from its version on (`(stream, from_version)` pairs, each as
    /// [`EventStore::read_stream`] forwards would page through them), in the order asked:
    /// what catching many cached states up reads. The backends answer in one round trip; this
    /// default reads stream by stream.
    fn read_streams(&self, from: &[(StreamId, u64)]) -> impl Future<Output = Result<Vec<Vec<StoredEvent>>>> + Send {
        stream_by_stream(self, from)
    }

    /// The Merkle root (RFC 6962 MTH, [`crate::merkle`]) of the log's first `size` events. This
    /// default reads their hashes; [`crate::Store`] answers from the tree's nodes it keeps
    /// beside the log.
    fn tree_root(&self, size: u64) -> impl Future<Output = Result<crate::merkle::Hash>> + Send {
        async move { Ok(crate::merkle::root(&crate::merkle::leaves(self, size).await?)) }
    }

    /// Up to `limit` events from `from_position` on, in order.
    fn read_all(&self, from_position: u64, limit: usize) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send {
        self.read_range(from_position, u64::MAX, limit)
    }

    /// Like [`EventStore::read_all`], but only events recorded at or before `cutoff`: the log as
    /// it stood at that instant (recorded-at never decreases along the log).
    fn read_all_until(
        &self,
        from_position: u64,
        limit: usize,
        cutoff: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<StoredEvent>>> + Send {
        async move {
            let end = self.position_at(cutoff).await?;
            if end < from_position {
                return Ok(Vec::new());
            }
            self.read_range(from_position, end, limit).await
        }
    }

    /// Catch-up from `from_position`, then live.
    fn subscribe(&self, from_position: u64) -> Subscription<Self> {
        Subscription::new(self.clone(), from_position, None)
    }

    /// Like [`EventStore::subscribe`], reporting its position to `/metrics` under `name`.
    fn subscribe_named(&self, name: &str, from_position: u64) -> Subscription<Self> {
        Subscription::new(self.clone(), from_position, Some(name.to_owned()))
    }

    /// Recomputes the hash chain over the whole log.
    fn verify(&self) -> impl Future<Output = Result<Verification>> + Send {
        async move {
            let mut verifier = ChainVerifier::default();
            let mut from = 1;
            loop {
                let batch = self.read_all(from, 5_000).await?;
                let Some(last) = batch.last() else { break };
                from = last.global_position + 1;
                for e in &batch {
                    if let Err(b) = verifier.check(e) {
                        return Ok(Verification { checked: verifier.checked(), broken: Some(b) });
                    }
                }
            }
            Ok(Verification { checked: verifier.checked(), broken: None })
        }
    }
}

/// The outcome of [`EventStore::verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Events whose links were checked and found good.
    pub checked: u64,
    /// The first break, if any.
    pub broken: Option<ChainBreak>,
}

/// Counters kept by a store for `/metrics`.
#[derive(Debug, Default)]
pub struct StoreMetrics {
    pub events_appended: AtomicU64,
    pub appends: AtomicU64,
    pub conflicts: AtomicU64,
    pub idempotent_replays: AtomicU64,
    subscribers: Mutex<BTreeMap<String, u64>>,
}

impl StoreMetrics {
    pub(crate) fn record_append(&self, result: &Result<AppendResult>) {
        match result {
            Ok(r) if r.idempotent_replay => {
                self.idempotent_replays.fetch_add(1, Ordering::Relaxed);
            }
            Ok(r) => {
                self.appends.fetch_add(1, Ordering::Relaxed);
                self.events_appended.fetch_add(r.last_position - r.first_position + 1, Ordering::Relaxed);
            }
            Err(e) if e.is_conflict() => {
                self.conflicts.fetch_add(1, Ordering::Relaxed);
            }
            Err(_) => {}
        }
    }

    /// Records how far a named subscriber has got.
    pub fn set_subscriber_position(&self, name: &str, position: u64) {
        let mut subs = self.subscribers.lock().unwrap_or_else(|p| p.into_inner());
        subs.insert(name.to_owned(), position);
    }

    /// Each named subscriber and the last position it has handed out.
    pub fn subscriber_positions(&self) -> BTreeMap<String, u64> {
        self.subscribers.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Events from a position on: first those already stored, then each new commit as it lands.
///
/// Waiting is driven by commit notifications, not by polling; see [`EventStore::fallback_tick`].
#[derive(Debug)]
pub struct Subscription<S: EventStore> {
    store: S,
    next_position: u64,
    buffer: VecDeque<StoredEvent>,
    commits: watch::Receiver<u64>,
    name: Option<String>,
}

impl<S: EventStore> Subscription<S> {
    fn new(store: S, from_position: u64, name: Option<String>) -> Self {
        let commits = store.commits();
        Self { store, next_position: from_position.max(1), buffer: VecDeque::new(), commits, name }
    }

    /// The position of the next event this subscription will hand out.
    pub fn next_position(&self) -> u64 {
        self.next_position
    }

    /// The next event, waiting for one to be committed if needed.
    pub async fn next(&mut self) -> Result<StoredEvent> {
        loop {
            if let Some(e) = self.buffer.pop_front() {
                return Ok(e);
            }
            self.fill(512).await?;
        }
    }

    /// Up to `max` events that are ready now, waiting only when there are none.
    pub async fn next_batch(&mut self, max: usize) -> Result<Vec<StoredEvent>> {
        if self.buffer.is_empty() {
            self.fill(max).await?;
        }
        let n = self.buffer.len().min(max);
        Ok(self.buffer.drain(..n).collect())
    }

    /// Reads at least one event into the buffer, waiting for a commit when caught up.
    async fn fill(&mut self, max: usize) -> Result<()> {
        loop {
            // Mark the current notification as seen *before* reading, so a commit that lands
            // between the read and the wait still wakes us.
            self.commits.borrow_and_update();
            let batch = self.store.read_all(self.next_position, max.max(1)).await?;
            if let Some(last) = batch.last() {
                if last.global_position != self.next_position + batch.len() as u64 - 1 {
                    return Err(StoreError::Decode {
                        position: self.next_position,
                        problem: "the log has a gap".into(),
                    });
                }
                self.next_position = last.global_position + 1;
                if let Some(name) = &self.name {
                    self.store.metrics().set_subscriber_position(name, last.global_position);
                }
                self.buffer.extend(batch);
                return Ok(());
            }
            match self.store.fallback_tick() {
                Some(tick) => {
                    let _ = tokio::time::timeout(tick, self.commits.changed()).await;
                }
                None => {
                    if self.commits.changed().await.is_err() {
                        // The notifier is gone (store shutting down): wait instead of spinning.
                        std::future::pending::<()>().await;
                    }
                }
            }
        }
    }
}

/// [`EventStore::read_streams`] one stream at a time, each paged through to its end.
pub(crate) async fn stream_by_stream<S: EventStore>(
    store: &S,
    from: &[(StreamId, u64)],
) -> Result<Vec<Vec<StoredEvent>>> {
    const PAGE: usize = 10_000;
    let mut out = Vec::with_capacity(from.len());
    for (stream, version) in from {
        let mut events: Vec<StoredEvent> = Vec::new();
        let mut next = *version;
        loop {
            let page = store.read_stream(stream, next, Direction::Forwards, PAGE).await?;
            let full = page.len() == PAGE;
            if let Some(last) = page.last() {
                next = last.stream_version + 1;
            }
            events.extend(page);
            if !full {
                break;
            }
        }
        out.push(events);
    }
    Ok(out)
}
