//! In-process vendor servers for the adapters' tests: each request is recorded (path, query,
//! headers) and answered by a closure. And what every adapter's tests share: numbers, days
//! and bars written short, fixtures, and the checks ([`Subject`]) that the answers every
//! vendor can give (429 with `Retry-After`, a 5xx, a refused connection, a missing key) map to
//! the same errors in every adapter, no message showing a key.

use std::collections::BTreeMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Query;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::IntoResponse;
use chrono::NaiveDate;
use domain::market::Bar;
use reqwest::Url;
use rust_decimal::Decimal;

use crate::market::provider::{CorporateAction, Provider, ProviderError};

pub(crate) fn d(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub(crate) fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// The bar of `source` on `date` with these open, high, low, close and volume, without an
/// adjusted close or a VWAP (set them with `Bar { adj_close: …, ..bar(…) }`).
pub(crate) fn bar(source: &str, date: &str, [open, high, low, close, volume]: [&str; 5]) -> Bar {
    Bar {
        date: day(date),
        open: d(open),
        high: d(high),
        low: d(low),
        close: d(close),
        volume: d(volume),
        adj_close: None,
        vwap: None,
        source: Some(source.to_owned()),
    }
}

/// The splits and dividends of ACME in the vendors' fixtures, as `source` answers them: 4 for 1
/// on 2024-03-06, 0.20 a share ex 2024-03-07.
pub(crate) fn acme_actions(source: &str) -> Vec<CorporateAction> {
    vec![
        CorporateAction::Split {
            symbol: "ACME".into(),
            date: day("2024-03-06"),
            new: d("4"),
            old: d("1"),
            source: source.to_owned(),
        },
        CorporateAction::Dividend {
            symbol: "ACME".into(),
            ex_date: day("2024-03-07"),
            amount: d("0.2"),
            source: source.to_owned(),
        },
    ]
}

/// A request the server saw.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) path: String,
    pub(crate) query: BTreeMap<String, String>,
    pub(crate) headers: HeaderMap,
}

impl Seen {
    pub(crate) fn q(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The server's answer to one request.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
    delay: Duration,
}

impl Reply {
    pub(crate) fn new(status: u16, body: impl Into<String>) -> Self {
        Self { status, headers: Vec::new(), body: body.into(), delay: Duration::ZERO }
    }

    pub(crate) fn ok(body: impl Into<String>) -> Self {
        Self::new(200, body)
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub(crate) fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The answer, after the reply's delay.
    pub(crate) async fn send(self) -> axum::response::Response {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let mut headers = HeaderMap::new();
        for (name, value) in self.headers {
            headers.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(&value).unwrap());
        }
        (StatusCode::from_u16(self.status).unwrap(), headers, self.body).into_response()
    }
}

pub(crate) struct Server {
    pub(crate) base: Url,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Every request so far, in order.
    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A server on 127.0.0.1 (a free port) answering every request with `respond`.
pub(crate) async fn serve(respond: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Server {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let respond = Arc::new(respond);
    let log = seen.clone();
    let app = axum::Router::new().fallback(
        move |uri: Uri, Query(query): Query<BTreeMap<String, String>>, headers: HeaderMap| {
            let respond = respond.clone();
            let log = log.clone();
            async move {
                let request = Seen { path: uri.path().to_owned(), query, headers };
                let reply = respond(&request);
                log.lock().unwrap().push(request);
                reply.send().await
            }
        },
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { base: Url::parse(&format!("http://{addr}")).unwrap(), seen }
}

/// A base URL on a port nothing listens on: every connection is refused.
pub(crate) async fn refused_base() -> Url {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    Url::parse(&format!("http://{addr}")).unwrap()
}

/// A fixture file under `providers/fixtures/`.
pub(crate) fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/market/providers/fixtures").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An adapter under test, for the checks every adapter shares: how to build it at a base URL,
/// the daily bars the checks ask for, and the secrets no error may show.
pub(crate) struct Subject<P> {
    pub(crate) at: fn(Url) -> P,
    pub(crate) symbol: &'static str,
    pub(crate) from: &'static str,
    pub(crate) to: &'static str,
    pub(crate) secrets: &'static [&'static str],
}

impl<P: Provider> Subject<P> {
    /// The error `provider` answers for the daily bars, none of the secrets in it.
    pub(crate) async fn error_of(&self, provider: &P) -> ProviderError {
        let err = provider.daily_bars(self.symbol, day(self.from), day(self.to)).await.unwrap_err();
        let text = format!("{err} {err:?}");
        for secret in self.secrets {
            assert!(!text.contains(secret), "{text}");
        }
        err
    }

    /// The error of the daily bars from the adapter at `base`, none of the secrets in it.
    pub(crate) async fn error_at(&self, base: Url) -> ProviderError {
        self.error_of(&(self.at)(base)).await
    }

    /// The error of the daily bars from a server answering every request with `reply`.
    pub(crate) async fn answer(&self, reply: Reply) -> ProviderError {
        let server = serve(move |_| reply.clone()).await;
        self.error_at(server.base.clone()).await
    }

    /// The message of the `Invalid` error of the daily bars from a server answering `reply`.
    pub(crate) async fn invalid(&self, reply: Reply) -> String {
        match self.answer(reply).await {
            ProviderError::Invalid { message, .. } => message,
            other => panic!("not Invalid: {other}"),
        }
    }

    /// HTTP 429 with `Retry-After: 7` and `body` is `RateLimited` for 7 s.
    pub(crate) async fn assert_rate_limited(&self, body: &'static str) {
        let server = serve(move |_| Reply::new(429, body).header("Retry-After", "7")).await;
        let provider = (self.at)(server.base.clone());
        assert_eq!(
            self.error_of(&provider).await,
            ProviderError::RateLimited {
                provider: provider.name().to_owned(),
                retry_after: Some(Duration::from_secs(7))
            }
        );
    }

    /// HTTP `status` (a 5xx) with `body`, and a refused connection, are `Unavailable`; answers
    /// the latter, for checks of the adapter's own.
    pub(crate) async fn assert_unavailable(&self, status: u16, body: &'static str) -> ProviderError {
        let err = self.answer(Reply::new(status, body)).await;
        assert!(matches!(err, ProviderError::Unavailable { .. }), "HTTP {status}: {err}");
        let err = self.error_at(refused_base().await).await;
        assert!(matches!(err, ProviderError::Unavailable { .. }), "refused: {err}");
        err
    }

    /// The adapter `keyless` builds (without its key, or part of it) is `Unauthorized`
    /// without sending a request.
    pub(crate) async fn assert_unauthorized_without_calling(&self, keyless: impl FnOnce(Url) -> P) {
        let server = serve(|_| Reply::ok("{}")).await;
        let err = self.error_of(&keyless(server.base.clone())).await;
        assert!(matches!(err, ProviderError::Unauthorized { .. }), "{err}");
        assert!(server.seen().is_empty());
    }
}
