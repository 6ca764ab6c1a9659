//! `GET /v1/stream/quotes`: live quotes over a WebSocket, from the quote hub
//! (`workers::market::quotes`) that the providers' live streams feed.
//!
//! - **Sign in**: an `Authorization: Bearer <access token>` header on the upgrade request, or,
//!   from a browser (which cannot set it), the first message `{"action":"auth","token":"…"}`
//!   within 10 seconds; the server answers `{"type":"authenticated"}`, or
//!   `{"type":"error",…}` and closes (policy violation, 1008). Any signed-in user may read
//!   quotes; they are market data, not a household's.
//! - **Subscriptions** are per connection: `{"action":"subscribe","symbols":["VTI","BND"]}`
//!   and `{"action":"unsubscribe","symbols":[…]}`, answered by `{"type":"subscribed",
//!   "symbols":[every symbol now subscribed]}`. A symbol's latest quote is sent at once when it
//!   has one, then each new one. Symbols no live stream carries yet are asked of every stream.
//! - **Quotes**: `{"type":"quote","quote":{"symbol","at","last","bid","ask","size","source",
//!   "grade"}}`, decimals as strings.
//! - **Bounded**: each connection has a buffer of [`QUOTE_BUFFER`] quotes; a client that
//!   reads slower than quotes arrive loses the oldest, and is told before the next quote with
//!   `{"type":"dropped","count":N}`, so the server's memory stays bounded.
//! - The connection ends when the client closes it or the server stops.
//! - The same path without an upgrade, signed in, answers the live streams' state as JSON
//!   ([`LiveStatus`]): each vendor stream's connection and counts, and the hub's.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures::SinkExt;
use serde::Deserialize;
use workers::market::quotes::Delivery;

use crate::http::problem::{Problem, ProblemKind};
use crate::http::AppState;

/// Quotes held for one connection before the oldest are dropped.
pub const QUOTE_BUFFER: usize = 4096;
/// How long a connection may take to send its token.
pub const AUTH_WITHIN: Duration = Duration::from_secs(10);
/// Symbols one connection may follow at once.
pub const MAX_SYMBOLS: usize = 1000;

#[derive(Debug, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
enum Action {
    Auth { token: String },
    Subscribe { symbols: Vec<String> },
    Unsubscribe { symbols: Vec<String> },
}

pub async fn quotes(
    State(state): State<AppState>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    // A token in the header is checked before the upgrade: a bad one is a plain 401.
    let signed_in = match headers.contains_key(axum::http::header::AUTHORIZATION) {
        true => match state.auth.bearer(&headers) {
            Ok(_) => true,
            Err(p) => return p.into_response(),
        },
        false => false,
    };
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(_) if !signed_in => {
            return Problem::new(ProblemKind::Unauthorized, "send an access token: Authorization: Bearer <token>")
                .into_response()
        }
        Err(_) => return axum::Json(status(&state)).into_response(),
    };
    upgrade.on_upgrade(move |socket| connection(state, socket, signed_in))
}

/// The live quote streams' state, for a `GET` without an upgrade.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct LiveStatus {
    /// How to connect.
    pub websocket: &'static str,
    pub streams: Vec<StreamStatus>,
    /// Quotes the hub received, used, refused (invalid), left out (outliers) and dropped from
    /// slow clients' buffers; clients connected; symbols with a quote.
    pub received: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub outliers: u64,
    pub dropped: u64,
    pub subscribers: u64,
    pub symbols: u64,
}

/// One vendor stream's state.
#[derive(Debug, serde::Serialize, schemars::JsonSchema)]
pub struct StreamStatus {
    pub name: String,
    pub protocol: &'static str,
    pub connected: bool,
    pub symbols: Vec<String>,
    pub connects: u64,
    pub reconnects: u64,
    pub quotes: u64,
    pub malformed: u64,
    pub last_error: Option<String>,
}

