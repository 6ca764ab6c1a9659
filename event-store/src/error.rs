//! The store's one error type: rejected input, conflicts, and unexpected failures kept apart.

use thiserror::Error;
use uuid::Uuid;

use crate::model::ExpectedVersion;

#[derive(Debug, Error)]
pub enum StoreError {
    /// The stream's version was not what the writer expected. Nothing was written; safe to retry
    /// after reloading the stream.
    #[error("conflict on stream {stream_id}: expected {expected}, but the stream is at version {actual}")]
    Conflict { stream_id: String, expected: ExpectedVersion, actual: u64 },
    /// An event id is already stored, but with other content, in another stream, or the batch
    /// mixes stored ids with new ones.
    #[error("event id {event_id} is already stored and this append does not repeat it exactly: {problem}")]
    IdempotencyMismatch { event_id: Uuid, problem: String },
    #[error("invalid stream id {stream_id:?}: {problem}")]
    InvalidStreamId { stream_id: String, problem: String },
    #[error("invalid append: {0}")]
    InvalidAppend(String),
    #[error("invalid database url {url:?}: {problem}")]
    InvalidUrl { url: String, problem: String },
    #[error("cannot decode event at position {position}: {problem}")]
    Decode { position: u64, problem: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database error: {0}")]
    Read(#[from] rusqlite::Error),
    #[error("migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub fn is_conflict(&self) -> bool {
        matches!(self, Self::Conflict { .. })
    }

    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, Self::Database(sqlx::Error::Database(d)) if d.is_unique_violation())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
