//! `Idempotency-Key` on every command (POST, PUT, DELETE by a signed-in caller): a request
//! sent again with the same key by the same user returns the first answer, stored in
//! `cairn_idempotency` beside the read models (`projections::idempotency`), with
//! `Idempotent-Replayed: true`, and runs nothing. The same key with a different request (method, path, query, body) is refused
//! (422); a retry while the first is still running gets 409.
//!
//! - Only answers that a retry would get again are kept: success, and 400, 404, 413, 415 and
//!   422. Anything else (401, 403, 409, 429, a server error) forgets the key, so the retry runs.
//! - The handler runs in a task of its own, so its answer is kept (or the key forgotten) even
//!   when the client disconnects or the request times out; a claim left by a crash is taken
//!   over after two request timeouts.
//! - Sign-in and MFA set-up are left out: their answers are credentials, never stored.
//! - Keys are kept for 24 hours.
//!
//! The ledger commands also derive their command id from the key and the request
//! ([`command_id`]), so even an answer that was never stored (a crash between the append and
//! the answer) cannot record a trade twice, and a key reused later for another trade records
//! that trade.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{Duration, Utc};
use sha2::{Digest as _, Sha256};

use super::problem::{Problem, ProblemKind};
use super::AppState;

pub const HEADER: &str = "idempotency-key";

/// The largest answer kept. Command answers are small (an import of a million rows lists its
/// trade ids in about 10 MB); one past this is an internal error, its key forgotten.
const ANSWER_LIMIT: usize = 64 * 1024 * 1024;

/// The key of a request, if it sent one (1 to 200 printable characters).
pub fn key(headers: &HeaderMap) -> Result<Option<String>, Problem> {
    let Some(v) = headers.get(HEADER) else { return Ok(None) };
    let text = v.to_str().map_err(|_| Problem::field("Idempotency-Key", "must be printable ASCII"))?.trim();
    if text.is_empty() || text.len() > 200 {
        return Err(Problem::field("Idempotency-Key", "must be 1 to 200 characters"));
    }
    Ok(Some(text.to_owned()))
}

/// A command id derived from the user, the key and the request (stable across retries and
/// restarts).
pub fn command_id(user: &str, key: &str, request: &[u8]) -> uuid::Uuid {
    let h = Sha256::new()
        .chain_update("cairn-idempotency:")
        .chain_update(user)
        .chain_update(":")
        .chain_update(key)
        .chain_update(":")
        .chain_update(request)
        .finalize();
    uuid::Builder::from_custom_bytes(h[..16].try_into().expect("16 bytes")).into_uuid()
}

pub use projections::idempotency::create_table;
use projections::idempotency::{self as table, Claim};

/// The middleware: passes through everything but a signed-in command with a key.
pub async fn middleware(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::POST | Method::PUT | Method::DELETE | Method::PATCH) {
        return next.run(req).await;
    }
    let path = req.uri().path();
    if path.starts_with("/v1/auth/") || path == "/v1/me/mfa" {
        return next.run(req).await;
    }
    let key = match key(req.headers()) {
        Ok(Some(k)) => k,
        Ok(None) => return next.run(req).await,
        Err(p) => return p.into_response(),
    };
    // The caller; without a valid token the handler answers 401 itself.
    let Ok(user) = state.auth.bearer(req.headers()) else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, super::IMPORT_BODY_LIMIT).await else {
        return Problem::new(ProblemKind::PayloadTooLarge, "the body is larger than this endpoint accepts")
            .into_response();
    };
    let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let fingerprint = hex::encode(
        Sha256::new()
            .chain_update(parts.method.as_str())
            .chain_update(" ")
            .chain_update(parts.uri.to_string())
            .chain_update("\n")
            .chain_update(content_type)
            .chain_update("\n")
            .chain_update(&bytes)
            .finalize(),
    );
    let scope = user.sub;
    match claim(&state, &scope, &key, &fingerprint).await {
        Ok(Claim::New) => {}
        Ok(Claim::Done(status, content_type, body)) => {
            let mut r = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
            if let Some(ct) = content_type.and_then(|c| HeaderValue::from_str(&c).ok()) {
                r.headers_mut().insert(header::CONTENT_TYPE, ct);
            }
            r.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            return r;
        }
        Ok(Claim::Running) => {
            return Problem::new(
                ProblemKind::Conflict,
                "a request with this Idempotency-Key is still running; retry shortly",
            )
            .into_response()
        }
        Ok(Claim::Different) => {
            return Problem::new(
                ProblemKind::IdempotencyKeyReused,
                "this Idempotency-Key was used for a different request",
            )
            .into_response()
        }
        Err(p) => return p.into_response(),
    }
    // In a task of its own: the answer is kept or the key forgotten even if this request is
    // dropped (a client gone, a timeout).
    let run = tokio::spawn(async move {
        let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
        let (parts, body) = response.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, ANSWER_LIMIT).await else {
            forget(&state, &scope, &key).await;
            return Problem::internal("an answer too large to keep").into_response();
        };
        if kept(parts.status) {
            let ct = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
            store(&state, &scope, &key, parts.status.as_u16(), ct, &bytes).await;
        } else {
            forget(&state, &scope, &key).await;
        }
        Response::from_parts(parts, Body::from(bytes))
    });
    run.await.unwrap_or_else(|e| Problem::internal(e).into_response())
}

/// Whether a retry would get this answer again (so it is kept for the key).
fn kept(status: StatusCode) -> bool {
    status.is_success() || matches!(status.as_u16(), 400 | 404 | 413 | 415 | 422)
}

async fn claim(state: &AppState, scope: &str, key: &str, fingerprint: &str) -> Result<Claim, Problem> {
    let now = Utc::now();
    // Keys past their 24 hours, and claims with no answer long after any request could still
    // be running (left by a crash).
    let expired = now - Duration::hours(24);
    let abandoned = now - Duration::from_std(super::REQUEST_TIMEOUT * 2).expect("small");
    Ok(table::claim(&state.db, scope, key, fingerprint, now, expired, abandoned).await?)
}

async fn store(state: &AppState, scope: &str, key: &str, status: u16, content_type: Option<String>, body: &[u8]) {
    if let Err(e) = table::store(&state.db, scope, key, status, content_type, body).await {
        tracing::error!(error = %e, "cannot store an idempotent answer");
    }
}

/// Forgets a key whose request did not get an answer worth keeping.
async fn forget(state: &AppState, scope: &str, key: &str) {
    if let Err(e) = table::forget(&state.db, scope, key).await {
        tracing::error!(error = %e, "cannot release an idempotency key");
    }
}
