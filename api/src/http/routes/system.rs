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
    market_metrics(&mut out, &state.market);
    ops_metrics(&mut out, &state.ops);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// The market data providers' breakers and calls, and the ingestion's runs.
fn market_metrics(out: &mut String, market: &workers::market::runtime::Runtime) {
    let states = ["closed", "open", "half_open", "disabled", "forced_open"];
    let health: Vec<_> = market.selector.iter().flat_map(|s| s.sources().iter().map(|s| s.health())).collect();
    let _ = writeln!(
        out,
        "# HELP cairn_market_provider_state The circuit breaker's state of each provider (1 for the state it is in).\n\
         # TYPE cairn_market_provider_state gauge"
    );
    for h in &health {
        let provider = escape_label(&h.name);
        for state in states {
            let _ = writeln!(
                out,
                "cairn_market_provider_state{{provider=\"{provider}\",state=\"{state}\"}} {}",
                u8::from(h.state == state)
            );
        }
    }
    type Figure = fn(&workers::market::selector::Health) -> u64;
    let counters: [(&str, &str, Figure); 4] = [
        ("cairn_market_provider_calls_total", "Calls made to each provider.", |h| h.calls),
        ("cairn_market_provider_failures_total", "Calls to each provider that failed.", |h| h.failures),
        ("cairn_market_provider_refused_total", "Calls each provider's open breaker refused.", |h| h.refused),
        ("cairn_market_provider_calls_today", "Calls made to each provider today (UTC).", |h| h.calls_today),
    ];
    for (name, help, value) in counters {
        let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for h in &health {
            let _ = writeln!(out, "{name}{{provider=\"{}\"}} {}", escape_label(&h.name), value(h));
        }
    }
    let _ = writeln!(
        out,
        "# HELP cairn_market_provider_latency_seconds Latency of each provider's recent calls.\n\
         # TYPE cairn_market_provider_latency_seconds gauge"
    );
    for h in &health {
        for (q, d) in [("0.5", h.p50), ("0.99", h.p99)] {
            if let Some(d) = d {
                let _ = writeln!(
                    out,
                    "cairn_market_provider_latency_seconds{{provider=\"{}\",quantile=\"{q}\"}} {:.6}",
                    escape_label(&h.name),
                    d.as_secs_f64()
                );
            }
        }
    }
    let i = &market.ingest;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let ingest = [
        ("cairn_ingest_runs_total", "counter", "Market data ingestion runs.", load(&i.runs)),
        ("cairn_ingest_failed_runs_total", "counter", "Ingestion runs that failed as a whole.", load(&i.failed_runs)),
        ("cairn_ingest_bars_recorded_total", "counter", "Bars the ingestion recorded.", load(&i.bars_recorded)),
        ("cairn_ingest_bars_revised_total", "counter", "Bars the ingestion revised.", load(&i.bars_revised)),
        ("cairn_ingest_bars_rejected_total", "counter", "Bars the checks refused.", load(&i.bars_rejected)),
        ("cairn_ingest_symbols_failed_total", "counter", "Symbols no provider answered for.", load(&i.symbols_failed)),
        (
            "cairn_ingest_last_run_timestamp_seconds",
            "gauge",
            "When the last run ended (Unix time).",
            load(&i.last_run_unix),
        ),
    ];
    for (name, kind, help, value) in ingest {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    }
}

/// Each ops task's last run: its outcome, when it ended, how long it took and in how many
/// attempts.
fn ops_metrics(out: &mut String, ops: &workers::ops::OpsMetrics) {
    for (name, kind, help, value) in ops.live.figures() {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}");
    }
    let last = ops.last();
    if last.is_empty() {
        return;
    }
    let _ = writeln!(out, "# HELP cairn_ops_task_last_status The outcome of each ops task's last run (1 for the outcome it had).\n# TYPE cairn_ops_task_last_status gauge");
    for (task, run) in &last {
        for status in [domain::ops::Status::Succeeded, domain::ops::Status::Failed, domain::ops::Status::Skipped] {
            let _ = writeln!(
                out,
                "cairn_ops_task_last_status{{task=\"{}\",status=\"{}\"}} {}",
                escape_label(task),
                status.as_str(),
                u8::from(run.status == status)
            );
        }
    }
    type Figure = fn(&workers::ops::LastRun) -> String;
    let figures: [(&str, &str, &str, Figure); 3] = [
        (
            "cairn_ops_task_last_run_timestamp_seconds",
            "gauge",
            "When each ops task's last run ended (Unix time).",
            |r| r.finished_unix.to_string(),
        ),
        ("cairn_ops_task_last_duration_seconds", "gauge", "How long each ops task's last attempt took.", |r| {
            format!("{:.3}", r.duration_ms as f64 / 1000.0)
        }),
        ("cairn_ops_task_last_attempts", "gauge", "Attempts each ops task's last run took.", |r| {
            r.attempts.to_string()
        }),
    ];
    for (name, kind, help, value) in figures {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (task, run) in &last {
            let _ = writeln!(out, "{name}{{task=\"{}\"}} {}", escape_label(task), value(run));
        }
    }
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
