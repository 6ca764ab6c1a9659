//! A store that follows a primary: marked as a replica (one row in `replica`), it takes events
//! only through [`crate::Restorer`] (exactly as the primary recorded them) and refuses writers
//! until it is promoted. It remembers the largest signed tree head it saw the primary publish,
//! so that a promotion can tell whether acknowledged events are missing.

use chrono::{DateTime, Utc};
use sqlx::Row as _;

use crate::backend::{on_pool, Store};
use crate::error::Result;

/// What the `replica` row says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaInfo {
    /// Where it follows from (the NATS server and stream).
    pub source: String,
    pub since: DateTime<Utc>,
    /// The largest signed head seen published by the primary: its size and root (hex).
    pub head_size: u64,
    pub head_root: Option<String>,
}

impl Store {
    /// The replica row, when this store follows a primary.
    pub async fn replica(&self) -> Result<Option<ReplicaInfo>> {
        const SQL: &str = "SELECT source, since, head_size, head_root FROM replica WHERE id = 1";
        let row = on_pool!(self, |pool| {
            sqlx::query(SQL)
                .fetch_optional(pool)
                .await?
                .map(|r| -> Result<ReplicaInfo> {
                    Ok(ReplicaInfo {
                        source: r.try_get(0)?,
                        since: DateTime::from_timestamp_micros(r.try_get(1)?).unwrap_or_default(),
                        head_size: u64::try_from(r.try_get::<i64, _>(2)?).unwrap_or(0),
                        head_root: r.try_get(3)?,
                    })
                })
                .transpose()?
        });
        Ok(row)
    }

    /// Marks this store as a replica of `source` (kept when it already is one).
    pub async fn mark_replica(&self, source: &str) -> Result<()> {
        const SQL: &str = "INSERT INTO replica (id, source, since) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING";
        let now = Utc::now().timestamp_micros();
        on_pool!(self, |pool| {
            sqlx::query(SQL).bind(source).bind(now).execute(pool).await?;
        });
        Ok(())
    }

    /// Remembers a signed head the primary published, when it is larger than any seen.
    pub async fn note_head_seen(&self, size: u64, root: &str) -> Result<()> {
        const SQL: &str = "UPDATE replica SET head_size = $1, head_root = $2 WHERE id = 1 AND head_size < $1";
        let size = crate::sql::to_i64(size);
        on_pool!(self, |pool| {
            sqlx::query(SQL).bind(size).bind(root).execute(pool).await?;
        });
        Ok(())
    }

    /// Ends following: the store becomes a primary that takes writers.
    pub async fn promote(&self) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM replica").execute(pool).await?;
        });
        Ok(())
    }
}
