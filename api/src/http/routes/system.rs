//! `/health`, `/metrics` and `/openapi.json`.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::OnceLock;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use event_store::EventStore;

use crate::http::problem::{Problem, ProblemKind};
use crate::http::AppState;

/// The OpenAPI document, built once from the route table.
pub async fn openapi() -> Response {
    static DOC: OnceLock<String> = OnceLock::new();
    let doc = DOC.get_or_init(|| {
        let ops: Vec<_> = super::table().into_iter().map(|(op, _)| op).collect();
        crate::http::openapi::document(&ops).to_string()
    });
    ([(header::CONTENT_TYPE, "application/json")], doc.as_str()).into_response()
}

#[tracing::instrument(skip_all)]
pub async fn health(State(state): State<AppState>) -> Response {
    match state.store.head().await {
        Ok(head) => Json(serde_json::json!({
            "status": "ok",
            "backend": state.store.backend(),
            "head_position": head.map_or(0, |h| h.position),
        }))
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            Problem::new(ProblemKind::Unavailable, "the event store did not answer").into_response()
        }
    }
}

/// Who may read `/metrics`: with `CAIRN_METRICS_TOKEN` set, a request bearing that token
/// (`Authorization: Bearer <token>`, from anywhere); without it, clients on this machine only
/// (loopback addresses), so the figures are never open to the network by default.
fn may_read_metrics(headers: &axum::http::HeaderMap, client: Option<std::net::IpAddr>) -> Result<(), Problem> {
    static TOKEN: OnceLock<Option<String>> = OnceLock::new();
    let token = TOKEN.get_or_init(|| std::env::var("CAIRN_METRICS_TOKEN").ok().filter(|t| !t.is_empty()));
    match token {
        Some(token) => {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|h| h.strip_prefix("Bearer "))
                .unwrap_or("");
            // Compared by digest, so the time taken says nothing about the token.
            use sha2::Digest as _;
            if sha2::Sha256::digest(presented.trim()) == sha2::Sha256::digest(token) {
                Ok(())
            } else {
                Err(Problem::new(
                    ProblemKind::Unauthorized,
                    "/metrics needs the metrics token: Authorization: Bearer <token>",
                ))
            }
        }
        None if client.is_some_and(|ip| ip.is_loopback()) => Ok(()),
        None => Err(Problem::new(
            ProblemKind::Forbidden,
            "/metrics is served to this machine only; set CAIRN_METRICS_TOKEN to let a scraper in with it",
        )),
    }
}

#[tracing::instrument(skip_all)]
pub async fn metrics(State(state): State<AppState>, request: axum::extract::Request) -> Response {
    let (parts, _) = request.into_parts();
    if let Err(p) = may_read_metrics(&parts.headers, crate::http::auth::client_ip(&parts)) {
        return p.into_response();
    }
    let head = match state.store.head().await {
        Ok(h) => h.map_or(0, |h| h.position),
        Err(e) => {
            tracing::error!(error = %e, "metrics: cannot read the head");
            return Problem::new(ProblemKind::Unavailable, "the event store did not answer").into_response();
        }
    };
    let m = state.store.metrics();
    let mut out = String::new();
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let series = [
        ("cairn_events_appended_total", "counter", "Events appended by this process.", load(&m.events_appended)),
        ("cairn_appends_total", "counter", "Successful append calls by this process.", load(&m.appends)),
        (
            "cairn_append_conflicts_total",
            "counter",
            "Appends refused because the expected version did not match.",
            load(&m.conflicts),
        ),
        (
            "cairn_append_idempotent_replays_total",
            "counter",
            "Appends that repeated stored event ids and wrote nothing.",
            load(&m.idempotent_replays),
        ),
        ("cairn_head_position", "gauge", "Global position of the last committed event.", head),
    ];
    for (name, kind, help, value) in series {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    }
    let subscribers = m.subscriber_positions();
    let _ = writeln!(out, "# HELP cairn_subscriber_position Last position handed to a named subscriber.");
    let _ = writeln!(out, "# TYPE cairn_subscriber_position gauge");
    for (name, pos) in &subscribers {
        let _ = writeln!(out, "cairn_subscriber_position{{subscriber=\"{}\"}} {pos}", escape_label(name));
    }
    let _ = writeln!(out, "# HELP cairn_subscriber_lag Committed events a named subscriber has not yet received.");
    let _ = writeln!(out, "# TYPE cairn_subscriber_lag gauge");
    for (name, pos) in &subscribers {
        let _ = writeln!(
            out,
            "cairn_subscriber_lag{{subscriber=\"{}\"}} {}",
            escape_label(name),
            head.saturating_sub(*pos)
        );
    }
    // The risk worker (its checkpoint is also a subscriber above, as `worker:risk`).
    let r = &state.risk;
    let risk = [
        (
            "cairn_risk_checkpoint",
            "gauge",
            "Position up to which every changed portfolio's risk is written.",
            load(&r.checkpoint),
        ),
        ("cairn_risk_pending_portfolios", "gauge", "Changed portfolios waiting to be computed.", load(&r.pending)),
        ("cairn_risk_computed_total", "counter", "Portfolio risk rows computed by this process.", load(&r.computed)),
        ("cairn_risk_failures_total", "counter", "Risk worker failures (each retried after 5 s).", load(&r.failures)),
    ];
    for (name, kind, help, value) in risk {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    }
    let micros = load(&r.last_compute_micros);
    let seconds = format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000);
    let _ = writeln!(
        out,
        "# HELP cairn_risk_last_compute_seconds How long the last portfolio took (read, compute, write).\n\
         # TYPE cairn_risk_last_compute_seconds gauge\ncairn_risk_last_compute_seconds {seconds}"
    );
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
