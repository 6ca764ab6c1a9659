//! The embedded backend: one SQLite file in WAL mode with `synchronous=FULL`, so every
//! committed append is on disk when `append` returns.
//!
//! Appends are serialised twice: an in-process mutex (so writers queue without spinning on
//! SQLite's busy handler) and `BEGIN IMMEDIATE` (so a writer in another process cannot slip in
//! between reading the head and inserting). Live subscribers are woken in-process; commits from
//! other processes are noticed on a one-second tick.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{QueryBuilder, Row as _, Sqlite, SqliteConnection, SqlitePool};
use tokio::sync::{watch, Mutex};
use uuid::Uuid;

use crate::append::{
    append_writes, build_rows, check_expected, ids, resolve_replay, validate_batch, validate_writes, ExistingEvent,
    Row, StreamWrite, WriteTx,
};
use crate::bulk::BulkReader;
use crate::error::{Result, StoreError};
use crate::model::{AppendResult, Direction, ExpectedVersion, Head, NewEvent, StoredEvent, StreamId};
use crate::read::{Dialect, Reads};
use crate::sql::{self, to_i64};
use crate::store::{EventStore, StoreMetrics};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

/// Rows per INSERT statement (11 parameters each, well under SQLite's 32,766).
const INSERT_CHUNK: usize = 1_000;

/// The page cache of each SQLite connection, in KiB as SQLite's `cache_size` takes it
/// (negative: KiB). The store keeps up to 9 connections and 4 for reading ranges, the read
/// models 4 and 8 read-only beside them; pages beyond the caches come from the operating
/// system's file cache, and [`SOFT_HEAP_LIMIT`] bounds them all together.
pub const CACHE_SIZE: &str = "-16384";

/// The bound, in bytes, on all SQLite memory of the process (caches included): past it,
/// SQLite frees cache pages before allocating more (`PRAGMA soft_heap_limit`, process-wide).
/// With 25 connections at [`CACHE_SIZE`] a server could otherwise hold 400 MiB of caches.
pub const SOFT_HEAP_LIMIT: &str = "100663296";

#[derive(Debug, Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: SqlitePool,
    write_lock: Mutex<()>,
    commits: watch::Sender<u64>,
    metrics: Arc<StoreMetrics>,
    /// Ranges of a file's log are read here (none in memory: that database lives in the pool's
    /// one connection).
    bulk: Option<Arc<BulkReader>>,
    /// What this process knows of the stored Merkle tree.
    tree: crate::tree::TreeCache,
}

