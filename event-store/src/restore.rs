//! Writing a log back from a backup or a primary, exactly as it was recorded: the same global
//! positions, stream versions, event ids, recorded-at instants and hashes, so a restored or
//! replicated store's chain and Merkle tree are the original's. Every event is checked before
//! it is written: it follows the store's head (the next position, its `prev_hash` the head's
//! hash), its hash is the SHA-256 the chain defines, its stream version follows its stream's,
//! and recorded-at never goes backwards. A batch is one transaction: all of it or none.
//!
//! The per-subject data keys are restored beside it ([`KeyRecord`]), destroyed ones staying
//! destroyed.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Postgres, QueryBuilder, Row as _, Sqlite};

use crate::backend::Store;
use crate::error::{Result, StoreError};
use crate::hash::{ChainBreak, ChainVerifier};
use crate::model::{Head, StoredEvent};
use crate::sql;
use crate::store::EventStore;

/// Rows per INSERT statement (SQLite binds 11 values a row, within its 32,766 limit).
const CHUNK: usize = 2_000;

/// A per-subject data key as the key table holds it: the wrapped key, or none once destroyed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyRecord {
    pub subject: String,
    #[serde(with = "serde_bytes")]
    pub wrapped_key: Option<Vec<u8>>,
    pub created_at: DateTime<Utc>,
    pub destroyed_at: Option<DateTime<Utc>>,
}

/// Writes events recorded elsewhere after this store's head, checking each ([module
/// docs](self)).
#[derive(Debug)]
pub struct Restorer<'a> {
    store: &'a Store,
    chain: ChainVerifier,
    last_recorded: Option<DateTime<Utc>>,
    versions: HashMap<String, u64>,
}

fn refused(position: u64, problem: impl Into<String>) -> StoreError {
    StoreError::InvalidAppend(format!("restoring position {position}: {}", problem.into()))
}

impl<'a> Restorer<'a> {
    /// Starts after `store`'s head (an empty store: from position 1).
    pub async fn new(store: &'a Store) -> Result<Self> {
        let head = store.head().await?;
        Ok(Self {
            store,
            chain: ChainVerifier::after(head.as_ref()),
            last_recorded: head.map(|Head { recorded_at, .. }| recorded_at),
            versions: HashMap::new(),
        })
    }

    /// The position the next event must have.
    pub fn next_position(&self) -> u64 {
        self.chain.checked() + 1
    }

    /// Checks `events` and writes them in one transaction.
    pub async fn push(&mut self, events: &[StoredEvent]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let chain_before = self.chain.clone();
        let (recorded_before, versions_before) = (self.last_recorded, self.versions.clone());
        let checked = self.check(events).await;
        let written = match checked {
            Ok(()) => match self.store {
                Store::Sqlite(s) => insert_sqlite(s.pool(), events).await,
                Store::Postgres(s) => insert_postgres(s.pool(), events).await,
            },
            Err(e) => Err(e),
        };
        if written.is_err() {
            self.chain = chain_before;
            self.last_recorded = recorded_before;
            self.versions = versions_before;
        }
        written
    }

    async fn check(&mut self, events: &[StoredEvent]) -> Result<()> {
        for e in events {
            self.chain.check(e).map_err(|b| match b {
                ChainBreak::Gap { expected, found } => {
                    refused(found, format!("the store's next position is {expected}"))
                }
                other => refused(e.global_position, other.to_string()),
            })?;
            if self.last_recorded.is_some_and(|last| e.recorded_at < last) {
                return Err(refused(e.global_position, "recorded before the event it follows"));
            }
            self.last_recorded = Some(e.recorded_at);
            let current = match self.versions.get(e.stream_id.as_str()) {
                Some(v) => *v,
                None => self.store.stream_version(&e.stream_id).await?,
            };
            if e.stream_version != current + 1 {
                return Err(refused(
                    e.global_position,
                    format!("stream {} is at version {current}, not {}", e.stream_id, e.stream_version - 1),
                ));
            }
            self.versions.insert(e.stream_id.as_str().to_owned(), e.stream_version);
        }
        Ok(())
    }
}

