//! Storage for per-subject data keys (already wrapped by the caller's master key). Kept beside
//! the event log, outside it: destroying a key must really delete it, which the append-only log
//! never does.

use chrono::Utc;
use sqlx::Row as _;

use crate::backend::Store;
use crate::error::Result;

/// What the key table holds for a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredKey {
    /// The wrapped key.
    Active(Vec<u8>),
    /// It existed and was destroyed (crypto-shredded).
    Destroyed,
    Missing,
}

const PUT_KEY: &str =
    "INSERT INTO data_keys (subject, wrapped_key, created_at) VALUES ($1, $2, $3) ON CONFLICT (subject) DO NOTHING";
const DESTROY_KEY: &str =
    "UPDATE data_keys SET wrapped_key = NULL, destroyed_at = COALESCE(destroyed_at, $2) WHERE subject = $1";

impl Store {
    /// Stores a subject's wrapped key if it has none; returns what is stored afterwards (so two
    /// racing writers agree on one key).
    pub async fn put_data_key(&self, subject: &str, wrapped: &[u8]) -> Result<StoredKey> {
        match self {
            Store::Sqlite(s) => {
                sqlx::query(PUT_KEY)
                    .bind(subject)
                    .bind(wrapped)
                    .bind(Utc::now().timestamp_micros())
                    .execute(s.pool())
                    .await?;
            }
            Store::Postgres(s) => {
                sqlx::query(PUT_KEY).bind(subject).bind(wrapped).bind(Utc::now()).execute(s.pool()).await?;
            }
        }
        self.data_key(subject).await
    }

    /// The subject's wrapped key, or why there is none.
    pub async fn data_key(&self, subject: &str) -> Result<StoredKey> {
        const SQL: &str = "SELECT wrapped_key FROM data_keys WHERE subject = $1";
        let row = match self {
            Store::Sqlite(s) => sqlx::query(SQL).bind(subject).fetch_optional(s.pool()).await?.map(|r| r.try_get(0)),
            Store::Postgres(s) => sqlx::query(SQL).bind(subject).fetch_optional(s.pool()).await?.map(|r| r.try_get(0)),
        };
        Ok(match row.transpose()? {
            None => StoredKey::Missing,
            Some(None) => StoredKey::Destroyed,
            Some(Some(k)) => StoredKey::Active(k),
        })
    }

    /// Destroys the subject's key for good (idempotent).
    pub async fn destroy_data_key(&self, subject: &str) -> Result<()> {
        match self {
            Store::Sqlite(s) => {
                sqlx::query(DESTROY_KEY).bind(subject).bind(Utc::now().timestamp_micros()).execute(s.pool()).await?;
            }
            Store::Postgres(s) => {
                sqlx::query(DESTROY_KEY).bind(subject).bind(Utc::now()).execute(s.pool()).await?;
            }
        }
        Ok(())
    }
}