impl SqliteStore {
    /// Opens `sqlite://PATH` (creating the file and its folder) or `sqlite::memory:`, and
    /// runs the embedded migrations.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, true).await
    }

    /// The database file of `sqlite://PATH` and its `-wal` and `-shm` companions (none in memory).
    pub fn files(url: &str) -> Vec<std::path::PathBuf> {
        if !url.starts_with("sqlite:") || url.contains(":memory:") || url.contains("mode=memory") {
            return Vec::new();
        }
        let Ok(options) = SqliteConnectOptions::from_str(url) else { return Vec::new() };
        let db = options.get_filename().to_path_buf();
        let with = |suffix: &str| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            std::path::PathBuf::from(name)
        };
        vec![with("-wal"), with("-shm"), db.clone()]
    }

    /// Like [`SqliteStore::open`], but a missing file is an error when `create` is false (so
    /// a mistyped path given to a reading command is not mistaken for an empty ledger).
    pub async fn open_with(url: &str, create: bool) -> Result<Self> {
        let bad = |problem: String| StoreError::InvalidUrl { url: url.to_owned(), problem };
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| bad(e.to_string()))?
            .create_if_missing(create)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true)
            // sqlx hands rows from its SQLite worker thread over a bounded channel; the default
            // of 50 makes the two threads ping-pong on every few rows of a large read.
            .row_buffer_size(4096)
            .pragma("cache_size", CACHE_SIZE)
            .pragma("soft_heap_limit", SOFT_HEAP_LIMIT)
            .pragma("wal_autocheckpoint", "8192")
            // A multi-row INSERT inside a transaction keeps a statement journal (to undo just
            // that statement on a constraint failure): in memory, not a temporary file written
            // page by page, which a backfill of a million events paid for in every statement.
            .pragma("temp_store", "memory");
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory && !create && !options.get_filename().exists() {
            return Err(bad(format!(
                "no database at {} (commands that write, such as `cairn serve` or `cairn ledger import`, create it)",
                options.get_filename().display()
            )));
        }
        if !in_memory {
            if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| bad(format!("cannot create folder {}: {e}", dir.display())))?;
            }
        }
        let file = options.get_filename().to_path_buf();
        // An in-memory database lives in one connection; keep exactly one, forever.
        let pool = if in_memory {
            SqlitePoolOptions::new().max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(8)
        }
        .connect_with(options)
        .await?;
        MIGRATOR.run(&pool).await?;
        let bulk = (!in_memory).then(|| Arc::new(BulkReader::new(file, CACHE_SIZE)));
        let head = Reads::<Lite>::new(&pool).head().await?.map_or(0, |h| h.position);
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                write_lock: Mutex::new(()),
                commits: watch::Sender::new(head),
                metrics: Arc::default(),
                bulk,
                tree: Default::default(),
            }),
        })
    }

    /// The connection pool, for the other tables of this crate (data keys).
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.inner.pool
    }

    pub(crate) fn tree_cache(&self) -> &crate::tree::TreeCache {
        &self.inner.tree
    }

    /// The in-process writers' queue, for this crate's other writes that must not interleave
    /// with appends (the stored tree's nodes).
    pub(crate) fn write_lock(&self) -> &Mutex<()> {
        &self.inner.write_lock
    }

    /// Inserts prepared rows with no lock, head read or version check: the benchmark baseline.
    pub(crate) async fn insert_unchecked(&self, stream: &StreamId, rows: &[Row]) -> Result<()> {
        let mut tx = self.inner.pool.begin().await?;
        insert_rows(&mut tx, stream, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn append_locked(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult> {
        let _writer = self.inner.write_lock.lock().await;
        let mut tx = self.inner.pool.begin_with("BEGIN IMMEDIATE").await?;
        let head = head_of(&mut tx).await?;
        let version = stream_version_of(&mut tx, stream).await?;
        if let Err(conflict) = check_expected(stream, expected, version) {
            let existing = existing_events(&mut tx, &ids(events)).await?;
            return resolve_replay(stream, events, &existing)?.ok_or(conflict);
        }
        let rows = build_rows(head.as_ref(), stream, version, events, Utc::now())?;
        if let Err(e) = insert_rows(&mut tx, stream, &rows).await {
            // A constraint failure undoes only the statement in SQLite, so the transaction can
            // still tell a replay (same ids, same content) from a misuse of ids.
            if e.is_unique_violation() {
                let existing = existing_events(&mut tx, &ids(events)).await?;
                if let Some(replay) = resolve_replay(stream, events, &existing)? {
                    return Ok(replay);
                }
            }
            return Err(e);
        }
        tx.commit().await?;
        let last = rows.last().expect("validated batches are not empty");
        self.inner.commits.send_replace(last.global_position);
        self.inner.tree.appended(crate::append::leaves(&rows));
        Ok(AppendResult {
            first_position: rows[0].global_position,
            last_position: last.global_position,
            stream_version: last.stream_version,
            idempotent_replay: false,
        })
    }
}

async fn head_of(conn: &mut SqliteConnection) -> Result<Option<Head>> {
    let row = sqlx::query(sql::SELECT_HEAD).fetch_optional(conn).await?;
    row.as_ref().map(Lite::head).transpose()
}

async fn stream_version_of(conn: &mut SqliteConnection, stream: &StreamId) -> Result<u64> {
    let v: Option<i64> = sqlx::query_scalar(sql::SELECT_STREAM_VERSION).bind(stream.as_str()).fetch_one(conn).await?;
    Ok(v.unwrap_or(0) as u64)
}

async fn insert_rows(conn: &mut SqliteConnection, stream: &StreamId, rows: &[Row]) -> Result<()> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(concat!("INSERT INTO events (", sql::columns!(), ") "));
        q.push_values(chunk, |mut b, r| {
            b.push_bind(r.global_position as i64)
                .push_bind(stream.as_str())
                .push_bind(r.stream_version as i64)
                .push_bind(r.event_id.as_bytes().as_slice())
                .push_bind(r.event_type.as_str())
                .push_bind(i64::from(r.schema_version))
                .push_bind(r.payload.as_slice())
                .push_bind(r.metadata.as_slice())
                .push_bind(r.recorded_at_micros)
                .push_bind(r.prev_hash.as_slice())
                .push_bind(r.hash.as_slice());
        });
        q.build().persistent(true).execute(&mut *conn).await?;
    }
    Ok(())
}

