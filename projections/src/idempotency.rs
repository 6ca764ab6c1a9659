//! `cairn_idempotency`, beside the read models: the answers the HTTP API keeps for
//! `Idempotency-Key`s (the middleware in `api::http::idempotency` decides what to keep).
//! One row per (scope, key): the request's fingerprint, and once answered its status,
//! content type and body.

use chrono::{DateTime, Utc};

use crate::db::{Db, Kind};
use crate::{Backend, Result};

/// Creates `cairn_idempotency` if missing (under a lock on PostgreSQL, where two servers
/// starting at once could otherwise both try to create it).
pub async fn create_table(db: &Db) -> Result<()> {
    let mut tx = db.begin().await?;
    if db.backend() == Backend::Postgres {
        tx.execute("SELECT pg_advisory_xact_lock(7261002)", &[]).await?;
    }
    tx.execute(
        "CREATE TABLE IF NOT EXISTS cairn_idempotency (scope TEXT NOT NULL, key TEXT NOT NULL, \
         request TEXT NOT NULL, status INTEGER, content_type TEXT, body TEXT, created TEXT NOT NULL, \
         PRIMARY KEY (scope, key))",
        &[],
    )
    .await?;
    tx.commit().await
}

/// What a key's row says about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key was free and is now claimed for this request.
    New,
    /// Answered before: status, content type, body.
    Done(u16, Option<String>, String),
    /// Claimed, not yet answered.
    Running,
    /// Claimed for another request.
    Different,
}

/// Claims (`scope`, `key`) for the request with `fingerprint` at `now`, first removing keys
/// created before `expired` and unanswered claims created before `abandoned`.
pub async fn claim(
    db: &Db,
    scope: &str,
    key: &str,
    fingerprint: &str,
    now: DateTime<Utc>,
    expired: DateTime<Utc>,
    abandoned: DateTime<Utc>,
) -> Result<Claim> {
    let p = |n| db.param(n, Kind::Text);
    db.execute(
        &format!("DELETE FROM cairn_idempotency WHERE created < {} OR (status IS NULL AND created < {})", p(1), p(2)),
        &[Some(expired.to_rfc3339()), Some(abandoned.to_rfc3339())],
    )
    .await?;
    let inserted = db
        .execute(
            &format!(
                "INSERT INTO cairn_idempotency (scope, key, request, created) VALUES ({}, {}, {}, {}) \
                 ON CONFLICT DO NOTHING",
                p(1),
                p(2),
                p(3),
                p(4)
            ),
            &[Some(scope.to_owned()), Some(key.to_owned()), Some(fingerprint.to_owned()), Some(now.to_rfc3339())],
        )
        .await?;
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let sql = format!(
        "SELECT request, {}, content_type, body FROM cairn_idempotency WHERE scope = {} AND key = {}",
        db.text("status", Kind::Int),
        p(1),
        p(2)
    );
    let rows = db.fetch(&sql, &[Some(scope.to_owned()), Some(key.to_owned())]).await?;
    let Some(mut row) = rows.into_iter().next() else { return Ok(Claim::Running) };
    if row[0].as_deref() != Some(fingerprint) {
        return Ok(Claim::Different);
    }
    match (row[1].as_deref().and_then(|s| s.parse().ok()), row[3].take()) {
        (Some(status), Some(body)) => Ok(Claim::Done(status, row[2].take(), body)),
        _ => Ok(Claim::Running),
    }
}

/// Keeps the answer of a claimed key.
pub async fn store(
    db: &Db,
    scope: &str,
    key: &str,
    status: u16,
    content_type: Option<String>,
    body: &[u8],
) -> Result<()> {
    let sql = format!(
        "UPDATE cairn_idempotency SET status = {}, content_type = {}, body = {} WHERE scope = {} AND key = {}",
        db.param(1, Kind::Int),
        db.param(2, Kind::Text),
        db.param(3, Kind::Text),
        db.param(4, Kind::Text),
        db.param(5, Kind::Text)
    );
    let params = [
        Some(status.to_string()),
        content_type,
        Some(String::from_utf8_lossy(body).into_owned()),
        Some(scope.to_owned()),
        Some(key.to_owned()),
    ];
    db.execute(&sql, &params).await.map(|_| ())
}

/// Frees a key.
pub async fn forget(db: &Db, scope: &str, key: &str) -> Result<()> {
    let sql = format!(
        "DELETE FROM cairn_idempotency WHERE scope = {} AND key = {}",
        db.param(1, Kind::Text),
        db.param(2, Kind::Text)
    );
    db.execute(&sql, &[Some(scope.to_owned()), Some(key.to_owned())]).await.map(|_| ())
}
