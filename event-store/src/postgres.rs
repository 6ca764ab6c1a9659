//! The PostgreSQL backend.
//!
//! Ordering: every append takes the transaction-scoped advisory lock in `cairn_append_begin`
//! before it reads the head, assigns positions `head + 1 …` and inserts; the lock is released
//! only after the commit is visible. So positions are gap-free and become visible in order,
//! and a subscriber reading `position >= next` never skips a row that commits later with a
//! smaller position (the `bigserial` failure). It also keeps one global hash chain. The price
//! is one writer at a time, which batching makes cheap.
//!
//! Live subscribers are woken by `LISTEN cairn_events`; a trigger notifies on every insert,
//! from any process.

use std::str::FromStr;
use std::sync::{Arc, Once};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions, PgRow};
use sqlx::{PgPool, Row as _};
use tokio::sync::watch;
use uuid::Uuid;

use crate::append::{
    append_writes, build_rows, check_expected, ids, resolve_replay, validate_batch, validate_writes, ExistingEvent,
    Row, StreamWrite, WriteTx,
};
use crate::error::{Result, StoreError};
use crate::model::{AppendResult, Direction, ExpectedVersion, Head, NewEvent, StoredEvent, StreamId};
use crate::read::{Dialect, Reads};
use crate::sql::{self, to_i64};
use crate::store::{EventStore, StoreMetrics};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: PgPool,
    commits: Arc<watch::Sender<u64>>,
    listener: Once,
    metrics: Arc<StoreMetrics>,
    /// What this process knows of the stored Merkle tree.
    tree: crate::tree::TreeCache,
}

/// How long the first connection to a server may take before the open fails.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A pool of at most `max` connections to the server, after one plain connection proves it
/// answers: a pool only ever says "timed out" while it retries, so an unreachable server
/// (refused, unknown host, bad password) is reported by that first connection's own error,
/// within [`CONNECT_TIMEOUT`].
pub async fn connect_pool(options: PgConnectOptions, max: u32) -> std::result::Result<PgPool, sqlx::Error> {
    use sqlx::{ConnectOptions as _, Connection as _};
    let probe = tokio::time::timeout(CONNECT_TIMEOUT, options.connect()).await.map_err(|_| {
        sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!(
                "no answer from {}:{} within {} s",
                options.get_host(),
                options.get_port(),
                CONNECT_TIMEOUT.as_secs()
            ),
        ))
    })??;
    probe.close().await?;
    PgPoolOptions::new().max_connections(max).acquire_timeout(Duration::from_secs(10)).connect_with(options).await
}

