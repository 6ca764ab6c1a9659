//! The read half both backends share: the statements of [`crate::sql`] run through a sqlx pool,
//! with each backend's [`Dialect`] for what differs (how a row decodes and how an instant is
//! bound: SQLite keeps the event id as a 16-byte BLOB and instants as integer microseconds,
//! PostgreSQL as `uuid` and `timestamptz`).

use std::marker::PhantomData;

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, IntoArguments, Pool, Type};

use crate::error::Result;
use crate::model::{Direction, Head, StoredEvent, StreamId};
use crate::sql::{self, to_i64};

/// What a backend's reads do their own way.
pub(crate) trait Dialect: Send + Sync + 'static {
    type Db: Database;
    /// An instant as the backend's `recorded_at` and `updated_at` columns hold it.
    type Instant: for<'q> Encode<'q, Self::Db> + Type<Self::Db> + Send + 'static;

    fn instant(t: DateTime<Utc>) -> Self::Instant;
    /// A row of [`sql::columns`].
    fn event(row: &<Self::Db as Database>::Row) -> Result<StoredEvent>;
    /// A row of [`sql::SELECT_HEAD`].
    fn head(row: &<Self::Db as Database>::Row) -> Result<Head>;
    /// The first column of a row, a BIGINT that may be NULL.
    fn number(row: &<Self::Db as Database>::Row) -> Result<Option<i64>>;
}

/// The reads of the log and its checkpoints through one pool.
pub(crate) struct Reads<'p, D: Dialect> {
    pool: &'p Pool<D::Db>,
    dialect: PhantomData<D>,
}

impl<'p, D: Dialect> Reads<'p, D>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
    for<'q> i64: Encode<'q, D::Db> + Type<D::Db>,
    for<'q> &'q str: Encode<'q, D::Db> + Type<D::Db>,
{
    pub(crate) fn new(pool: &'p Pool<D::Db>) -> Self {
        Self { pool, dialect: PhantomData }
    }

    /// [`crate::EventStore::read_stream`].
    pub(crate) async fn stream(
        &self,
        stream: &StreamId,
        from_version: u64,
        direction: Direction,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        let rows = sqlx::query(sql::select_stream(direction))
            .bind(stream.as_str())
            .bind(to_i64(from_version))
            .bind(to_i64(limit as u64))
            .fetch_all(self.pool)
            .await?;
        rows.iter().map(D::event).collect()
    }

    /// [`crate::EventStore::read_range`].
    pub(crate) async fn range(&self, from_position: u64, up_to: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        let rows = sqlx::query(sql::SELECT_RANGE)
            .bind(to_i64(from_position))
            .bind(to_i64(up_to))
            .bind(to_i64(limit as u64))
            .fetch_all(self.pool)
            .await?;
        rows.iter().map(D::event).collect()
    }

    /// [`crate::EventStore::position_at`].
    pub(crate) async fn position_at(&self, instant: DateTime<Utc>) -> Result<u64> {
        let row = sqlx::query(sql::SELECT_POSITION_AT).bind(D::instant(instant)).fetch_optional(self.pool).await?;
        self.count(row)
    }

    /// [`crate::EventStore::head`].
    pub(crate) async fn head(&self) -> Result<Option<Head>> {
        let row = sqlx::query(sql::SELECT_HEAD).fetch_optional(self.pool).await?;
        row.as_ref().map(D::head).transpose()
    }

    /// [`crate::EventStore::stream_version`].
    pub(crate) async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        let row = sqlx::query(sql::SELECT_STREAM_VERSION).bind(stream.as_str()).fetch_optional(self.pool).await?;
        self.count(row)
    }

    /// [`crate::EventStore::load_checkpoint`].
    pub(crate) async fn checkpoint(&self, name: &str) -> Result<u64> {
        let row = sqlx::query(sql::SELECT_CHECKPOINT).bind(name).fetch_optional(self.pool).await?;
        self.count(row)
    }

    /// [`crate::EventStore::save_checkpoint`].
    pub(crate) async fn save_checkpoint(&self, name: &str, position: u64) -> Result<()> {
        sqlx::query(sql::UPSERT_CHECKPOINT)
            .bind(name)
            .bind(to_i64(position))
            .bind(D::instant(Utc::now()))
            .execute(self.pool)
            .await?;
        Ok(())
    }

    /// A position or version read as one BIGINT: 0 for no row or NULL.
    fn count(&self, row: Option<<D::Db as Database>::Row>) -> Result<u64> {
        Ok(row.as_ref().map(D::number).transpose()?.flatten().unwrap_or(0) as u64)
    }
}