async fn existing_events(conn: &mut SqliteConnection, ids: &[Uuid]) -> Result<Vec<ExistingEvent>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(500) {
        let mut q = QueryBuilder::<Sqlite>::new(sql::SELECT_EXISTING);
        q.push("WHERE event_id IN (");
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(id.as_bytes().to_vec());
        }
        q.push(") ORDER BY global_position");
        for r in q.build().fetch_all(&mut *conn).await? {
            found.push(ExistingEvent {
                event_id: uuid_from(&r.try_get::<Vec<u8>, _>(0)?),
                stream_id: r.try_get(1)?,
                global_position: r.try_get::<i64, _>(2)? as u64,
                stream_version: r.try_get::<i64, _>(3)? as u64,
                event_type: r.try_get(4)?,
                schema_version: r.try_get::<i64, _>(5)? as u32,
                payload: r.try_get(6)?,
            });
        }
    }
    found.sort_by_key(|x| x.global_position);
    Ok(found)
}

pub(crate) fn uuid_from(bytes: &[u8]) -> Uuid {
    Uuid::from_slice(bytes).unwrap_or(Uuid::nil())
}

pub(crate) fn micros_to_time(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).unwrap_or_default()
}

/// SQLite's way with rows and instants (ids as 16-byte BLOBs, instants as microseconds).
pub(crate) struct Lite;

impl Dialect for Lite {
    type Db = Sqlite;
    type Instant = i64;

    fn instant(t: DateTime<Utc>) -> i64 {
        t.timestamp_micros()
    }

    fn event(r: &SqliteRow) -> Result<StoredEvent> {
        Ok(StoredEvent {
            global_position: r.try_get::<i64, _>(0)? as u64,
            stream_id: StreamId::from_stored(r.try_get(1)?),
            stream_version: r.try_get::<i64, _>(2)? as u64,
            event_id: uuid_from(r.try_get_unchecked::<&[u8], _>(3)?),
            event_type: r.try_get(4)?,
            schema_version: r.try_get::<i64, _>(5)? as u32,
            payload: r.try_get(6)?,
            metadata: r.try_get(7)?,
            recorded_at: micros_to_time(r.try_get(8)?),
            prev_hash: r.try_get(9)?,
            hash: r.try_get(10)?,
        })
    }

    fn head(r: &SqliteRow) -> Result<Head> {
        Ok(Head {
            position: r.try_get::<i64, _>(0)? as u64,
            hash: r.try_get(1)?,
            recorded_at: micros_to_time(r.try_get(2)?),
        })
    }

    fn number(r: &SqliteRow) -> Result<Option<i64>> {
        Ok(r.try_get(0)?)
    }
}

impl SqliteStore {
    fn reads(&self) -> Reads<'_, Lite> {
        Reads::new(&self.inner.pool)
    }
}

/// A SQLite write transaction, for the multi-stream append.
struct SqliteWrite<'c>(&'c mut SqliteConnection);

impl WriteTx for SqliteWrite<'_> {
    const STATEMENT_ROLLBACK: bool = true;

    async fn stream_versions(&mut self, streams: &[&StreamId]) -> Result<Vec<u64>> {
        let mut versions = Vec::with_capacity(streams.len());
        for stream in streams {
            versions.push(stream_version_of(self.0, stream).await?);
        }
        Ok(versions)
    }
    async fn existing(&mut self, ids: &[Uuid]) -> Result<Vec<ExistingEvent>> {
        existing_events(self.0, ids).await
    }
    async fn insert(&mut self, batches: &[(&StreamId, &[Row])]) -> Result<()> {
        for (stream, rows) in batches {
            insert_rows(self.0, stream, rows).await?;
        }
        Ok(())
    }
}

