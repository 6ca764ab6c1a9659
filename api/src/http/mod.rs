//! The HTTP API (`/v1/…`), the web page (`/`), the OpenAPI document (`/openapi.json`) and its
//! docs page (`/docs`), `/health` and `/metrics`.
//!
//! Every route is declared once in [`routes::table`] as an [`openapi::Op`] (method, path,
//! group, summary, parameters, body and response types) beside its handler: the router and the
//! OpenAPI document are both built from that table, and the authorization tests walk it.

pub mod auth;
pub mod authz;
pub mod cache;
pub mod exact;
pub mod idempotency;
pub mod openapi;
pub mod problem;
pub mod query;
pub mod routes;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use commands::security::vault::Vault;
use event_store::Store;
use projections::Db;
use tokio::net::TcpListener;
use tower_http::set_header::SetResponseHeaderLayer;

use self::auth::Auth;
use self::problem::{Problem, ProblemKind};

/// The largest JSON body accepted.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;
/// The largest CSV import accepted.
pub const IMPORT_BODY_LIMIT: usize = 32 * 1024 * 1024;
/// A request that takes longer is answered 503 `timeout` (commands are atomic, so a command
/// cut off records nothing unless its append already committed).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    /// The event store, for reads (the audit trail, the head, verification).
    pub store: Store,
    /// The same store with the folded states of its streams: what commands run against.
    pub commands: commands::Context,
    /// The read models, in the store's database.
    pub db: Db,
    pub vault: Vault,
    pub auth: Arc<Auth>,
    /// Query answers by the version token of the rows they hold.
    pub cache: Arc<cache::RowsCache>,
    /// Becomes true at shutdown: live event streams end, so the graceful shutdown (which waits
    /// for every connection) is not held open by them.
    pub stopping: tokio::sync::watch::Receiver<bool>,
    /// The risk worker's figures, for `/metrics` (zero when no worker runs in this process).
    pub risk: Arc<workers::risk::Metrics>,
    /// Market data: the providers' health and the ingestion's figures, for `/metrics`.
    pub market: Arc<workers::market::runtime::Runtime>,
    /// The day's operations: each task's last run, for `/metrics` (empty when they do not run).
    pub ops: Arc<workers::ops::OpsMetrics>,
    /// The signed tree heads issued since the start (`GET /v1/audit/heads`).
    pub heads: Arc<crate::audit::Heads>,
}

/// The HTTP routes with their limits and security headers.
pub fn router(state: AppState) -> Router {
    let mut router = Router::new();
    for (op, handler) in routes::table() {
        router = router.route(op.path, handler);
    }
    let static_headers = [
        (header::STRICT_TRANSPORT_SECURITY, "max-age=63072000; includeSubDomains"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CONTENT_SECURITY_POLICY, web::CSP),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
        (HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()"),
    ];
    let mut router = router
        .layer(axum::middleware::from_fn_with_state(state.clone(), idempotency::middleware))
        .fallback(|| async { Problem::new(ProblemKind::NotFound, "no such route") })
        .method_not_allowed_fallback(|| async {
            Problem::new(ProblemKind::MethodNotAllowed, "this route takes another method")
        })
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::map_response(problem_for_plain_errors))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(StatusCode::SERVICE_UNAVAILABLE, REQUEST_TIMEOUT));
    for (name, value) in static_headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)));
    }
    router.with_state(state)
}

/// Turns the plain-text answers of layers (a timeout, a body over the limit) into problem
/// documents, so every error has the same shape.
async fn problem_for_plain_errors(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    match status {
        StatusCode::SERVICE_UNAVAILABLE => {
            Problem::new(ProblemKind::Timeout, "the request took too long").into_response()
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            Problem::new(ProblemKind::PayloadTooLarge, "the body is larger than this endpoint accepts").into_response()
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            Problem::new(ProblemKind::UnsupportedMediaType, "wrong content type for this endpoint").into_response()
        }
        StatusCode::NOT_FOUND => Problem::not_found().into_response(),
        StatusCode::METHOD_NOT_ALLOWED => {
            Problem::new(ProblemKind::MethodNotAllowed, "this route takes another method").into_response()
        }
        s if s.is_client_error() => {
            Problem::new(ProblemKind::MalformedBody, "the request could not be read").into_response()
        }
        _ => Problem::new(ProblemKind::Internal, "the server could not complete the request; it is logged")
            .into_response(),
    }
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

    /// Serves until `shutdown` completes, then stops accepting and finishes the requests in
    /// flight (a command being recorded completes and answers).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        axum::serve(self.listener, router(self.state).into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
    }
}