fn status(state: &AppState) -> LiveStatus {
    let hub = state.market.hub.stats();
    LiveStatus {
        websocket: "connect with a WebSocket upgrade; see the description of this operation",
        streams: state
            .market
            .streams
            .iter()
            .map(|s| {
                let st = s.stats();
                StreamStatus {
                    name: s.config().name.clone(),
                    protocol: s.config().protocol.as_str(),
                    connected: st.connected,
                    symbols: s.symbols(),
                    connects: st.connects,
                    reconnects: st.reconnects,
                    quotes: st.quotes,
                    malformed: st.malformed,
                    last_error: st.last_error,
                }
            })
            .collect(),
        received: hub.received,
        accepted: hub.accepted,
        rejected: hub.rejected,
        outliers: hub.outliers,
        dropped: hub.dropped,
        subscribers: hub.subscribers,
        symbols: hub.symbols,
    }
}

fn event(json: serde_json::Value) -> Message {
    Message::Text(Utf8Bytes::from(json.to_string()))
}

async fn refuse(mut socket: WebSocket, why: &str) {
    let _ = socket.send(event(serde_json::json!({"type": "error", "message": why}))).await;
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code: axum::extract::ws::close_code::POLICY,
            reason: Utf8Bytes::from(why.to_owned()),
        })))
        .await;
}

async fn connection(state: AppState, mut socket: WebSocket, signed_in: bool) {
    if !signed_in {
        let first = tokio::time::timeout(AUTH_WITHIN, socket.recv()).await;
        let token = match first {
            Ok(Some(Ok(Message::Text(text)))) => match serde_json::from_str::<Action>(&text) {
                Ok(Action::Auth { token }) => token,
                _ => return refuse(socket, "sign in first: {\"action\":\"auth\",\"token\":\"<access token>\"}").await,
            },
            Ok(_) => return,
            Err(_) => return refuse(socket, "no access token within 10 seconds").await,
        };
        if let Err(p) = state.auth.verify(&token) {
            return refuse(socket, &p.detail).await;
        }
    }
    if socket.send(event(serde_json::json!({"type": "authenticated"}))).await.is_err() {
        return;
    }
    let market = state.market.clone();
    let mut subscriber = market.hub.subscribe(QUOTE_BUFFER);
    let mut stopping = state.stopping.clone();
    let stop = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    tokio::pin!(stop);
    let mut batch = Vec::with_capacity(256);
    loop {
        tokio::select! {
            received = socket.recv() => {
                let text = match received {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                let answer = match serde_json::from_str::<Action>(&text) {
                    Ok(Action::Subscribe { symbols }) => {
                        let symbols: Vec<String> =
                            symbols.iter().map(|s| s.trim().to_ascii_uppercase()).filter(|s| !s.is_empty()).collect();
                        if subscriber.symbols().len() + symbols.len() > MAX_SYMBOLS {
                            serde_json::json!({"type": "error", "message": format!("at most {MAX_SYMBOLS} symbols per connection")})
                        } else {
                            for stream in &market.streams {
                                stream.subscribe(&symbols);
                            }
                            subscriber.add(&symbols);
                            serde_json::json!({"type": "subscribed", "symbols": subscriber.symbols()})
                        }
                    }
                    Ok(Action::Unsubscribe { symbols }) => {
                        subscriber.remove(symbols.iter().map(|s| s.trim().to_ascii_uppercase()));
                        serde_json::json!({"type": "subscribed", "symbols": subscriber.symbols()})
                    }
                    Ok(Action::Auth { .. }) => serde_json::json!({"type": "authenticated"}),
                    Err(e) => serde_json::json!({"type": "error", "message": format!("not an action: {e}")}),
                };
                if socket.send(event(answer)).await.is_err() {
                    return;
                }
            }
            n = subscriber.recv_many(&mut batch, 256) => {
                if n == 0 {
                    return;
                }
                for delivery in batch.drain(..) {
                    let message = match delivery {
                        Delivery::Quote(q) => {
                            Message::Text(Utf8Bytes::from(format!("{{\"type\":\"quote\",\"quote\":{}}}", q.json())))
                        }
                        Delivery::Dropped(count) => event(serde_json::json!({"type": "dropped", "count": count})),
                    };
                    if socket.feed(message).await.is_err() {
                        return;
                    }
                }
                if socket.flush().await.is_err() {
                    return;
                }
            }
            () = &mut stop => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
        }
    }
}