impl PgStore {
    /// Connects to `postgres://…` and runs the embedded migrations.
    pub async fn open(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::InvalidUrl { url: url.to_owned(), problem: e.to_string() })?;
        let pool = connect_pool(options, 16).await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                pool,
                commits: Arc::new(watch::Sender::new(0)),
                listener: Once::new(),
                metrics: Arc::default(),
                tree: Default::default(),
            }),
        })
    }

    /// The connection pool, for the other tables of this crate (data keys).
    pub(crate) fn pool(&self) -> &PgPool {
        &self.inner.pool
    }

    pub(crate) fn tree_cache(&self) -> &crate::tree::TreeCache {
        &self.inner.tree
    }

    /// Inserts prepared rows with no lock, head read or version check: the benchmark baseline.
    pub(crate) async fn insert_unchecked(&self, stream: &StreamId, rows: &[Row]) -> Result<()> {
        let mut tx = self.inner.pool.begin().await?;
        insert_rows(&mut tx, &[(stream, rows)]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn append_checked(
        &self,
        stream: &StreamId,
        expected: ExpectedVersion,
        events: &[NewEvent],
    ) -> Result<AppendResult> {
        // The head must be read with a snapshot taken after the lock: READ COMMITTED gives each
        // statement a fresh one, whatever the server's default isolation is.
        let mut tx = self.inner.pool.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED").await?;
        let (head, version) = lock_and_read(&mut tx, stream).await?;
        if let Err(conflict) = check_expected(stream, expected, version) {
            drop(tx);
            let existing = self.existing_events(events).await?;
            return resolve_replay(stream, events, &existing)?.ok_or(conflict);
        }
        let rows = build_rows(head.as_ref(), stream, version, events, Utc::now())?;
        let inserted = insert_rows(&mut tx, &[(stream, &rows)]).await;
        if let Err(e) = inserted {
            // The failed statement aborted the transaction; look the ids up outside it.
            drop(tx);
            if e.is_unique_violation() {
                let existing = self.existing_events(events).await?;
                if let Some(replay) = resolve_replay(stream, events, &existing)? {
                    return Ok(replay);
                }
            }
            return Err(e);
        }
        tx.commit().await?;
        self.inner.tree.appended(crate::append::leaves(&rows));
        let last = rows.last().expect("validated batches are not empty");
        Ok(AppendResult {
            first_position: rows[0].global_position,
            last_position: last.global_position,
            stream_version: last.stream_version,
            idempotent_replay: false,
        })
    }

    async fn existing_events(&self, events: &[NewEvent]) -> Result<Vec<ExistingEvent>> {
        existing_events(&self.inner.pool, &ids(events)).await
    }

    /// Starts, once, the task that turns `NOTIFY cairn_events` into wake-ups for subscribers.
    fn start_listener(&self) {
        self.inner.listener.call_once(|| {
            let pool = self.inner.pool.clone();
            let commits = Arc::clone(&self.inner.commits);
            tokio::spawn(async move {
                loop {
                    match PgListener::connect_with(&pool).await {
                        Ok(mut listener) => {
                            if listener.listen("cairn_events").await.is_ok() {
                                // Anything committed before LISTEN took effect: re-read.
                                commits.send_modify(|n| *n += 1);
                                // `try_recv` yields `None` after a reconnect, when notifications
                                // may have been missed: wake readers then too.
                                while listener.try_recv().await.is_ok() {
                                    commits.send_modify(|n| *n += 1);
                                }
                            }
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot LISTEN for new events; retrying"),
                    }
                    if pool.is_closed() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    commits.send_modify(|n| *n += 1);
                }
            });
        });
    }
}

/// Inserts each stream's rows in one statement.
async fn insert_rows(conn: &mut sqlx::PgConnection, batches: &[(&StreamId, &[Row])]) -> Result<()> {
    let rows = || batches.iter().flat_map(|(_, rows)| rows.iter());
    let positions: Vec<i64> = rows().map(|r| r.global_position as i64).collect();
    let streams: Vec<&str> = batches.iter().flat_map(|(s, rows)| rows.iter().map(|_| s.as_str())).collect();
    let versions: Vec<i64> = rows().map(|r| r.stream_version as i64).collect();
    let ids: Vec<Uuid> = rows().map(|r| r.event_id).collect();
    let types: Vec<&str> = rows().map(|r| r.event_type.as_str()).collect();
    let schema_versions: Vec<i32> = rows().map(|r| r.schema_version as i32).collect();
    let payloads: Vec<&[u8]> = rows().map(|r| r.payload.as_slice()).collect();
    let metadata: Vec<&[u8]> = rows().map(|r| r.metadata.as_slice()).collect();
    let recorded_at: Vec<DateTime<Utc>> =
        rows().map(|r| DateTime::from_timestamp_micros(r.recorded_at_micros).unwrap_or_default()).collect();
    let prev: Vec<&[u8]> = rows().map(|r| r.prev_hash.as_slice()).collect();
    let hashes: Vec<&[u8]> = rows().map(|r| r.hash.as_slice()).collect();
    sqlx::query(concat!(
        "INSERT INTO events (",
        sql::columns!(),
        ") SELECT p, s, v, id, t, sv, pl, md, at, ph, h \
         FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::uuid[], $5::text[], $6::int[], $7::bytea[], \
                     $8::bytea[], $9::timestamptz[], $10::bytea[], $11::bytea[]) \
              AS u(p, s, v, id, t, sv, pl, md, at, ph, h)"
    ))
    .bind(&positions)
    .bind(&streams)
    .bind(&versions)
    .bind(&ids)
    .bind(&types)
    .bind(&schema_versions)
    .bind(&payloads)
    .bind(&metadata)
    .bind(&recorded_at)
    .bind(&prev)
    .bind(&hashes)
    .execute(conn)
    .await?;
    Ok(())
}

async fn existing_events<'e, E: sqlx::Executor<'e, Database = sqlx::Postgres>>(
    db: E,
    ids: &[Uuid],
) -> Result<Vec<ExistingEvent>> {
    let rows = sqlx::query(&format!("{}WHERE event_id = ANY($1) ORDER BY global_position", sql::SELECT_EXISTING))
        .bind(ids)
        .fetch_all(db)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ExistingEvent {
                event_id: r.try_get(0)?,
                stream_id: r.try_get(1)?,
                global_position: r.try_get::<i64, _>(2)? as u64,
                stream_version: r.try_get::<i64, _>(3)? as u64,
                event_type: r.try_get(4)?,
                schema_version: r.try_get::<i32, _>(5)? as u32,
                payload: r.try_get(6)?,
            })
        })
        .collect()
}

