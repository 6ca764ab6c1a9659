//! The backend choice: [`Store`] is either backend, picked from the database URL, and
//! implements [`EventStore`] by handing each call to the backend it holds. `store.rs` holds the
//! trait and knows no backend.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::watch;

use crate::append::StreamWrite;
use crate::error::{Result, StoreError};
use crate::model::{AppendResult, Direction, ExpectedVersion, Head, NewEvent, StoredEvent, StreamId};
use crate::postgres::PgStore;
use crate::sqlite::SqliteStore;
use crate::store::{EventStore, StoreMetrics};

/// Either backend, chosen by the database URL.
#[derive(Debug, Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl Store {
    /// Opens (and migrates) the store at `url`: `sqlite://PATH` (the file and its folder are
    /// created on first use), `sqlite::memory:` or `postgres://…`.
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(url, true).await
    }

    /// Opens an existing store: like [`Store::open`], but a SQLite file that does not exist is
    /// an error instead of being created. For commands that only read.
    pub async fn open_existing(url: &str) -> Result<Self> {
        Self::open_with(url, false).await
    }

    async fn open_with(url: &str, create: bool) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(SqliteStore::open_with(url, create).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(PgStore::open(url).await?))
        } else {
            Err(StoreError::InvalidUrl {
                url: url.to_owned(),
                problem: "expected sqlite://PATH or postgres://USER@HOST:PORT/DB".into(),
            })
        }
    }

    /// The files a `sqlite://PATH` store keeps (the database, its WAL and shared-memory files),
    /// or none for an in-memory or PostgreSQL store: a command that created them and then
    /// failed removes them, so a refused import leaves no empty database behind.
    pub fn sqlite_files(url: &str) -> Vec<std::path::PathBuf> {
        SqliteStore::files(url)
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

/// Runs `$body` with `$pool` bound to whichever pool `$store` holds.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match $store {
            Store::Sqlite(s) => {
                let $pool = s.pool();
                $body
            }
            Store::Postgres(s) => {
                let $pool = s.pool();
                $body
            }
        }
    };
}
pub(crate) use on_pool;

macro_rules! dispatch {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            Store::Sqlite($s) => $e,
            Store::Postgres($s) => $e,
        }
    };
}

impl EventStore for Store {
    async fn append(&self, stream: &StreamId, expected: ExpectedVersion, events: &[NewEvent]) -> Result<AppendResult> {
        dispatch!(self, s => s.append(stream, expected, events).await)
    }
    async fn append_many(&self, writes: &[StreamWrite<'_>]) -> Result<Vec<AppendResult>> {
        dispatch!(self, s => s.append_many(writes).await)
    }
    async fn read_stream(
        &self,
        stream: &StreamId,
        from: u64,
        dir: Direction,
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        dispatch!(self, s => s.read_stream(stream, from, dir, limit).await)
    }
    async fn read_streams(&self, from: &[(StreamId, u64)]) -> Result<Vec<Vec<StoredEvent>>> {
        dispatch!(self, s => s.read_streams(from).await)
    }
    async fn read_range(&self, from: u64, up_to: u64, limit: usize) -> Result<Vec<StoredEvent>> {
        dispatch!(self, s => s.read_range(from, up_to, limit).await)
    }
    async fn position_at(&self, instant: DateTime<Utc>) -> Result<u64> {
        dispatch!(self, s => s.position_at(instant).await)
    }
    async fn head(&self) -> Result<Option<Head>> {
        dispatch!(self, s => s.head().await)
    }
    async fn stream_version(&self, stream: &StreamId) -> Result<u64> {
        dispatch!(self, s => s.stream_version(stream).await)
    }
    async fn load_checkpoint(&self, name: &str) -> Result<u64> {
        dispatch!(self, s => s.load_checkpoint(name).await)
    }
    async fn save_checkpoint(&self, name: &str, position: u64) -> Result<()> {
        dispatch!(self, s => s.save_checkpoint(name, position).await)
    }
    fn commits(&self) -> watch::Receiver<u64> {
        dispatch!(self, s => s.commits())
    }
    fn fallback_tick(&self) -> Option<Duration> {
        dispatch!(self, s => s.fallback_tick())
    }
    fn metrics(&self) -> &Arc<StoreMetrics> {
        dispatch!(self, s => s.metrics())
    }
    async fn tree_root(&self, size: u64) -> Result<crate::merkle::Hash> {
        Store::tree_root(self, size).await
    }
}
