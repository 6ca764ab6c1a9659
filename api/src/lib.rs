//! The `cairn` binary's library half: the HTTP application.
//!
//! [`router`] builds the axum [`Router`] over an [`AppState`] (so tests can drive it without a
//! socket); [`Application`] binds it to an address and serves until shutdown. Only this crate
//! knows HTTP and JSON DTOs. The ledger API proper arrives with the API issue; today the
//! server answers `/health` and `/metrics`.

pub mod reports;

use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use event_store::{EventStore, Store};
use tokio::net::TcpListener;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
}

/// The HTTP routes.
pub fn router(state: AppState) -> Router {
    Router::new().route("/health", get(health)).route("/metrics", get(metrics)).with_state(state)
}

/// An RFC 7807 problem document.
fn problem(status: StatusCode, title: &str, detail: String) -> Response {
    let body =
        serde_json::json!({ "type": "about:blank", "title": title, "status": status.as_u16(), "detail": detail });
    (status, [(header::CONTENT_TYPE, "application/problem+json")], body.to_string()).into_response()
}

#[tracing::instrument(skip_all)]
async fn health(State(state): State<AppState>) -> Response {
    match state.store.head().await {
        Ok(head) => Json(serde_json::json!({
            "status": "ok",
            "backend": state.store.backend(),
            "head_position": head.map_or(0, |h| h.position),
        }))
        .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            problem(StatusCode::SERVICE_UNAVAILABLE, "store unavailable", "the event store did not answer".into())
        }
    }
}

#[tracing::instrument(skip_all)]
async fn metrics(State(state): State<AppState>) -> Response {
    let head = match state.store.head().await {
        Ok(h) => h.map_or(0, |h| h.position),
        Err(e) => {
            tracing::error!(error = %e, "metrics: cannot read the head");
            return problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "store unavailable",
                "the event store did not answer".into(),
            );
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
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The HTTP server, bound and ready.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Binds `addr` (port 0 picks a free one).
    pub async fn build(state: AppState, addr: SocketAddr) -> std::io::Result<Self> {
        Ok(Self { listener: TcpListener::bind(addr).await?, state })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        axum::serve(self.listener, router(self.state)).with_graceful_shutdown(shutdown).await
    }
}