/// Takes the append lock (held until the transaction ends) and reads the head and the
/// stream's version under it.
async fn lock_and_read(conn: &mut sqlx::PgConnection, stream: &StreamId) -> Result<(Option<Head>, u64)> {
    let begin = sqlx::query("SELECT * FROM cairn_append_begin($1)").bind(stream.as_str()).fetch_one(conn).await?;
    let head = match begin.try_get::<Option<i64>, _>(0)? {
        Some(position) => {
            Some(Head { position: position as u64, hash: begin.try_get(1)?, recorded_at: begin.try_get(2)? })
        }
        None => None,
    };
    Ok((head, begin.try_get::<i64, _>(3)? as u64))
}

/// A PostgreSQL write transaction holding the append lock, for the multi-stream append.
struct PgWrite<'c>(&'c mut sqlx::PgConnection);

impl WriteTx for PgWrite<'_> {
    const STATEMENT_ROLLBACK: bool = false;

    async fn stream_versions(&mut self, streams: &[&StreamId]) -> Result<Vec<u64>> {
        let names: Vec<&str> = streams.iter().map(|s| s.as_str()).collect();
        let versions: Vec<Option<i64>> = sqlx::query_scalar(
            "SELECT (SELECT MAX(stream_version) FROM events WHERE stream_id = q.s) \
             FROM unnest($1::text[]) WITH ORDINALITY AS q(s, n) ORDER BY q.n",
        )
        .bind(&names)
        .fetch_all(&mut *self.0)
        .await?;
        Ok(versions.into_iter().map(|v| v.unwrap_or(0) as u64).collect())
    }
    async fn existing(&mut self, ids: &[Uuid]) -> Result<Vec<ExistingEvent>> {
        existing_events(&mut *self.0, ids).await
    }
    async fn insert(&mut self, batches: &[(&StreamId, &[Row])]) -> Result<()> {
        insert_rows(self.0, batches).await
    }
}

/// PostgreSQL's way with rows and instants (`uuid` ids, `timestamptz` instants).
pub(crate) struct Pg;

impl Dialect for Pg {
    type Db = sqlx::Postgres;
    type Instant = DateTime<Utc>;

    fn instant(t: DateTime<Utc>) -> DateTime<Utc> {
        t
    }

