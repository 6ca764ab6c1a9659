//! `Idempotency-Key`: a command sent again with the same key (by the same user) returns the
//! first answer, stored in `cairn_idempotency` beside the read models, and records nothing
//! more. The same key with a different request is refused (422); a retry while the first is
//! still running gets 409. Keys are kept for 24 hours.
//!
//! The ledger commands also derive their command id from the key, so even an answer that was
//! never stored (a crash between the append and the answer) cannot record a trade twice.

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use projections::db::Kind;
use sha2::{Digest as _, Sha256};

use super::problem::Problem;
use super::AppState;

pub const HEADER: &str = "idempotency-key";

/// The key of a request, if it sent one (1 to 200 printable characters).
pub fn key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(v) = headers.get(HEADER) else { return Ok(None) };
    let text = v.to_str().map_err(|_| Problem::field("Idempotency-Key", "must be printable ASCII"))?.trim();
    if text.is_empty() || text.len() > 200 {
        return Err(Problem::field("Idempotency-Key", "must be 1 to 200 characters"));
    }
    Ok(Some(text.to_owned()))
}

/// A command id derived from the user and the key (stable across retries and restarts).
pub fn command_id(user: &str, key: &str) -> uuid::Uuid {
    let h = Sha256::new()
        .chain_update("cairn-idempotency:")
        .chain_update(user)
        .chain_update(":")
        .chain_update(key)
        .finalize();
    uuid::Builder::from_custom_bytes(h[..16].try_into().expect("16 bytes")).into_uuid()
}

/// Creates `cairn_idempotency` if missing (under a lock on PostgreSQL, where two servers
/// starting at once could otherwise both try to create it).
pub async fn create_table(db: &projections::Db) -> projections::Result<()> {
    let mut tx = db.begin().await?;
    if db.backend() == projections::Backend::Postgres {
        tx.execute("SELECT pg_advisory_xact_lock(7261002)", &[]).await?;
    }
    tx.execute(
        "CREATE TABLE IF NOT EXISTS cairn_idempotency (scope TEXT NOT NULL, key TEXT NOT NULL, \
         request TEXT NOT NULL, status INTEGER, body TEXT, created TEXT NOT NULL, PRIMARY KEY (scope, key))",
        &[],
    )
    .await?;
    tx.commit().await
}

/// Runs `command` once per (scope, key): the first call runs it and stores its answer; later
/// calls with the same request get that answer (with `Idempotent-Replayed: true`).
pub async fn once<F>(state: &AppState, scope: &str, key: Option<String>, request: &[u8], command: F) -> Response
where
    F: std::future::Future<Output = Result<(StatusCode, serde_json::Value), Problem>>,
{
    let Some(key) = key else {
        return respond(command.await);
    };
    match claim(state, scope, &key, request).await {
        Ok(Claim::New) => {}
        Ok(Claim::Done(status, body)) => {
            let mut r = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
            r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            r.headers_mut().insert(
                axum::http::header::CONTENT_TYPE,
                HeaderValue::from_static(if status >= 400 { "application/problem+json" } else { "application/json" }),
            );
            return r;
        }
        Ok(Claim::Running) => {
            return Problem::new("conflict", "a request with this Idempotency-Key is still running; retry shortly")
                .into_response()
        }
        Ok(Claim::Different) => {
            return Problem::new("idempotency-key-reused", "this Idempotency-Key was used for a different request")
                .into_response()
        }
        Err(p) => return p.into_response(),
    }
    let result = command.await;
    let db = &state.db;
    let (status, body) = match &result {
        Ok((s, v)) => (s.as_u16(), v.to_string()),
        Err(p) if p.status.is_client_error() => (p.status.as_u16(), p.document().to_string()),
        Err(_) => {
            // A server error is not an answer: forget the key so a retry runs again.
            let sql = format!(
                "DELETE FROM cairn_idempotency WHERE scope = {} AND key = {}",
                db.param(1, Kind::Text),
                db.param(2, Kind::Text)
            );
            if let Err(e) = db.execute(&sql, &[Some(scope.to_owned()), Some(key.clone())]).await {
                tracing::error!(error = %e, "cannot release an idempotency key");
            }
            return respond(result);
        }
    };
    let sql = format!(
        "UPDATE cairn_idempotency SET status = {}, body = {} WHERE scope = {} AND key = {}",
        db.param(1, Kind::Int),
        db.param(2, Kind::Text),
        db.param(3, Kind::Text),
        db.param(4, Kind::Text)
    );
    if let Err(e) = db.execute(&sql, &[Some(status.to_string()), Some(body), Some(scope.to_owned()), Some(key)]).await {
        tracing::error!(error = %e, "cannot store an idempotent answer");
    }
    respond(result)
}

fn respond(result: Result<(StatusCode, serde_json::Value), Problem>) -> Response {
    match result {
        Ok((status, body)) => (status, axum::Json(body)).into_response(),
        Err(p) => p.into_response(),
    }
}

enum Claim {
    New,
    Done(u16, String),
    Running,
    Different,
}

async fn claim(state: &AppState, scope: &str, key: &str, request: &[u8]) -> Result<Claim, Problem> {
    let db = &state.db;
    let fingerprint = hex::encode(Sha256::digest(request));
    let now = Utc::now();
    let p = |n| db.param(n, Kind::Text);
    let expired = (now - Duration::hours(24)).to_rfc3339();
    db.execute(&format!("DELETE FROM cairn_idempotency WHERE created < {}", p(1)), &[Some(expired)]).await?;
    let inserted = db
        .execute(
            &format!(
                "INSERT INTO cairn_idempotency (scope, key, request, created) VALUES ({}, {}, {}, {}) ON CONFLICT DO NOTHING",
                p(1),
                p(2),
                p(3),
                p(4)
            ),
            &[Some(scope.to_owned()), Some(key.to_owned()), Some(fingerprint.clone()), Some(now.to_rfc3339())],
        )
        .await?;
    if inserted == 1 {
        return Ok(Claim::New);
    }
    let sql = format!(
        "SELECT request, {}, body FROM cairn_idempotency WHERE scope = {} AND key = {}",
        db.text("status", Kind::Int),
        p(1),
        p(2)
    );
    let rows = db.fetch(&sql, &[Some(scope.to_owned()), Some(key.to_owned())]).await?;
    let Some(row) = rows.into_iter().next() else { return Ok(Claim::Running) };
    if row[0].as_deref() != Some(fingerprint.as_str()) {
        return Ok(Claim::Different);
    }
    match (row[1].as_deref().and_then(|s| s.parse().ok()), row[2].clone()) {
        (Some(status), Some(body)) => Ok(Claim::Done(status, body)),
        _ => Ok(Claim::Running),
    }
}