/// One transaction of `INSERT`s of `events`, `CHUNK` rows each, on `$pool` of `$db`; the
/// backends differ only in how an event id, a schema version and an instant are bound.
macro_rules! insert_events {
    ($db:ty, $pool:expr, $events:expr, |$e:ident| ($id:expr, $schema:expr, $at:expr)) => {{
        let mut tx = $pool.begin().await?;
        for chunk in $events.chunks(CHUNK) {
            let mut q = QueryBuilder::<$db>::new(concat!("INSERT INTO events (", sql::columns!(), ") "));
            q.push_values(chunk, |mut b, $e| {
                b.push_bind(sql::to_i64($e.global_position))
                    .push_bind($e.stream_id.as_str())
                    .push_bind(sql::to_i64($e.stream_version))
                    .push_bind($id)
                    .push_bind($e.event_type.as_str())
                    .push_bind($schema)
                    .push_bind($e.payload.as_slice())
                    .push_bind($e.metadata.as_slice())
                    .push_bind($at)
                    .push_bind($e.prev_hash.as_slice())
                    .push_bind($e.hash.as_slice());
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }};
}

async fn insert_sqlite(pool: &sqlx::SqlitePool, events: &[StoredEvent]) -> Result<()> {
    insert_events!(Sqlite, pool, events, |e| (
        e.event_id.as_bytes().as_slice(),
        i64::from(e.schema_version),
        e.recorded_at.timestamp_micros()
    ))
}

async fn insert_postgres(pool: &sqlx::PgPool, events: &[StoredEvent]) -> Result<()> {
    insert_events!(Postgres, pool, events, |e| (
        e.event_id,
        i32::try_from(e.schema_version).unwrap_or(i32::MAX),
        e.recorded_at
    ))
}

const SELECT_KEYS: &str = "SELECT subject, wrapped_key, created_at, destroyed_at FROM data_keys ORDER BY subject";
const INSERT_KEY: &str =
    "INSERT INTO data_keys (subject, wrapped_key, created_at, destroyed_at) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (subject) DO NOTHING";

fn micros(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(v).unwrap_or_default()
}

/// Reads every key row of `$pool`, turning the stored instants into `DateTime`s with `$at`.
macro_rules! read_keys {
    ($pool:expr, $instant:ty, $at:expr) => {
        sqlx::query(SELECT_KEYS)
            .fetch_all($pool)
            .await?
            .iter()
            .map(|r| {
                Ok(KeyRecord {
                    subject: r.try_get(0)?,
                    wrapped_key: r.try_get(1)?,
                    created_at: $at(r.try_get::<$instant, _>(2)?),
                    destroyed_at: r.try_get::<Option<$instant>, _>(3)?.map($at),
                })
            })
            .collect()
    };
}

/// Inserts `$keys` on `$pool` in one transaction, binding instants with `$at`.
macro_rules! write_keys {
    ($pool:expr, $keys:expr, $at:expr) => {{
        let mut tx = $pool.begin().await?;
        for k in $keys {
            sqlx::query(INSERT_KEY)
                .bind(&k.subject)
                .bind(k.wrapped_key.as_deref())
                .bind($at(k.created_at))
                .bind(k.destroyed_at.map($at))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
    }};
}

impl Store {
    /// Every per-subject data key, by subject.
    pub async fn data_keys(&self) -> Result<Vec<KeyRecord>> {
        match self {
            Store::Sqlite(s) => read_keys!(s.pool(), i64, micros),
            Store::Postgres(s) => read_keys!(s.pool(), DateTime<Utc>, |t| t),
        }
    }

    /// Restores data keys; a subject the store already has keeps its own.
    pub async fn restore_data_keys(&self, keys: &[KeyRecord]) -> Result<()> {
        match self {
            Store::Sqlite(s) => write_keys!(s.pool(), keys, |t: DateTime<Utc>| t.timestamp_micros()),
            Store::Postgres(s) => write_keys!(s.pool(), keys, |t: DateTime<Utc>| t),
        }
        Ok(())
    }
}