    fn event(r: &PgRow) -> Result<StoredEvent> {
        Ok(StoredEvent {
            global_position: r.try_get::<i64, _>(0)? as u64,
            stream_id: StreamId::from_stored(r.try_get(1)?),
            stream_version: r.try_get::<i64, _>(2)? as u64,
            event_id: r.try_get(3)?,
            event_type: r.try_get(4)?,
            schema_version: r.try_get::<i32, _>(5)? as u32,
            payload: r.try_get(6)?,
            metadata: r.try_get(7)?,
            recorded_at: r.try_get(8)?,
            prev_hash: r.try_get(9)?,
            hash: r.try_get(10)?,
        })
    }

    fn head(r: &PgRow) -> Result<Head> {
        Ok(Head { position: r.try_get::<i64, _>(0)? as u64, hash: r.try_get(1)?, recorded_at: r.try_get(2)? })
    }

    fn number(r: &PgRow) -> Result<Option<i64>> {
        Ok(r.try_get(0)?)
    }
}

impl PgStore {
    fn reads(&self) -> Reads<'_, Pg> {
        Reads::new(&self.inner.pool)
    }
}

/// `$1` streams, `$2` each one's first version: every event of each, in the order asked (the
/// request's ordinal last), through the `(stream_id, stream_version)` index.
const SELECT_STREAMS: &str = concat!(
    "SELECT ",
    sql::columns!(),
    ", q.n FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS q(sid, from_version, n) \
     JOIN events ON events.stream_id = q.sid AND events.stream_version >= q.from_version \
     ORDER BY q.n, events.stream_version"
);

impl EventStore for PgStore {
    async fn append_many(&self, writes: &[StreamWrite<'_>]) -> Result<Vec<AppendResult>> {
        validate_writes(writes)?;
        let mut tx = self.inner.pool.begin_with("BEGIN ISOLATION LEVEL READ COMMITTED").await?;
        let (head, _) = lock_and_read(&mut tx, writes[0].stream).await?;
        let (results, written) = append_writes(&mut PgWrite(&mut tx), head, writes, Utc::now()).await?;
        tx.commit().await?;
        self.inner.tree.appended(written);
        for r in &results {
            self.inner.metrics.record_append(&Ok(*r));
        }
        Ok(results)
    }

    async fn append(&self, stream: &StreamId, expected: ExpectedVersion, events: &[NewEvent]) -> Result<AppendResult> {
        validate_batch(events)?;
        let result = self.append_checked(stream, expected, events).await;
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

    async fn read_range(&self, from_position: u64, up_to: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        self.reads().range(from_position, up_to, limit).await
    }

    async fn read_streams(&self, from: &[(StreamId, u64)]) -> Result<Vec<Vec<StoredEvent>>> {
        let streams: Vec<&str> = from.iter().map(|(s, _)| s.as_str()).collect();
        let versions: Vec<i64> = from.iter().map(|(_, v)| to_i64(*v)).collect();
        let rows = sqlx::query(SELECT_STREAMS).bind(&streams).bind(&versions).fetch_all(&self.inner.pool).await?;
        let mut out: Vec<Vec<StoredEvent>> = (0..from.len()).map(|_| Vec::new()).collect();
        for r in &rows {
            let (event, n) = (Pg::event(r)?, r.try_get::<i64, _>(11)?);
            let Some(slot) = usize::try_from(n - 1).ok().and_then(|i| out.get_mut(i)) else {
                let problem = format!("read for request {n} of {}", from.len());
                return Err(StoreError::Decode { position: event.global_position, problem });
            };
            slot.push(event);
        }
        Ok(out)
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
        self.start_listener();
        self.inner.commits.subscribe()
    }

    fn fallback_tick(&self) -> Option<Duration> {
        // Only a safety net: LISTEN wakes subscribers at once, but a half-open socket would
        // otherwise stall them without an error.
        Some(Duration::from_secs(30))
    }

    fn metrics(&self) -> &Arc<StoreMetrics> {
        &self.inner.metrics
    }
}