impl EventStore for SqliteStore {
    async fn append_many(&self, writes: &[StreamWrite<'_>]) -> Result<Vec<AppendResult>> {
        validate_writes(writes)?;
        let _writer = self.inner.write_lock.lock().await;
        let mut tx = self.inner.pool.begin_with("BEGIN IMMEDIATE").await?;
        let head = head_of(&mut tx).await?;
        let (results, written) = append_writes(&mut SqliteWrite(&mut tx), head, writes, Utc::now()).await?;
        tx.commit().await?;
        if let Some((last, _)) = written.last() {
            self.inner.commits.send_replace(*last);
        }
        self.inner.tree.appended(written);
        for r in &results {
            self.inner.metrics.record_append(&Ok(*r));
        }
        Ok(results)
    }

    async fn append(&self, stream: &StreamId, expected: ExpectedVersion, events: &[NewEvent]) -> Result<AppendResult> {
        validate_batch(events)?;
        let result = self.append_locked(stream, expected, events).await;
        self.inner.metrics.record_append(&result);
        result
    }

    async fn read_stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        self.reads().stream(stream, from_version, direction, limit).await
    }

    async fn read_streams(&self, from: &[(StreamId, u64)]) -> Result<Vec<Vec<StoredEvent>>> {
        let Some(bulk) = &self.inner.bulk else { return crate::store::stream_by_stream(self, from).await };
        let bulk = bulk.clone();
        let from: Vec<(String, i64)> = from.iter().map(|(s, v)| (s.as_str().to_owned(), to_i64(*v))).collect();
        tokio::task::spawn_blocking(move || bulk.streams(&from))
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::WorkerCrashed))?
    }

    async fn read_range(&self, from_position: u64, up_to: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        let Some(bulk) = &self.inner.bulk else { return self.reads().range(from_position, up_to, limit).await };
        let bulk = bulk.clone();
        let (from, up_to, limit) = (to_i64(from_position), to_i64(up_to), to_i64(limit as u64));
        tokio::task::spawn_blocking(move || bulk.range(from, up_to, limit))
            .await
            .map_err(|_| StoreError::Database(sqlx::Error::WorkerCrashed))?
    }

    async fn position_at(&self, instant: DateTime<Utc>) -> Result<u64> {
        self.reads().position_at(instant).await
    }

    async fn head(&self) -> Result<Option<Head>> {
        self.reads().head().await
    }

    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        self.reads().stream_version(stream).await
    }

    async fn load_checkpoint(&self, name: &str) -> Result<u64> {
        self.reads().checkpoint(name).await
    }

    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<()> {
        self.reads().save_checkpoint(name, position).await
    }

    fn commits(&self) -> watch::Receiver<u64> {
        self.inner.commits.subscribe()
    }

    fn fallback_tick(&self) -> Option<Duration> {
        Some(Duration::from_secs(1))
    }

    fn metrics(&self) -> &Arc<StoreMetrics> {
        &self.inner.metrics
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ExpectedVersion;

    /// The bulk path reads exactly what the sqlx path reads, field for field, in every range
    /// shape (from the start, a middle window, a limit, past the head).
    #[tokio::test]
    async fn bulk_reads_equal_pooled_reads() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&format!("sqlite://{}/log.db", dir.path().display())).await.unwrap();
        assert!(store.inner.bulk.is_some());
        let stream = StreamId::new("benchread-bulk").unwrap();
        let events = crate::bench::bench_events(2_500, 7).unwrap();
        for (i, chunk) in events.chunks(1_000).enumerate() {
            let expected = if i == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Any };
            store.append(&stream, expected, chunk).await.unwrap();
        }
        for (from, up_to, limit) in
            [(1, u64::MAX, 10_000), (700, 1_900, 10_000), (5, u64::MAX, 33), (2_501, u64::MAX, 9)]
        {
            let bulk = store.read_range(from, up_to, limit).await.unwrap();
            let pooled = store.reads().range(from, up_to, limit).await.unwrap();
            assert_eq!(bulk, pooled, "range {from}..={up_to} limit {limit}");
        }
        assert_eq!(store.read_range(1, u64::MAX, 10_000).await.unwrap().len(), 2_500);
        assert_eq!(store.read_range(700, 1_900, 10_000).await.unwrap().len(), 1_201);
        // A range read right after an append sees it.
        store.append(&stream, ExpectedVersion::Any, &crate::bench::bench_events(1, 8).unwrap()).await.unwrap();
        assert_eq!(store.read_range(2_501, u64::MAX, 10).await.unwrap().len(), 1);
    }
}
