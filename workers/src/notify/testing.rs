//! What the channel adapters' tests share: an alert to send, and an HTTP server that records
//! each request (body included) and answers it as the test says ([`receive`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, Uri};
use chrono::{TimeZone, Utc};
use reqwest::Url;

use super::{Message, Severity};

/// A drift alert of the household `smith`, shown as `household_name`.
pub(crate) fn message(household_name: &str) -> Message {
    Message {
        alert_id: "0190f3a2-7c41-7d1e-9a55-1b2c3d4e5f60".into(),
        rule: "drift".into(),
        severity: Severity::Warning,
        household: "smith".into(),
        household_name: household_name.into(),
        title: "Allocation drifted past its band".into(),
        values: BTreeMap::from([
            ("drift".to_owned(), serde_json::json!("7.5%")),
            ("threshold".to_owned(), serde_json::json!("5%")),
            ("portfolio".to_owned(), serde_json::json!("Retirement & <Growth>")),
            ("accounts".to_owned(), serde_json::json!(3)),
        ]),
        created_at: Utc.with_ymd_and_hms(2026, 3, 2, 14, 30, 0).unwrap(),
    }
}

/// A request a [`receive`] server saw, body and all.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body's `application/x-www-form-urlencoded` fields.
    pub(crate) fn form(&self) -> BTreeMap<String, String> {
        serde_urlencoded::from_bytes(&self.body).unwrap()
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// A [`receive`] server's answer to one request: the market adapters' test replies.
pub(crate) use crate::market::providers::testing::Reply;

/// A server on 127.0.0.1 (a free port): every request is recorded, then answered by
/// `respond` (given the request and how many came before it).
pub(crate) struct Receiver {
    pub(crate) base: Url,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Every request so far, in order.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

pub(crate) async fn receive(respond: impl Fn(&Received, usize) -> Reply + Send + Sync + 'static) -> Receiver {
    let received = Arc::new(Mutex::new(Vec::new()));
    let respond = Arc::new(respond);
    let log = received.clone();
    let app = axum::Router::new().fallback(move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let respond = respond.clone();
        let log = log.clone();
        async move {
            let request =
                Received { method: method.to_string(), path: uri.path().to_owned(), headers, body: body.to_vec() };
            let reply = {
                let mut log = log.lock().unwrap();
                let reply = respond(&request, log.len());
                log.push(request);
                reply
            };
            reply.send().await
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { base: Url::parse(&format!("http://{addr}")).unwrap(), received }
}

/// An address on 127.0.0.1 nothing listens on: every connection is refused.
pub(crate) async fn refused() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    addr
}
